"""The Twisted driver used synchronously from request greenlets: cooperative mode of the fake psycopg2.

``GreenConnection`` offers what the fake psycopg2 connection needs from a wire connection (``run``,
``cancel``, ``poll``, ``close``, ``state``, ...) on top of the Twisted driver (``TwistedConnection``):
each operation is started in the reactor and the calling greenlet waits in :func:`greenpsyco.hub.wait`
while other greenlets run. If the waiting greenlet is killed or times out, the query is cancelled on the
server (CancelRequest) and drained to ReadyForQuery, so the connection stays usable — or, when the server
does not answer in time, the connection is marked broken. It never leaves a query running.
"""

from __future__ import annotations

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
    """A protocol session driven by the hub's reactor, called from request greenlets of the hub thread."""

    def __init__(self, conn: TwistedConnection) -> None:
        self._conn = conn
        self.state = conn.state
        self.params = conn.params
        self.attempt = conn.attempt
        self._thread = threading.get_ident()
        self._owner: Any = None  # the greenlet whose operation is in flight
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

    # -- operations (request greenlet) ----------------------------------------------------------

    def _check_context(self) -> None:
        if hub.mode() != "cooperative" or threading.get_ident() != self._thread:
            raise InterfaceMisuse(
                "this connection was opened in a request greenlet of the hub thread; use it only there"
            )

    def run(self, op: Generator[ops.Request, bytes | str | None, T]) -> T:
        """Run one operation, waiting cooperatively; killed or timed out, the query is cancelled."""
        try:
            self._check_context()
            if self._owner is not None:
                raise InterfaceMisuse(
                    "another greenlet is using this connection: a query is in flight (greenpsyco allows one"
                    " operation per connection at a time; give each greenlet its own connection)"
                )
        except BaseException:
            op.close()
            raise
        running = hub.get_hub()
        assert running is not None
        waiter = _Waiter(greenlet.getcurrent(), running.greenlet, running.reactor)
        self._owner = waiter.me
        try:
            self._conn.run_direct(op, waiter.notify)
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
        self._check_context()
        if self._ahead is not None or self._owner is not None:
            op.close()
            raise InterfaceMisuse("another operation is in progress on this connection")
        ahead = self._ahead = _Ahead(self, on_done)
        self._conn.run_direct(op, ahead.notify)

    def finish_ahead(self) -> None:
        """Wait (cooperatively) for the operation sent ahead, if any, and raise its error."""
        ahead = self._ahead
        if ahead is None:
            return
        if not ahead.done:
            self._check_context()
            running = hub.get_hub()
            assert running is not None
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

    def _send_cancel(self) -> None:
        if not self._conn.broken and not self._conn.closed:
            self._conn.cancel().addErrback(lambda failure: None)

    def _drain(self, finished: defer.Deferred[Any]) -> None:
        """After the waiter gave up: let the cancelled query end, or drop the connection."""
        try:
            hub.wait(finished, timeout=DRAIN_TIMEOUT)
        except BaseException:
            self._conn.close()
            self._conn._pump.broken = True

    def cancel(self) -> None:
        """Cancel the running statement (from any thread or greenlet).

        From a request greenlet the CancelRequest goes through the reactor; from another thread it is
        sent on a plain socket of its own, so it never waits for the hub thread (which may be busy).
        """
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
        (at least one turn, as psycopg2's poll() reads the socket); a broken session is reported."""
        if self._conn.broken:
            raise ConnectionLost(ops.LOST_MESSAGE)
        hub.sleep(timeout or 0)
        hub.sleep(0)  # a second turn: the reactor polls the sockets between its timed calls
        if self._conn.broken:
            raise ConnectionLost(ops.LOST_MESSAGE)

    def wait_notification(self, timeout: float | None = None) -> NotificationResponse | None:
        """The next NOTIFY, waiting cooperatively up to ``timeout`` seconds."""
        waited = 0.0
        step = 0.01
        while not self.state.notifications:
            if self._conn.broken:
                raise ConnectionLost(ops.LOST_MESSAGE)
            if timeout is not None and waited >= timeout:
                return None
            hub.sleep(step)
            waited += step
        return self.state.notifications.popleft()

    def close(self) -> None:
        self._conn.close()
