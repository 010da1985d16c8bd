"""Django's persistent connections (``CONN_MAX_AGE`` other than 0) for request greenlets.

In a thread, Django keeps a connection open from one request to the next while ``CONN_MAX_AGE``
allows: the thread's ``DatabaseWrapper`` outlives the request, and the next request on that thread uses
the same session as it was left (Django resets nothing). A request greenlet lives for one request, so
without help each request would build a new wrapper, connect (a pool checkout plus Django's session
set-up) and give the session back to the pool with a reset, which is what ``CONN_MAX_AGE = 0`` asks
for and costs about a fifth of a trivial request.

This module gives request greenlets the threads' behaviour. When a request greenlet ends, a wrapper
Django would keep (``close_if_unusable_or_obsolete()`` leaves it open, no transaction or atomic block
is open, the session is idle) is *parked* instead of closed; the next request greenlet of the hub's
thread that uses that alias *adopts* it as it is (Django's end-of-age and unusable checks run again
first, as ``request_started`` runs them in a thread). Adoption happens on first use
(``connections[alias]``), never for ``hasattr`` probes, so a request that does not touch the database
holds no session.

The wrappers of one alias are bounded by the pool size, as the sessions under them are: a greenlet that
needs a connection while every wrapper is in use waits (FIFO, cooperatively) for the next one parked,
up to the pool timeout, then gets Django's ``OperationalError`` as from an exhausted pool. Parked
wrappers never starve other users of the same pool: a caller that would queue for it first has parked
wrappers on it closed (:func:`greenpsyco.pooling.add_reclaimer`).

It applies where it can: the pool is on, the alias's ``CONN_MAX_AGE`` is not 0, and the caller is a
request greenlet of the running hub. Everywhere else (other threads, the main greenlet, no pool,
``CONN_MAX_AGE = 0``) Django's own behaviour is untouched.

Call from: the hub's thread; every function says in which greenlet.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from twisted.internet import defer

from greenpsyco import hub, pooling

log = logging.getLogger("greenpsyco")

RECHECK_INTERVAL = 1.0  # how often places of wrappers freed without release() are looked for

CreateConnection = Callable[[str], Any]


class _Waiter:
    """A greenlet queued for a wrapper: it is handed one (``wrapper``) or a free place (None)."""

    __slots__ = ("deferred", "given", "wrapper")

    def __init__(self) -> None:
        self.deferred: defer.Deferred[None] = defer.Deferred()
        self.given = False
        self.wrapper: Any = None


class _Lot:
    """The wrappers of one alias in the hub's thread: the parked ones and every one counted.

    ``members`` holds every wrapper this module let exist (in use by a greenlet, or parked), weakly: a
    wrapper dropped without passing through :func:`release` stops counting when the greenlet-local
    storage's safety net closes it (:func:`dropped`), or at the latest once it is freed. The bound is on
    sessions: a member counts while it holds a connection, or has not connected yet since it was
    created; one whose connection Django closed mid-request (``connection.close()`` before a long
    wait, say) leaves its place to the next greenlet at once.
    """

    __slots__ = ("idle", "members", "reserved", "sweep_call", "unconnected", "waiters")

    def __init__(self) -> None:
        self.idle: list[Any] = []  # parked wrappers, the most recently parked last
        self.members: weakref.WeakSet[Any] = weakref.WeakSet()
        self.unconnected: weakref.WeakSet[Any] = weakref.WeakSet()  # created, not connected yet
        self.reserved = 0  # places handed to woken waiters that have not taken their wrapper yet
        self.waiters: collections.deque[_Waiter] = collections.deque()
        self.sweep_call: Any = None  # the pending look for places freed without release(), if any

    def schedule_sweep(self) -> None:
        """Look for freed places in RECHECK_INTERVAL unless a look is pending (one timer per alias, not
        one per waiting greenlet: thousands may wait)."""
        running = hub.get_hub()
        if self.sweep_call is None and running is not None:
            self.sweep_call = running.reactor.callLater(RECHECK_INTERVAL, self.sweep)

    def sweep(self) -> None:
        """Give places of wrappers dropped without :func:`release` (their greenlet died and they were
        freed) to the first waiters; look again while greenlets wait. Runs in the hub greenlet."""
        self.sweep_call = None
        self.fill()
        if self.waiters:
            self.schedule_sweep()

    def sessions(self) -> int:
        """The members holding a session, or about to (created and not connected yet)."""
        held = 0
        for wrapper in list(self.members):
            if wrapper.connection is not None:
                held += 1
                self.unconnected.discard(wrapper)
            elif wrapper in self.unconnected:
                held += 1
        return held

    def has_room(self) -> bool:
        return self.sessions() + self.reserved < pooling.pool_size()

    def fill(self) -> None:
        """Give every free place to the first waiters."""
        while self.waiters and self.has_room() and self.hand_over(None):
            pass

    def hand_over(self, wrapper: Any) -> bool:
        """Give ``wrapper`` (or, None, a free place) to the first waiter still waiting; False if none."""
        while self.waiters:
            waiter = self.waiters.popleft()
            if waiter.deferred.called:
                continue  # gave up (timed out or killed) and is leaving the queue
            waiter.given = True
            waiter.wrapper = wrapper
            if wrapper is None:
                self.reserved += 1
            waiter.deferred.callback(None)
            return True
        return False


_lots: dict[tuple[int, str], _Lot] = {}


def _applies(settings: dict[str, Any]) -> bool:
    """Whether a wrapper with these settings is kept across request greenlets (see the module doc)."""
    return settings.get("CONN_MAX_AGE", 0) != 0 and pooling.enabled() and hub.mode() == "cooperative"


def adopting(original: CreateConnection, settings: Callable[[str], dict[str, Any]]) -> CreateConnection:
    """A ``ConnectionHandler.create_connection`` that hands request greenlets a parked wrapper.

    ``original`` is Django's; ``settings(alias)`` gives the alias's settings dictionary.
    """

    def create_connection(alias: str) -> Any:
        if not _applies(settings(alias)):
            return original(alias)
        return _checkout(alias, original)

    create_connection.greenpsyco_original = original  # type: ignore[attr-defined]
    return create_connection


def _checkout(alias: str, original: CreateConnection) -> Any:
    """A parked wrapper, a new one while below the pool size, or the next one parked (FIFO).

    Call from: a request greenlet (it may wait).
    """
    key = (threading.get_ident(), alias)
    lot = _lots.get(key)
    if lot is None:
        lot = _lots[key] = _Lot()
    if not lot.waiters:
        wrapper = _take(lot, alias, original, reserved=False)
        if wrapper is not None:
            return wrapper
    waiter = _Waiter()
    lot.waiters.append(waiter)
    lot.schedule_sweep()
    deadline = time.monotonic() + pooling.pool_timeout()
    try:
        while True:
            remaining = deadline - time.monotonic()
            with contextlib.suppress(TimeoutError):
                hub.wait(waiter.deferred, timeout=max(0.0, remaining))
            if waiter.given:
                break
            if time.monotonic() >= deadline:
                _remove(lot, waiter)
                raise _exhausted(alias)
            waiter.deferred = defer.Deferred()  # woken early without being handed anything
    except BaseException:
        if not waiter.given:
            _remove(lot, waiter)
            raise
        _leave(lot, waiter)
        raise
    wrapper = waiter.wrapper
    if wrapper is not None:
        lot.reserved += 1  # this greenlet's place, should the wrapper turn out unusable
        if _still_usable(wrapper):
            lot.reserved -= 1
            return wrapper
        _discard(lot, wrapper)
    wrapper = _take(lot, alias, original, reserved=True)
    assert wrapper is not None
    return wrapper


def _take(lot: _Lot, alias: str, original: CreateConnection, *, reserved: bool) -> Any:
    """A parked wrapper, or a new one if there is room (or the caller holds a reserved place); else None.

    Call from: a request greenlet at the head of the queue (or with no queue).
    """
    if reserved:
        lot.reserved -= 1
    while lot.idle:
        wrapper = lot.idle.pop()
        if _still_usable(wrapper):
            return wrapper
        _discard(lot, wrapper)
    if not (reserved or lot.has_room()):
        return None
    try:
        wrapper = original(alias)
    except BaseException:
        lot.fill()
        raise
    lot.members.add(wrapper)
    lot.unconnected.add(wrapper)
    return wrapper


def _remove(lot: _Lot, waiter: _Waiter) -> None:
    with contextlib.suppress(ValueError):
        lot.waiters.remove(waiter)


def _leave(lot: _Lot, waiter: _Waiter) -> None:
    """A waiter that was handed something was killed before using it: pass it on."""
    if waiter.wrapper is None:
        lot.reserved -= 1
        lot.fill()
    else:
        _park(lot, waiter.wrapper)


def _exhausted(alias: str) -> BaseException:
    """Django's OperationalError for an alias whose wrappers stayed in use for the whole pool timeout."""
    from django.db.utils import OperationalError

    cause = pooling.PoolExhausted(
        f"connection pool exhausted: all {pooling.pool_size()} connections of database alias {alias!r} "
        f"stayed in use; waited {pooling.pool_timeout():g} s (raise {pooling.SIZE_VARIABLE} or "
        "greenpsyco.pooling.configure(size=...), or close connections sooner)"
    )
    error: BaseException = OperationalError(*cause.args)
    error.__cause__ = cause
    return error


