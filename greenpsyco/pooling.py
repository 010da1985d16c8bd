"""A bounded, greenlet-aware pool of wire connections under the fake psycopg2's ``connect()``/``close()``.

Thousands of request greenlets must not mean thousands of PostgreSQL backends (DESIGN.md section 4):
with the pool on, ``psycopg2.connect()`` checks a wire connection out of a pool and
``connection.close()`` gives it back, so at most ``size`` sessions per set of connection parameters
exist at once (checked out plus idle). A caller that finds the pool full waits in a FIFO queue —
cooperatively (:func:`greenpsyco.hub.wait`) in a request greenlet, on a ``threading`` event elsewhere —
and gets :class:`PoolExhausted` (psycopg2's ``OperationalError``) when ``timeout`` seconds pass first.

The pool is off by default (size 0: every ``connect()`` opens a session, every ``close()`` ends it).
Turn it on without a code change with the ``GREENPSYCO_POOL_SIZE`` environment variable (and
``GREENPSYCO_POOL_TIMEOUT``, seconds, default 30), or with :func:`configure`, which wins over the
environment.

A pool is kept per key: the resolved connection parameters plus the I/O mode. Cooperative connections
(bound to the hub's thread and reactor) and blocking ones (any thread) are never mixed in one pool.

What the pool guarantees:

- a returned connection is reset before anyone else sees it: ``ROLLBACK`` when a transaction is open
  (or failed), then ``DISCARD ALL`` (temporary tables, ``SET`` values, prepared statements, advisory
  locks, ``LISTEN``s all go); if the reset fails the connection is closed instead. Cooperative pools
  send the reset and let the returning request go on at once: the session counts as idle meanwhile, the
  reactor absorbs the answers, and the next checkout waits for the reset's end (usually already past)
  before handing it out; a failed reset closes it (when idle) or makes that checkout drop it;
- a broken or closed connection is never handed out: broken ones are dropped when returned, and each
  idle connection is checked on checkout (not broken, and reading what the server sent while it was
  idle, so a session the server ended — ``pg_terminate_backend``, a restart — is noticed and dropped);
- a connection the caller lost without closing it stops counting against the limit once it is garbage
  collected (the pool holds checked-out sessions weakly; the fake connection's finalizer closes them);
  such freed slots are looked for every second while callers wait: by one timer per cooperative pool
  (thousands of waiting greenlets do not each wake up every second), by each waiting thread otherwise.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Union

from twisted.internet import defer

from greenpsyco import hub
from greenpsyco.wire import ops
from greenpsyco.wire.conninfo import ConnectParams
from greenpsyco.wire.errors import ConnectionFailure
from greenpsyco.wire.io_blocking import BlockingConnection
from greenpsyco.wire.protocol import IDLE, ClientState

if TYPE_CHECKING:
    from greenpsyco.green import GreenConnection

Wire = Union[BlockingConnection, "GreenConnection"]

SIZE_VARIABLE = "GREENPSYCO_POOL_SIZE"
TIMEOUT_VARIABLE = "GREENPSYCO_POOL_TIMEOUT"
DEFAULT_TIMEOUT = 30.0
RECHECK_INTERVAL = 1.0  # how often slots freed by connections lost without close() are looked for

_logger = logging.getLogger("greenpsyco.pooling")


class PoolExhausted(ConnectionFailure):
    """Every connection of the pool stayed in use for the whole wait; psycopg2's OperationalError."""


# -- configuration ----------------------------------------------------------------------------------

_UNSET: Any = object()
_configured_size: int | None = None
_configured_timeout: float | None = None


