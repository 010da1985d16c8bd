"""What only the blocking driver does: Ctrl-C cancels, cross-thread misuse, idle polling."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from greenpsyco.testing import TestServer
from greenpsyco.wire.errors import InterfaceMisuse, QueryCanceled
from greenpsyco.wire.io_blocking import BlockingConnection
from tests.wire.drivers import CLEAN_ENV


def test_ctrl_c_cancels_the_query_then_raises_keyboard_interrupt(pg_server: TestServer) -> None:
    with BlockingConnection.connect(pg_server.dsn(), environ=CLEAN_ENV) as conn:
        timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
        started = time.monotonic()
        timer.start()
        with pytest.raises(KeyboardInterrupt) as info:
            conn.execute("SELECT pg_sleep(30)")
        assert time.monotonic() - started < 2
        assert isinstance(info.value.__cause__, QueryCanceled)
        [result] = conn.execute("SELECT 1")
        assert result.rows == [(b"1",)]


def test_second_operation_from_another_thread_is_refused(pg_server: TestServer) -> None:
    with BlockingConnection.connect(pg_server.dsn(), environ=CLEAN_ENV) as conn:
        outcome: list[BaseException] = []

        def intruder() -> None:
            try:
                conn.execute("SELECT 1")
            except BaseException as exc:
                outcome.append(exc)

        timer = threading.Timer(0.2, intruder)
        timer.start()
        conn.execute("SELECT pg_sleep(0.6)")
        timer.join()
        assert isinstance(outcome[0], InterfaceMisuse)


def test_closed_connection_refuses_operations(pg_server: TestServer) -> None:
    conn = BlockingConnection.connect(pg_server.dsn(), environ=CLEAN_ENV)
    conn.close()
    assert conn.closed
    with pytest.raises(InterfaceMisuse, match="already closed"):
        conn.execute("SELECT 1")
    conn.close()  # idempotent


def test_tcp_keepalive_options_reach_the_socket(pg_server: TestServer) -> None:
    import socket

    dsn = pg_server.dsn(sslmode="disable", keepalives_idle=17, keepalives_interval=5, keepalives_count=3)
    with BlockingConnection.connect(dsn, environ=CLEAN_ENV) as conn:
        sock = conn._sock
        assert sock is not None
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 17
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 5
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    with BlockingConnection.connect(
        pg_server.dsn(sslmode="disable", keepalives=0), environ=CLEAN_ENV
    ) as conn:
        assert conn._sock is not None
        assert conn._sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
