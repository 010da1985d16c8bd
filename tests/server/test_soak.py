"""Load and soak: 2,000 concurrent keep-alive clients for a while against a Django view with a 50 ms query.

Zero errors, bounded memory (RSS reported at start and end), no greenlet or connection leak afterwards,
and the pool's wait queue honouring its timeout when the database is slower than the load. The load
generator is a bounded asyncio client in the test process (one connection per simulated client, each
sending its next request when the previous answer has arrived). ``GREENPSYCO_SOAK_SECONDS`` sets the
duration (default 60, as the reliability issue asks).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import time
from dataclasses import dataclass, field

import psycopg2 as real_psycopg2
import pytest

from greenpsyco.testing import TestServer
from tests.server.httpclient import get, get_many

pytestmark = pytest.mark.slow

CLIENTS = 2000
SECONDS = float(os.environ.get("GREENPSYCO_SOAK_SECONDS", "60"))


@dataclass
class LoadOutcome:
    ok: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


async def _client(port: int, path: str, deadline: float, outcome: LoadOutcome) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as exc:
        outcome.errors.append(f"connect: {exc}")
        return
    request = f"GET {path} HTTP/1.1\r\nHost: soak\r\n\r\n".encode()
    try:
        while time.monotonic() < deadline:
            started = time.monotonic()
            writer.write(request)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
            status = int(head.split(b" ", 2)[1])
            await asyncio.wait_for(_read_body(reader, head), 60)
            if status == 200:
                outcome.ok += 1
                outcome.latencies.append(time.monotonic() - started)
            else:
                outcome.errors.append(f"HTTP {status}")
    except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
        outcome.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        writer.close()


async def _read_body(reader: asyncio.StreamReader, head: bytes) -> bytes:
    """The body after ``head``: Content-Length or chunked (Django responses without a length)."""
    headers = head.lower()
    if b"transfer-encoding: chunked" in headers:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return body
            body += chunk[:-2]
    for line in headers.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return await reader.readexactly(int(line.split(b":", 1)[1]))
    return b""


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _backends(pg_server: TestServer, app_name: str) -> int:
    conn = real_psycopg2.connect(pg_server.dsn())
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [app_name])
            return int(cursor.fetchone()[0])
    finally:
        conn.close()


def test_2000_clients_against_a_50ms_query(start_server, pg_server: TestServer) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < CLIENTS + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    server = start_server("testproject.wsgi", "--pool-size", "50", "--timeout", "120", "--keep-alive", "30")
    worker = server.worker_pids()[0]
    assert all(reply.status == 200 for reply in get_many(server.port, ["/sleep/?s=0.05"] * 100))
    rss_start = _rss_kib(worker)

    outcome = LoadOutcome()

    async def load() -> None:
        deadline = time.monotonic() + SECONDS
        await asyncio.gather(
            *(_client(server.port, "/sleep/?s=0.05", deadline, outcome) for _ in range(CLIENTS))
        )

    started = time.monotonic()
    asyncio.run(load())
    wall = time.monotonic() - started
    rss_end = _rss_kib(worker)
    latencies = sorted(outcome.latencies)
    print(
        f"\nsoak: {CLIENTS} clients, {wall:.1f} s, {outcome.ok} ok ({outcome.ok / wall:.0f}/s), "
        f"{len(outcome.errors)} errors, p50 {latencies[len(latencies) // 2]:.3f} s, "
        f"p99 {latencies[int(len(latencies) * 0.99)]:.3f} s, worker RSS {rss_start / 1024:.0f} MiB -> "
        f"{rss_end / 1024:.0f} MiB"
    )
    assert outcome.errors == []
    assert outcome.ok > CLIENTS
    assert rss_end < rss_start + 400 * 1024, "the worker's memory grew by more than 400 MiB"

    time.sleep(1.0)  # the clients' connections are closed; let the worker notice
    stats = json.loads(get(server.port, "/stats/").body)
    assert stats["tasks"] == 1  # only the request asking for the stats
    assert stats["greenlets"] <= 5, stats  # the hub, the main greenlet, this request: nothing leaked
    pools = [pool for pool in stats["pools"] if pool["mode"] == "cooperative"]
    assert sum(pool["in_use"] for pool in pools) == 0
    assert _backends(pg_server, server.app_name) <= 50


def test_the_pool_wait_honours_its_timeout_when_the_database_is_slower(start_server) -> None:
    server = start_server("testproject.wsgi", "--pool-size", "2", "--pool-timeout", "0.5")
    replies = get_many(server.port, ["/sleep/?s=2"] * 8)
    statuses = sorted(reply.status for reply in replies)
    assert statuses == [200, 200] + [500] * 6
    failed = [reply for reply in replies if reply.status == 500]
    assert all(reply.seconds < 1.9 for reply in failed), [reply.seconds for reply in failed]
    assert "connection pool exhausted" in server.output()
    assert get(server.port, "/sleep/?s=0").status == 200
