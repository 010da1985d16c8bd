"""``greenpsyco serve`` with a real Django project on the test cluster, over real HTTP."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator

import psycopg2 as real_psycopg2
import pytest

from greenpsyco.testing import TestServer
from tests.server.httpclient import get, get_many, parse_response

pytestmark = pytest.mark.slow


def _count_backends(pg_server: TestServer, app_name: str, *, active_only: bool = False) -> int:
    conn = real_psycopg2.connect(pg_server.dsn())
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
                + (" AND state = 'active'" if active_only else ""),
                [app_name],
            )
            return int(cursor.fetchone()[0])
    finally:
        conn.close()


class _Peak:
    def __init__(self) -> None:
        self.value = 0


@contextlib.contextmanager
def _peak_backends(pg_server: TestServer, app_name: str, *, every: float) -> Iterator[_Peak]:
    """Sample the server's PostgreSQL sessions every ``every`` seconds while the block runs; the
    highest count is in ``.value`` afterwards."""
    peak = _Peak()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            peak.value = max(peak.value, _count_backends(pg_server, app_name))
            time.sleep(every)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        yield peak
    finally:
        stop.set()
        watcher.join()


def test_300_concurrent_slow_queries_in_one_worker_share_the_pool(
    start_server, pg_server: TestServer
) -> None:
    server = start_server("testproject.wsgi", "--pool-size", "20", "--timeout", "60")
    with _peak_backends(pg_server, server.app_name, every=0.05) as peak:
        started = time.monotonic()
        replies = get_many(server.port, [f"/sleep/?s=0.3&tag={n}" for n in range(300)], timeout=120)
        wall = time.monotonic() - started
    assert [reply.status for reply in replies] == [200] * 300
    for n, reply in enumerate(replies):
        assert re.fullmatch(rf"slept 0.3 tag={n} backend=\d+", reply.body.decode()), reply.body
    backends = {reply.body.decode().rsplit("=", 1)[1] for reply in replies}
    assert 1 <= len(backends) <= 20
    assert peak.value <= 20
    # 300 x 0.3 s = 90 s one after another; 15 rounds of 20 is 4.5 s. Not a timing assertion on our
    # speed: only proof that the requests overlapped instead of running one by one.
    assert wall < 60


@pytest.mark.parametrize("conn_max_age", [0, 600])
def test_conn_max_age_decides_whether_the_next_request_gets_the_same_session(
    start_server, pg_server: TestServer, conn_max_age: int
) -> None:
    server = start_server(
        "testproject.wsgi", "--pool-size", "3", env={"GREENPSYCO_TEST_CONN_MAX_AGE": str(conn_max_age)}
    )
    marks = [get(server.port, f"/mark/?tag=r{n}").body.decode() for n in range(5)]
    seen = [re.fullmatch(r"mark=(\w*) backend=(\d+)", body) for body in marks]
    assert all(seen), marks
    if conn_max_age:
        # the session as the previous request left it, as with a thread's persistent connection
        assert [match[1] for match in seen if match] == ["", "r0", "r1", "r2", "r3"]
        assert len({match[2] for match in seen if match}) == 1
    else:
        assert [match[1] for match in seen if match] == [""] * 5  # DISCARD ALL between requests

    # more concurrent requests than the pool: every one answered, never more than 3 sessions
    with _peak_backends(pg_server, server.app_name, every=0.02) as peak:
        replies = get_many(server.port, [f"/sleep/?s=0.1&tag={n}" for n in range(40)], timeout=60)
    assert [reply.status for reply in replies] == [200] * 40
    assert 1 <= len({reply.body.decode().rsplit("=", 1)[1] for reply in replies}) <= 3
    assert 1 <= peak.value <= 3
    # a request that does not use the database is answered while every session is taken
    slow = threading.Thread(
        target=get_many, args=(server.port, [f"/sleep/?s=3.0&tag=h{n}" for n in range(3)]), daemon=True
    )
    slow.start()
    deadline = time.monotonic() + 20
    while _count_backends(pg_server, server.app_name, active_only=True) < 3:
        assert time.monotonic() < deadline, "the three slow requests never ran at once"
        time.sleep(0.02)
    assert get(server.port, "/hello/").status == 200
    # answered while all three sessions were still busy: it did not wait for one
    assert _count_backends(pg_server, server.app_name, active_only=True) == 3
    slow.join(30)


def test_keep_alive_reuses_one_connection(start_server) -> None:
    server = start_server("testproject.wsgi")
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        replies = []
        for _ in range(3):
            sock.sendall(b"GET /hello/ HTTP/1.1\r\nHost: x\r\n\r\n")
            raw = b""
            while b"\r\n\r\n" not in raw or len(raw.partition(b"\r\n\r\n")[2]) < 5:
                chunk = sock.recv(65536)
                assert chunk, "the server closed a keep-alive connection"
                raw += chunk
            replies.append(parse_response(raw))
    assert [reply.status for reply in replies] == [200, 200, 200]
    assert all(reply.body == b"hello from greenpsyco" for reply in replies)
    assert all(reply.headers.get("connection") != "close" for reply in replies)


def test_streaming_response_is_chunked(start_server) -> None:
    server = start_server("testproject.wsgi")
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /stream/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head
    assert body.startswith(b"7\r\npart 0\n\r\n")
    assert body.endswith(b"0\r\n\r\n")
    assert parse_response(raw).body == b"".join(f"part {n}\n".encode() for n in range(5))


def test_an_exception_in_a_view_gives_500_and_the_next_request_works(start_server) -> None:
    server = start_server("testproject.wsgi")
    assert get(server.port, "/boom/").status == 500
    assert get(server.port, "/sleep/?s=0").status == 200
    assert "the view failed on purpose" in server.output()


def test_timeout_cancels_the_slow_query(start_server, pg_server: TestServer) -> None:
    server = start_server("testproject.wsgi", "--timeout", "1")
    started = time.monotonic()
    reply = get(server.port, "/sleep/?s=30")
    assert reply.status == 503
    assert time.monotonic() - started < 10
    deadline = time.monotonic() + 3
    while _count_backends(pg_server, server.app_name, active_only=True) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _count_backends(pg_server, server.app_name, active_only=True) == 0
    assert "ran longer than 1.0 s (--timeout)" in server.output()
    assert get(server.port, "/sleep/?s=0").status == 200


def test_sigterm_lets_requests_in_flight_finish_and_exits_0(start_server) -> None:
    # A long --graceful-timeout: the drain must end when the requests (and their responses) are done.
    server = start_server("testproject.wsgi", "--workers", "2", "--graceful-timeout", "120")
    results: list[object] = []

    def fire() -> None:
        results.extend(get_many(server.port, [f"/sleep/?s=1.5&tag={n}" for n in range(10)]))

    client = threading.Thread(target=fire)
    client.start()
    time.sleep(0.7)
    server.signal(signal.SIGTERM)
    client.join(30)
    assert server.wait(30) == 0
    assert [reply.status for reply in results] == [200] * 10  # type: ignore[attr-defined]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
    assert "Traceback" not in server.output()
    assert "still running after --graceful-timeout" not in server.output()


def test_a_killed_worker_is_replaced(start_server) -> None:
    server = start_server("testproject.wsgi", "--workers", "2")
    server.wait_for_output(r"(?s)Booting worker.*Booting worker")
    first = server.worker_pids()
    os.kill(first[0], signal.SIGKILL)
    server.wait_for_output(rf"worker {first[0]} died \(killed by SIGKILL\)")
    server.wait_for_output(r"(?s)(Booting worker.*){3}")
    assert len(server.worker_pids()) == 3
    replies = get_many(server.port, ["/sleep/?s=0"] * 20)
    assert all(reply.status == 200 for reply in replies)
