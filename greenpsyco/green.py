"""The Twisted driver used synchronously from request greenlets: cooperative mode of the fake psycopg2.

``GreenConnection`` offers what the fake psycopg2 connection needs from a wire connection (``run``,
``cancel``, ``poll``, ``close``, ``state``, ...) on top of the Twisted driver (``TwistedConnection``):
each operation is started in the reactor and the calling greenlet waits in :func:`greenpsyco.hub.wait`
while other greenlets run. If the waiting greenlet is killed or times out, the query is cancelled on the
server (CancelRequest) and drained to ReadyForQuery, so the connection stays usable — or, when the server
does not answer in time, the connection is marked broken. It never leaves a query running.

Like a psycopg2 connection, a ``GreenConnection`` may also be used from another OS thread (Django's
``LiveServerThread`` given the test's connection, say), one operation at a time. Its socket stays the
reactor's: the other thread starts the operation, and later reads and writes whenever the socket is
ready, only in brief turns under the hub's reactor lock (:meth:`greenpsyco.hub.Hub.call_exclusive`),
so the reactor and that thread never touch the transport at once. Between its turns the reactor may
serve the socket itself (the operation's end is reported to the thread either way), and when the hub's
thread is blocked outside the reactor (inside a request greenlet) the other thread serves it alone:
no deadlock, and no lock held while the server works (a query that waits on a row lock a greenlet
holds lets the hub run meanwhile). The other thread drives the Twisted transport itself (``doRead`` /
``doWrite``), so TLS, which lives in that transport, works the same. A request greenlet takes the same
lock while it starts an operation, so a greenlet and a thread cannot both start one; the fake
psycopg2's connection lock serialises them as psycopg2's does (a greenlet waits for it cooperatively).
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
from collections.abc import Callable, Generator
from typing import Any, TypeVar

import greenlet  # type: ignore[import-untyped]
from twisted.internet import defer

from greenpsyco import hub
from greenpsyco.wire import ops
from greenpsyco.wire.conninfo import ConnectParams
from greenpsyco.wire.errors import ConnectionLost, InterfaceMisuse
from greenpsyco.wire.io_blocking import send_cancel
from greenpsyco.wire.io_twisted import TwistedConnection
from greenpsyco.wire.messages import NotificationResponse

T = TypeVar("T")

DRAIN_TIMEOUT = 5.0  # how long a cancelled query may take to end before the connection is dropped


class _Waiter:
    """One request greenlet waiting for one operation: the Twisted driver calls :meth:`notify` (in the
    hub greenlet, usually), which switches straight back to the waiting greenlet - no Deferred."""

    __slots__ = ("done", "failure", "finished", "hub_greenlet", "me", "reactor", "value", "waiting")

    def __init__(self, me: Any, hub_greenlet: Any, reactor: Any) -> None:
        self.me = me
        self.hub_greenlet = hub_greenlet
        self.reactor = reactor
        self.done = False
        self.waiting = False
        self.value: Any = None
        self.failure: BaseException | None = None
        self.finished: defer.Deferred[None] | None = None  # fired too, once the waiter gave up

    def notify(self, value: Any, failure: BaseException | None) -> None:
        self.value, self.failure, self.done = value, failure, True
        if self.finished is not None:
            self.finished.callback(None)
        if self.waiting:
            if greenlet.getcurrent() is self.hub_greenlet:
                self.me.switch()
            else:  # ended from another request greenlet (a close): it keeps running
                self.reactor.callLater(0, self._resume)

    def _resume(self) -> None:
        if self.waiting:
            self.me.switch()

    def wait(self) -> None:
        """Let the hub run until :meth:`notify` (a stray switch back here just waits again)."""
        self.waiting = True
        try:
            while not self.done:
                self.hub_greenlet.switch()
        finally:
            self.waiting = False


class _Ahead:
    """An operation sent ahead (:meth:`GreenConnection.send_ahead`): its outcome, and who waits for it."""

    __slots__ = ("done", "failure", "on_done", "owner", "waiter")

    def __init__(
        self, owner: GreenConnection, on_done: Callable[[Any, BaseException | None], object] | None
    ) -> None:
        self.owner = owner
        self.on_done = on_done
        self.done = False
        self.failure: BaseException | None = None
        self.waiter: _Waiter | None = None

    def notify(self, value: Any, failure: BaseException | None) -> None:
        self.done, self.failure = True, failure
        on_done, self.on_done = self.on_done, None
        if on_done is not None:
            on_done(self.owner, failure)
        waiter = self.waiter
        if waiter is not None:
            waiter.notify(None, failure)


class GreenConnection:
    """A protocol session driven by the hub's reactor, called from request greenlets of the hub thread
    or, one operation at a time, from any other thread of the process that opened it (module docstring).
    In a forked child it is refused: its socket and reactor belong to the parent."""

    def __init__(self, conn: TwistedConnection) -> None:
        self._conn = conn
        self.state = conn.state
        self.params = conn.params
        self.attempt = conn.attempt
        self._thread = threading.get_ident()
        self._pid = os.getpid()
        self._hub = hub.get_hub()
        self._owner: Any = None  # the greenlet (or other thread) whose operation is in flight
        self._threads_lock = threading.Lock()  # one other thread's operation at a time
        self._ahead: _Ahead | None = None  # an operation sent ahead, until finish_ahead() took its outcome

    # -- construction (request greenlet) --------------------------------------------------------

    @classmethod
    def connect_params(cls, params: ConnectParams) -> GreenConnection:
        """Connect while other greenlets run. Must be called in a request greenlet."""
        pending = TwistedConnection.connect_params(params)
        made: list[TwistedConnection] = []

        def keep(conn: TwistedConnection) -> TwistedConnection:
            made.append(conn)
            return conn

        pending.addCallback(keep)
        try:
            return cls(hub.wait(pending))
        except BaseException:
            # Killed while connecting: close the connection if it completes anyway.
            if made:
                made[0].close()
            elif not pending.called:
                pending.addCallbacks(lambda conn: conn.close(), lambda failure: None)
            raise

    # -- facts ----------------------------------------------------------------------------------

    @property
    def broken(self) -> bool:
        return self._conn.broken

    @property
    def closed(self) -> bool:
        return self._conn.closed

    @property
    def tls(self) -> bool:
        return self._conn.tls

    def fileno(self) -> int:
        return self._conn.fileno()

    # -- operations (request greenlet, or another thread) ----------------------------------------

    def _running_hub(self) -> hub.Hub:
        """The running hub whose request greenlet calls: the only place a cooperative operation may run.

        Call from: a request greenlet of the hub's thread (anywhere else it raises InterfaceMisuse).
        """
        running = hub.request_hub()
        if running is None:
            raise InterfaceMisuse(
                "this connection was opened in a request greenlet of the hub thread; in that thread use it "
                "only in a request greenlet of the running hub (not in a reactor callback, nor once the hub "
                "has stopped)"
            )
        return running

    def _in_other_thread(self) -> bool:
        if os.getpid() != self._pid:
            raise InterfaceMisuse(
                "this connection belongs to the parent process's hub: a forked child cannot use it "
                "(its socket and reactor are the parent's); open a new connection"
            )
        return threading.get_ident() != self._thread

    def run(self, op: Generator[ops.Request, bytes | str | None, T]) -> T:
        """Run one operation, waiting cooperatively; killed or timed out, the query is cancelled.

        Call from: a request greenlet of the hub's thread, or any other thread (see the module
        docstring: the operation runs in turns under the reactor lock, and the thread waits).
        """
        if self._in_other_thread():
            return self._run_in_other_thread(op)
        return self._wait(op, b"")

    def query(self, sql: bytes) -> list[ops.QueryResult]:
        """``run(ops.simple_query(state, sql))``, the usual answer read without a generator.

        Call from: as :meth:`run`.
        """
        if self._in_other_thread():
            return self._run_in_other_thread(ops.simple_query(self.state, sql))
        return self._wait(None, sql)

    def _wait(self, op: Generator[ops.Request, bytes | str | None, T] | None, sql: bytes) -> T:
        """Run ``op``, or the simple query ``sql`` when ``op`` is None, waiting cooperatively.

        Call from: a request greenlet of the hub's thread.
        """
        try:
            running = self._running_hub()
        except InterfaceMisuse:
            if op is not None:
                op.close()
            raise
        waiter = _Waiter(greenlet.getcurrent(), running.greenlet, running.reactor)
        # running.call_exclusive(), as it goes in the hub's thread: under the reactor lock, since
        # another thread may be taking a turn at this connection.
        with running._reactor_lock:
            if self._owner is not None:
                if op is not None:
                    op.close()
                raise InterfaceMisuse(
                    "another greenlet is using this connection: a query is in flight (greenpsyco allows one"
                    " operation per connection at a time; give each greenlet its own connection)"
                    if isinstance(self._owner, greenlet.greenlet)
                    else "another thread is using this connection: a query is in flight (greenpsyco allows"
                    " one operation per connection at a time)"
                )
            self._owner = waiter.me
            if op is None:
                self._conn.query_direct(sql, waiter.notify)
            else:
                self._conn.run_direct(op, waiter.notify)
        try:
            if not waiter.done:
                try:
                    waiter.wait()
                except BaseException:
                    # Killed (or interrupted) while waiting: cancel the query and let it end.
                    if not waiter.done:
                        finished = waiter.finished = defer.Deferred()
                        self._send_cancel()
                        self._drain(finished)
                    raise
            if waiter.failure is not None:
                raise waiter.failure
            return waiter.value  # type: ignore[no-any-return]
        finally:
            self._owner = None

    @property
    def ahead(self) -> bool:
        """An operation was sent ahead and :meth:`finish_ahead` has not yet taken its outcome."""
        return self._ahead is not None

    def send_ahead(
        self,
        op: Generator[ops.Request, bytes | str | None, Any],
        on_done: Callable[[GreenConnection, BaseException | None], object] | None = None,
    ) -> None:
        """Start ``op`` and return without waiting: the reactor absorbs its answers as they arrive.

        ``on_done(self, error)`` is called (in the hub greenlet, usually) when it ends, with None or its
        error; :meth:`finish_ahead` waits for the end and raises the error. Until then no other
        operation can start (:meth:`run` refuses, as with any operation in flight). The pool sends
        its reset of a returned session this way, so the request returning it does not wait a round trip.
        """
        self._running_hub()

        def start() -> None:
            # Under the reactor lock: another thread may be taking a turn at this connection.
            if self._ahead is not None or self._owner is not None or self._conn.busy:
                op.close()
                raise InterfaceMisuse("another operation is in progress on this connection")
            ahead = self._ahead = _Ahead(self, on_done)
            self._conn.run_direct(op, ahead.notify)

        self._exclusive(start)

    def finish_ahead(self) -> None:
        """Wait (cooperatively) for the operation sent ahead, if any, and raise its error."""
        ahead = self._ahead
        if ahead is None:
            return
        if not ahead.done:
            running = self._running_hub()
            waiter = ahead.waiter = _Waiter(greenlet.getcurrent(), running.greenlet, running.reactor)
            try:
                waiter.wait()
            finally:
                ahead.waiter = None  # killed while waiting: the operation goes on, the next caller waits
        self._ahead = None
        if ahead.failure is not None:
            raise ahead.failure
        # What arrived in the same read after the answer (say a FATAL before the server closed the
        # session) was left for an operation to read: check it as the reactor checks an idle session.
        ops.process_idle(self.state)

    # -- operations from another OS thread ------------------------------------------------------

    def _exclusive(self, fn: Callable[[], T]) -> T:
        """``fn()`` with the reactor (or, in the hub's thread, another thread) kept off this connection
        (see :meth:`greenpsyco.hub.Hub.call_exclusive`).

        Call from: any thread, any greenlet.
        """
        running = self._hub
        if running is None:
            return fn()
        return running.call_exclusive(fn)

    def _run_in_other_thread(self, op: Generator[ops.Request, bytes | str | None, T]) -> T:
        """Run one operation from a thread other than the hub's: start it in a turn, then wait for its
        end, serving the socket in further turns whenever it is ready (the reactor may serve it too).

        Call from: any thread other than the hub's.
        """
        done = threading.Event()
        outcome: list[tuple[Any, BaseException | None]] = []
        me = threading.get_ident()
        wake_read, wake_write = os.pipe()  # wakes our select() when the reactor ends the operation
        os.set_blocking(wake_write, False)

        def notify(value: Any, failure: BaseException | None) -> None:
            # In whichever thread holds the reactor lock: the hub's (the reactor read the answer) or ours.
            outcome.append((value, failure))
            self._owner = None
            done.set()
            if threading.get_ident() != me:
                with contextlib.suppress(OSError):
                    os.write(wake_write, b"\0")

        def start() -> None:
            if self._owner is not None or self._conn.busy:
                op.close()
                raise InterfaceMisuse(
                    "a greenlet is using this connection: a query is in flight (greenpsyco allows one "
                    "operation per connection at a time)"
                )
            self._owner = threading.current_thread()
            self._conn.run_direct(op, notify)
            self._flush_tls()

        try:
            with self._threads_lock:
                self._exclusive(start)
                try:
                    while not done.is_set():
                        self._serve_socket(done, 0.05, wake_read)
                except BaseException:
                    # Interrupted while waiting (KeyboardInterrupt...): the session's state is unknown.
                    if not done.is_set():
                        self._exclusive(self._give_up)
                    raise
        finally:
            self._exclusive(lambda: os.close(wake_write))  # not while notify() may be writing to it
            os.close(wake_read)
        value, failure = outcome[0]
        if failure is not None:
            raise failure
        return value  # type: ignore[no-any-return]

    def _give_up(self) -> None:
        """Drop the connection after an operation whose waiter gave up.

        Call from: any thread, under the reactor lock."""
        self._conn.close()
        self._conn._pump.broken = True
        self._owner = None

    def _transport(self) -> Any:
        """The Twisted TCP/Unix transport (TLS is a protocol layered in it), or None once lost.

        Call from: any thread (touch the transport only under the reactor lock)."""
        transport = self._conn._pump.transport
        if transport is None or transport.lost:
            return None
        return transport.raw

    def _flush_tls(self) -> None:
        """Send what Twisted's TLS layer aggregates for its next reactor turn (which may not come soon
        when the hub's thread is blocked): its ``callLater(0)`` then finds nothing left.

        Call from: any thread, under the reactor lock."""
        raw = self._transport()
        aggregator = getattr(getattr(raw, "protocol", None), "_aggregator", None)
        if aggregator is not None:
            aggregator.flush()

    def _serve_socket(self, done: threading.Event | None, timeout: float, wake: int = -1) -> None:
        """Wait up to ``timeout`` for the socket to be ready, then take one turn: read (and write what is
        buffered) as the reactor would. When the reactor lock is not to be had quickly, the reactor is
        running and serves the socket itself. ``done`` set meanwhile (the operation ended; a byte on
        the pipe ``wake`` says so when the reactor ended it): return.

        Call from: any thread other than the hub's.
        """
        raw = self._transport()
        if raw is None:
            if done is not None:
                done.wait(timeout)  # a lost transport ends the operation (in a turn of its own)
            return
        fd = raw.fileno()
        want_write = bool(raw.dataBuffer or raw._tempDataBuffer)
        try:
            readable, writable, _ = select.select(
                [fd, wake] if wake >= 0 else [fd], [fd] if want_write else [], [], timeout
            )
        except (OSError, ValueError):  # closed under us: the next turn sees it
            readable = writable = []
        if wake in readable:
            os.read(wake, 64)
            readable.remove(wake)
        if (done is not None and done.is_set()) or not (readable or writable):
            return
        running = self._hub
        lock = running._reactor_lock if running is not None else None
        if lock is not None and not lock.acquire(blocking=False):
            # The hub greenlet runs (reactor code): it serves the socket itself. Look again shortly.
            if done is not None:
                done.wait(0.002)
            return
        try:
            if (done is not None and done.is_set()) or self._transport() is not raw:
                return
            reactor = self._conn._pump.reactor
            if readable:
                why = raw.doRead()
                if why is not None:
                    reactor._disconnectSelectable(raw, why, True)
                    return
            if writable or raw.dataBuffer or raw._tempDataBuffer:
                why = raw.doWrite() if writable else None
                if why is not None:
                    reactor._disconnectSelectable(raw, why, False)
                    return
            self._flush_tls()
        finally:
            if lock is not None:
                lock.release()

    def _send_cancel(self) -> None:
        if not self._conn.broken and not self._conn.closed:
            self._conn.cancel().addErrback(lambda failure: None)

    def _drain(self, finished: defer.Deferred[Any]) -> None:
        """After the waiter gave up: let the cancelled query end, or drop the connection."""
        try:
            hub.wait(finished, timeout=DRAIN_TIMEOUT)
        except BaseException:
            self._exclusive(self._give_up)

    def cancel(self) -> None:
        """Cancel the running statement (from any thread or greenlet).

        From a request greenlet the CancelRequest goes through the reactor; from another thread it is
        sent on a plain socket of its own, so it never waits for the hub thread (which may be busy).
        """
        if os.getpid() != self._pid:
            raise InterfaceMisuse("cancel() of a parent process's cooperative connection in a forked child")
        if threading.get_ident() == self._thread and hub.mode() == "cooperative":
            hub.wait(self._conn.cancel())
            return
        if threading.get_ident() == self._thread:
            raise InterfaceMisuse("cancel() from the hub greenlet would block the reactor")
        peer = self._conn._pump.peer
        if peer is None or self.state.backend_pid is None or self.state.backend_secret is None:
            raise InterfaceMisuse("no cancellation key or peer address")
        send_cancel(peer, self.state.backend_pid, self.state.backend_secret)

    def poll(self, timeout: float | None = 0.0) -> None:
        """Let the reactor read what is pending (notifications, notices) for up to ``timeout`` seconds
        (at least one turn, as psycopg2's poll() reads the socket); a broken session is reported.

        Call from: a request greenlet of the hub's thread, or any other thread (which reads the socket
        in a turn of its own when the reactor does not).
        """
        if self._conn.broken:
            raise ConnectionLost(ops.LOST_MESSAGE)
        if self._in_other_thread():
            with self._threads_lock:
                if self._conn.busy:
                    raise InterfaceMisuse("poll() while a query is in flight on this connection")
                self._serve_socket(None, timeout or 0)
        else:
            hub.sleep(timeout or 0)
            hub.sleep(0)  # a second turn: the reactor polls the sockets between its timed calls
        if self._conn.broken:
            raise ConnectionLost(ops.LOST_MESSAGE)

    def wait_notification(self, timeout: float | None = None) -> NotificationResponse | None:
        """The next NOTIFY, waiting cooperatively (or, in another thread, blocking) up to ``timeout`` s.

        Call from: a request greenlet of the hub's thread, or any other thread.
        """
        waited = 0.0
        step = 0.01
        while not self.state.notifications:
            if self._conn.broken:
                raise ConnectionLost(ops.LOST_MESSAGE)
            if timeout is not None and waited >= timeout:
                return None
            if self._in_other_thread():
                with self._threads_lock:
                    self._serve_socket(None, step)
            else:
                hub.sleep(step)
            waited += step
        return self.state.notifications.popleft()

    def close(self) -> None:
        """Terminate the session and drop the transport.

        Call from: any greenlet of the hub's thread, or any other thread (in a turn under the reactor
        lock: the transport is the reactor's).
        """
        if os.getpid() != self._pid:
            return  # a forked child: the session and its reactor are the parent's; leave them alone
        self._exclusive(self._conn.close)
