"""patch(): greenlet-local Django connections, close_request_connections() and the finalizer safety net.

The scenarios that patch the process or run the hub (which runs once per process) each use a fresh
interpreter; the storage class itself is tested in this process with plain greenlets.
"""

from __future__ import annotations

import gc
import json
import logging
import subprocess
import sys
import textwrap
import threading
import types
from typing import Any

import greenlet  # type: ignore[import-untyped]
import pytest

from greenpsyco.patch import GreenletLocal, close_request_connections
from greenpsyco.testing import TestServer


def run_python(code: str) -> Any:
    """Run ``code`` in a new interpreter; it must print one JSON document as its last line."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def in_greenlet(fn: Any, *args: Any) -> Any:
    """Run ``fn(*args)`` to its end in a new greenlet of this thread and return its result."""
    return greenlet.greenlet(fn).switch(*args)


# -- the storage class, in this process ---------------------------------------------------------------


class FakeRaw:
    """Stands in for a DB-API connection: records close()."""

    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed = 1


class FakeWrapper:
    """Stands in for a Django DatabaseWrapper: ``connection`` is the DB-API connection or None."""

    def __init__(self, fail: bool = False) -> None:
        self.connection: FakeRaw | None = FakeRaw()
        self.raw = self.connection
        self.fail = fail

    def close(self) -> None:
        if self.fail:
            raise RuntimeError("close failed")
        assert self.connection is not None
        self.connection.close()
        self.connection = None


def test_greenlet_local_gives_each_greenlet_its_own_attributes_and_main_the_fallback() -> None:
    fallback = threading.local()
    local = GreenletLocal(fallback)
    local.default = "main"  # the main greenlet writes through to the storage it replaced
    assert fallback.default == "main"

    def child(value: str) -> tuple[bool, str, bool, bool]:
        before = hasattr(local, "default")
        local.default = value
        seen = local.default
        del local.default
        after = hasattr(local, "default")
        with pytest.raises(AttributeError):
            del local.default
        local.other = value
        return before, seen, after, hasattr(local, "other")

    assert in_greenlet(child, "a") == (False, "a", False, True)
    assert in_greenlet(child, "b") == (False, "b", False, True)
    assert local.default == "main"
    assert not hasattr(local, "other")

    def in_thread(out: list[object]) -> None:
        out.append(hasattr(local, "default"))
        local.default = "thread"
        out.append(local.default)

    out: list[object] = []
    thread = threading.Thread(target=in_thread, args=(out,))
    thread.start()
    thread.join()
    assert out == [False, "thread"]
    assert local.default == "main"
    del local.default
    assert not hasattr(fallback, "default")
    with pytest.raises(AttributeError):
        local.default  # noqa: B018


def test_greenlet_local_drops_a_greenlets_attributes_when_it_dies() -> None:
    local = GreenletLocal(threading.local())
    state = local._greenpsyco_state

    def touch() -> None:
        local.default = object()

    kept = []
    for _ in range(1000):
        glet = greenlet.greenlet(touch)
        glet.switch()
        kept.append(glet)  # dead but referenced: only the sweep can drop these entries
    assert len(state.entries) < 600
    del kept, glet
    gc.collect()
    assert state.entries == {}
    for _ in range(1000):
        in_greenlet(touch)  # freed at once: the weakref callback drops the entry
    assert state.entries == {}


def test_greenlet_local_closes_connections_left_open_by_a_dead_greenlet(
    caplog: pytest.LogCaptureFixture,
) -> None:
    local = GreenletLocal(threading.local())
    wrappers = [FakeWrapper() for _ in range(3)]

    def leave_open(wrapper: FakeWrapper) -> None:
        local.default = wrapper

    with caplog.at_level(logging.DEBUG, logger="greenpsyco"):
        for wrapper in wrappers:
            in_greenlet(leave_open, wrapper)
    assert [wrapper.raw.closed for wrapper in wrappers] == [1, 1, 1]
    assert [wrapper.connection for wrapper in wrappers] == [None, None, None]
    assert local._greenpsyco_state.entries == {}
    left_open = [record for record in caplog.records if "left open" in record.getMessage()]
    assert len(left_open) == 3
    assert sum(record.levelno == logging.WARNING for record in left_open) <= 1


def test_close_request_connections_closes_this_greenlets_connections_and_logs_errors(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    local = GreenletLocal(threading.local())
    handler = types.SimpleNamespace(_connections=local)
    module = types.ModuleType("django.db")
    module.connections = handler  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "django.db", module)

    def request() -> tuple[int, list[Any]]:
        good, bad = FakeWrapper(), FakeWrapper(fail=True)
        local.default, local.other = good, bad
        closed = close_request_connections()
        return closed, [good.raw.closed, bad.raw.closed, hasattr(local, "default")]

    with caplog.at_level(logging.ERROR, logger="greenpsyco"):
        assert in_greenlet(request) == (2, [1, 1, False])
    assert "closing" in caplog.text
    assert "close failed" in caplog.text
    assert local._greenpsyco_state.entries == {}
    assert in_greenlet(close_request_connections) == 0  # nothing stored: nothing to do


# -- Django on the test database, in fresh interpreters -------------------------------------------------

SCENARIO = """
import gc, json, logging, threading
records = []

