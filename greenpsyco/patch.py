"""``patch()`` / ``unpatch()``: make ``import psycopg2`` give greenpsyco's driver, and hide psycopg 3.

Django imports ``psycopg`` (v3) first and only falls back to ``psycopg2`` when that fails, so while
patched ``import psycopg`` raises ``ImportError``. Every ``psycopg2.*`` name is answered by one module
object of ``greenpsyco.fake_psycopg2`` (installed in ``sys.modules`` under both names), so there is
never a second copy with distinct classes. ``unpatch()`` puts back whatever was there before.

Django keeps its database connections in ``django.db.connections._connections``, an
``asgiref.local.Local(thread_critical=True)``: a real thread-local, so every request greenlet of the
hub's thread would share one ``DatabaseWrapper`` and one transaction state (request B would run inside
request A's ``atomic()``). ``patch()`` therefore replaces that storage with a :class:`GreenletLocal`:
each non-main greenlet gets its own attributes, while the main greenlet of every thread keeps using the
original storage, so code outside request greenlets (manage.py, other threads, asyncio) behaves exactly
as before. It works whether ``django.db`` is imported before or after ``patch()`` (a wrapt post-import
hook covers "after"). In Django 5.2 this is the only thread-critical storage: caches, translations,
time zones and URL conf use contextvar-backed Locals, which greenlets already isolate.

The server calls :func:`close_request_connections` at the end of every request greenlet. A greenlet's
storage is dropped when the greenlet dies (or is found dead), and connections left open in it are
closed then: a safety net, not the mechanism.
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
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import greenlet  # type: ignore[import-untyped]
import wrapt

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


def patch(*, pool_size: int | None = None, pool_timeout: float | None = None) -> None:
    """Install the fake ``psycopg2`` and hide psycopg 3. Idempotent; thread-safe.

    ``pool_size``/``pool_timeout`` configure greenpsyco's connection pool under ``connect()``/``close()``
    (see :mod:`greenpsyco.pooling`; without them, ``GREENPSYCO_POOL_SIZE``/``GREENPSYCO_POOL_TIMEOUT``
    decide, and the pool is off by default).
    """
    global _finder
    if pool_size is not None or pool_timeout is not None:
        from greenpsyco import pooling

        if pool_size is not None:
            pooling.configure(size=pool_size)
        if pool_timeout is not None:
            pooling.configure(timeout=pool_timeout)
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
        django_db = sys.modules.get(DJANGO_DB)
        if django_db is not None:
            django_status = _install_django(django_db)
        else:
            _register_django_hook()
            django_status = "will be greenlet-local once django.db is imported"
        log.info(
            "greenpsyco.patch(): psycopg2 and %d submodules now come from %s; psycopg (v3) is hidden; "
            "django.db.connections %s",
            len(SUBMODULES),
            FAKE_PACKAGE,
            django_status,
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
        _restore_django()
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
        log.info(
            "greenpsyco.unpatch(): the original psycopg2/psycopg modules and django.db.connections storage "
            "are back"
        )


# -- greenlet-local Django connections ----------------------------------------------------------------

DJANGO_DB = "django.db"

_SWEEP_MIN = 256  # the storage looks for dead greenlets once it holds this many (then twice as many)


class _Entry:
    """One greenlet's attributes, with the weak reference whose callback drops them when it dies."""

    __slots__ = ("data", "ref")

    def __init__(self, ref: weakref.ref[Any], data: dict[str, Any]) -> None:
        self.ref = ref
        self.data = data