def configure(*, size: int | None = _UNSET, timeout: float | None = _UNSET) -> None:
    """Set the pool size (connections per key; 0 turns the pool off) and the wait timeout (seconds).

    An argument left out keeps its current setting; None goes back to the environment variables
    (``GREENPSYCO_POOL_SIZE``, ``GREENPSYCO_POOL_TIMEOUT``) and their defaults (0, 30 s). Shrinking the
    size closes idle connections above it at once, and checked-out ones as they are returned.
    """
    global _configured_size, _configured_timeout
    if size is not _UNSET:
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise ValueError(f"the pool size must be an integer >= 0, not {size!r}")
        _configured_size = size
    if timeout is not _UNSET:
        if timeout is not None and (isinstance(timeout, bool) or not timeout >= 0):
            raise ValueError(f"the pool timeout must be a number of seconds >= 0, not {timeout!r}")
        _configured_timeout = None if timeout is None else float(timeout)
    _trim_idle()


def pool_size() -> int:
    """Connections allowed per key: :func:`configure`'s size, else ``GREENPSYCO_POOL_SIZE``, else 0."""
    if _configured_size is not None:
        return _configured_size
    text = os.environ.get(SIZE_VARIABLE, "").strip()
    if not text:
        return 0
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"{SIZE_VARIABLE} must be an integer >= 0 (0 turns the pool off), not {text!r}")
    return value


def pool_timeout() -> float:
    """Seconds a caller waits for a free connection: :func:`configure`, ``GREENPSYCO_POOL_TIMEOUT``, 30."""
    if _configured_timeout is not None:
        return _configured_timeout
    text = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ValueError(f"{TIMEOUT_VARIABLE} must be a number of seconds >= 0, not {text!r}")
    return value


def enabled() -> bool:
    """Whether ``connect()`` goes through the pool (its size is above 0)."""
    return pool_size() > 0


# -- reclaimers -------------------------------------------------------------------------------------

Reclaimer = Callable[[Callable[[Wire], bool]], bool]
_reclaimers: list[Reclaimer] = []


def add_reclaimer(reclaimer: Reclaimer) -> None:
    """Register code that holds checked-out connections while they sit idle (:mod:`greenpsyco.persistent`).

    Before a caller queues for a full pool, each reclaimer is called with a predicate telling which
    connections belong to that pool; one that closes (gives back) such an idle connection returns
    True, and the caller tries again. So a held idle session never makes another caller wait.
    """
    if reclaimer not in _reclaimers:
        _reclaimers.append(reclaimer)


def remove_reclaimer(reclaimer: Reclaimer) -> None:
    """Undo :func:`add_reclaimer` (nothing if it was not registered)."""
    with contextlib.suppress(ValueError):
        _reclaimers.remove(reclaimer)


_release_listeners: list[Callable[[], None]] = []


def add_release_listener(listener: Callable[[], None]) -> None:
    """Call ``listener()`` after every :func:`release`, in the releasing thread (never raises into it).

    :mod:`greenpsyco.persistent` learns this way that a connection closed mid-request freed a place.
    """
    if listener not in _release_listeners:
        _release_listeners.append(listener)


def remove_release_listener(listener: Callable[[], None]) -> None:
    """Undo :func:`add_release_listener` (nothing if it was not registered)."""
    with contextlib.suppress(ValueError):
        _release_listeners.remove(listener)


# -- the pools --------------------------------------------------------------------------------------


class _Waiter:
    """One caller queued for a slot: it is handed a connection, or None (= open a new one)."""

    __slots__ = ("deferred", "event", "given", "value")

    def __init__(self, cooperative: bool) -> None:
        self.given = False
        self.value: Wire | None = None
        self.deferred: defer.Deferred[None] | None = None
        self.event = None if cooperative else threading.Event()

    def wake(self) -> None:
        """Resume the waiting caller (called after ``given`` was set, outside the pool's lock).

        A cooperative waiter's Deferred is fired in the hub's thread: a connection returned from
        another thread (which closes it, since it cannot be reset there) hands the slot over safely.
        """
        if self.event is not None:
            self.event.set()
            return
        running = hub.get_hub()
        if running is not None and running.thread_id not in (None, threading.get_ident()):
            running.reactor.callFromThread(self._fire)
        else:
            self._fire()

    def _fire(self) -> None:
        if self.deferred is not None and not self.deferred.called:
            self.deferred.callback(None)


