"""``patch()`` / ``unpatch()``: make ``import psycopg2`` give greenpsyco's driver, and hide psycopg 3.

Django imports ``psycopg`` (v3) first and only falls back to ``psycopg2`` when that fails, so while
patched ``import psycopg`` raises ``ImportError``. Every ``psycopg2.*`` name is answered by one module
object of ``greenpsyco.fake_psycopg2`` (installed in ``sys.modules`` under both names), so there is
never a second copy with distinct classes. ``unpatch()`` puts back whatever was there before.

The cooperative issue extends this with greenlet-local Django connections.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import logging
import sys
import threading
import types
import warnings
from collections.abc import Sequence

log = logging.getLogger("greenpsyco")

FAKE_PACKAGE = "greenpsyco.fake_psycopg2"
SUBMODULES = (
    "_psycopg",
    "extensions",
    "extras",
    "errors",
    "errorcodes",
    "sql",
    "pool",
    "tz",
    "_range",
    "_json",
    "_ipaddress",
)
HIDDEN_PACKAGES = ("psycopg", "psycopg_c", "psycopg_binary", "psycopg_pool")


class GreenpsycoPatchWarning(UserWarning):
    """patch() came after some module had already imported the real psycopg2 (or psycopg 3)."""


class _HidePsycopg3(importlib.abc.MetaPathFinder):
    """Makes ``import psycopg`` (and its companions) fail while patched."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".", 1)[0] in HIDDEN_PACKAGES:
            raise ModuleNotFoundError(
                f"No module named {fullname!r} (hidden by greenpsyco.patch(): Django must use psycopg2)",
                name=fullname,
            )
        return None


_lock = threading.RLock()
_finder: _HidePsycopg3 | None = None
_saved: dict[str, types.ModuleType | None] = {}


def is_patched() -> bool:
    """Whether ``psycopg2`` currently means greenpsyco's driver."""
    return _finder is not None


def _is_ours(module: object) -> bool:
    return isinstance(module, types.ModuleType) and module.__name__.startswith(FAKE_PACKAGE)


def _holders_of(modules: Sequence[types.ModuleType]) -> list[str]:
    """Names of loaded modules with a global bound to one of ``modules`` (or something from them)."""
    targets = {id(module) for module in modules}
    names = {module.__name__ for module in modules}
    holders = []
    for name, module in list(sys.modules.items()):
        if module is None or name in names or name.split(".", 1)[0] in ("psycopg2", *HIDDEN_PACKAGES):
            continue
        for value in list(vars(module).values()):
            if id(value) in targets or (
                getattr(value, "__module__", None) in names and isinstance(value, type)
            ):
                holders.append(name)
                break
    return sorted(holders)


def patch() -> None:
    """Install the fake ``psycopg2`` and hide psycopg 3. Idempotent; thread-safe."""
    global _finder
    with _lock:
        if _finder is not None:
            return
        real = [
            module
            for name, module in sys.modules.items()
            if module is not None
            and (
                name == "psycopg2" or name.startswith("psycopg2.") or name.split(".", 1)[0] in HIDDEN_PACKAGES
            )
            and not _is_ours(module)
        ]
        if real:
            holders = _holders_of(real)
            warnings.warn(
                "greenpsyco.patch() was called after the real psycopg2/psycopg was imported"
                + (f"; these modules still hold it: {', '.join(holders)}" if holders else "")
                + ". Call patch() first thing in wsgi.py, settings.py or manage.py.",
                GreenpsycoPatchWarning,
                stacklevel=2,
            )
        fake = importlib.import_module(FAKE_PACKAGE)
        aliases = {"psycopg2": fake}
        for sub in SUBMODULES:
            aliases[f"psycopg2.{sub}"] = importlib.import_module(f"{FAKE_PACKAGE}.{sub}")
        for name in list(sys.modules):
            if name.split(".", 1)[0] in HIDDEN_PACKAGES and name not in _saved:
                _saved[name] = sys.modules.pop(name)
        for name, module in aliases.items():
            if name not in _saved:
                _saved[name] = sys.modules.get(name)
            sys.modules[name] = module
        _finder = _HidePsycopg3()
        sys.meta_path.insert(0, _finder)
        log.info(
            "greenpsyco.patch(): psycopg2 and %d submodules now come from %s; psycopg (v3) is hidden",
            len(SUBMODULES),
            FAKE_PACKAGE,
        )


def unpatch() -> None:
    """Undo :func:`patch`: restore the modules that were there before, stop hiding psycopg 3."""
    global _finder
    with _lock:
        if _finder is None:
            return
        if _finder in sys.meta_path:
            sys.meta_path.remove(_finder)
        _finder = None
        for name, module in _saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        for name in list(sys.modules):
            ours = (name == "psycopg2" or name.startswith("psycopg2.")) and _is_ours(sys.modules[name])
            if ours and name not in _saved:
                del sys.modules[name]
        _saved.clear()
        log.info("greenpsyco.unpatch(): the original psycopg2/psycopg modules are back")