class Capture(logging.Handler):
    def emit(self, record):
        records.append((record.levelname, record.getMessage()))

logging.getLogger("greenpsyco").addHandler(Capture())
logging.getLogger("greenpsyco").setLevel(logging.DEBUG)

import sys
import greenlet
import greenpsyco
import greenpsyco.patch
gp = sys.modules["greenpsyco.patch"]  # the attribute greenpsyco.patch is the patch() function

if ORDER == "before":
    greenpsyco.patch()
    import django.db
    original = django.db.connections._connections._greenpsyco_state.fallback
else:
    import django.db
    original = django.db.connections._connections
    greenpsyco.patch()

import django
from django.conf import settings
settings.configure(
    DATABASES={"default": {
        "ENGINE": "django.db.backends.postgresql", "NAME": "postgres", "USER": "postgres",
        "HOST": HOST, "PORT": PORT,
    }},
    INSTALLED_APPS=["django.contrib.contenttypes"], USE_TZ=True,
)
django.setup()
from django.db import connection, connections, transaction
from greenpsyco import hub

out = {"patch_log": [message for level, message in records if "patch()" in message]}
storage = connections._connections
state = storage._greenpsyco_state
out["storage"] = type(storage).__name__
out["fallback_is_original"] = state.fallback is original

main_wrapper = connections["default"]
with main_wrapper.cursor() as cursor:
    cursor.execute("SELECT pg_backend_pid()")
    main_pid = cursor.fetchone()[0]

thread_seen = []
def in_thread():
    first = connections["default"]
    thread_seen.append(first)
    thread_seen.append(first is connections["default"])
thread = threading.Thread(target=in_thread)
thread.start()
thread.join()
out["thread_wrapper_stable"] = thread_seen[1]
out["thread_wrapper_is_main"] = thread_seen[0] is main_wrapper
out["thread_kept_out_of_greenlet_storage"] = state.entries == {}

N = 8

def request(i, shared):
    conn = connections["default"]
    shared["wrappers"][i] = conn
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        shared["pids"][i] = cursor.fetchone()[0]
    while len(shared["pids"]) < N:  # all N connections are open at the same time
        hub.sleep(0.002)
    if i == 0:
        with transaction.atomic():
            shared["inside"] = True
            shared["atomic_0"] = [connection.in_atomic_block, connection.get_autocommit()]
            while len(shared["others"]) < N - 1:
                hub.sleep(0.002)
            shared["atomic_0_end"] = connection.in_atomic_block
        shared["inside"] = False
    else:
        while not shared["inside"]:
            hub.sleep(0.002)
        seen = [connection.in_atomic_block, connection.get_autocommit()]
        with transaction.atomic():
            seen.append(connection.in_atomic_block)
        seen.append(connection.in_atomic_block)
        shared["others"][i] = seen
    shared["stable"][i] = connections["default"] is conn
    shared["closed"][i] = gp.close_request_connections()
    shared["after_close"][i] = [
        conn.connection is None,
        greenlet.getcurrent() in state.greenlets(),
    ]

def touch(close):
    connections["default"]
    if close:
        gp.close_request_connections()

raws = []
def leave_open():
    conn = connections["default"]
    conn.ensure_connection()
    raws.append(conn.connection)

def main():
    shared = {key: {} for key in ("wrappers", "pids", "others", "stable", "closed", "after_close")}
    shared["inside"] = False
    tasks = [hub.spawn(request, i, shared) for i in range(N)]
    for task in tasks:
        task.join(60)
        task.result()
    wrappers = list(shared["wrappers"].values())
    mine = connections["default"]
    out["distinct_wrappers"] = len({id(w) for w in wrappers + [mine, main_wrapper, thread_seen[0]]})
    out["distinct_pids"] = len(set(shared["pids"].values()) | {main_pid})
    out["atomic_0"] = shared["atomic_0"]
    out["atomic_0_end"] = shared["atomic_0_end"]
    out["others"] = sorted(shared["others"].values())
    out["stable"] = all(shared["stable"].values())
    out["closed"] = sorted(shared["closed"].values())
    out["after_close"] = sorted(shared["after_close"].values())
    out["main_greenlet_connection_untouched"] = main_wrapper.connection is not None

    tasks = [hub.spawn(touch, True) for _ in range(2000)]
    for task in tasks:
        task.join(60)
    out["only_main_left_after_closing_2000"] = state.greenlets() == [greenlet.getcurrent()]
    out["dead_after_closing_2000"] = sum(g.dead for g in state.greenlets())

    tasks = [hub.spawn(touch, False) for _ in range(2000)]
    for task in tasks:
        task.join(60)
    out["entries_bounded_while_dead_greenlets_are_referenced"] = len(state.entries) < 1000
    del tasks, task  # the loop variable holds the last one
    gc.collect()
    out["dead_after_dropping_2000"] = sum(g.dead for g in state.greenlets())

    tasks = [hub.spawn(leave_open) for _ in range(3)]
    for task in tasks:
        task.join(60)
        task.result()
    out["left_open_before_collect"] = [raw.closed for raw in raws]
    del tasks, task  # the loop variable holds the last one
    gc.collect()
    out["left_open_after_collect"] = [raw.closed for raw in raws]
    out["dead_at_end"] = sum(g.dead for g in state.greenlets())
    out["closed_in_main_request_greenlet"] = gp.close_request_connections()