class _Pool:
    """The connections of one key: idle ones, checked-out ones, sessions being opened, and waiters.

    The lock is never held across a wait or I/O, so greenlets of the hub thread cannot deadlock on it.
    """

    def __init__(self, key: tuple[Any, ...], cooperative: bool) -> None:
        self.key = key
        self.cooperative = cooperative
        self.lock = threading.Lock()
        self.idle: collections.deque[Wire] = collections.deque()
        # Checked-out connections, held weakly: while in use they are referred to by their fake
        # psycopg2 connection (whose hooks the session state refers to), so holding them strongly would
        # keep a connection its user dropped alive forever, and its slot taken.
        self.busy: weakref.WeakSet[Wire] = weakref.WeakSet()
        self.opening = 0  # slots reserved by callers that are opening a session
        self.waiters: collections.deque[_Waiter] = collections.deque()
        self._sweep_call: Any = None  # cooperative pools: the pending look for lost slots, if any

    def _count(self) -> int:
        return len(self.idle) + len(self.busy) + self.opening

    def _prune_busy(self) -> None:
        """Forget checked-out connections that were closed without being returned (garbage collected)."""
        for wire in [wire for wire in self.busy if wire.closed]:
            self.busy.discard(wire)
            _owners.pop(wire, None)

    # -- checkout -------------------------------------------------------------------------------

    def acquire(self, params: ConnectParams) -> Wire:
        """A healthy connection: an idle one, a new one while below the size, or one handed over."""
        deadline: float | None = None
        may_reclaim = True
        while True:
            wire: Wire | None
            waiter: _Waiter | None = None
            reclaim = False
            with self.lock:
                size = pool_size()
                if self.idle and not self.waiters:
                    wire = self.idle.pop()
                    self.busy.add(wire)
                elif self.waiters or self._count() >= size:
                    self._prune_busy()
                    wire = None
                    if not self.waiters and self._count() < size:
                        self.opening += 1
                    elif not self.waiters and may_reclaim and _reclaimers:
                        reclaim = True
                    else:
                        waiter = _Waiter(self.cooperative)
                        self.waiters.append(waiter)
                        if self.cooperative:
                            self._schedule_sweep()
                else:
                    self.opening += 1
                    wire = None
            if reclaim:
                # Before queueing, ask holders of idle checked-out sessions (parked Django connections)
                # to give one back; try again while they do.
                may_reclaim = self._reclaim()
                continue
            if waiter is not None:
                if deadline is None:
                    deadline = time.monotonic() + pool_timeout()
                wire = self._wait(waiter, deadline)
            if wire is None:
                return self._open(params)
            try:
                healthy = self._healthy(wire)
            except BaseException:
                self._give_back(wire)  # killed while its reset ended: it stays the pool's
                raise
            if healthy:
                return wire
            self._drop(wire)  # frees its slot (to the next waiter, if any) and try again

    def _reclaim(self) -> bool:
        """Have one reclaimer give back an idle session it holds from this pool; True if one did."""
        owns = self.busy.__contains__
        for reclaimer in list(_reclaimers):
            try:
                if reclaimer(owns):
                    return True
            except Exception:
                _logger.exception("reclaiming an idle connection with %r failed", reclaimer)
        return False

    def _wait(self, waiter: _Waiter, deadline: float) -> Wire | None:
        """Wait for a hand-over until ``deadline``; None means a slot was reserved for a new session."""
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining > 0:
                    # A waiting greenlet sleeps until its deadline (the pool's sweep wakes it for a lost
                    # slot); a waiting thread looks for lost slots itself every RECHECK_INTERVAL.
                    self._block(waiter, remaining if self.cooperative else min(remaining, RECHECK_INTERVAL))
                with self.lock:
                    if waiter.given:
                        return waiter.value
                    # Slots of connections lost without close() free no waiter: look for them here.
                    if self.waiters and self.waiters[0] is waiter:
                        self._prune_busy()
                        if self._count() < pool_size():
                            self.waiters.popleft()
                            self.opening += 1
                            return None
                    if remaining <= 0 or time.monotonic() >= deadline:
                        self.waiters.remove(waiter)
                        raise PoolExhausted(
                            f"connection pool exhausted: all {pool_size()} connections for these connection"
                            f" parameters stayed in use; waited {pool_timeout():g} s (raise {SIZE_VARIABLE}"
                            " or greenpsyco.pooling.configure(size=...), or close connections sooner)"
                        )
        except BaseException as error:
            if isinstance(error, PoolExhausted):
                raise
            # Killed while waiting: give back what was handed over, or leave the queue.
            with self.lock:
                if not waiter.given:
                    with contextlib.suppress(ValueError):
                        self.waiters.remove(waiter)
                    raise
                value = waiter.value
                if value is None:
                    self.opening -= 1
            self._give_back(value)
            raise

    def _schedule_sweep(self) -> None:
        """Look for lost slots in RECHECK_INTERVAL unless a look is pending (cooperative pools; caller holds
        the lock, in the hub's thread)."""
        if self._sweep_call is None:
            running = hub.get_hub()
            if running is not None:
                self._sweep_call = running.reactor.callLater(RECHECK_INTERVAL, self._sweep)

    def _sweep(self) -> None:
        """Give slots freed by connections lost without close() to the first waiters; look again in
        RECHECK_INTERVAL while callers wait. Runs in the hub greenlet (a reactor timer)."""
        woken = []
        with self.lock:
            self._sweep_call = None
            if not self.waiters:
                return
            self._prune_busy()
            while self.waiters and self._count() < pool_size():
                waiter = self.waiters.popleft()
                waiter.given = True
                waiter.value = None  # a slot, reserved for a new session
                self.opening += 1
                woken.append(waiter)
            if self.waiters:
                self._schedule_sweep()
        for waiter in woken:
            waiter.wake()

    def _block(self, waiter: _Waiter, seconds: float) -> None:
        if waiter.event is not None:
            waiter.event.wait(seconds)
            return
        with self.lock:
            if waiter.given:
                return
            waiter.deferred = defer.Deferred()
            waiting = waiter.deferred
        with contextlib.suppress(TimeoutError):  # a slice ended: the caller checks and waits again
            hub.wait(waiting, timeout=seconds)

    def _open(self, params: ConnectParams) -> Wire:
        """Open a session in a slot this caller reserved (``opening``)."""
        try:
            wire = _connect(params, self.cooperative)
        except BaseException:
            self._give_back(None)
            with self.lock:
                self.opening -= 1
            raise
        with self.lock:
            self.opening -= 1
            self.busy.add(wire)
            _owners[wire] = self
        return wire

    def _healthy(self, wire: Wire) -> bool:
        """Not broken or closed, idle on the server, and nothing fatal arrived while it sat in the pool.

        A blocking connection is polled for what the server sent meanwhile. A cooperative one is not:
        the reactor reads an idle connection as data arrives (a session the server ended is marked
        broken then), while a poll here would hold the checked-out slot for two reactor turns.
        """
        if self.cooperative and wire.ahead:  # type: ignore[union-attr]
            # Its reset was sent when it was returned: the answer has usually arrived by now.
            try:
                wire.finish_ahead()  # type: ignore[union-attr]
            except Exception:
                return False  # _reset_ended logged it
        if wire.broken or wire.closed or wire.state.transaction_status != IDLE:
            return False
        if not self.cooperative:
            try:
                wire.poll(0.0)
            except Exception:
                return False
        # Notices and notifications that arrived while it sat idle belong to nobody.
        wire.state.notices.clear()
        wire.state.notifications.clear()
        return not (wire.broken or wire.closed)

    # -- return ---------------------------------------------------------------------------------

    def release(self, wire: Wire) -> None:
        """Reset a returned connection and keep it (or hand it to a waiter); drop it when that fails."""
        state = wire.state
        state.on_notice = None
        state.on_notification = None
        state.on_parameter = None
        if wire.broken or wire.closed:
            self._drop(wire)
            return
        if self.cooperative:
            # The reset runs in the background: it is sent now and the reactor absorbs its answers; the
            # next checkout of this session waits for its end (usually past) and drops the session if
            # it failed. The returning request does not wait for the round trips.
            rollback = state.transaction_status != IDLE
            try:
                wire.send_ahead(_reset(state, rollback), self._reset_ended)  # type: ignore[union-attr]
            except Exception as error:
                _logger.debug("resetting a returned connection failed (%s); closing it", error)
                self._drop(wire)
                return
            self._give_back(wire)
            return
        try:
            if state.transaction_status != IDLE:
                wire.run(ops.simple_query(state, b"ROLLBACK"))
            wire.run(ops.simple_query(state, b"DISCARD ALL"))
        except Exception as error:
            _logger.debug("resetting a returned connection failed (%s); closing it", error)
            self._drop(wire)
            return
        except BaseException:
            self._drop(wire)
            raise
        state.notices.clear()
        state.notifications.clear()
        if wire.broken or wire.closed or state.transaction_status != IDLE:
            self._drop(wire)
            return
        self._give_back(wire)

    def _reset_ended(self, wire: Wire, error: BaseException | None) -> None:
        """A background reset ended (hub greenlet): a session that failed it is closed if it sits idle;
        one already handed over is dropped by its checkout (:meth:`_healthy`)."""
        if error is None:
            return
        _logger.debug("resetting a returned connection failed (%s); closing it", error)
        with self.lock:
            idle = wire in self.idle
            if idle:
                self.idle.remove(wire)
                _owners.pop(wire, None)
        if idle:
            _close(wire)
            self._give_back(None)

    def _give_back(self, wire: Wire | None) -> None:
        """A slot is free again, with ``wire`` idle in it or (None) empty: the first waiter gets it."""
        surplus = False
        with self.lock:
            if wire is not None and wire not in self.busy:
                surplus = True  # forgotten meanwhile (clear(), pruned): not ours to keep
            else:
                if wire is not None:
                    self.busy.discard(wire)
                waiter = self.waiters.popleft() if self.waiters else None
                if waiter is not None:
                    waiter.given = True
                    waiter.value = wire
                    if wire is not None:
                        self.busy.add(wire)
                    else:
                        self.opening += 1
                elif wire is not None:
                    if self._count() >= pool_size():
                        surplus = True  # the size was lowered meanwhile
                        _owners.pop(wire, None)
                    else:
                        self.idle.append(wire)
        if surplus:
            assert wire is not None
            _close(wire)
        elif waiter is not None:
            waiter.wake()

    def _drop(self, wire: Wire) -> None:
        """Close a connection that may not be reused and free its slot."""
        _close(wire)
        with self.lock:
            known = wire in self.busy
            self.busy.discard(wire)
            _owners.pop(wire, None)
        if known:
            self._give_back(None)

    def take_idle(self, keep: int) -> list[Wire]:
        """Remove idle connections above ``keep`` (for the caller to close)."""
        with self.lock:
            taken = []
            while self.idle and len(self.idle) + len(self.busy) + self.opening > keep:
                wire = self.idle.popleft()
                _owners.pop(wire, None)
                taken.append(wire)
            return taken

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "mode": self.key[0],
                "idle": len(self.idle),
                "in_use": len(self.busy),
                "opening": self.opening,
                "waiting": len(self.waiters),
            }