def _still_usable(wrapper: Any) -> bool:
    """Run Django's start-of-request check on a parked wrapper; False when it closed the connection.

    Call from: the request greenlet adopting it.
    """
    raw = wrapper.connection
    if raw is None or raw.closed or _session_lost(raw):
        return False
    try:
        wrapper.close_if_unusable_or_obsolete()
    except Exception:
        log.exception("checking the parked Django connection %r failed", wrapper)
        return False
    return wrapper.connection is not None


def _session_lost(raw: Any) -> bool:
    """Whether the server ended the session while it was parked (the reactor read its goodbye).

    psycopg2 says so only when the connection is next used, which would fail the adopting request.
    """
    wire = getattr(raw, "_wire", None)
    return wire is None or bool(wire.broken or wire.closed)


def _keepable(wrapper: Any) -> bool:
    """Whether Django would keep ``wrapper``'s connection for the next request, and it is idle.

    Call from: the request greenlet that used it, as it ends.
    """
    if wrapper.connection is None or wrapper.in_atomic_block or wrapper.savepoint_ids:
        return False
    wrapper.close_if_unusable_or_obsolete()  # CONN_MAX_AGE, errors, autocommit left off: Django's rules
    raw = wrapper.connection
    if raw is None or raw.closed:
        return False
    from greenpsyco.fake_psycopg2.extensions import TRANSACTION_STATUS_IDLE

    return raw.get_transaction_status() == TRANSACTION_STATUS_IDLE and not wrapper.run_on_commit


