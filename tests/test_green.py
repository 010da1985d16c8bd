"""Cooperative mode: the fake psycopg2 inside request greenlets waits on the hub's reactor.

Each scenario runs in a fresh interpreter (the reactor runs once per process).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from greenpsyco.testing import TestServer
from tests.hub_scenarios import run_scenario


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


# A cooperative connection used from another OS thread (as Django's LiveServerThread uses the test's
# connection): every touch of its transport is checked to happen under the hub's reactor lock, held by
# the touching thread, and never while another touch is in progress.
_GUARD = textwrap.indent(
    """
import threading

def guard(conn):
    raw = conn._wire._conn._pump.transport.raw
    lock = hub.get_hub()._reactor_lock
    state = {"inside": 0, "overlaps": 0, "unlocked": 0, "threads": set()}

    def checked(name):
        original = getattr(raw, name)

        def wrapper(*args, **kwargs):
            if state["inside"]:
                state["overlaps"] += 1
            if not lock._is_owned():
                state["unlocked"] += 1
            state["threads"].add(threading.get_ident())
            state["inside"] += 1
            try:
                return original(*args, **kwargs)
            finally:
                state["inside"] -= 1

        setattr(raw, name, wrapper)

    for name in ("doRead", "doWrite", "write"):
        checked(name)
    return state

def guard_report(state):
    return {"overlaps": state["overlaps"], "unlocked": state["unlocked"], "threads": len(state["threads"])}
""",
    " " * 8,
)


def test_a_cooperative_connection_works_from_another_thread_while_the_hub_thread_is_blocked(dsn: str) -> None:
    """The hub's thread waits in a request greenlet outside the reactor (``thread.join()``, as Django's
    live-server tests block in ``urlopen()``): the other thread serves the socket itself."""
    seen = run_scenario(
        dsn,
        _GUARD
        + """
        def main():
            conn = psycopg2.connect(DSN + " sslmode=disable")
            state = guard(conn)
            outcome = {}

            def other_thread():
                cur = conn.cursor()
                cur.execute("SELECT 42, length(repeat('x', 300000)), repeat('y', 300000)")
                row = cur.fetchone()
                outcome["row"] = [row[0], row[1], len(row[2])]
                cur.execute("SELECT pg_backend_pid()")
                outcome["pid"] = cur.fetchone()[0]
                conn.commit()

            thread = threading.Thread(target=other_thread)
            thread.start()
            thread.join(30)  # blocks the hub's thread: the reactor cannot run meanwhile
            outcome["thread_ended"] = not thread.is_alive()
            cur = conn.cursor()
            cur.execute("SELECT pg_backend_pid()")
            outcome["same_session_in_greenlet"] = cur.fetchone()[0] == outcome["pid"]
            outcome["guard"] = guard_report(state)
            return outcome

        print(json.dumps(hub.run(main)))
        """,
    )
    assert seen["thread_ended"] is True
    assert seen["row"] == [42, 300000, 300000]
    assert seen["same_session_in_greenlet"] is True
    guard = seen["guard"]
    assert isinstance(guard, dict)
    assert guard["overlaps"] == 0
    assert guard["unlocked"] == 0
    assert guard["threads"] == 2  # the other thread served the socket, the hub's thread did afterwards


def test_a_cooperative_connection_works_from_another_thread_while_greenlets_query(dsn: str) -> None:
    """The hub keeps serving other greenlets' queries while the other thread uses the connection, one of
    them holding a row lock the thread's query waits for: no deadlock, and the thread's turns at the
    socket never overlap the reactor's."""
    seen = run_scenario(
        dsn,
        _GUARD
        + """
        def main():
            setup = psycopg2.connect(DSN)
            setup.autocommit = True
            setup.cursor().execute("DROP TABLE IF EXISTS gp_thread_lock; CREATE TABLE gp_thread_lock (v int)")
            setup.cursor().execute("INSERT INTO gp_thread_lock VALUES (1)")
            conn = psycopg2.connect(DSN + " sslmode=disable")
            state = guard(conn)
            queries = []
            locked = []

            def busy(n):
                mine = psycopg2.connect(DSN)
                cur = mine.cursor()
                for i in range(40):
                    cur.execute("SELECT %s, pg_sleep(0.005)", (i,))
                    queries.append(cur.fetchone()[0])
                mine.close()

            def hold_lock():
                mine = psycopg2.connect(DSN)
                cur = mine.cursor()
                cur.execute("UPDATE gp_thread_lock SET v = 2")
                locked.append(True)
                # Commit only once the thread's UPDATE waits for this transaction's row lock (watched
                # from another session: pg_stat_activity is a snapshot within a transaction).
                watch = setup.cursor()
                for _ in range(1000):
                    watch.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND query LIKE 'UPDATE gp_thread_lock SET v = v + 10%%'"
                    )
                    if watch.fetchone()[0]:
                        outcome["saw_wait"] = True
                        break
                    hub.sleep(0.01)
                mine.commit()
                mine.close()

            outcome = {}

            def other_thread():
                cur = conn.cursor()
                for i in range(50):
                    cur.execute("SELECT %s", (i,))
                    assert cur.fetchone()[0] == i
                while not locked:
                    time.sleep(0.01)
                cur.execute("UPDATE gp_thread_lock SET v = v + 10 RETURNING v")
                outcome["updated"] = cur.fetchone()[0]
                conn.commit()

            tasks = [hub.spawn(busy, n) for n in range(3)]
            holder = hub.spawn(hold_lock)
            thread = threading.Thread(target=other_thread)
            thread.start()
            while thread.is_alive():
                hub.sleep(0.01)
            for task in tasks + [holder]:
                task.join()
                task.result()
            cur = conn.cursor()
            cur.execute("SELECT v FROM gp_thread_lock")
            outcome["after"] = cur.fetchone()[0]
            outcome["queries"] = len(queries)
            outcome["guard"] = guard_report(state)
            return outcome

        print(json.dumps(hub.run(main)))
        """,
    )
    assert seen["updated"] == 12
    assert seen["after"] == 12
    assert seen["saw_wait"] is True  # the thread's query really waited for the greenlet's row lock
    assert seen["queries"] == 120
    guard = seen["guard"]
    assert isinstance(guard, dict)
    assert guard["overlaps"] == 0
    assert guard["unlocked"] == 0


