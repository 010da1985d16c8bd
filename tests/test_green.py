"""Cooperative mode: the fake psycopg2 inside request greenlets waits on the hub's reactor.

Each scenario runs in a fresh interpreter (the reactor runs once per process).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from greenpsyco.testing import TestServer


def run_scenario(dsn: str, body: str) -> dict[str, object]:
    code = textwrap.dedent(
        """
        import json, time
        import greenpsyco.fake_psycopg2 as psycopg2
        from greenpsyco import hub
        DSN = {dsn!r}
        """
    ).format(dsn=dsn) + textwrap.dedent(body)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.fixture
def dsn(pg_server: TestServer) -> str:
    return pg_server.dsn()


def test_slow_queries_in_many_greenlets_overlap(dsn: str) -> None:
    seen = run_scenario(
        dsn,
        """
        def one(n):
            conn = psycopg2.connect(DSN)
            cur = conn.cursor()
            cur.execute("SELECT pg_sleep(0.5), %s::int", (n,))
            value = cur.fetchone()[1]
            conn.close()
            return value

        def main():
            started = time.monotonic()
            tasks = [hub.spawn(one, n) for n in range(40)]
            for task in tasks:
                task.join()
            values = sorted(task.result() for task in tasks)
            return {"values": values == list(range(40)), "elapsed": time.monotonic() - started,
                    "mode": hub.mode()}

        print(json.dumps(hub.run(main)))
        """,
    )
    assert seen["values"] is True
    assert seen["mode"] == "cooperative"
    assert float(str(seen["elapsed"])) < 10  # 40 x 0.5 s would be 20 s if the queries did not overlap


def test_killing_a_greenlet_cancels_its_query_and_keeps_the_connection(dsn: str) -> None:
    seen = run_scenario(
        dsn,
        """
        holder = {}

        def sleeper():
            conn = holder["conn"] = psycopg2.connect(DSN)
            conn.cursor().execute("SELECT pg_sleep(30)")

        def main():
            task = hub.spawn(sleeper)
            hub.sleep(0.5)
            started = time.monotonic()
            task.kill()
            killed_in = time.monotonic() - started
            conn = holder["conn"]
            watcher = psycopg2.connect(DSN)
            wcur = watcher.cursor()
            wcur.execute("SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'"
                         " AND state = 'active'")
            still_running = wcur.fetchone()[0]
            conn.rollback()
            cur = conn.cursor()
            cur.execute("SELECT 42")
            return {"killed_in": killed_in, "still_running": still_running, "usable": cur.fetchone()[0],
                    "closed": conn.closed}

        print(json.dumps(hub.run(main)))
        """,
    )
    assert seen["still_running"] == 0
    assert seen["usable"] == 42
    assert seen["closed"] == 0
    assert float(str(seen["killed_in"])) < 2  # the issue: no active query within 2 s of the kill


def test_a_second_greenlet_on_a_busy_connection_gets_programming_error(dsn: str) -> None:
    seen = run_scenario(
        dsn,
        """
        def main():
            conn = psycopg2.connect(DSN)
            first = hub.spawn(lambda: conn.cursor().execute("SELECT pg_sleep(0.5)"))
            hub.sleep(0.1)
            try:
                conn.cursor().execute("SELECT 1")
                error = None
            except psycopg2.Error as exc:
                error = [type(exc).__name__, str(exc)]
            first.join()
            return {"error": error}

        print(json.dumps(hub.run(main)))
        """,
    )
    error = seen["error"]
    assert isinstance(error, list)
    assert error[0] == "ProgrammingError"
    assert "another greenlet is using this connection" in error[1]


def test_a_cooperative_connection_used_from_another_thread_fails_clearly(dsn: str) -> None:
    seen = run_scenario(
        dsn,
        """
        import threading

        def main():
            conn = psycopg2.connect(DSN)
            outcome = {}

            def other_thread():
                try:
                    conn.cursor().execute("SELECT 1")
                    outcome["error"] = None
                except psycopg2.Error as exc:
                    outcome["error"] = [type(exc).__name__, str(exc)]

            thread = threading.Thread(target=other_thread)
            thread.start()
            while thread.is_alive():
                hub.sleep(0.01)
            return outcome

        print(json.dumps(hub.run(main)))
        """,
    )
    error = seen["error"]
    assert isinstance(error, list)
    assert error[0] == "ProgrammingError"
    assert "request greenlet of the hub thread" in error[1]


def test_a_later_greenlet_finishes_its_quick_query_first(dsn: str) -> None:
    seen = run_scenario(
        dsn,
        """
        finished = []

        def slow():
            conn = psycopg2.connect(DSN)
            conn.cursor().execute("SELECT pg_sleep(2)")
            finished.append("A")

        def quick():
            conn = psycopg2.connect(DSN)
            conn.cursor().execute("SELECT 1")
            finished.append("B")

        def main():
            a = hub.spawn(slow)
            hub.sleep(0.2)
            b = hub.spawn(quick)
            b.join()
            a.join()
            return {"order": finished}

        print(json.dumps(hub.run(main)))
        """,
    )
    assert seen["order"] == ["B", "A"]


def test_another_thread_uses_blocking_mode_while_the_hub_runs(dsn: str) -> None:
    seen = run_scenario(
        dsn,
        """
        import threading

        def main():
            outcome = {}

            def other_thread():
                outcome["mode"] = hub.mode()
                conn = psycopg2.connect(DSN)
                cur = conn.cursor()
                cur.execute("SELECT 7")
                outcome["value"] = cur.fetchone()[0]
                outcome["driver"] = type(conn._wire).__name__
                conn.close()

            thread = threading.Thread(target=other_thread)
            thread.start()
            while thread.is_alive():
                hub.sleep(0.01)
            return outcome

        print(json.dumps(hub.run(main)))
        """,
    )
    assert seen == {"mode": "blocking", "value": 7, "driver": "BlockingConnection"}


def test_a_forked_child_opens_its_own_connections(dsn: str) -> None:
    seen = run_scenario(
        dsn,
        """
        import os

        def main():
            parent = psycopg2.connect(DSN)
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:
                try:
                    conn = psycopg2.connect(DSN)
                    cur = conn.cursor()
                    cur.execute("SELECT 5")
                    message = f"{hub.mode()} {cur.fetchone()[0]} {type(conn._wire).__name__}"
                except BaseException as exc:
                    message = f"error {exc!r}"
                os.write(write_end, message.encode())
                os._exit(0)
            os.close(write_end)
            while True:
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                hub.sleep(0.01)
            child = os.read(read_end, 1000).decode()
            cur = parent.cursor()
            cur.execute("SELECT 6")
            return {"child": child, "parent_still_works": cur.fetchone()[0]}

        print(json.dumps(hub.run(main)))
        """,
    )
    assert seen == {"child": "blocking 5 BlockingConnection", "parent_still_works": 6}


def test_the_fake_psycopg2_suites_pass_with_every_query_through_the_hub() -> None:
    """The whole tests/fake_psycopg2 directory again, run inside a hub greenlet (``--green``)."""
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--green", "tests/fake_psycopg2"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=root,
        env=os.environ.copy(),
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:]
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert " passed" in summary
    assert "failed" not in summary


def test_a_server_that_does_not_answer_the_cancel_leaves_the_connection_marked_broken(
    own_server: TestServer,
) -> None:
    seen = run_scenario(
        own_server.dsn(),  # the backend is stopped with SIGSTOP: it must run on this machine
        """
        import os, signal
        holder = {}

        def sleeper():
            conn = holder["conn"] = psycopg2.connect(DSN)
            holder["pid"] = conn.get_backend_pid()
            conn.cursor().execute("SELECT pg_sleep(30)")

        def main():
            task = hub.spawn(sleeper)
            hub.sleep(0.5)
            os.kill(holder["pid"], signal.SIGSTOP)  # the backend can no longer answer the CancelRequest
            try:
                started = time.monotonic()
                task.kill()
                waited = time.monotonic() - started
            finally:
                os.kill(holder["pid"], signal.SIGCONT)
            conn = holder["conn"]
            try:
                conn.cursor().execute("SELECT 1")
                error = None
            except psycopg2.Error as exc:
                error = type(exc).__name__
            return {"closed": conn.closed, "waited": waited, "next_use": error}

        print(json.dumps(hub.run(main)))
        """,
    )
    assert seen["closed"] == 2
    assert seen["next_use"] == "InterfaceError"
    assert 4 < float(str(seen["waited"])) < 15  # DRAIN_TIMEOUT is 5 s


def test_queries_whose_answers_are_unusual_or_split_read_as_in_blocking_mode(dsn: str) -> None:
    """The cooperative simple query reads its usual answer without a generator; a notice, an error, an
    empty query, several statements and a result spread over many reads take the general path."""
    body = """
        def scenario():
            conn = psycopg2.connect(DSN)
            conn.autocommit = True
            cur = conn.cursor()
            seen = []
            cur.execute("SELECT 1")
            seen.append(cur.fetchone())
            cur.execute("DO $$ BEGIN RAISE NOTICE 'hello'; END $$; SELECT 2")
            seen += [cur.fetchall(), conn.notices[-1]]
            try:
                cur.execute("SELECT 1/0")
            except psycopg2.Error as exc:
                seen.append(exc.pgcode)
            cur.execute("SELECT 3; ; SELECT 'x', NULL")
            seen.append(cur.fetchall())
            cur.execute("SELECT g, repeat('y', 100) FROM generate_series(1, 20000) g")
            rows = cur.fetchall()
            seen.append([len(rows), rows[0], rows[-1]])
            cur.execute("SELECT 4")
            seen.append(cur.fetchone())
            conn.close()
            return seen

        blocking = scenario()
        print(json.dumps({"green": hub.run(scenario), "blocking": blocking, "mode": hub.mode()}))
        """
    seen = run_scenario(dsn, body)
    assert seen["green"] == seen["blocking"]
    assert seen["blocking"][0] == [1]
    assert seen["blocking"][3] == "22012"
