"""The bounded connection pool under the fake psycopg2's connect()/close() (greenpsyco.pooling).

Cooperative scenarios run in a fresh interpreter each (the reactor runs once per process), as in
tests/test_green.py; blocking ones run here, with the pool's configuration restored afterwards.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

import greenpsyco.fake_psycopg2 as psycopg2
from greenpsyco import pooling
from greenpsyco.testing import TestServer


def run_scenario(dsn: str, body: str, env: dict[str, str] | None = None) -> dict[str, object]:
    code = textwrap.dedent(
        """
        import json, time
        import greenpsyco.fake_psycopg2 as psycopg2
        from greenpsyco import hub, pooling
        DSN = {dsn!r}
        """
    ).format(dsn=dsn) + textwrap.dedent(body)
    environ = {key: value for key, value in os.environ.items() if not key.startswith("GREENPSYCO_POOL_")}
    environ.update(env or {})
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=environ
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.fixture
def dsn(pg_server: TestServer) -> str:
    return pg_server.dsn()


@pytest.fixture
def blocking_pool() -> Iterator[None]:
    """A clean pool configuration for an in-process (blocking mode) test, restored afterwards."""
    pooling.clear()
    yield
    pooling.configure(size=None, timeout=None)
    pooling.clear()


def backends(watcher: psycopg2.extensions.connection, application_name: str) -> int:
    cur = watcher.cursor()
    cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application_name,))
    (count,) = cur.fetchone()
    return int(count)


# -- cooperative mode ----------------------------------------------------------------------------------


def test_fifty_greenlets_share_ten_backends(dsn: str) -> None:
    name = f"pool-{uuid.uuid4().hex[:12]}"
    seen = run_scenario(
        dsn,
        f"""
        NAME = {name!r}
        pooling.configure(size=10)

        def one(n):
            conn = psycopg2.connect(DSN, application_name=NAME)
            cur = conn.cursor()
            cur.execute("SELECT pg_sleep(0.2), %s::int", (n,))
            value = cur.fetchone()[1]
            conn.close()
            return value

        def main():
            watcher = psycopg2.connect(DSN)
            watcher.autocommit = True
            wcur = watcher.cursor()
            started = time.monotonic()
            tasks = [hub.spawn(one, n) for n in range(50)]
            peak = 0
            samples = 0
            while not all(task.done for task in tasks):
                wcur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (NAME,))
                peak = max(peak, wcur.fetchone()[0])
                samples += 1
                hub.sleep(0.02)
            values = sorted(task.result() for task in tasks)
            return {{"values": values == list(range(50)), "peak": peak, "samples": samples,
                    "elapsed": time.monotonic() - started, "closed": watcher.closed,
                    "stats": [s for s in pooling.stats() if s["idle"] + s["in_use"] == 10]}}

        print(json.dumps(hub.run(main)))
        """,
    )
    assert seen["values"] is True
    assert 0 < int(str(seen["peak"])) <= 10
    assert int(str(seen["samples"])) > 5
    assert float(str(seen["elapsed"])) < 10  # 50 x 0.2 s in 10 lanes: about 1 s
    stats = seen["stats"]
    assert isinstance(stats, list)
    assert len(stats) == 1  # ten sessions, all idle again after the run
    assert stats[0]["idle"] == 10
    assert stats[0]["in_use"] == 0


def test_a_caller_beyond_the_size_gets_pool_exhausted_after_the_timeout(dsn: str) -> None:
    seen = run_scenario(
        dsn,
        """
        pooling.configure(size=2, timeout=0.3)

        def holder():
            conn = psycopg2.connect(DSN)
            conn.cursor().execute("SELECT pg_sleep(1)")
            conn.close()

        def main():
            holders = [hub.spawn(holder) for _ in range(2)]
            hub.sleep(0.2)
            started = time.monotonic()
            try:
                psycopg2.connect(DSN)
                error = None
            except psycopg2.Error as exc:
                error = [type(exc).__name__, str(exc)]
            waited = time.monotonic() - started
            for task in holders:
                task.join()
            conn = psycopg2.connect(DSN)  # a slot is free again
            cur = conn.cursor()
            cur.execute("SELECT 7")
            after = cur.fetchone()[0]
            conn.close()
            return {"error": error, "waited": waited, "after": after,
                    "holders": [task.exception() is None for task in holders]}

        print(json.dumps(hub.run(main)))
        """,
    )
    error = seen["error"]
    assert isinstance(error, list)
    assert error[0] == "OperationalError"
    assert "connection pool exhausted" in error[1]
    assert "waited 0.3 s" in error[1]
    assert 0.25 <= float(str(seen["waited"])) < 0.9
    assert seen["after"] == 7
    assert seen["holders"] == [True, True]


def test_waiters_get_connections_in_order_as_they_are_returned(dsn: str) -> None:
    seen = run_scenario(
        dsn,
        """
        pooling.configure(size=1, timeout=5)
        order = []

        def user(n):
            conn = psycopg2.connect(DSN)
            order.append(n)
            cur = conn.cursor()
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
            hub.sleep(0.05)
            conn.close()
            return pid

        def main():
            tasks = []
            for n in range(5):
                tasks.append(hub.spawn(user, n))
                hub.sleep(0.01)
            for task in tasks:
                task.join()
            return {"order": order, "pids": len({task.result() for task in tasks})}

        print(json.dumps(hub.run(main)))
        """,
    )
    assert seen["order"] == [0, 1, 2, 3, 4]
    assert seen["pids"] == 1  # one backend served all five


def test_a_connection_returned_in_a_transaction_is_rolled_back_and_discarded(dsn: str) -> None:
    seen = run_scenario(
        dsn,
        """
        pooling.configure(size=1)

        def main():
            conn = psycopg2.connect(DSN)
            cur = conn.cursor()
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
            cur.execute("CREATE TEMP TABLE leftover (n int)")
            cur.execute("INSERT INTO leftover VALUES (1)")
            cur.execute("SET statement_timeout = '123s'")
            status = conn.get_transaction_status()
            conn.close()
            closed = conn.closed
            again = psycopg2.connect(DSN)
            cur = again.cursor()
            cur.execute("SELECT pg_backend_pid(), to_regclass('pg_temp.leftover') IS NULL,"
                        " current_setting('statement_timeout')")
            same_pid, no_table, timeout = cur.fetchone()
            again.close()
            return {"status": status, "closed": closed, "same": same_pid == pid, "no_table": no_table,
                    "timeout": timeout}

        print(json.dumps(hub.run(main)))
        """,
    )
    assert seen["status"] == psycopg2.extensions.TRANSACTION_STATUS_INTRANS
    assert seen["closed"] == 1
    assert seen["same"] is True  # the pooled session was reused...
    assert seen["no_table"] is True  # ...without the temp table
    assert seen["timeout"] == "0"  # ...nor the SET


def test_a_backend_terminated_while_idle_in_the_pool_is_not_handed_out(dsn: str) -> None:
    seen = run_scenario(
        dsn,
        """
        pooling.configure(size=1)

        def main():
            conn = psycopg2.connect(DSN)
            pid = conn.get_backend_pid()
            conn.close()
            killer = psycopg2.connect(DSN, application_name="killer")
            kcur = killer.cursor()
            kcur.execute("SELECT pg_terminate_backend(%s)", (pid,))
            killer.commit()
            hub.sleep(0.3)  # the reactor sees the server close the idle session
            again = psycopg2.connect(DSN)
            cur = again.cursor()
            cur.execute("SELECT pg_backend_pid()")
            new_pid = cur.fetchone()[0]
            again.close()
            return {"replaced": new_pid != pid, "closed": again.closed}

        print(json.dumps(hub.run(main)))
        """,
    )
    assert seen["replaced"] is True
    assert seen["closed"] == 1


def test_a_cooperative_checkout_takes_no_reactor_turn(dsn: str) -> None:
    # The reactor reads idle cooperative connections as data arrives, so the health check needs no turn
    # of its own (each would hold the checked-out slot while the reactor serves everybody else).
    seen = run_scenario(
        dsn,
        """
        pooling.configure(size=1)

        def main():
            psycopg2.connect(DSN).close()
            turns = []
            real_sleep = hub.sleep
            hub.sleep = lambda seconds: (turns.append(seconds), real_sleep(seconds))
            try:
                conn = psycopg2.connect(DSN)
            finally:
                hub.sleep = real_sleep
            conn.close()
            return {"turns": len(turns), "stats": pooling.stats()[0]}

        print(json.dumps(hub.run(main)))
        """,
    )
    assert seen["turns"] == 0
    assert seen["stats"] == {"mode": "cooperative", "idle": 1, "in_use": 0, "opening": 0, "waiting": 0}


def test_returning_a_connection_does_not_wait_for_its_reset(dsn: str) -> None:
    # close() sends the reset (ROLLBACK, DISCARD ALL) and returns: the request greenlet does not switch
    # out (another greenlet ready to run does not run meanwhile); the session counts as idle at once and
    # the next checkout absorbs the reset's answers before handing it out clean.
    seen = run_scenario(
        dsn,
        """
        pooling.configure(size=1)

        def main():
            conn = psycopg2.connect(DSN)
            cur = conn.cursor()
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
            cur.execute("CREATE TEMP TABLE leftover (n int)")
            cur.execute("SET statement_timeout = '123s'")
            ran = []
            hub.spawn(ran.append, "other greenlet")
            conn.close()
            switched = list(ran)
            stats = pooling.stats()[0]
            again = psycopg2.connect(DSN)
            status = again.get_transaction_status()
            cur = again.cursor()
            cur.execute("SELECT pg_backend_pid(), to_regclass('pg_temp.leftover') IS NULL,"
                        " current_setting('statement_timeout')")
            same_pid, no_table, timeout = cur.fetchone()
            again.close()
            return {"switched": switched, "stats": stats, "same": same_pid == pid, "no_table": no_table,
                    "timeout": timeout, "status": status}

        print(json.dumps(hub.run(main)))
        """,
    )
    assert seen["switched"] == []
    assert seen["stats"] == {"mode": "cooperative", "idle": 1, "in_use": 0, "opening": 0, "waiting": 0}
    assert seen["same"] is True
    assert seen["no_table"] is True
    assert seen["timeout"] == "0"
    assert seen["status"] == psycopg2.extensions.TRANSACTION_STATUS_IDLE


@pytest.mark.parametrize("when", ["idle", "checkout"])
def test_a_reset_that_fails_closes_the_session_and_is_logged(dsn: str, when: str) -> None:
    # DISCARD ALL drops the session's temporary tables: another session's lock on one makes it wait, and
    # cancelling it then makes the reset fail. The session must never be handed out: closed while it
    # sits idle ("idle"), or dropped by the checkout waiting for the reset's end ("checkout").
    seen = run_scenario(
        dsn,
        f"""
        import logging
        WHEN = {when!r}
        pooling.configure(size=1)
        logged = []
        handler = logging.Handler()
        handler.emit = lambda record: logged.append(record.getMessage())
        logging.getLogger("greenpsyco.pooling").addHandler(handler)
        logging.getLogger("greenpsyco.pooling").setLevel(logging.DEBUG)
        """
        + """
        def backend_state(watcher, pid):
            cur = watcher.cursor()
            cur.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,))
            row = cur.fetchone()
            return "gone" if row is None else row[0]

        def main():
            conn = psycopg2.connect(DSN)
            cur = conn.cursor()
            cur.execute("CREATE TEMP TABLE held (n int)")
            cur.execute("SELECT nspname, pg_backend_pid() FROM pg_namespace WHERE oid = pg_my_temp_schema()")
            schema, pid = cur.fetchone()
            conn.commit()
            blocker = psycopg2.connect(DSN, application_name="blocker")
            blocker.cursor().execute(f"LOCK TABLE {schema}.held IN ACCESS EXCLUSIVE MODE")
            watcher = psycopg2.connect(DSN, application_name="watcher")
            watcher.autocommit = True
            conn.close()  # the reset is sent; DISCARD ALL waits for the lock
            for _ in range(200):
                if backend_state(watcher, pid) == "Lock":
                    break
                hub.sleep(0.02)
            waiting = backend_state(watcher, pid)
            if WHEN == "checkout":
                taker = hub.spawn(psycopg2.connect, DSN)  # waits for the reset's end
                hub.sleep(0.1)
            watcher.cursor().execute("SELECT pg_cancel_backend(%s)", (pid,))
            if WHEN == "checkout":
                taker.join()
                again = taker.result()
            else:
                for _ in range(200):
                    if pooling.stats()[0]["idle"] == 0:
                        break
                    hub.sleep(0.02)
                idle_after = pooling.stats()[0]
                again = psycopg2.connect(DSN)
            cur = again.cursor()
            cur.execute("SELECT pg_backend_pid(), to_regclass('pg_temp.held') IS NULL")
            new_pid, no_table = cur.fetchone()
            again.close()
            blocker.rollback()
            for _ in range(200):
                if backend_state(watcher, pid) == "gone":
                    break
                hub.sleep(0.02)
            result = {"waiting": waiting, "replaced": new_pid != pid, "no_table": no_table,
                      "old_session": backend_state(watcher, pid), "logged": logged}
            if WHEN == "idle":
                result["idle_after"] = idle_after
            return result

        print(json.dumps(hub.run(main)))
        """,
    )
    assert seen["waiting"] == "Lock"
    assert seen["replaced"] is True
    assert seen["no_table"] is True
    assert seen["old_session"] == "gone"
    assert any(
        "resetting a returned connection failed" in line and "canceling statement due to user request" in line
        for line in seen["logged"]  # type: ignore[attr-defined]
    )
    if when == "idle":
        assert seen["idle_after"] == {
            "mode": "cooperative",
            "idle": 0,
            "in_use": 0,
            "opening": 0,
            "waiting": 0,
        }


def test_a_waiter_killed_in_the_queue_leaves_no_slot_taken(dsn: str) -> None:
    seen = run_scenario(
        dsn,
        """
        pooling.configure(size=1, timeout=5)

        def holder():
            conn = psycopg2.connect(DSN)
            conn.cursor().execute("SELECT pg_sleep(0.4)")
            conn.close()

        def main():
            held = hub.spawn(holder)
            hub.sleep(0.1)
            doomed = [hub.spawn(psycopg2.connect, DSN) for _ in range(3)]
            hub.sleep(0.1)
            waiting = pooling.stats()[0]["waiting"]
            for task in doomed:
                task.kill()
            held.join()
            started = time.monotonic()
            conn = psycopg2.connect(DSN)
            cur = conn.cursor()
            cur.execute("SELECT 9")
            value = cur.fetchone()[0]
            conn.close()
            return {"waiting": waiting, "value": value, "took": time.monotonic() - started,
                    "stats": pooling.stats()[0]}

        print(json.dumps(hub.run(main)))
        """,
    )
    assert seen["waiting"] == 3
    assert seen["value"] == 9
    assert float(str(seen["took"])) < 0.5
    assert seen["stats"] == {"mode": "cooperative", "idle": 1, "in_use": 0, "opening": 0, "waiting": 0}


def test_a_waiting_greenlet_gets_a_slot_the_pool_grew_by_within_a_sweep(dsn: str) -> None:
    # Waiting greenlets do not poll: the pool's one sweep timer hands them slots that free up without a
    # connection being returned (a larger size here; a connection lost without close() likewise).
    seen = run_scenario(
        dsn,
        """
        pooling.configure(size=1, timeout=5)

        def waiter():
            started = time.monotonic()
            conn = psycopg2.connect(DSN)
            cur = conn.cursor()
            cur.execute("SELECT 7")
            value = cur.fetchone()[0]
            conn.close()
            return value, time.monotonic() - started

        def main():
            held = psycopg2.connect(DSN)
            task = hub.spawn(waiter)
            hub.sleep(0.2)
            waiting = pooling.stats()[0]["waiting"]
            pooling.configure(size=2)
            task.join()
            value, took = task.result()
            held.close()
            return {"waiting": waiting, "value": value, "took": took, "stats": pooling.stats()[0]}

        print(json.dumps(hub.run(main)))
        """,
    )
    assert seen["waiting"] == 1
    assert seen["value"] == 7
    assert float(str(seen["took"])) < 2.5  # within a sweep interval (1 s), not at the 5 s timeout
    assert seen["stats"] == {"mode": "cooperative", "idle": 2, "in_use": 0, "opening": 0, "waiting": 0}


def test_the_environment_variable_turns_the_pool_on(dsn: str) -> None:
    seen = run_scenario(
        dsn,
        """
        def main():
            pids = []
            for _ in range(3):
                conn = psycopg2.connect(DSN)
                pids.append(conn.get_backend_pid())
                conn.close()
            return {"enabled": pooling.enabled(), "size": pooling.pool_size(), "pids": len(set(pids))}

        print(json.dumps(hub.run(main)))
        """,
        env={"GREENPSYCO_POOL_SIZE": "4"},
    )
    assert seen == {"enabled": True, "size": 4, "pids": 1}


# -- blocking mode ---------------------------------------------------------------------------------------


def test_the_pool_is_off_by_default(dsn: str, blocking_pool: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pooling.SIZE_VARIABLE, raising=False)
    assert not pooling.enabled()
    conn = psycopg2.connect(dsn)
    first = conn.get_backend_pid()
    conn.close()
    conn = psycopg2.connect(dsn)
    assert conn.get_backend_pid() != first
    conn.close()
    assert pooling.stats() == []


def test_a_bad_environment_value_is_refused(blocking_pool: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pooling.SIZE_VARIABLE, "ten")
    with pytest.raises(ValueError, match="GREENPSYCO_POOL_SIZE must be an integer"):
        pooling.enabled()
    monkeypatch.setenv(pooling.SIZE_VARIABLE, "3")
    monkeypatch.setenv(pooling.TIMEOUT_VARIABLE, "2.5")
    assert (pooling.pool_size(), pooling.pool_timeout()) == (3, 2.5)
    pooling.configure(size=0, timeout=1)  # configure() wins over the environment
    assert (pooling.enabled(), pooling.pool_timeout()) == (False, 1.0)


def test_ten_threads_share_three_backends(dsn: str, blocking_pool: None) -> None:
    pooling.configure(size=3, timeout=30)
    name = f"pool-{uuid.uuid4().hex[:12]}"
    errors: list[BaseException] = []

    def one() -> None:
        try:
            conn = psycopg2.connect(dsn, application_name=name)
            conn.cursor().execute("SELECT pg_sleep(0.2)")
            conn.close()
        except BaseException as exc:
            errors.append(exc)

    watcher = psycopg2.connect(dsn)
    watcher.autocommit = True
    threads = [threading.Thread(target=one) for _ in range(10)]
    for thread in threads:
        thread.start()
    peak = 0
    while any(thread.is_alive() for thread in threads):
        peak = max(peak, backends(watcher, name))
        time.sleep(0.02)
    for thread in threads:
        thread.join()
    watcher.close()
    assert errors == []
    assert 0 < peak <= 3
    [stats] = [s for s in pooling.stats() if s["idle"] == 3]
    assert stats == {"mode": "blocking", "idle": 3, "in_use": 0, "opening": 0, "waiting": 0}


def test_blocking_reset_and_pool_exhausted(dsn: str, blocking_pool: None) -> None:
    pooling.configure(size=1, timeout=0.2)
    conn = psycopg2.connect(dsn)
    pid = conn.get_backend_pid()
    cur = conn.cursor()
    cur.execute("CREATE TEMP TABLE leftover (n int)")
    with pytest.raises(psycopg2.OperationalError, match="connection pool exhausted"):
        psycopg2.connect(dsn)
    conn.close()
    assert conn.closed == 1
    with pytest.raises(psycopg2.InterfaceError):
        conn.cursor()
    again = psycopg2.connect(dsn)
    assert again.get_backend_pid() == pid
    cur = again.cursor()
    cur.execute("SELECT to_regclass('pg_temp.leftover') IS NULL")
    assert cur.fetchone() == (True,)
    again.close()


def test_a_failed_transaction_is_rolled_back_on_return(dsn: str, blocking_pool: None) -> None:
    pooling.configure(size=1)
    conn = psycopg2.connect(dsn)
    pid = conn.get_backend_pid()
    with pytest.raises(psycopg2.errors.DivisionByZero):
        conn.cursor().execute("SELECT 1/0")
    assert conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_INERROR
    conn.close()
    again = psycopg2.connect(dsn)
    assert again.get_backend_pid() == pid
    assert again.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE
    cur = again.cursor()
    cur.execute("SELECT 5")
    assert cur.fetchone() == (5,)
    again.close()


def test_blocking_terminated_idle_backend_is_replaced(dsn: str, blocking_pool: None) -> None:
    pooling.configure(size=1)
    conn = psycopg2.connect(dsn)
    pid = conn.get_backend_pid()
    conn.close()
    killer = psycopg2.connect(dsn, application_name="killer")
    killer.autocommit = True
    kcur = killer.cursor()
    kcur.execute("SELECT pg_terminate_backend(%s)", (pid,))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        kcur.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))
        if kcur.fetchone() == (0,):
            break
        time.sleep(0.02)
    killer.close()
    again = psycopg2.connect(dsn)
    assert again.get_backend_pid() != pid
    cur = again.cursor()
    cur.execute("SELECT 3")
    assert cur.fetchone() == (3,)
    again.close()


def test_a_connection_lost_without_close_frees_its_slot(dsn: str, blocking_pool: None) -> None:
    pooling.configure(size=1, timeout=5)
    conn = psycopg2.connect(dsn)
    del conn  # garbage collected: its wire connection is closed, never returned
    gc.collect()  # the connection and its session state refer to each other: a cycle
    started = time.monotonic()
    again = psycopg2.connect(dsn)
    assert time.monotonic() - started < 1
    again.close()


def test_configure_validates_and_shrinking_closes_idle(dsn: str, blocking_pool: None) -> None:
    with pytest.raises(ValueError, match="pool size"):
        pooling.configure(size=-1)
    with pytest.raises(ValueError, match="pool timeout"):
        pooling.configure(timeout=-1)
    pooling.configure(size=2)
    first, second = psycopg2.connect(dsn), psycopg2.connect(dsn)
    first.close()
    second.close()
    assert [s["idle"] for s in pooling.stats()] == [2]
    pooling.configure(size=1)
    assert [s["idle"] for s in pooling.stats()] == [1]
    pooling.configure(size=0)
    assert [s["idle"] for s in pooling.stats()] == [0]
    assert not pooling.enabled()


def test_a_waiter_interrupted_after_the_hand_over_gives_the_connection_back(
    dsn: str, blocking_pool: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    pooling.configure(size=1, timeout=5)
    original = pooling._Pool._block

    class Interrupted(Exception):
        pass

    def block_then_interrupt(self: pooling._Pool, waiter: pooling._Waiter, seconds: float) -> None:
        original(self, waiter, seconds)
        if waiter.given:
            raise Interrupted  # e.g. a greenlet killed after being handed the connection, before it ran

    monkeypatch.setattr(pooling._Pool, "_block", block_then_interrupt)
    held = psycopg2.connect(dsn)
    outcome: list[BaseException] = []

    def waiter() -> None:
        try:
            psycopg2.connect(dsn)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=waiter)
    thread.start()
    while not any(s["waiting"] for s in pooling.stats()):
        time.sleep(0.01)
    held.close()
    thread.join(5)
    assert [type(exc) for exc in outcome] == [Interrupted]
    assert pooling.stats() == [{"mode": "blocking", "idle": 1, "in_use": 0, "opening": 0, "waiting": 0}]
    monkeypatch.setattr(pooling._Pool, "_block", original)
    again = psycopg2.connect(dsn)
    again.close()


def test_a_reclaimer_gives_back_an_idle_held_connection_before_a_caller_queues(
    dsn: str, blocking_pool: None
) -> None:
    pooling.configure(size=1, timeout=5)
    held = psycopg2.connect(dsn)
    asked: list[bool] = []

    def reclaimer(owns: object) -> bool:
        mine = callable(owns) and owns(held._wire)
        asked.append(mine)
        if mine and not held.closed:
            held.close()
            return True
        return False

    pooling.add_reclaimer(reclaimer)
    try:
        began = time.monotonic()
        taken = psycopg2.connect(dsn)
        assert time.monotonic() - began < 1.0  # no wait for the pool timeout
        assert asked == [True]
        assert held.closed == 1
        taken.close()
        # nothing left to reclaim: the reclaimer is asked once more, then the caller queues as before
        first = psycopg2.connect(dsn)
        pooling.configure(timeout=0.2)
        with pytest.raises(psycopg2.OperationalError, match="connection pool exhausted"):
            psycopg2.connect(dsn)
        assert asked == [True, False]
        first.close()
    finally:
        pooling.remove_reclaimer(reclaimer)
