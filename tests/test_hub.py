"""The hub: the reactor in a greenlet, wait()/sleep()/spawn() for request greenlets, and mode().

Twisted's global reactor runs once per process, so every scenario that runs a hub runs in a fresh
interpreter that prints one JSON object as its last line. Blocking mode needs no reactor and is tested
in this process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from twisted.internet import defer

from greenpsyco import hub
from greenpsyco.testing import TestServer

PRELUDE = """
import json, os, sys, threading, time, traceback
from twisted.internet import defer, reactor
from twisted.internet.threads import deferToThread
from greenpsyco import hub
"""


def run_python(code: str, timeout: float = 60, prelude: str = PRELUDE) -> dict[str, object]:
    """Run ``prelude + code`` in a new interpreter; it must print one JSON object as its last line."""
    result = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert isinstance(seen, dict), seen
    seen["stderr"] = result.stderr
    return seen


# -- blocking mode (no hub in this process) ----------------------------------------------------------


def test_blocking_mode_without_a_hub() -> None:
    assert hub.get_hub() is None
    assert hub.mode() == "blocking"
    assert hub.current_task() is None
    assert hub.wait(defer.succeed(7)) == 7
    with pytest.raises(KeyError, match="gone"):
        hub.wait(defer.fail(KeyError("gone")))
    pending: defer.Deferred[int] = defer.Deferred()
    with pytest.raises(hub.NoHubError, match="blocking driver"):
        hub.wait(pending, timeout=0.01)
    assert not pending.called  # left alone: nothing was attached or cancelled
    hub.sleep(0.001)  # time.sleep
    with pytest.raises(hub.HubError, match="start_hub"):
        hub.spawn(print)


# -- concurrency --------------------------------------------------------------------------------------


def test_a_thousand_greenlets_sleep_concurrently() -> None:
    seen = run_python(
        """
        def sleeper(i):
            hub.sleep(0.05)
            return i

        def main():
            start = time.monotonic()
            tasks = [hub.spawn(sleeper, i) for i in range(1000)]
            for task in tasks:
                task.join()
            return {
                "elapsed": time.monotonic() - start,
                "results_ok": [task.result() for task in tasks] == list(range(1000)),
                "greenlets": len({id(task.greenlet) for task in tasks}),
            }

        print(json.dumps(hub.run(main)))
        """
    )
    assert seen["results_ok"] is True
    assert seen["greenlets"] == 1000
    # Sequential sleeps would take 50 s: this bounds correctness (they overlap), it is no benchmark.
    assert isinstance(seen["elapsed"], float)
    assert seen["elapsed"] < 5


# -- wait() -------------------------------------------------------------------------------------------


def test_wait_returns_the_value_or_raises_the_original_exception() -> None:
    seen = run_python(
        """
        def explode():
            raise LookupError("no such row")

        def fire_error(d):
            try:
                explode()
            except LookupError:
                d.errback()  # a Failure of the exception being handled, with its traceback

        def main():
            out = {}
            later = defer.Deferred()
            reactor.callLater(0.05, later.callback, 42)
            out["value"] = hub.wait(later)
            failing = defer.Deferred()
            reactor.callLater(0.05, fire_error, failing)
            try:
                hub.wait(failing)
            except LookupError as exc:
                out["error"] = [type(exc).__name__, str(exc)]
                out["frames"] = [frame.name for frame in traceback.extract_tb(exc.__traceback__)]
            out["already_fired"] = hub.wait(defer.succeed("now"))
            return out

        print(json.dumps(hub.run(main)))
        """
    )
    assert seen["value"] == 42
    assert seen["error"] == ["LookupError", "no such row"]
    assert isinstance(seen["frames"], list)
    assert "explode" in seen["frames"]
    assert "main" in seen["frames"]
    assert seen["already_fired"] == "now"
    assert "Unhandled error in Deferred" not in str(seen["stderr"])


def test_wait_with_a_timeout_cancels_the_deferred() -> None:
    seen = run_python(
        """
        def main():
            cancelled = []
            slow = defer.Deferred(lambda d: cancelled.append(True))
            start = time.monotonic()
            try:
                hub.wait(slow, timeout=0.1)
                raised = None
            except TimeoutError as exc:
                raised = type(exc).__name__
            elapsed = time.monotonic() - start
            quick = defer.Deferred()
            reactor.callLater(0.01, quick.callback, "in time")
            own_error = defer.Deferred(lambda d: d.errback(ConnectionAbortedError("query cancelled")))
            try:
                hub.wait(own_error, timeout=0.01)
            except TimeoutError as exc:
                cause = repr(exc.__cause__)
            return {
                "cause": cause,
                "raised": raised,
                "elapsed": elapsed,
                "cancelled": cancelled,
                "in_time": hub.wait(quick, timeout=5),
                "timer_left": len(reactor.getDelayedCalls()),
            }

        print(json.dumps(hub.run(main)))
        """
    )
    assert seen["raised"] == "TimeoutError"
    assert seen["cancelled"] == [True]
    assert isinstance(seen["elapsed"], float)
    assert 0.09 <= seen["elapsed"] < 2
    assert seen["in_time"] == "in time"
    assert seen["cause"] == "ConnectionAbortedError('query cancelled')"  # a canceller's own error
    assert seen["timer_left"] == 0  # the 5 s timeout was cancelled once the result came


def test_kill_during_wait_cancels_the_deferred() -> None:
    seen = run_python(
        """
        events = []

        def victim(d):
            try:
                hub.wait(d)
            finally:
                events.append("finally ran")

        def main():
            d = defer.Deferred(lambda d: events.append("canceller ran"))
            task = hub.spawn(victim, d)
            hub.sleep(0.05)
            task.kill()  # blocks until the task is done
            other = defer.Deferred(lambda d: events.append("second canceller ran"))
            second = hub.spawn(victim, other)
            hub.sleep(0.01)
            second.kill(ValueError("stop it"))
            never_started = hub.spawn(events.append, "must not run")
            never_started.kill()
            return {
                "events": events,
                "done": task.done,
                "exception": type(task.exception()).__name__,
                "second": repr(second.exception()),
                "never_started": [never_started.done, type(never_started.exception()).__name__],
            }

        print(json.dumps(hub.run(main)))
        """
    )
    assert seen["events"] == ["canceller ran", "finally ran", "second canceller ran", "finally ran"]
    assert seen["done"] is True
    assert seen["exception"] == "GreenletExit"
    assert seen["second"] == "ValueError('stop it')"
    assert seen["never_started"] == [True, "GreenletExit"]


def test_wait_in_the_hub_greenlet_is_a_clear_error() -> None:
    seen = run_python(
        """
        def reactor_callback(out):
            out["mode"] = hub.mode()
            for name, call in [("wait", lambda: hub.wait(defer.Deferred())), ("sleep", lambda: hub.sleep(1))]:
                try:
                    call()
                except hub.BlockingInHubError as exc:
                    out[name] = str(exc)
            out["fired_in_hub"] = ""
            try:
                hub.wait(defer.succeed(1))
            except hub.BlockingInHubError as exc:
                out["fired_in_hub"] = str(exc)

        def main():
            out = {}
            reactor.callLater(0, reactor_callback, out)
            hub.sleep(0.05)
            return out

        print(json.dumps(hub.run(main)))
        """
    )
    assert seen["mode"] == "hub"
    for name in ("wait", "sleep", "fired_in_hub"):
        message = str(seen[name])
        assert "a reactor callback must not block" in message
        assert "request greenlet" in message
        assert "spawn()" in message


# -- mode() -------------------------------------------------------------------------------------------


def test_mode_in_each_context() -> None:
    seen = run_python(
        """
        out = {"before": hub.mode()}

        def in_thread(box):
            box.append(hub.mode())

        def main():
            out["request"] = hub.mode()
            out["task_is_current"] = hub.current_task() is not None
            in_hub = []
            reactor.callLater(0, lambda: in_hub.append(hub.mode()))
            hub.sleep(0.01)
            out["hub"] = in_hub[0]
            out["deferToThread"] = hub.wait(deferToThread(hub.mode))
            box = []
            thread = threading.Thread(target=in_thread, args=(box,))
            thread.start()
            while thread.is_alive():
                hub.sleep(0.01)
            out["thread"] = box[0]
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read_end)
                os.write(write_end, json.dumps({
                    "mode": hub.mode(),
                    "hub": hub.get_hub() is None,
                    "wait": hub.wait(defer.succeed("fired")),
                }).encode())
                os._exit(0)
            os.close(write_end)
            data = b""
            while chunk := os.read(read_end, 4096):
                data += chunk
            os.close(read_end)
            os.waitpid(pid, 0)
            out["child"] = json.loads(data)
            return out

        hub.run(main)
        out["after"] = hub.mode()
        print(json.dumps(out))
        """
    )
    assert seen["before"] == "blocking"
    assert seen["request"] == "cooperative"
    assert seen["task_is_current"] is True
    assert seen["hub"] == "hub"
    assert seen["deferToThread"] == "blocking"
    assert seen["thread"] == "blocking"
    assert seen["child"] == {"mode": "blocking", "hub": True, "wait": "fired"}
    assert seen["after"] == "blocking"


def test_a_forked_child_cannot_start_a_hub() -> None:
    seen = run_python(
        """
        def main():
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:
                try:
                    hub.start_hub()
                    message = "started"
                except hub.HubError as exc:
                    message = str(exc)
                try:
                    hub.spawn(print)
                except hub.HubError as exc:
                    message += " | " + str(exc)
                os.write(write_end, message.encode())
                os._exit(0)
            os.close(write_end)
            data = b""
            while chunk := os.read(read_end, 4096):
                data += chunk
            os.waitpid(pid, 0)
            return data.decode()

        print(json.dumps({"child": hub.run(main)}))
        """
    )
    message = str(seen["child"])
    assert "forked" in message
    assert "started" not in message.split(" | ")[0]


def test_call_exclusive_runs_in_the_hub_greenlet_or_while_the_hub_thread_is_outside_the_reactor() -> None:
    """Another thread's call runs in the hub greenlet when the reactor idles, in that thread when the
    hub's thread is blocked inside a request greenlet, and never while the reactor runs a callback."""
    seen = run_python(
        """
        import greenlet

        def where():
            running = hub.get_hub()
            if threading.get_ident() == running.thread_id:
                return "hub greenlet" if greenlet.getcurrent() is running.greenlet else "request greenlet"
            return "other thread"

        def main():
            running = hub.get_hub()
            out = {}
            in_callback = []

            def busy_callback():
                in_callback.append(True)
                time.sleep(0.3)  # reactor code: no other thread's call may run meanwhile
                in_callback.append(False)

            def idle_thread():
                time.sleep(0.1)  # the hub's thread is idle in the reactor (hub.sleep below) by then
                out["idle"] = running.call_exclusive(where)

            thread = threading.Thread(target=idle_thread)
            thread.start()
            while thread.is_alive():
                hub.sleep(0.5)

            def blocked_thread():
                out["blocked"] = running.call_exclusive(where)

            thread = threading.Thread(target=blocked_thread)
            thread.start()
            thread.join(10)  # the hub's thread blocks in this request greenlet

            running.reactor.callLater(0, busy_callback)
            hub.sleep(0.05)  # the callback is running now, holding the reactor lock
            overlapped = []

            def during_callback():
                overlapped.append(running.call_exclusive(lambda: in_callback[-1]))

            thread = threading.Thread(target=during_callback)
            thread.start()
            while thread.is_alive():
                hub.sleep(0.01)
            out["ran_inside_callback"] = overlapped[0]
            out["in_greenlet"] = running.call_exclusive(where)
            return out

        print(json.dumps(hub.run(main)))
        """
    )
    assert seen["idle"] == "hub greenlet"
    assert seen["blocked"] == "other thread"
    assert seen["ran_inside_callback"] is False
    assert seen["in_greenlet"] == "request greenlet"