_pools: dict[tuple[Any, ...], _Pool] = {}
_owners: weakref.WeakKeyDictionary[Wire, _Pool] = weakref.WeakKeyDictionary()  # connection -> its pool
_pools_lock = threading.Lock()


def _connect(params: ConnectParams, cooperative: bool) -> Wire:
    if cooperative:
        from greenpsyco.green import GreenConnection

        return GreenConnection.connect_params(params)
    return BlockingConnection.connect_params(params)


def _reset(state: ClientState, rollback: bool) -> Generator[ops.Request, bytes | str | None, None]:
    """A returned session's reset: ``ROLLBACK`` when a transaction is open (or failed), then
    ``DISCARD ALL``."""
    if rollback:
        yield from ops.simple_query(state, b"ROLLBACK")
    yield from ops.simple_query(state, b"DISCARD ALL")


def _close(wire: Wire) -> None:
    try:
        wire.close()
    except Exception as error:
        _logger.debug("closing a pooled connection failed: %s", error)


def _key(params: ConnectParams, cooperative: bool) -> tuple[Any, ...]:
    return ("cooperative" if cooperative else "blocking", tuple(sorted(params.values.items())))


def acquire(params: ConnectParams) -> Wire:
    """A connection for ``params`` from its pool (waiting for one if the pool is full).

    Cooperative in a request greenlet of the running hub (a :class:`~greenpsyco.green.GreenConnection`),
    blocking elsewhere (a :class:`~greenpsyco.wire.io_blocking.BlockingConnection`). Raises
    :class:`PoolExhausted` after the pool's timeout, or whatever connecting raises. Give it back with
    :func:`release`. With the pool off (size 0) this just connects.
    """
    cooperative = hub.mode() == "cooperative"
    if pool_size() <= 0:
        return _connect(params, cooperative)
    key = _key(params, cooperative)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = _Pool(key, cooperative)
    return pool.acquire(params)