hub.run(main)

out["safety_net_warnings"] = [
    message for level, message in records if level == "WARNING" and "left open" in message
]
out["main_close"] = gp.close_request_connections()
out["main_wrapper_kept"] = connections["default"] is main_wrapper and main_wrapper.connection is None
greenpsyco.unpatch()
out["restored"] = connections._connections is original
out["restored_type"] = type(connections._connections).__name__
out["main_wrapper_after_unpatch"] = connections["default"] is main_wrapper
print(json.dumps(out))
"""


@pytest.mark.parametrize("order", ["before", "after"])
def test_each_request_greenlet_gets_its_own_django_connection(pg_server: TestServer, order: str) -> None:
    if pg_server.external:
        pytest.skip("needs the self-started cluster's address")
    header = f"ORDER = {order!r}\nHOST = {pg_server.host!r}\nPORT = {pg_server.port!r}\n"
    seen = run_python(header + SCENARIO)

    assert len(seen["patch_log"]) == 1
    if order == "before":
        assert "will be greenlet-local once django.db is imported" in seen["patch_log"][0]
    else:
        assert "django.db.connections is now greenlet-local" in seen["patch_log"][0]
    assert seen["storage"] == "GreenletLocal"
    assert seen["fallback_is_original"] is True

    # threads keep thread-local connections, through the original storage
    assert seen["thread_wrapper_stable"] is True
    assert seen["thread_wrapper_is_main"] is False
    assert seen["thread_kept_out_of_greenlet_storage"] is True

    # N request greenlets + the main request greenlet + the main thread + another thread
    assert seen["distinct_wrappers"] == 8 + 3
    assert seen["distinct_pids"] == 8 + 1
    assert seen["stable"] is True
    assert seen["atomic_0"] == [True, False]
    assert seen["atomic_0_end"] is True
    # the others, while greenlet 0 is inside atomic(): not in a block, autocommit, and their own works
    assert seen["others"] == [[False, True, True, False]] * 7
    assert seen["closed"] == [1] * 8
    assert seen["after_close"] == [[True, False]] * 8
    assert seen["main_greenlet_connection_untouched"] is True

    assert seen["only_main_left_after_closing_2000"] is True
    assert seen["dead_after_closing_2000"] == 0
    assert seen["entries_bounded_while_dead_greenlets_are_referenced"] is True
    assert seen["dead_after_dropping_2000"] == 0

    assert seen["left_open_before_collect"] == [0, 0, 0]
    assert seen["left_open_after_collect"] == [1, 1, 1]
    assert seen["dead_at_end"] == 0
    assert len(seen["safety_net_warnings"]) == 1
    assert seen["closed_in_main_request_greenlet"] == 0  # main() never opened its connection

    assert seen["main_close"] == 1
    assert seen["main_wrapper_kept"] is True
    assert seen["restored"] is True
    assert seen["restored_type"] == "_ThreadCriticalLocal"
    assert seen["main_wrapper_after_unpatch"] is True


def test_unpatch_neutralises_the_pending_django_hook() -> None:
    seen = run_python(
        """
        import json, sys
        import greenpsyco
        greenpsyco.patch()
        greenpsyco.unpatch()
        greenpsyco.patch()  # the still-pending hook is reused, not registered twice
        greenpsyco.unpatch()
        import django.db
        unpatched_import = type(django.db.connections._connections).__name__
        greenpsyco.patch()  # django.db is imported now: installed at once
        patched = type(django.db.connections._connections).__name__
        original = django.db.connections._connections._greenpsyco_state.fallback
        greenpsyco.patch()  # idempotent
        again = django.db.connections._connections._greenpsyco_state.fallback is original
        greenpsyco.unpatch()
        restored = django.db.connections._connections is original
        del sys.modules["django.db"]  # a second import while patched goes through a new hook
        greenpsyco.patch()
        import django.db as second
        second_patched = type(second.connections._connections).__name__
        greenpsyco.unpatch()
        print(json.dumps([
            unpatched_import, patched, again, restored, second_patched,
            type(second.connections._connections).__name__,
        ]))
        """
    )
    assert seen == [
        "_ThreadCriticalLocal",
        "GreenletLocal",
        True,
        True,
        "GreenletLocal",
        "_ThreadCriticalLocal",
    ]