def test_a_forked_child_runs_a_hub_of_its_own_on_a_fresh_reactor(pg_server: TestServer) -> None:
    """Forked from a request greenlet of a running hub with a cooperative connection open: the child
    installs a new reactor, runs its own hub and cooperative queries; the parent's connection is refused
    (and its close() does not touch it) in the child, and keeps working in the parent."""
    seen = run_python(
        f"""
        import greenpsyco.fake_psycopg2 as psycopg2
        DSN = {pg_server.dsn()!r}
        """
        + """
        def child_main(parent_conn, parent_reactor):
            from twisted.internet import reactor as now
            out = {"fresh": now is not parent_reactor, "mode": hub.mode()}
            try:
                parent_conn.cursor().execute("SELECT 1")
                out["parent_conn"] = "usable"
            except psycopg2.Error as exc:
                out["parent_conn"] = str(exc)
            parent_conn._wire.close()  # a no-op in the child: the session is the parent's
            conns = [psycopg2.connect(DSN) for _ in range(2)]

            def query(conn, n):
                cur = conn.cursor()
                cur.execute("SELECT %s, pg_sleep(0.2)", (n,))
                return [cur.fetchone()[0], type(conn._wire).__name__]

            started = time.monotonic()
            tasks = [hub.spawn(query, conn, n) for n, conn in enumerate(conns)]
            out["queries"] = [task.join() or task.result() for task in tasks]
            out["overlapped"] = time.monotonic() - started < 0.35
            return out

        def main():
            conn = psycopg2.connect(DSN)
            cur = conn.cursor()
            cur.execute("SELECT pg_backend_pid()")
            pid_before = cur.fetchone()[0]
            parent_reactor = hub.get_hub().reactor
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:
                try:
                    before = hub.mode()
                    hub.install_fresh_reactor()
                    started = hub.start_hub()
                    task = started.spawn(child_main, conn, parent_reactor)
                    task.deferred.addBoth(lambda _: started.stop())
                    started.run_forever(install_signal_handlers=False)
                    message = dict(task.result(), before=before)
                except BaseException:
                    message = {"error": traceback.format_exc()}
                os.write(write_end, json.dumps(message).encode())
                os._exit(0)
            os.close(write_end)
            data = b""
            while not os.waitpid(pid, os.WNOHANG)[0]:
                hub.sleep(0.01)
            while chunk := os.read(read_end, 65536):
                data += chunk
            cur.execute("SELECT pg_backend_pid()")
            same = cur.fetchone()[0] == pid_before
            return {"child": json.loads(data.decode()), "parent_same_session": same}

        print(json.dumps(hub.run(main)))
        """
    )
    child = seen["child"]
    assert isinstance(child, dict), child
    assert "error" not in child, child.get("error")
    assert child["before"] == "blocking"  # the parent's hub is forgotten at fork
    assert child["fresh"] is True
    assert child["mode"] == "cooperative"
    assert "belongs to the parent process" in str(child["parent_conn"])
    assert child["queries"] == [[0, "GreenConnection"], [1, "GreenConnection"]]
    assert child["overlapped"] is True
    assert seen["parent_same_session"] is True


