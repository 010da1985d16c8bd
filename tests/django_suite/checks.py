"""A Django test (run as app ``greenpsyco_suite_check``) that checks the run's driver and I/O mode.

It runs in a worker like any other test, so it sees what Django's own tests see: the DB-API module
behind Django's backend, :func:`greenpsyco.mode`, and which greenpsyco wire connection carries its
queries on both databases.
"""

from __future__ import annotations

import os
from typing import ClassVar

from django.db import connections
from django.db.backends.postgresql import base
from django.test import TestCase

from tests.django_suite.drivers import ENV_DRIVER, ENV_MODE, EXPECTED_DATABASE_MODULE, check_django_backend

WIRE_CLASS = {"blocking": "BlockingConnection", "green": "GreenConnection"}
GREENPSYCO_MODE = {"blocking": "blocking", "green": "cooperative"}


class DriverModeCheck(TestCase):
    databases: ClassVar[set[str]] = {"default", "other"}

    def setUp(self) -> None:
        self.driver = os.environ[ENV_DRIVER]
        self.mode = os.environ[ENV_MODE]

    def test_backend_runs_on_the_chosen_driver(self) -> None:
        check = check_django_backend()
        assert not base.is_psycopg3
        assert check.database_module == EXPECTED_DATABASE_MODULE[self.driver], check  # type: ignore[index]

    def test_greenpsyco_mode(self) -> None:
        import greenpsyco

        assert greenpsyco.mode() == GREENPSYCO_MODE[self.mode], greenpsyco.mode()

    def test_queries_take_the_mode_s_path(self) -> None:
        for alias in sorted(self.databases):
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT %s", [alias])
                assert cursor.fetchone() == (alias,)
            raw = connections[alias].connection
            if self.driver == "greenpsyco":
                assert type(raw._wire).__name__ == WIRE_CLASS[self.mode], (alias, raw._wire)
            else:
                assert type(raw).__module__ == "psycopg2.extensions", (alias, raw)