def release(alias: str, wrapper: Any) -> bool:
    """The request greenlet using ``wrapper`` ends: park it (or hand it on) when Django would keep it.

    Returns False for a wrapper this module does not count (the caller closes it as Django would);
    True when it was parked, handed to a waiting greenlet, or closed here.

    Call from: the ending request greenlet.
    """
    lot = _lots.get((threading.get_ident(), alias))
    if lot is None or wrapper not in lot.members:
        return False
    try:
        keep = _keepable(wrapper)
    except Exception:
        log.exception("checking the Django connection %r at the end of its request failed", wrapper)
        keep = False
    if keep:
        _park(lot, wrapper)
    else:
        _forget(lot, wrapper)
    return True


def _this_threads_lots() -> list[tuple[str, _Lot]]:
    """The (alias, lot) pairs of the calling thread."""
    thread = threading.get_ident()
    return [(alias, lot) for (owner, alias), lot in list(_lots.items()) if owner == thread]


def _session_returned() -> None:
    """Pool listener: a session went back to a pool in this thread; a member may have closed its
    connection mid-request, so waiting greenlets may have room now."""
    for _alias, lot in _this_threads_lots():
        if lot.waiters:
            lot.fill()


def dropped(wrapper: Any) -> None:
    """A greenlet died without :func:`release` and its wrapper was closed: stop counting it.

    Its place goes to a waiting greenlet at the next sweep (this may run from a weakref callback, where
    waking anyone is not safe). A wrapper is part of reference cycles, so waiting for it to be freed
    could take until the next garbage collection.

    Call from: anywhere (the greenlet-local storage's safety net).
    """
    for lot in list(_lots.values()):
        lot.members.discard(wrapper)


def _park(lot: _Lot, wrapper: Any) -> None:
    if not lot.hand_over(wrapper):
        lot.idle.append(wrapper)


def _forget(lot: _Lot, wrapper: Any) -> None:
    """Close ``wrapper`` for good and give its place to the first waiter."""
    _discard(lot, wrapper)
    lot.fill()


def _discard(lot: _Lot, wrapper: Any) -> None:
    """Close ``wrapper`` for good; its place is free (the caller says who gets it)."""
    lot.members.discard(wrapper)
    lot.unconnected.discard(wrapper)
    try:
        wrapper.close()
    except Exception:
        log.exception("closing the Django connection %r failed", wrapper)
        _close_raw(wrapper)


def _close_raw(wrapper: Any) -> None:
    raw = getattr(wrapper, "connection", None)
    if raw is None:
        return
    try:
        raw.close()
    except Exception:
        log.exception("closing the DB-API connection of %r failed", wrapper)
    wrapper.connection = None


def _reclaim(owns: Callable[[Any], bool]) -> bool:
    """Pool reclaimer: close the longest-parked wrapper whose session belongs to the asking pool.

    Call from: the greenlet about to queue for that pool (the hub's thread: cooperative pools).
    """
    for _alias, lot in _this_threads_lots():
        for wrapper in lot.idle:
            raw = wrapper.connection
            wire = getattr(raw, "_wire", None)
            if wire is not None and owns(wire):
                lot.idle.remove(wrapper)
                _forget(lot, wrapper)
                return True
    return False


def parked() -> dict[str, int]:
    """How many wrappers are parked per alias in this thread (for tests and diagnostics)."""
    return {alias: len(lot.idle) for alias, lot in _this_threads_lots()}


def close_parked() -> int:
    """Close every parked wrapper of every thread (``unpatch()``, shutdown); return how many.

    Their DB-API connections are closed directly: Django's ``close()`` checks the thread, and this may
    run in another one.
    """
    closed = 0
    for lot in list(_lots.values()):
        if lot.sweep_call is not None and lot.sweep_call.active():
            lot.sweep_call.cancel()
        while lot.idle:
            wrapper = lot.idle.pop()
            lot.members.discard(wrapper)
            _close_raw(wrapper)
            closed += 1
    _lots.clear()
    return closed


def _forget_after_fork() -> None:
    """A forked child must not use its parent's sessions: drop the parked wrappers unclosed."""
    _lots.clear()


os.register_at_fork(after_in_child=_forget_after_fork)
pooling.add_reclaimer(_reclaim)
pooling.add_release_listener(_session_returned)

__all__ = ["adopting", "close_parked", "dropped", "parked", "release"]