# -- reactor choice -----------------------------------------------------------------------------------


def test_an_asyncio_reactor_is_refused() -> None:
    seen = run_python(
        """
        import json
        from twisted.internet import asyncioreactor
        asyncioreactor.install()
        from greenpsyco import hub
        try:
            hub.run(lambda: "ran")
            message = "accepted"
        except hub.UnsupportedReactorError as exc:
            message = str(exc)
        print(json.dumps({"message": message, "hub": hub.get_hub() is None}))
        """,
        prelude="",
    )
    message = str(seen["message"])
    assert "asyncio" in message
    assert "SynchronousOnlyOperation" in message
    assert "async_unsafe" in message
    assert seen["hub"] is True


# -- failures in greenlets ----------------------------------------------------------------------------


def test_a_finished_greenlet_is_freed_by_reference_counting() -> None:
    # Thousands of requests a second must not leave a greenlet <-> task cycle each for the cyclic GC.
    seen = run_python(
        """
        import gc, weakref, greenlet

        def request():
            hub.sleep(0.01)
            return weakref.ref(greenlet.getcurrent())

        def main():
            gc.disable()
            tasks = [hub.spawn(request) for _ in range(20)]
            for task in tasks:
                task.join()
            refs = [task.result() for task in tasks]
            del tasks, task
            hub.sleep(0.01)
            return sum(ref() is not None for ref in refs)

        print(json.dumps({"alive": hub.run(main)}))
        """
    )
    assert seen["alive"] == 0