class _GreenletLocalState:
    """The bookkeeping of one :class:`GreenletLocal`, kept apart so no method name can hide an attribute.

    ``entries`` maps ``id(greenlet)`` to the greenlet's :class:`_Entry` (gevent.local's design): the
    weak reference's callback removes the entry when the greenlet is freed, and every so often entries
    of greenlets that are dead but still referenced (say by a finished task object) are swept away too,
    so thousands of request greenlets leave nothing behind. Dropped attributes go through
    :func:`_close_orphaned` so a Django connection left open is not leaked on the server.
    """

    __slots__ = ("__weakref__", "entries", "fallback", "lock", "sweep_at")

    def __init__(self, fallback: Any) -> None:
        self.fallback = fallback
        self.entries: dict[int, _Entry] = {}
        self.lock = threading.RLock()  # reentrant: a weakref callback may run while it is held
        self.sweep_at = _SWEEP_MIN

    def data(self, current: Any) -> dict[str, Any] | None:
        """The attributes of greenlet ``current`` (not a main greenlet), or None if it has none yet."""
        entry = self.entries.get(id(current))
        if entry is None or entry.ref() is not current:
            return None
        return entry.data

    def data_for_update(self, current: Any) -> dict[str, Any]:
        """The attributes of greenlet ``current``, created empty on its first write."""
        key = id(current)
        entry = self.entries.get(key)
        if entry is not None and entry.ref() is current:
            return entry.data
        stale: list[dict[str, Any]] = []
        with self.lock:
            entry = self.entries.pop(key, None)
            if entry is not None:  # an id reused before the old greenlet's callback ran (never in CPython)
                stale.append(entry.data)
            if len(self.entries) >= self.sweep_at:
                stale.extend(self._sweep())
            callback = _entry_dropper(weakref.ref(self), key)
            entry = _Entry(weakref.ref(current, callback), {})
            self.entries[key] = entry
        for data in stale:
            _close_orphaned(data, "its greenlet ended without close_request_connections()")
        return entry.data

    def _sweep(self) -> list[dict[str, Any]]:
        """Remove the entries of dead greenlets (caller holds the lock); return their attributes."""
        dropped = []
        for key, entry in list(self.entries.items()):
            owner = entry.ref()
            if owner is None or owner.dead:
                del self.entries[key]
                dropped.append(entry.data)
        self.sweep_at = max(_SWEEP_MIN, 2 * len(self.entries))
        return dropped

    def pop(self, current: Any) -> dict[str, Any] | None:
        """Remove and return the attributes of greenlet ``current`` (None if it has none)."""
        with self.lock:
            entry = self.entries.get(id(current))
            if entry is None or entry.ref() is not current:
                return None
            del self.entries[id(current)]
        return entry.data

    def dropped(self, key: int, ref: weakref.ref[Any]) -> None:
        """Weakref callback: the greenlet of entry ``key`` was freed; close what it left open."""
        with self.lock:
            entry = self.entries.get(key)
            if entry is None or entry.ref is not ref:
                return
            del self.entries[key]
        _close_orphaned(entry.data, "its greenlet ended without close_request_connections()")

    def clear(self) -> list[dict[str, Any]]:
        """Remove every greenlet's attributes and return them (used by :func:`unpatch`)."""
        with self.lock:
            entries = list(self.entries.values())
            self.entries.clear()
        return [entry.data for entry in entries]

    def greenlets(self) -> list[Any]:
        """The greenlets that currently have attributes here (for tests and diagnostics)."""
        return [owner for entry in list(self.entries.values()) if (owner := entry.ref()) is not None]


def _entry_dropper(state_ref: weakref.ref[_GreenletLocalState], key: int) -> Callable[[Any], None]:
    """The weakref callback for entry ``key``; it holds the state weakly so a dropped storage is freed."""

    def dropped(ref: weakref.ref[Any]) -> None:
        state = state_ref()
        if state is not None:
            state.dropped(key, ref)

    return dropped


