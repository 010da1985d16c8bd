"""The short dispatch path from the hub reactor's epoll to greenpsyco's database sockets.

The unit tests drive a private ``EPollReactor`` (never run, never installed) one ``doIteration`` at a
time over a socket pair; the scenario runs a real hub in a fresh interpreter against the server.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from twisted.internet import abstract, main
from twisted.internet.epollreactor import EPollReactor
from twisted.internet.pollreactor import PollReactor
from twisted.python import failure, log

from greenpsyco.testing import TestServer
from greenpsyco.wire import fastpath
from tests.hub_scenarios import run_scenario


class _Reader(abstract.FileDescriptor):
    """One end of a socket pair, read the way a Twisted connection reads: ``doRead`` says what
    happened (None, a disconnect reason, or an exception)."""

    def __init__(self, sock: socket.socket, reactor: Any, outcome: Any = None) -> None:
        super().__init__(reactor)
        self.sock = sock
        self.outcome = outcome
        self.received: list[bytes] = []
        self.lost: list[failure.Failure] = []
        self.prefix_asked = 0

    def fileno(self) -> int:
        return self.sock.fileno()

    def logPrefix(self) -> str:
        self.prefix_asked += 1  # only Twisted's own path (callWithLogger) asks
        return "reader"

    def doRead(self) -> Any:
        self.received.append(self.sock.recv(100))
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome

    def connectionLost(self, reason: failure.Failure) -> None:
        self.lost.append(reason)
        self.reactor.removeReader(self)


@pytest.fixture
def reactor() -> Iterator[EPollReactor]:
    made = EPollReactor()
    try:
        yield made
    finally:
        fastpath.uninstall(made)
        made._poller.close()
        made.waker.connectionLost(None)  # closes its pipe


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    left, right = socket.socketpair()
    try:
        yield left, right
    finally:
        left.close()
        right.close()


@pytest.fixture
def logged() -> Iterator[list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    log.addObserver(events.append)
    try:
        yield events
    finally:
        log.removeObserver(events.append)


def _reader(reactor: EPollReactor, sock: socket.socket, outcome: Any = None) -> _Reader:
    reader = _Reader(sock, reactor, outcome)
    reactor.addReader(reader)
    return reader


@contextlib.contextmanager
def _registered(selectable: Any) -> Iterator[int]:
    """``selectable`` registered with fastpath for the block; yields its fd."""
    fd = fastpath.register(selectable)
    try:
        yield fd
    finally:
        fastpath.unregister(selectable, fd)


def test_install_replaces_do_iteration_and_uninstall_gives_it_back(reactor: EPollReactor) -> None:
    assert not fastpath.installed(reactor)
    assert fastpath.install(reactor)
    assert fastpath.installed(reactor)
    assert fastpath.install(reactor)  # twice is harmless
    fastpath.uninstall(reactor)
    assert not fastpath.installed(reactor)
    assert reactor.doIteration.__func__ is EPollReactor.doPoll  # type: ignore[attr-defined]


def test_install_leaves_other_reactors_alone() -> None:
    class OwnPoll(EPollReactor):
        def doPoll(self, timeout: float | None) -> None:
            super().doPoll(timeout)

        doIteration = doPoll

    for made in (PollReactor(), OwnPoll()):
        try:
            assert not fastpath.install(made)
            assert not fastpath.installed(made)
        finally:
            made._poller.close() if hasattr(made._poller, "close") else None


def test_a_registered_socket_is_read_without_the_logging_context(
    reactor: EPollReactor, pair: tuple[socket.socket, socket.socket]
) -> None:
    left, right = pair
    reader = _reader(reactor, left)
    with _registered(reader) as fd:
        assert fd == left.fileno()
        fastpath.install(reactor)
        right.send(b"ready")
        reactor.doIteration(1)
        assert reader.received == [b"ready"]
        assert reader.prefix_asked == 0
        assert reader.lost == []


def test_an_unregistered_socket_takes_twisteds_path(
    reactor: EPollReactor, pair: tuple[socket.socket, socket.socket]
) -> None:
    left, right = pair
    reader = _reader(reactor, left)
    fastpath.install(reactor)
    right.send(b"ready")
    reactor.doIteration(1)
    assert reader.received == [b"ready"]
    assert reader.prefix_asked == 1


def test_a_stale_registration_for_a_reused_fd_is_ignored(
    reactor: EPollReactor, pair: tuple[socket.socket, socket.socket]
) -> None:
    left, right = pair
    reader = _reader(reactor, left)
    stale = _Reader(left, reactor)  # registered under the same fd, but not the reactor's selectable
    with _registered(stale):
        fastpath.install(reactor)
        right.send(b"x")
        reactor.doIteration(1)
        assert reader.received == [b"x"]
        assert reader.prefix_asked == 1
        assert stale.received == []


def test_a_returned_reason_disconnects_as_twisted_would(
    reactor: EPollReactor, pair: tuple[socket.socket, socket.socket]
) -> None:
    left, right = pair
    reader = _reader(reactor, left, outcome=main.CONNECTION_DONE)
    with _registered(reader):
        fastpath.install(reactor)
        right.send(b"bye")
        reactor.doIteration(1)
        assert len(reader.lost) == 1
        assert reader.lost[0].check(main.CONNECTION_DONE.__class__)
        assert left.fileno() not in reactor._selectables


def test_an_exception_in_doread_is_logged_and_disconnects(
    reactor: EPollReactor, pair: tuple[socket.socket, socket.socket], logged: list[dict[str, Any]]
) -> None:
    left, right = pair
    reader = _reader(reactor, left, outcome=ValueError("boom in doRead"))
    try:
        with _registered(reader):
            fastpath.install(reactor)
            right.send(b"x")
            reactor.doIteration(1)
            assert len(reader.lost) == 1
            assert reader.lost[0].check(ValueError)
            errors = [event for event in logged if event.get("isError")]
            assert len(errors) == 1
            assert errors[0]["failure"].check(ValueError)
            assert "boom in doRead" in str(errors[0]["failure"].value)
    finally:
        for event in logged:  # handled here: keep trial-style error observers quiet
            if event.get("isError"):
                event["failure"].cleanFailure()


def test_register_refuses_a_selectable_without_a_descriptor() -> None:
    class Closed:
        def fileno(self) -> int:
            return -1

        def doRead(self) -> None:
            pass

    count = fastpath.registered_count()
    assert fastpath.register(Closed()) == -1
    assert fastpath.registered_count() == count


@pytest.mark.parametrize("transport", ["tcp", "tls", "unix"])
def test_the_hub_reads_its_database_sockets_by_the_short_path(pg_server: TestServer, transport: str) -> None:
    dsn = {
        "tcp": pg_server.dsn(sslmode="disable"),
        "tls": pg_server.dsn(sslmode="require"),
        "unix": pg_server.dsn(unix=True),
    }[transport]
    seen = run_scenario(
        dsn,
        """
        from select import EPOLLIN
        from twisted.python import log
        from greenpsyco.wire import fastpath
        slow = []
        original = log.callWithLogger

        def counting(logger, func, *args, **kwargs):
            if args[2] & EPOLLIN:  # a write event (TLS writes wait for one) takes Twisted's path
                slow.append(type(logger).__name__)
            return original(logger, func, *args, **kwargs)

        log.callWithLogger = counting

        def main():
            reactor = hub.get_hub().reactor
            installed = fastpath.installed(reactor)
            conn = psycopg2.connect(DSN)
            conn.autocommit = True
            registered = fastpath.registered_count()
            cur = conn.cursor()
            del slow[:]
            values = []
            for n in range(200):
                cur.execute("SELECT %s::int", (n,))
                values.append(cur.fetchone()[0])
            slow_during_queries = len(slow)
            conn.close()
            hub.sleep(0.05)
            return {"installed": installed, "registered": registered, "values": values == list(range(200)),
                    "slow": slow_during_queries, "after_close": fastpath.registered_count()}

        seen = hub.run(main)
        seen["after_stop"] = fastpath.installed(hub.get_hub().reactor)
        print(json.dumps(seen))
        """,
    )
    assert seen == {
        "installed": True,
        "registered": 1,
        "values": True,
        "slow": 0,  # not one of the 200 answers was read through callWithLogger
        "after_close": 0,
        "after_stop": False,
    }


# What psycopg2 2.9 says on the next query after the server ended an idle session (measured).
_ENDED_WHILE_IDLE = {
    "disable": "server closed the connection unexpectedly\n\tThis probably means the server terminated "
    "abnormally\n\tbefore or while processing the request.\n",
    "require": "SSL connection has been closed unexpectedly\n",
}


@pytest.mark.parametrize("sslmode", ["disable", "require"])
def test_a_session_the_server_ends_is_still_seen_by_the_hub(pg_server: TestServer, sslmode: str) -> None:
    seen = run_scenario(
        pg_server.dsn(sslmode=sslmode),
        """
        from greenpsyco.wire import fastpath

        def main():
            conn = psycopg2.connect(DSN)
            conn.autocommit = True
            pid = conn.get_backend_pid()
            killer = psycopg2.connect(DSN)
            killer.autocommit = True
            killer.cursor().execute("SELECT pg_terminate_backend(%s)", (pid,))
            killer.close()
            hub.sleep(0.3)  # the server's FATAL and end of stream arrive while the session is idle
            try:
                conn.cursor().execute("SELECT 1")
            except psycopg2.OperationalError as exc:
                error = str(exc)
            else:
                error = None
            return {"error": error, "closed": conn.closed, "registered": fastpath.registered_count()}

        print(json.dumps(hub.run(main)))
        """,
    )
    assert seen == {"error": _ENDED_WHILE_IDLE[sslmode], "closed": 2, "registered": 0}