def test_a_greenlet_waits_cooperatively_for_a_connection_another_thread_is_using(dsn: str) -> None:
    """A greenlet calls the connection while another thread's query on it waits for a row lock that a
    third greenlet holds: the greenlet waits for the connection's lock without blocking the hub, so the
    lock holder can commit (blocking the hub's thread there would deadlock)."""
    seen = run_scenario(
        dsn,
        """
        import threading

        def main():
            setup = psycopg2.connect(DSN)
            setup.autocommit = True
            setup.cursor().execute("DROP TABLE IF EXISTS gp_shared_lock; CREATE TABLE gp_shared_lock (v int)")
            setup.cursor().execute("INSERT INTO gp_shared_lock VALUES (1)")
            shared = psycopg2.connect(DSN)
            holder_conn = psycopg2.connect(DSN)
            holder_conn.cursor().execute("UPDATE gp_shared_lock SET v = 2")  # the row lock
            order = []

            def other_thread():
                cur = shared.cursor()
                cur.execute("UPDATE gp_shared_lock SET v = v + 10 RETURNING v")  # waits for the row lock
                order.append(["thread", cur.fetchone()[0]])
                shared.commit()

            def same_connection():
                cur = shared.cursor()
                cur.execute("SELECT v FROM gp_shared_lock")  # waits for the thread's operation first
                order.append(["greenlet", cur.fetchone()[0]])

            def holder():
                watch = setup.cursor()
                while True:
                    watch.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND query LIKE 'UPDATE gp_shared_lock SET v = v + 10%%'"
                    )
                    if watch.fetchone()[0]:
                        break
                    hub.sleep(0.01)
                hub.sleep(0.2)  # the greenlet below is waiting for the shared connection by now
                order.append(["holder", "commit"])
                holder_conn.commit()

            thread = threading.Thread(target=other_thread)
            thread.start()
            waiting = hub.spawn(holder)
            while not any(row[0] == "thread" for row in order) and thread.is_alive():
                if shared._lock._lock.acquire(blocking=False):  # not yet taken by the thread
                    shared._lock._lock.release()
                    hub.sleep(0.005)
                    continue
                break
            user = hub.spawn(same_connection)
            user.join(20)
            waiting.join(20)
            thread.join(20)
            return {"order": order, "user_done": user.done, "thread_alive": thread.is_alive()}

        print(json.dumps(hub.run(main)))
        """,
    )
    assert seen["user_done"] is True
    assert seen["thread_alive"] is False
    assert seen["order"] == [["holder", "commit"], ["thread", 12], ["greenlet", 12]]


def test_a_cooperative_tls_connection_works_from_another_thread(own_server: TestServer) -> None:
    """TLS lives in the Twisted transport, which the other thread drives in its turns: both while the
    hub's thread is blocked and while the reactor runs."""
    if not own_server.ssl:
        pytest.skip("the test cluster has no TLS")
    seen = run_scenario(
        own_server.dsn(sslmode="require"),
        _GUARD
        + """
        def main():
            conn = psycopg2.connect(DSN)
            state = guard(conn)
            outcome = {"tls": conn._wire.tls}

            def other_thread():
                cur = conn.cursor()
                for i in range(20):
                    cur.execute("SELECT %s, repeat('z', 100000)", (i,))
                    row = cur.fetchone()
                    assert row[0] == i and len(row[1]) == 100000
                cur.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                outcome.setdefault("ssl", []).append(cur.fetchone()[0])

            blocked = threading.Thread(target=other_thread)
            blocked.start()
            blocked.join(30)
            running = threading.Thread(target=other_thread)
            running.start()
            while running.is_alive():
                hub.sleep(0.005)
            cur = conn.cursor()
            cur.execute("SELECT 7")
            outcome["after"] = cur.fetchone()[0]
            outcome["guard"] = guard_report(state)
            return outcome

        print(json.dumps(hub.run(main)))
        """,
    )
    assert seen["tls"] is True
    assert seen["ssl"] == [True, True]
    assert seen["after"] == 7
    guard = seen["guard"]
    assert isinstance(guard, dict)
    assert guard["overlaps"] == 0
    assert guard["unlocked"] == 0


def test_a_cooperative_connection_is_closed_from_another_thread(dsn: str) -> None:
    """Django's live server closes the connection it was handed in its own thread."""
    seen = run_scenario(
        dsn,
        """
        import threading

        def main():
            conn = psycopg2.connect(DSN)
            cur = conn.cursor()
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
            thread = threading.Thread(target=conn.close)
            thread.start()
            thread.join(10)
            other = psycopg2.connect(DSN)
            check = other.cursor()
            gone = False
            for _ in range(200):
                check.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))
                if check.fetchone()[0] == 0:
                    gone = True
                    break
                hub.sleep(0.01)
            return {"closed": conn.closed, "gone": gone}

        print(json.dumps(hub.run(main)))
        """,
    )
    assert seen == {"closed": 1, "gone": True}


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
