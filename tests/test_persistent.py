"""Django's persistent connections (CONN_MAX_AGE) kept across request greenlets, bounded by the pool.

One fresh interpreter runs the scenario (patching and the hub are per process) against the test
cluster; every check is asserted here on what it reports.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from greenpsyco.testing import TestServer


def run_python(code: str) -> Any:
    """Run ``code`` in a new interpreter; it must print one JSON document as its last line."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


SCENARIO = """
import json, time
import greenpsyco
greenpsyco.patch(pool_size=2, pool_timeout=10)
import django
from django.conf import settings

def alias(age, application):
    return {
        "ENGINE": "django.db.backends.postgresql", "NAME": "postgres", "USER": "postgres",
        "HOST": HOST, "PORT": PORT, "CONN_MAX_AGE": age, "OPTIONS": {"application_name": application},
    }

settings.configure(
    DATABASES={
        "default": alias(600, "kept"),
        "other": alias(600, "kept"),  # the same parameters, so the same pool as default
        "zero": alias(0, "zero"),
        "short": alias(1, "short"),
    },
    USE_TZ=True,
)
django.setup()
from django.db import close_old_connections, connections, transaction
from django.db.utils import OperationalError
from greenpsyco import hub, persistent, pooling
import psycopg2

out = {}
admin = psycopg2.connect(host=HOST, port=PORT, user="postgres", dbname="postgres")
admin.autocommit = True
with admin.cursor() as cursor:
    cursor.execute("CREATE TABLE IF NOT EXISTS persistent_rows (id int)")

def request(fn, *args):
    \"\"\"Run fn in a request greenlet that ends as the server's do.\"\"\"
    def body():
        try:
            return fn(*args)
        finally:
            greenpsyco.close_request_connections()
    return hub.spawn(body)

def served(fn, *args):
    task = request(fn, *args)
    task.join(60)
    return task.result()

def query(alias, sql, params=None):
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0] if cursor.description else None

def mark_and_pid(alias):
    seen = {
        "wrapper": id(connections[alias]),
        "pid": query(alias, "SELECT pg_backend_pid()"),
        "mark": query(alias, "SELECT current_setting('greenpsyco.mark', true)"),
    }
    query(alias, "SELECT set_config('greenpsyco.mark', 'left by a request', false)")
    return seen

def main():
    # 1. the next request greenlet adopts the wrapper, session and all, as a thread's next request does
    first = served(mark_and_pid, "default")
    out["parked_after_first"] = persistent.parked().get("default")
    second = served(mark_and_pid, "default")
    out["kept"] = [second["wrapper"] == first["wrapper"], second["pid"] == first["pid"], second["mark"]]

    # 2. CONN_MAX_AGE = 0: a new wrapper each time, and the pool resets the session
    first = served(mark_and_pid, "zero")
    second = served(mark_and_pid, "zero")
    out["zero"] = [second["wrapper"] == first["wrapper"], second["mark"], persistent.parked().get("zero")]

    # 3. hasattr probes (request_started's close_old_connections) adopt nothing
    def probe():
        close_old_connections()
        return [hasattr(connections._connections, "default"), persistent.parked().get("default")]
    out["probe"] = served(probe)

    # 4. more concurrent requests than the pool: at most 2 wrappers and sessions, served in order
    started = []
    running = [0, 0]
    def slow(i):
        wrapper = connections["default"]
        started.append(i)
        running[0] += 1
        running[1] = max(running)
        pid = query("default", "SELECT pg_backend_pid() FROM pg_sleep(0.05)")
        running[0] -= 1
        return [id(wrapper), pid]
    tasks = []
    for i in range(6):
        tasks.append(request(slow, i))
        hub.sleep(0.005)  # they arrive one after the other
    for task in tasks:
        task.join(60)
    results = [task.result() for task in tasks]
    out["bounded"] = {
        "wrappers": len({w for w, _ in results}),
        "pids": len({p for _, p in results}),
        "most_at_once": running[1],
        "order": started,
        "parked": persistent.parked().get("default"),
    }

    # 5. every wrapper held past the pool timeout: Django's OperationalError, from PoolExhausted
    pooling.configure(timeout=0.3)
    holders = [request(query, "default", "SELECT 1 FROM pg_sleep(1.0)") for _ in range(2)]
    hub.sleep(0.1)
    def late():
        began = time.monotonic()
        try:
            connections["default"]
        except OperationalError as error:
            waited = round(time.monotonic() - began, 1)
            return [type(error.__cause__).__name__, waited, "default" in str(error)]
        return None
    out["exhausted"] = served(late)
    for task in holders:
        task.join(60)
        task.result()
    pooling.configure(timeout=10)

    # 6. a wrapper left with autocommit off is closed, not parked; the next request gets a clean one
    def leave_transaction_open():
        wrapper = connections["default"]
        wrapper.set_autocommit(False)
        query("default", "SELECT 1")
        return id(wrapper)
    before = persistent.parked().get("default")
    left = served(leave_transaction_open)
    out["autocommit_off"] = [persistent.parked().get("default") == before - 1]
    def clean():
        wrapper = connections["default"]
        query("default", "SELECT 1")
        return [id(wrapper) != left, wrapper.get_autocommit(), wrapper.connection.get_transaction_status()]
    out["autocommit_off"] += served(clean)

    # 7. a request killed inside atomic(): its transaction is rolled back before the wrapper is reused
    def killed_in_atomic():
        with transaction.atomic(using="default"):
            query("default", "INSERT INTO persistent_rows VALUES (7)")
            hub.sleep(30)
    task = request(killed_in_atomic)
    hub.sleep(0.2)
    task.kill()
    task.join(10)
    out["killed"] = served(
        lambda: [
            query("default", "SELECT count(*) FROM persistent_rows WHERE id = 7"),
            connections["default"].in_atomic_block,
            connections["default"].connection.get_transaction_status(),
        ]
    )

    # 8. a parked session the server ended is dropped: the next request gets a working one
    pid = served(query, "default", "SELECT pg_backend_pid()")
    with admin.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'kept'"
        )
    hub.sleep(0.3)
    out["terminated"] = served(query, "default", "SELECT pg_backend_pid()") != pid

    # 9. CONN_MAX_AGE = 1: after a second the parked wrapper is closed and a new one made
    first = served(mark_and_pid, "short")
    hub.sleep(1.2)
    second = served(mark_and_pid, "short")
    out["aged"] = [second["wrapper"] == first["wrapper"], second["mark"]]

    # 10. parked wrappers never starve another user of their pool: "other" reclaims one of default's
    tasks = [request(query, "default", "SELECT 1 FROM pg_sleep(0.05)") for _ in range(2)]
    for task in tasks:
        task.join(60)
    parked_before = persistent.parked().get("default")
    began = time.monotonic()
    other = served(query, "other", "SELECT 2")
    fast = time.monotonic() - began < 1.0
    out["reclaimed"] = [parked_before, other, fast, persistent.parked().get("default")]

    # 11. a greenlet killed while waiting passes its turn on; nothing leaks
    holders = [request(query, "default", "SELECT 1 FROM pg_sleep(0.3)") for _ in range(2)]
    hub.sleep(0.05)
    first_waiter = request(query, "default", "SELECT 'first'")
    second_waiter = request(query, "default", "SELECT 'second'")
    hub.sleep(0.05)
    first_waiter.kill()
    second_waiter.join(10)
    for task in holders:
        task.join(10)
    out["killed_waiter"] = [second_waiter.result(), persistent.parked().get("default")]

    # 12. wrappers dropped without release() (greenlets that never called close_request_connections):
    # their places reach a waiting greenlet within a sweep
    def hold_and_vanish():
        query("default", "SELECT 1 FROM pg_sleep(0.2)")  # no close_request_connections()
    leakers = [hub.spawn(hold_and_vanish) for _ in range(2)]
    hub.sleep(0.05)
    began = time.monotonic()
    waiter = request(query, "default", "SELECT 'after the leak'")
    for task in leakers:
        task.join(10)
    del leakers, task
    waiter.join(10)
    out["leaked_places"] = [waiter.result(), time.monotonic() - began < 2.5]
    # 13. a request that closes its connection before a long wait (a long poll) leaves its place at once
    def close_then_wait():
        query("default", "SELECT 1")
        connections["default"].close()
        hub.sleep(1.5)
    def hold():
        query("default", "SELECT 1 FROM pg_sleep(1.5)")
    polling = request(close_then_wait)
    holding = request(hold)
    hub.sleep(0.2)
    newcomer = request(query, "default", "SELECT 'not kept waiting'")
    newcomer.join(10)
    out["long_poll"] = [newcomer.result(), polling.done, holding.done]
    for task in (polling, holding):
        task.join(10)
        task.result()

    out["parked_at_end"] = persistent.parked()
    keep = [w.connection for lot in persistent._lots.values() for w in lot.idle]
    out["raws_open"] = [raw.closed for raw in keep]
    greenpsyco.unpatch()
    out["raws_after_unpatch"] = [raw.closed for raw in keep]
    out["parked_after_unpatch"] = persistent.parked()

hub.run(main)
print(json.dumps(out))
"""


