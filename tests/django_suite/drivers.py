"""The two database drivers a suite run can use, and the check that Django really uses the chosen one.

``greenpsyco``: the settings module calls ``greenpsyco.patch()``, as a user's settings.py would.
``psycopg2``: the real psycopg2(-binary); psycopg 3 is hidden so Django cannot prefer it.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Driver = Literal["greenpsyco", "psycopg2"]
Mode = Literal["blocking", "green"]

DRIVERS: tuple[Driver, ...] = ("greenpsyco", "psycopg2")
MODES: tuple[Mode, ...] = ("blocking", "green")

EXPECTED_DATABASE_MODULE: dict[Driver, str] = {
    "greenpsyco": "greenpsyco.fake_psycopg2",
    "psycopg2": "psycopg2",
}

ENV_DRIVER = "GREENPSYCO_SUITE_DRIVER"
ENV_MODE = "GREENPSYCO_SUITE_MODE"


class _HidePsycopg3(importlib.abc.MetaPathFinder):
    """Makes ``import psycopg`` fail, so Django's backend falls back to the real psycopg2."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".", 1)[0] in ("psycopg", "psycopg_c", "psycopg_binary", "psycopg_pool"):
            raise ModuleNotFoundError(f"No module named {fullname!r} (hidden for the psycopg2 baseline)")
        return None


def use_real_psycopg2() -> None:
    """For the baseline's settings module: Django must pick psycopg2 even where psycopg 3 is installed."""
    if not any(isinstance(finder, _HidePsycopg3) for finder in sys.meta_path):
        sys.meta_path.insert(0, _HidePsycopg3())


@dataclass(frozen=True)
class DriverCheck:
    """What Django's PostgreSQL backend is running on."""

    database_module: str
    is_psycopg3: bool
    version: str

    def problem(self, driver: Driver) -> str | None:
        """Why this is not the wanted driver, or None when it is."""
        expected = EXPECTED_DATABASE_MODULE[driver]
        if self.is_psycopg3:
            return "Django's backend runs on psycopg 3 (is_psycopg3 is true)"
        if self.database_module != expected:
            return f"Django's backend runs on {self.database_module}, not {expected}"
        return None


def check_django_backend() -> DriverCheck:
    """Import Django's PostgreSQL backend and say which DB-API module it bound as ``Database``."""
    from django.db.backends.postgresql import base

    return DriverCheck(
        database_module=base.Database.__name__,
        is_psycopg3=bool(base.is_psycopg3),
        version=str(base.Database.__version__),
    )