class GreenletLocal:
    """A namespace like ``asgiref.local.Local(thread_critical=True)`` whose attributes belong to a greenlet.

    In a non-main greenlet, attributes are that greenlet's own: set/get/del and ``hasattr`` behave like
    ``threading.local`` with the greenlet in place of the thread, and they are dropped when the greenlet
    dies. In the main greenlet of any thread every operation goes to ``fallback`` (the storage this one
    replaced), so threads, asyncio code and anything outside request greenlets see exactly what they
    saw before, including connections opened before ``patch()``.

    The class has no public attributes or methods, so no alias name can be shadowed by one.
    """

    __slots__ = ("_greenpsyco_state",)

    _greenpsyco_state: _GreenletLocalState

    def __init__(self, fallback: Any) -> None:
        object.__setattr__(self, "_greenpsyco_state", _GreenletLocalState(fallback))

    def __getattr__(self, key: str) -> Any:
        state = self._greenpsyco_state
        current = greenlet.getcurrent()
        if current.parent is None:
            return getattr(state.fallback, key)
        data = state.data(current)
        if data is None or key not in data:
            raise AttributeError(f"{self!r} object has no attribute {key!r}")
        return data[key]

    def __setattr__(self, key: str, value: Any) -> None:
        state = self._greenpsyco_state
        current = greenlet.getcurrent()
        if current.parent is None:
            setattr(state.fallback, key, value)
        else:
            state.data_for_update(current)[key] = value

    def __delattr__(self, key: str) -> None:
        state = self._greenpsyco_state
        current = greenlet.getcurrent()
        if current.parent is None:
            delattr(state.fallback, key)
            return
        data = state.data(current)
        if data is None or key not in data:
            raise AttributeError(f"{self!r} object has no attribute {key!r}")
        del data[key]

    def __repr__(self) -> str:
        state = self._greenpsyco_state
        return f"<greenpsyco.patch.GreenletLocal: {len(state.entries)} greenlet(s), main: {state.fallback!r}>"


_safety_net_warned = False
_django_wanted = False  # patched: the post-import hook must install the storage when django.db loads
_django_hook_pending = False  # a wrapt hook is registered and has not fired yet (wrapt cannot remove it)
_django_installed: tuple[Any, Any, GreenletLocal] | None = None  # (handler, original storage, ours)


def _close_orphaned(data: dict[str, Any], why: str) -> int:
    """Close the database connections of Django wrappers in ``data`` nobody will close any more.

    Runs from weakref callbacks, i.e. in whatever thread or greenlet frees the greenlet, so it closes
    the DB-API connection directly (no Django ``close()``, whose thread check could fail there) and
    never raises. The first time it closes something it logs a warning; after that, debug lines.
    """
    global _safety_net_warned
    closed = 0
    persistent = sys.modules.get("greenpsyco.persistent")
    for alias, wrapper in list(data.items()):
        if persistent is not None:
            persistent.dropped(wrapper)
        raw = getattr(wrapper, "connection", None)
        if raw is None:
            continue
        try:
            if not getattr(raw, "closed", False):
                raw.close()
                closed += 1
            wrapper.connection = None
        except Exception:
            log.exception("closing the orphaned connection %r (%r) failed", alias, wrapper)
    data.clear()
    if closed:
        if not _safety_net_warned:
            _safety_net_warned = True
            log.warning(
                "greenpsyco: closed %d Django connection(s) left open because %s; the server should call "
                "greenpsyco.patch.close_request_connections() at the end of each request greenlet "
                "(further occurrences are logged at debug level)",
                closed,
                why,
            )
        else:
            log.debug("greenpsyco: closed %d Django connection(s) left open because %s", closed, why)
    return closed


def _install_django(module: types.ModuleType) -> str:
    """Give ``module.connections`` greenlet-local storage (caller holds ``_lock``); say what happened."""
    global _django_installed, _django_wanted
    _django_wanted = True
    handler: Any = getattr(module, "connections", None)
    storage: Any = getattr(handler, "_connections", None)
    if storage is None:
        log.warning(
            "greenpsyco.patch(): django.db has no connections._connections (still being imported, or an "
            "unknown Django version); Django connections stay thread-local"
        )
        return "could not be made greenlet-local"
    if isinstance(storage, GreenletLocal):
        return "was already greenlet-local"
    local = GreenletLocal(storage)
    handler._connections = local
    from greenpsyco import persistent  # imported here: twisted loads only once Django is there

    original = handler.create_connection
    handler.create_connection = persistent.adopting(original, lambda alias: handler.settings[alias])
    _django_installed = (handler, storage, local)
    return "is now greenlet-local"


