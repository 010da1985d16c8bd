"""Django's ORM in many request greenlets at once: cooperative queries, pooled connections, isolated
transactions. Each scenario runs in a fresh interpreter (the hub runs once per process)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from greenpsyco.testing import TestServer

SETUP = """
import json, time, uuid
import greenpsyco
greenpsyco.patch(pool_size={pool_size}, pool_timeout=60)
import django
from django.conf import settings
APP = "gp-" + uuid.uuid4().hex[:8]
settings.configure(
    DATABASES={{"default": {{
        "ENGINE": "django.db.backends.postgresql", "NAME": "postgres", "USER": "postgres",
        "HOST": {host!r}, "PORT": {port}, "OPTIONS": {{"application_name": APP}},
    }}}},
    INSTALLED_APPS=["django.contrib.contenttypes"], USE_TZ=True,
)
django.setup()
from django.db import connection, connections, transaction
from greenpsyco import hub
"""


def run_django(server: TestServer, body: str, pool_size: int) -> dict[str, object]:
    code = SETUP.format(host=server.host, port=server.port, pool_size=pool_size) + textwrap.dedent(body)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.fixture
def server(pg_server: TestServer) -> TestServer:
    if pg_server.external:
        pytest.skip("needs the self-started cluster's address")
    return pg_server


def test_500_greenlets_through_the_orm_with_a_pool_of_10(server: TestServer) -> None:
    seen = run_django(
        server,
        """
        import greenpsyco.fake_psycopg2 as psycopg2

        peak = [0]
        done = []

        def request(n):
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_sleep(0.5), %s", [n])
                    done.append(cursor.fetchone()[1])
            finally:
                greenpsyco.close_request_connections()

        def watch(stop):
            # A separate plain connection samples what the server sees from this test.
            conn = psycopg2.connect(host=settings.DATABASES["default"]["HOST"],
                                    port=settings.DATABASES["default"]["PORT"], user="postgres",
                                    dbname="postgres")
            conn.autocommit = True
            cur = conn.cursor()
            while not stop:
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [APP])
                peak[0] = max(peak[0], cur.fetchone()[0])
                hub.sleep(0.05)
            conn.close()

        def main():
            stop = []
            watcher = hub.spawn(watch, stop)
            started = time.monotonic()
            tasks = [hub.spawn(request, n) for n in range(500)]
            for task in tasks:
                task.join()
            elapsed = time.monotonic() - started
            stop.append(True)
            watcher.join()
            return {"done": sorted(done) == list(range(500)), "peak": peak[0], "elapsed": elapsed}

        print(json.dumps(hub.run(main)))
        """,
        pool_size=10,
    )
    assert seen["done"] is True
    assert 0 < int(str(seen["peak"])) <= 10
    # 500 x 0.5 s over 10 connections is 25 s of server time; serial would be 250 s.
    assert float(str(seen["elapsed"])) < 120


def test_greenlets_without_a_pool_never_share_a_backend(server: TestServer) -> None:
    seen = run_django(
        server,
        """
        pids = {}

        def request(n):
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid(), pg_sleep(0.3)")
                    pids[n] = cursor.fetchone()[0]
            finally:
                greenpsyco.close_request_connections()

        def main():
            tasks = [hub.spawn(request, n) for n in range(20)]
            for task in tasks:
                task.join()
            return {"distinct": len(set(pids.values())), "count": len(pids)}

        print(json.dumps(hub.run(main)))
        """,
        pool_size=0,
    )
    assert seen == {"distinct": 20, "count": 20}


def test_two_greenlets_in_atomic_blocks_do_not_see_or_undo_each_others_rows(server: TestServer) -> None:
    seen = run_django(
        server,
        """
        events = {}

        def setup():
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS gp_atomic; CREATE TABLE gp_atomic (who text)")
            greenpsyco.close_request_connections()

        def a():
            try:
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        cursor.execute("INSERT INTO gp_atomic VALUES ('a')")
                    hub.sleep(0.5)
                    raise RuntimeError("roll back a")
            except RuntimeError:
                pass
            finally:
                greenpsyco.close_request_connections()

        def b():
            try:
                hub.sleep(0.2)
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT count(*) FROM gp_atomic")
                        events["b_saw"] = cursor.fetchone()[0]
                        cursor.execute("INSERT INTO gp_atomic VALUES ('b')")
                events["b_in_atomic_after"] = connection.in_atomic_block
            finally:
                greenpsyco.close_request_connections()

        def main():
            hub.spawn(setup).join()
            first, second = hub.spawn(a), hub.spawn(b)
            first.join()
            second.join()
            with connection.cursor() as cursor:
                cursor.execute("SELECT array_agg(who ORDER BY who) FROM gp_atomic")
                events["rows"] = cursor.fetchone()[0]
                cursor.execute("DROP TABLE gp_atomic")
            return events

        print(json.dumps(hub.run(main)))
        """,
        pool_size=0,
    )
    assert seen == {"b_saw": 0, "b_in_atomic_after": False, "rows": ["b"]}