def test_an_exception_in_one_greenlet_does_not_stop_the_others() -> None:
    seen = run_python(
        """
        import logging
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logging.getLogger("greenpsyco.hub").addHandler(handler)

        def bad():
            hub.sleep(0.01)
            raise ZeroDivisionError("bad greenlet")

        def good(i):
            hub.sleep(0.05)
            return i

        def main():
            failing = hub.spawn(bad)
            fine = [hub.spawn(good, i) for i in range(10)]
            for task in [failing, *fine]:
                task.join()
            try:
                failing.result()
                raised = None
            except ZeroDivisionError as exc:
                raised = str(exc)
            errback = []
            failing.deferred.addErrback(lambda f: errback.append(f.type.__name__))
            values = []
            fine[0].deferred.addCallback(values.append)
            return {
                "raised": raised,
                "others": [task.result() for task in fine],
                "logged": [(r.levelname, r.getMessage(), r.exc_info[0].__name__) for r in records],
                "errback": errback,
                "callback": values,
            }

        print(json.dumps(hub.run(main)))
        """
    )
    assert seen["raised"] == "bad greenlet"
    assert seen["others"] == list(range(10))
    assert seen["logged"] == [["ERROR", "greenlet bad raised an uncaught exception", "ZeroDivisionError"]]
    assert seen["errback"] == ["ZeroDivisionError"]
    assert seen["callback"] == [0]