def release(wire: Wire) -> None:
    """Give back a connection from :func:`acquire`: it is reset and kept, or closed.

    A connection that does not belong to a pool (opened with the pool off, or forgotten by
    :func:`clear`) is closed.
    """
    pool = _owners.get(wire)
    if pool is None:
        _close(wire)
    else:
        pool.release(wire)
    for listener in list(_release_listeners):
        try:
            listener()
        except Exception:
            _logger.exception("the pool's release listener %r failed", listener)


def _trim_idle() -> None:
    """Close idle connections above the current size (all of them when the pool is off)."""
    keep = pool_size()
    with _pools_lock:
        pools = list(_pools.values())
    for pool in pools:
        for wire in pool.take_idle(keep):
            _close(wire)


def clear() -> None:
    """Close every idle connection and forget the pools; checked-out connections are closed when returned.

    Call from: a context where the idle connections may be closed (for cooperative pools, the hub's
    thread; closing is best effort elsewhere).
    """
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        for wire in pool.take_idle(0):
            _close(wire)
        with pool.lock:
            for wire in pool.busy:
                _owners.pop(wire, None)
            pool.busy.clear()


def stats() -> list[dict[str, Any]]:
    """For each pool: its mode and how many connections are idle, in use, being opened, and waiters."""
    with _pools_lock:
        pools = list(_pools.values())
    return [pool.stats() for pool in pools]


def _forget_after_fork() -> None:
    """A forked child must not reuse (or Terminate) its parent's sessions: drop them unclosed."""
    global _pools_lock, _owners
    _pools.clear()
    _owners = weakref.WeakKeyDictionary()
    _pools_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def _close_idle_at_exit() -> None:
    with contextlib.suppress(Exception):
        clear()


atexit.register(_close_idle_at_exit)

__all__ = [
    "DEFAULT_TIMEOUT",
    "SIZE_VARIABLE",
    "TIMEOUT_VARIABLE",
    "PoolExhausted",
    "acquire",
    "add_reclaimer",
    "add_release_listener",
    "clear",
    "configure",
    "enabled",
    "pool_size",
    "pool_timeout",
    "release",
    "remove_reclaimer",
    "remove_release_listener",
    "stats",
]
