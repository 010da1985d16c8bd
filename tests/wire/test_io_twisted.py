"""What only the Twisted driver does: one operation at a time, broken-connection callback, idle input."""

from __future__ import annotations

import functools
import threading
import time

import pytest
from twisted.internet import defer

from greenpsyco.testing import TestServer
from greenpsyco.wire.errors import ConnectionLost, InterfaceMisuse
from greenpsyco.wire.io_blocking import BlockingConnection
from greenpsyco.wire.io_twisted import TwistedConnection
from tests.wire.drivers import CLEAN_ENV, ensure_reactor, in_reactor


@pytest.fixture
def conn(pg_server: TestServer) -> TwistedConnection:
    ensure_reactor()
    return in_reactor(functools.partial(TwistedConnection.connect, pg_server.dsn(), environ=CLEAN_ENV))


def test_a_second_operation_while_one_is_in_flight_is_refused(conn: TwistedConnection) -> None:
    def both() -> defer.Deferred[list[object]]:
        first = conn.execute("SELECT pg_sleep(0.2), 1")
        second = conn.execute("SELECT 2")
        return defer.DeferredList([first, second], consumeErrors=True)  # type: ignore[return-value]

    [(ok1, first), (ok2, second)] = in_reactor(both)  # type: ignore[misc]
    assert ok1
    assert first[0].rows == [(b"", b"1")]  # type: ignore[index]
    assert not ok2
    assert second.check(InterfaceMisuse)  # type: ignore[union-attr]
    assert in_reactor(conn.execute, "SELECT 3")[0].rows == [(b"3",)]
    in_reactor(conn.close)


def test_broken_callback_fires_when_the_server_ends_an_idle_session(
    conn: TwistedConnection, pg_server: TestServer
) -> None:
    seen: list[BaseException] = []
    event = threading.Event()

    def on_broken(exc: BaseException) -> None:
        seen.append(exc)
        event.set()

    in_reactor(conn.set_broken_callback, on_broken)
    with BlockingConnection.connect(pg_server.dsn(), environ=CLEAN_ENV) as killer:
        killer.execute(f"SELECT pg_terminate_backend({conn.state.backend_pid})")
    assert event.wait(5)
    assert isinstance(seen[0], ConnectionLost)
    assert "terminating connection due to administrator command" in str(seen[0])
    assert conn.broken
    with pytest.raises(ConnectionLost):
        in_reactor(conn.execute, "SELECT 1")


def test_notifications_arrive_while_idle(conn: TwistedConnection, pg_server: TestServer) -> None:
    in_reactor(conn.execute, "LISTEN idle_channel")
    with BlockingConnection.connect(pg_server.dsn(), environ=CLEAN_ENV) as sender:
        sender.execute("NOTIFY idle_channel, 'hello'")
    deadline = time.monotonic() + 5
    while not conn.state.notifications and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [n.payload for n in conn.state.notifications] == ["hello"]
    in_reactor(conn.close)