def test_request_greenlets_keep_djangos_persistent_connections_within_the_pool(pg_server: TestServer) -> None:
    if pg_server.external:
        pytest.skip("needs the self-started cluster's address")
    seen = run_python(f"HOST = {pg_server.host!r}\nPORT = {pg_server.port!r}\n" + SCENARIO)

    assert seen["parked_after_first"] == 1
    assert seen["kept"] == [True, True, "left by a request"]
    assert seen["zero"][0] is False
    assert seen["zero"][1] in ("", None)  # DISCARD ALL reset the session
    assert seen["zero"][2] is None
    assert seen["probe"] == [False, 1]

    bounded = seen["bounded"]
    assert bounded["wrappers"] == 2
    assert bounded["pids"] == 2
    assert bounded["most_at_once"] == 2
    assert bounded["order"] == [0, 1, 2, 3, 4, 5]
    assert bounded["parked"] == 2

    cause, waited, names_alias = seen["exhausted"]
    assert cause == "PoolExhausted"
    assert 0.3 <= waited < 1.0
    assert names_alias is True

    assert seen["autocommit_off"] == [True, True, True, 0]  # TRANSACTION_STATUS_IDLE
    assert seen["killed"] == [0, False, 0]
    assert seen["terminated"] is True
    assert seen["aged"][0] is False
    assert seen["aged"][1] in ("", None)  # a new wrapper, on a reset session

    parked_before, other, fast, parked_after = seen["reclaimed"]
    assert parked_before == 2
    assert other == 2
    assert fast is True
    assert parked_after == 1

    assert seen["killed_waiter"] == ["second", 2]
    assert seen["leaked_places"] == ["after the leak", True]
    # answered while the long poll and the holder were both still running
    assert seen["long_poll"] == ["not kept waiting", False, False]
    # other's wrapper was reclaimed for default's second holder (11); the two leaked ones are gone (12);
    # the holder's and the newcomer's are parked, the long poll's closed (13); short's stays parked
    assert seen["parked_at_end"] == {"default": 2, "other": 0, "short": 1}
    assert seen["raws_open"] == [0, 0, 0]
    assert seen["raws_after_unpatch"] == [1, 1, 1]
    assert seen["parked_after_unpatch"] == {}