def _on_django_db_imported(module: types.ModuleType) -> None:
    """wrapt post-import hook for ``django.db``: install the storage if still patched (else nothing)."""
    global _django_hook_pending
    with _lock:
        _django_hook_pending = False
        if _django_wanted:
            status = _install_django(module)
            log.debug("greenpsyco: django.db was imported; django.db.connections %s", status)


def _register_django_hook() -> None:
    """Arrange for :func:`_on_django_db_imported` to run when ``django.db`` is imported (caller holds _lock).

    wrapt has no way to remove a hook, so :func:`unpatch` only clears ``_django_wanted`` and a hook that
    is still pending is reused by the next ``patch()`` rather than registered twice.
    """
    global _django_wanted, _django_hook_pending
    _django_wanted = True
    if not _django_hook_pending:
        _django_hook_pending = True
        wrapt.register_post_import_hook(_on_django_db_imported, DJANGO_DB)


def _restore_django() -> None:
    """Put the original storage back (caller holds ``_lock``) and close what greenlets left in ours.

    The main greenlets' connections were in the original storage all along and stay open. Connections
    of request greenlets are closed: after this those greenlets would see the thread's storage, so
    nothing could reach (or close) them any more. Call unpatch() when no request greenlet runs.
    """
    global _django_installed, _django_wanted
    _django_wanted = False
    installed, _django_installed = _django_installed, None
    if installed is None:
        return
    handler, original, local = installed
    if handler._connections is local:
        handler._connections = original
    if getattr(handler.__dict__.get("create_connection"), "greenpsyco_original", None) is not None:
        del handler.create_connection
    persistent = sys.modules.get("greenpsyco.persistent")
    if persistent is not None:
        persistent.close_parked()
    for data in local._greenpsyco_state.clear():
        _close_orphaned(data, "unpatch() removed the greenlet-local storage")


def close_request_connections() -> int:
    """Close the Django connections of the current greenlet; return how many open ones were closed.

    What ``django.db.connections.close_all()`` does, restricted to the current greenlet's storage: the
    server calls it at the end of every request greenlet (also when the app raised), so its connections
    go back to PostgreSQL (or the driver's pool) at once instead of when the greenlet is collected. In a
    request greenlet the storage itself is dropped as well, and a connection Django keeps between
    requests (``CONN_MAX_AGE`` other than 0, pool on) is handed to the next request greenlet instead of
    closed (:mod:`greenpsyco.persistent`; not counted). In the main greenlet of a thread (or when not
    patched) the thread's connections are closed and their wrappers kept, as ``close_all()`` does.
    Errors are logged, never raised. Does nothing when ``django.db`` has not been imported.

    Call from: any greenlet; normally the request greenlet itself, as its last step.
    """
    module = sys.modules.get(DJANGO_DB)
    handler: Any = getattr(module, "connections", None)
    storage: Any = getattr(handler, "_connections", None)
    if storage is None:
        return 0
    current = greenlet.getcurrent()
    if isinstance(storage, GreenletLocal) and current.parent is not None:
        from greenpsyco import persistent

        data = storage._greenpsyco_state.pop(current)
        wrappers = []
        for alias, wrapper in (data or {}).items():
            try:
                if persistent.release(alias, wrapper):
                    continue  # kept for the next request greenlet (CONN_MAX_AGE), or closed there
            except Exception:
                log.exception("close_request_connections(): keeping %r failed", wrapper)
            wrappers.append(wrapper)
    else:
        try:
            wrappers = [getattr(storage, alias) for alias in handler if hasattr(storage, alias)]
        except Exception:
            log.exception("close_request_connections(): listing the Django connections failed")
            return 0
    closed = 0
    for wrapper in wrappers:
        was_open = getattr(wrapper, "connection", None) is not None
        try:
            wrapper.close()
        except Exception:
            log.exception("close_request_connections(): closing %r failed", wrapper)
            raw = getattr(wrapper, "connection", None)
            if raw is not None:
                try:
                    raw.close()
                except Exception:
                    log.exception("close_request_connections(): closing the DB-API connection failed")
        closed += was_open
    return closed