# -- run() --------------------------------------------------------------------------------------------


def test_run_returns_mains_value_and_refuses_a_second_or_nested_run() -> None:
    seen = run_python(
        """
        out = {}

        def main(a, b=0):
            try:
                hub.run(lambda: None)
            except hub.HubError as exc:
                out["nested"] = str(exc)
            return a + b

        out["value"] = hub.run(main, 40, b=2)
        try:
            hub.run(lambda: None)
        except hub.HubError as exc:
            out["second"] = str(exc)
        out["running"] = reactor.running
        print(json.dumps(out))
        """
    )
    assert seen["value"] == 42
    assert "cannot be nested" in str(seen["nested"])
    assert "once per process" in str(seen["second"])
    assert seen["running"] is False


def test_run_reraises_mains_exception() -> None:
    seen = run_python(
        """
        def main():
            hub.sleep(0.01)
            raise PermissionError("denied in main")

        try:
            hub.run(main)
            out = {"raised": None}
        except PermissionError as exc:
            out = {"raised": str(exc), "frames": [f.name for f in traceback.extract_tb(exc.__traceback__)]}
        print(json.dumps(out))
        """
    )
    assert seen["raised"] == "denied in main"
    assert isinstance(seen["frames"], list)
    assert "main" in seen["frames"]
    assert "Traceback" not in str(seen["stderr"])  # re-raised, not also logged


def test_greenlets_left_running_are_killed_at_shutdown() -> None:
    seen = run_python(
        """
        events = []

        def lingering():
            d = defer.Deferred(lambda d: events.append("cancelled"))
            try:
                hub.wait(d)
            finally:
                events.append("cleanup")
                hub.sleep(0.01)  # the reactor still runs during shutdown: clean-up may wait
                events.append("cleanup waited")

        def main():
            task = hub.spawn(lingering)
            hub.sleep(0.01)
            return task

        task = hub.run(main)
        print(json.dumps({"events": events, "exception": type(task.exception()).__name__}))
        """
    )
    assert seen["events"] == ["cancelled", "cleanup", "cleanup waited"]
    assert seen["exception"] == "GreenletExit"


def test_run_raises_when_the_reactor_is_stopped_before_main_returns() -> None:
    seen = run_python(
        """
        def main():
            reactor.callLater(0.01, reactor.stop)
            hub.sleep(10)

        start = time.monotonic()
        try:
            hub.run(main)
            out = {"raised": None}
        except hub.HubError as exc:
            out = {"raised": str(exc), "cause": type(exc.__cause__).__name__}
        out["elapsed"] = time.monotonic() - start
        print(json.dumps(out))
        """
    )
    assert "stopped before main() returned" in str(seen["raised"])
    assert seen["cause"] == "GreenletExit"
    assert isinstance(seen["elapsed"], float)
    assert seen["elapsed"] < 5


# -- threads and the lower-level API ------------------------------------------------------------------


def test_spawn_and_join_from_another_thread() -> None:
    seen = run_python(
        """
        def work(x):
            hub.sleep(0.01)
            return {"mode": hub.mode(), "in_hub_thread": threading.get_ident() == hub.get_hub().thread_id,
                    "x": x}

        def from_thread(report):
            task = hub.spawn(work, 5)
            task.join(timeout=5)
            slow = hub.spawn(hub.sleep, 10)
            try:
                slow.join(timeout=0.05)
                timed_out = False
            except TimeoutError:
                timed_out = True
            slow.kill(timeout=5)
            reactor.callFromThread(report.callback, {
                "result": task.result(), "join_timed_out": timed_out, "killed": slow.done,
            })

        def main():
            report = defer.Deferred()
            threading.Thread(target=from_thread, args=(report,)).start()
            return hub.wait(report, timeout=10)

        print(json.dumps(hub.run(main)))
        """
    )
    assert seen["result"] == {"mode": "cooperative", "in_hub_thread": True, "x": 5}
    assert seen["join_timed_out"] is True
    assert seen["killed"] is True


def test_start_hub_run_forever_and_stop() -> None:
    seen = run_python(
        """
        out = {}
        h = hub.start_hub()
        out["running_before"] = h.running
        early = h.spawn(lambda: hub.mode())  # queued until the reactor runs

        def stopper():
            hub.sleep(0.02)
            out["hub_thread"] = h.thread_id == threading.get_ident()
            out["joined"] = hub.wait(deferToThread(lambda: (early.join(5), early.result())[1]))
            h.stop()
            h.stop()  # idempotent

        h.spawn(stopper)
        h.run_forever(install_signal_handlers=False)
        out["running_after"] = h.running
        out["early"] = early.result()
        try:
            h.run_forever()
        except hub.HubError as exc:
            out["again"] = str(exc)
        try:
            h.spawn(print)
        except hub.HubError as exc:
            out["spawn_after"] = str(exc)
        print(json.dumps(out))
        """
    )
    assert seen["running_before"] is False
    assert seen["hub_thread"] is True
    assert seen["joined"] == "cooperative"
    assert seen["running_after"] is False
    assert seen["early"] == "cooperative"
    assert "cannot be restarted" in str(seen["again"])
    assert "stopped" in str(seen["spawn_after"])


def test_join_from_the_hub_greenlet_is_refused() -> None:
    seen = run_python(
        """
        def main():
            sleeper = hub.spawn(hub.sleep, 0.05)
            seen = []

            def callback():
                try:
                    sleeper.join()
                except hub.BlockingInHubError as exc:
                    seen.append(str(exc))

            reactor.callLater(0, callback)
            sleeper.join(timeout=5)
            return {"message": seen[0], "joined": sleeper.done}

        print(json.dumps(hub.run(main)))
        """
    )
    assert "join() was called in the hub greenlet" in str(seen["message"])
    assert seen["joined"] is True


# -- with the Twisted driver and a real server --------------------------------------------------------


def test_request_greenlets_drive_the_twisted_driver(pg_server: TestServer) -> None:
    seen = run_python(
        f"""
        from twisted.python.failure import Failure
        from greenpsyco.wire.io_twisted import TwistedConnection
        DSN = {pg_server.dsn()!r}
        ENV = {{"HOME": "/nonexistent"}}

        def one_query(i):
            conn = hub.wait(TwistedConnection.connect(DSN, environ=ENV), timeout=30)
            try:
                (result,) = hub.wait(conn.execute(f"SELECT pg_sleep(0.3), {{i}}"))
                return int(result.rows[0][1])
            finally:
                conn.close()

        def cancellable(conn, sql):
            # The pattern the fake connection can use: the Deferred wait() cancels sends a CancelRequest;
            # the operation itself goes on until the server answers, so the connection stays usable.
            # (chainDeferred would raise AlreadyCalledError into the operation once outer is cancelled.)
            operation = conn.execute(sql)
            outer = defer.Deferred(lambda d: conn.cancel())

            def forward(result):
                if outer.called:
                    return result  # for whoever drains the operation
                if isinstance(result, Failure):
                    outer.errback(result)
                else:
                    outer.callback(result)
                return None

            operation.addBoth(forward)
            return operation, outer

        def main():
            start = time.monotonic()
            tasks = [hub.spawn(one_query, i) for i in range(10)]
            for task in tasks:
                task.join()
            elapsed = time.monotonic() - start
            conn = hub.wait(TwistedConnection.connect(DSN, environ=ENV))
            operation, outer = cancellable(conn, "SELECT pg_sleep(10)")
            try:
                hub.wait(outer, timeout=0.2)
                timed_out = None
            except TimeoutError:
                timed_out = time.monotonic() - start - elapsed
            try:
                hub.wait(operation, timeout=10)  # drain: the server ends the query on the CancelRequest
                drained = "finished"
            except Exception as exc:
                drained = f"{{type(exc).__name__}}: {{exc}}"
            (after,) = hub.wait(conn.execute("SELECT 7"))
            conn.close()
            return {{
                "values": [task.result() for task in tasks],
                "elapsed": elapsed,
                "timed_out": timed_out,
                "drained": drained,
                "after": int(after.rows[0][0]),
            }}

        print(json.dumps(hub.run(main)))
        """
    )
    assert seen["values"] == list(range(10))
    assert isinstance(seen["elapsed"], float)
    assert seen["elapsed"] < 2.5  # ten 0.3 s queries overlap (3 s one after another)
    assert isinstance(seen["timed_out"], float)
    assert seen["timed_out"] < 5
    assert str(seen["drained"]).startswith("QueryCanceled: ")  # the server ended it on the CancelRequest
    assert seen["after"] == 7
