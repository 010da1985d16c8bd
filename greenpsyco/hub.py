"""The hub greenlet that runs the Twisted reactor, ``wait()``/``sleep()`` for request greenlets, and the
rule that picks cooperative or blocking I/O.

One OS thread per process runs the hub: a dedicated greenlet of that thread (the *hub greenlet*) runs
Twisted's reactor; every request runs in a greenlet of its own in the same thread (a *request
greenlet*, started by :func:`spawn`). A request greenlet that needs a network result calls
:func:`wait` with a Deferred: it switches to the hub, the reactor goes on serving everybody else, and
the Deferred's callback switches back with the result. Thousands of requests waiting on PostgreSQL
cost thousands of greenlets, not threads.

Which I/O a database call uses (DESIGN.md section 3) is :func:`mode`:

``"cooperative"``
    a non-hub greenlet of the thread whose hub is running: call :func:`wait` with a Deferred.
``"blocking"``
    everything else -- no hub started, the hub has stopped, any other OS thread (Django's
    ``LiveServerThread``, ``deferToThread`` workers), a forked child: use the blocking socket driver
    (:mod:`greenpsyco.wire.io_blocking`), never Deferreds. :func:`wait` there only unwraps a Deferred
    that has already fired and raises :class:`NoHubError` for any other.
``"hub"``
    the hub greenlet itself, i.e. a reactor callback: it must never block the reactor, so
    :func:`wait`/:func:`sleep` raise :class:`BlockingInHubError`.

The reactor is Twisted's global default reactor (epoll on Linux). An asyncio-based reactor is refused
(:class:`UnsupportedReactorError`): its event loop counts as "running" for the whole thread, so
Django's ``@async_unsafe`` would raise ``SynchronousOnlyOperation`` in every request greenlet.

Twisted's global reactor can run once per process, so there is one hub per process: :func:`run` for a
script (start the hub, run ``main`` in a request greenlet, stop), or :func:`start_hub` and
:meth:`Hub.run_forever`/:meth:`Hub.stop` for a server that sets up its listening ports first.

Another OS thread may need what the reactor owns (a cooperative connection handed to Django's
``LiveServerThread``, see :mod:`greenpsyco.green`). For that the hub keeps a *reactor lock*: its thread
holds it while the hub greenlet runs (reactor code and callbacks) and releases it while a request
greenlet runs (greenlet's per-thread trace function sees every switch). :meth:`Hub.call_exclusive`
runs a brief function under that lock in the other thread -- possible at once when the hub's thread is
inside a request greenlet, even one blocked outside the reactor -- or hands it to the hub greenlet with
``reactor.callFromThread`` when the reactor is busy or idle, whichever comes first. A request greenlet
takes the same lock around its own brief touches of such a connection. (Installing another greenlet
trace function in the hub's thread while the hub runs would break this.)

Like ``twisted.web.wsgi``, every public function and method says in which context it may be called:
the hub greenlet, a request greenlet (any non-hub greenlet of the hub's thread), or any thread.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, Literal, ParamSpec, TypeVar

import greenlet  # type: ignore[import-untyped]
from twisted.internet import defer, error
from twisted.python.failure import Failure

from greenpsyco.wire import fastpath

T = TypeVar("T")
P = ParamSpec("P")

Mode = Literal["cooperative", "blocking", "hub"]

GreenletExit: type[BaseException] = greenlet.GreenletExit
"""Thrown into a greenlet to end it (``greenlet.GreenletExit``): the default of :meth:`GreenTask.kill`."""

_logger = logging.getLogger("greenpsyco.hub")

_SPAWN_HINT = "run this code in a request greenlet via greenpsyco.hub.spawn()"


class HubError(RuntimeError):
    """The hub was used in a context that cannot work (see each function's "Call from")."""


class UnsupportedReactorError(HubError):
    """The installed Twisted reactor cannot host request greenlets (an asyncio-based reactor)."""


class BlockingInHubError(HubError):
    """A reactor callback (the hub greenlet) tried to wait: that would block every request."""


class NoHubError(HubError):
    """A Deferred that has not fired was waited on where no hub runs (blocking mode)."""


# -- the process's hub ------------------------------------------------------------------------------

_hub: Hub | None = None  # this process's hub, running or not; None in a forked child
_claim_lock = threading.Lock()
_forked_with_reactor = False  # this process is a fork of one that had installed Twisted's reactor


def _after_fork_in_child() -> None:
    """A child never uses the parent's hub, reactor (its epoll instance) or sockets."""
    global _hub, _forked_with_reactor, _claim_lock
    parent_hub, _hub = _hub, None
    _claim_lock = threading.Lock()
    if parent_hub is not None and parent_hub.thread_id == threading.get_ident():
        # Forked from the hub's thread: its greenlet trace function (the reactor lock) goes too.
        with contextlib.suppress(Exception):
            if greenlet.gettrace() == parent_hub._trace_switch:
                greenlet.settrace(parent_hub._previous_trace)
    fastpath.forget_all()
    if "twisted.internet.reactor" in sys.modules:
        _forked_with_reactor = True


def install_fresh_reactor() -> Any:
    """In a forked child: put a new Twisted reactor (the platform's default, epoll on Linux) in place of
    the parent's, so that this process can start a hub of its own; return it.

    The parent's reactor object is left alone, never run nor touched: its epoll instance is shared with
    the parent across ``fork()`` (a registration changed here would change the parent's), and so are
    its waker pipe and its sockets. Only the module-level references go: ``twisted.internet.reactor``
    in ``sys.modules`` and as the package's attribute -- greenpsyco itself looks the reactor up when it
    creates a hub or a connection, never earlier. The parent's cooperative connections stay unusable
    here (:class:`greenpsyco.green.GreenConnection` refuses them in another process). A signal wakeup
    fd that still points into the parent's reactor (Twisted's own signal handling) is reset.

    Call from: a forked child of a process that had installed Twisted's reactor, before
    :func:`start_hub`, in the thread that will run the hub. Raises :class:`HubError` elsewhere.
    """
    global _forked_with_reactor
    with _claim_lock:
        if not _forked_with_reactor:
            raise HubError(
                "install_fresh_reactor() is for a forked child of a process that had installed Twisted's "
                "reactor; this process can use (or install) the reactor itself"
            )
        if _hub is not None:
            raise HubError("this process already has a hub: its reactor cannot be replaced")
        import twisted.internet
        from twisted.internet import default

        old = sys.modules.pop("twisted.internet.reactor", None)
        if getattr(twisted.internet, "reactor", None) is old:
            with contextlib.suppress(AttributeError):
                del twisted.internet.reactor
        if threading.current_thread() is threading.main_thread():
            import signal

            with contextlib.suppress(ValueError, OSError):
                waker = getattr(old, "waker", None)
                wakeup = signal.set_wakeup_fd(-1)
                if wakeup not in (getattr(waker, "o", None), getattr(waker, "i", None)):
                    signal.set_wakeup_fd(wakeup)  # not the parent reactor's: put it back
        default.install()
        _forked_with_reactor = False
    return _global_reactor()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _global_reactor() -> Any:
    from twisted.internet import reactor

    return reactor


def _refuse_asyncio_reactor(reactor: Any) -> None:
    kind = type(reactor)
    if "asyncio" in kind.__module__ or hasattr(reactor, "_asyncioEventloop"):
        raise UnsupportedReactorError(
            f"greenpsyco's hub needs Twisted's default (epoll) reactor, but an asyncio-based reactor "
            f"({kind.__module__}.{kind.__qualname__}) is installed. Its asyncio event loop is 'running' for "
            "the whole OS thread, so in every request greenlet Django's @async_unsafe would raise "
            "SynchronousOnlyOperation on each database call. Don't install "
            "twisted.internet.asyncioreactor (check TWISTED_REACTOR / a framework's reactor setting)."
        )


def get_hub() -> Hub | None:
    """This process's hub (running, not yet running, or stopped), or None if there is none.

    Call from: any thread. In a forked child it is None: the parent's hub is not the child's.
    """
    return _hub


def start_hub(reactor: Any = None, *, shutdown_timeout: float = 10.0) -> Hub:
    """Create this process's hub (not running yet): the lower-level API a server uses instead of run().

    The server sets up its listening ports on ``hub.reactor``, maybe ``hub.spawn()``s start-up work,
    then calls :meth:`Hub.run_forever` in the thread that will be the hub's, and :meth:`Hub.stop` to
    shut down. Raises :class:`UnsupportedReactorError` for an asyncio reactor and :class:`HubError`
    when the process already has a hub (Twisted's reactor runs once per process) or is a fork of one
    that had installed the reactor.

    Call from: any thread, outside any running hub.
    """
    return Hub(reactor, shutdown_timeout=shutdown_timeout)


def _running_here() -> Hub | None:
    """This process's hub if it is running in the calling thread, else None."""
    hub = _hub
    if hub is None or hub._state != "running" or hub.thread_id != threading.get_ident():
        return None
    return hub


def mode() -> Mode:
    """Which I/O a database call made here must use (DESIGN.md section 3; see the module docstring).

    "cooperative" in a non-hub greenlet of the thread whose hub is running, "hub" in the hub greenlet
    itself, "blocking" everywhere else (no hub running, other threads, forked children).

    Call from: anywhere (any thread, any greenlet).
    """
    hub = _running_here()
    if hub is None:
        return "blocking"
    if greenlet.getcurrent() is hub.greenlet:
        return "hub"
    return "cooperative"


def request_hub() -> Hub | None:
    """The running hub if the caller is one of its request greenlets (:func:`mode` is "cooperative"),
    else None: the mode check and the hub in one call, for the per-query path.

    Call from: anywhere (any thread, any greenlet).
    """
    hub = _running_here()
    if hub is None or greenlet.getcurrent() is hub.greenlet:
        return None
    return hub


def current_task() -> GreenTask[Any] | None:
    """The :class:`GreenTask` whose greenlet is running, or None (hub greenlet, other greenlets/threads).

    Call from: anywhere.
    """
    task: GreenTask[Any] | None = getattr(greenlet.getcurrent(), "greenpsyco_task", None)
    return task


# -- waiting ----------------------------------------------------------------------------------------


def _unwrap(result: object) -> Any:
    """A Deferred's result as a return value, or its Failure's original exception raised again."""
    if isinstance(result, Failure):
        exc = result.value
        assert exc is not None
        tb = result.tb if result.tb is not None else exc.__traceback__
        raise exc.with_traceback(tb)
    return result


def _wait_fired(deferred: defer.Deferred[T]) -> T:
    if not deferred.called or deferred.paused:
        raise NoHubError(
            f"wait() needs a running hub in this thread for a Deferred that has not fired ({deferred!r}). "
            "No hub runs here (no greenpsyco.hub.run()/start_hub(), another OS thread, a forked child, "
            "or the hub has stopped): blocking callers must use the blocking driver "
            "(greenpsyco.wire.io_blocking), not Deferreds."
        )
    outcome: list[object] = []
    deferred.addBoth(outcome.append)
    return _unwrap(outcome[0])  # type: ignore[no-any-return]


def wait(deferred: defer.Deferred[T], timeout: float | None = None) -> T:
    """Suspend this greenlet until ``deferred`` fires; return its result or raise its exception.

    The other greenlets and the reactor run meanwhile. A Failure is unwrapped: the original exception
    is raised with its traceback. The result is consumed (callbacks added after ``wait()`` see None).

    ``timeout`` (seconds): when it passes first, the Deferred is cancelled (its canceller runs) and
    ``TimeoutError`` is raised (chained to the Deferred's own error, if it failed otherwise than with
    ``CancelledError``). If this greenlet is killed while waiting (``GreenletExit`` or any exception
    thrown into it, see :meth:`GreenTask.kill`), the Deferred is cancelled and the exception re-raised.
    A database operation's canceller sends a CancelRequest: the caller decides whether to wait for the
    connection to drain, e.g. in an ``except BaseException:`` block, where ``wait()`` still works.

    Call from: a request greenlet (cooperative mode). In blocking mode a Deferred that has already
    fired is unwrapped at once and any other raises :class:`NoHubError` (blocking callers use the
    blocking driver, not Deferreds; ``timeout`` is ignored). From the hub greenlet it raises
    :class:`BlockingInHubError`.
    """
    hub = _hub
    current = mode()
    if current == "cooperative":
        assert hub is not None
        return hub._wait(deferred, timeout)
    if current == "hub":
        raise BlockingInHubError(
            f"wait() was called in the hub greenlet: a reactor callback must not block; {_SPAWN_HINT}."
        )
    return _wait_fired(deferred)


def sleep(seconds: float) -> None:
    """Pause this greenlet for ``seconds``; other greenlets run meanwhile.

    Call from: a request greenlet (``reactor.callLater``-based), or in blocking mode (``time.sleep``).
    From the hub greenlet it raises :class:`BlockingInHubError`.
    """
    hub = _hub
    current = mode()
    if current == "blocking":
        time.sleep(seconds)
        return
    if current == "hub":
        raise BlockingInHubError(
            f"sleep() was called in the hub greenlet: a reactor callback must not block; {_SPAWN_HINT}."
        )
    assert hub is not None
    call: Any = None

    def cancel(_: defer.Deferred[None]) -> None:
        if call is not None and call.active():
            call.cancel()

    slept: defer.Deferred[None] = defer.Deferred(cancel)
    call = hub.reactor.callLater(max(0.0, seconds), slept.callback, None)
    wait(slept)


def spawn(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> GreenTask[T]:
    """Run ``fn(*args, **kwargs)`` in a new request greenlet scheduled by this process's hub.

    It starts on a later reactor iteration, never inside the caller's stack. An uncaught exception is
    logged (logger ``greenpsyco.hub``) and kept in the returned :class:`GreenTask`; it never stops the
    hub or the other greenlets. Raises :class:`HubError` when the process has no hub or it has stopped.

    Call from: any greenlet of the hub's thread (hub or request greenlet), or any other thread (the
    start is handed over with ``reactor.callFromThread``); also before the hub runs.
    """
    hub = _hub
    if hub is None:
        raise HubError(
            "spawn() needs this process's hub: call greenpsyco.hub.run(main) or start_hub() first"
            + (" (this is a forked child: it cannot use its parent's hub)" if _forked_with_reactor else "")
        )
    return hub.spawn(fn, *args, **kwargs)


def run(main: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Start the hub in this thread, run ``main(*args, **kwargs)`` in a request greenlet, stop, return.

    The reactor runs in a new hub greenlet of the calling thread until ``main`` returns or raises; then
    the reactor stops cleanly (greenlets still running are killed with ``GreenletExit`` and get
    ``shutdown_timeout`` seconds to clean up) and ``run()`` returns ``main``'s result or re-raises its
    exception (not also logged). If the reactor is stopped before ``main`` ends (Twisted's SIGINT or
    SIGTERM handler, ``reactor.stop()``), ``main`` is killed and :class:`HubError` is raised.

    Twisted's global reactor cannot be restarted: ``run()`` can be called once per process, and not
    nested inside a running hub (use :func:`spawn` there). A server that needs to set things up before
    the reactor runs uses :func:`start_hub` and :meth:`Hub.run_forever` instead. Twisted's signal
    handlers are installed when this is the main thread.

    Call from: any thread of a process that has no hub yet.
    """
    hub = start_hub()
    task = hub.spawn(main, *args, **kwargs)
    task._log_errors = False  # run() re-raises it
    task._on_done(hub.stop)
    hub.run_forever()
    if task._killed_by_shutdown:
        raise HubError("the hub was stopped before main() returned") from task._exception
    return task.result()


class _ExclusiveCall(Generic[T]):
    """One function for :meth:`Hub.call_exclusive`: run once, by whichever side gets to it first (both
    sides run it under the reactor lock, so they cannot both start it)."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self.fn = fn
        self.started = False
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        if self.started:
            return
        self.started = True
        try:
            self.value = self.fn()
        except BaseException as exc:
            self.error = exc
        finally:
            self.done.set()

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


class _Waiter:
    """One greenlet's wait for one Deferred."""

    __slots__ = ("has_outcome", "outcome", "timed_out", "waiting")

    def __init__(self) -> None:
        self.waiting = False
        self.has_outcome = False
        self.outcome: object = None
        self.timed_out = False


# -- the hub ------------------------------------------------------------------------------------------


class Hub:
    """The process's hub: Twisted's reactor running in a dedicated greenlet of one thread.

    ``thread_id`` and ``greenlet`` are the hub's thread and greenlet once :meth:`run_forever` has been
    called (None before). ``reactor`` is the Twisted reactor it runs. Prefer :func:`start_hub`; the
    constructor does the same checks and makes this object the process's hub.

    Call from: any thread, outside any running hub.
    """

    def __init__(self, reactor: Any = None, *, shutdown_timeout: float = 10.0) -> None:
        global _hub
        self.reactor: Any = reactor if reactor is not None else _global_reactor()
        _refuse_asyncio_reactor(self.reactor)
        self.shutdown_timeout = shutdown_timeout
        self.pid = os.getpid()
        self.thread_id: int | None = None
        self.greenlet: Any = None
        self._state: Literal["new", "running", "stopped"] = "new"
        self._stop_requested = False
        self._tasks: set[GreenTask[Any]] = set()
        self._tasks_lock = threading.Lock()
        # The reactor lock: held by the hub's thread while its hub greenlet runs (reactor code and
        # callbacks), released while a request greenlet runs; see call_exclusive().
        self._reactor_lock = threading.RLock()  # re-entrant: a switch inside a held turn cannot deadlock
        self._holding_reactor_lock = False  # read and written by the hub's thread only
        self._previous_trace: Any = None
        with _claim_lock:
            if _forked_with_reactor:
                raise HubError(
                    "this process was forked from one that had installed Twisted's reactor; a child "
                    "cannot use its parent's reactor (its epoll instance, sockets and signal state). "
                    "Use blocking mode in the child, call greenpsyco.hub.install_fresh_reactor() first, "
                    "or exec a new interpreter."
                )
            if _hub is not None:
                if _hub._state == "running":
                    raise HubError(
                        "a hub is already running in this process; run()/start_hub() cannot be nested: "
                        "use greenpsyco.hub.spawn() to start more greenlets"
                    )
                raise HubError(
                    "this process already has a hub: Twisted's global reactor cannot be restarted, so "
                    "greenpsyco.hub.run()/start_hub() can be used once per process"
                )
            if self.reactor.running or getattr(self.reactor, "_startedBefore", False):
                raise HubError(
                    "the Twisted reactor is already running or has run: the hub must be the one to run it "
                    "(reactors cannot be restarted)"
                )
            _hub = self

    @property
    def running(self) -> bool:
        """True while the reactor runs in the hub greenlet (including its shutdown phase).

        Call from: any thread.
        """
        return self._state == "running" and self.pid == os.getpid()

    def __repr__(self) -> str:
        return f"<Hub {self._state} thread={self.thread_id} reactor={type(self.reactor).__name__}>"

    # -- lifecycle ------------------------------------------------------------------------------

    def run_forever(self, *, install_signal_handlers: bool | None = None) -> None:
        """Run the reactor in a new hub greenlet of the calling thread until :meth:`stop`.

        The calling thread becomes the hub's thread. Returns once the reactor has stopped and the
        greenlets still running were killed (``GreenletExit``; during the reactor's "before shutdown"
        phase they get ``shutdown_timeout`` seconds of cooperative clean-up). ``install_signal_handlers``
        defaults to True in the main thread (Twisted's SIGINT/SIGTERM handlers stop the hub cleanly).
        Runs once per hub.

        Call from: the thread that is to run the hub, outside any greenlet of a running hub.
        """
        if self.pid != os.getpid():
            raise HubError("this hub belongs to the parent process: a forked child cannot run it")
        if self._state != "new" or self.greenlet is not None:
            raise HubError(
                f"run_forever() can be called once per hub, and this one is {self._state}: Twisted's "
                "reactor cannot be restarted"
            )
        if install_signal_handlers is None:
            install_signal_handlers = threading.current_thread() is threading.main_thread()
        self.thread_id = threading.get_ident()
        hub_greenlet = greenlet.greenlet(self._loop)
        self.greenlet = hub_greenlet
        hub_greenlet.switch(install_signal_handlers)
        # Only the hub greenlet's end returns here; a stray switch into this parked greenlet goes back.
        while not hub_greenlet.dead:
            hub_greenlet.switch()

    def attach(self) -> None:
        """Become the hub of a reactor that something else runs (``twistd``): from now on the calling
        greenlet, which is running the reactor, is the hub greenlet.

        For programs that own ``reactor.run()`` themselves; call it from a ``callWhenRunning`` callback.
        Greenlets still running when the reactor shuts down are killed as with :meth:`run_forever`.

        Call from: a reactor callback (the greenlet running the reactor), once, on a hub that never ran.
        """
        if self.pid != os.getpid():
            raise HubError("this hub belongs to the parent process: a forked child cannot attach it")
        if self._state != "new" or self.greenlet is not None:
            raise HubError(f"attach() needs a hub that never ran, and this one is {self._state}")
        if not self.reactor.running:
            raise HubError("attach() must be called while the reactor runs (use reactor.callWhenRunning)")
        self.thread_id = threading.get_ident()
        self.greenlet = greenlet.getcurrent()
        self.reactor.addSystemEventTrigger("before", "shutdown", self._before_shutdown)
        self.reactor.addSystemEventTrigger("after", "shutdown", self._after_attached_shutdown)
        self._take_reactor_lock()
        fastpath.install(self.reactor)
        self._state = "running"

    def _after_attached_shutdown(self) -> None:
        with self._tasks_lock:
            self._state = "stopped"
            leftovers = list(self._tasks)
        self._kill_leftovers(leftovers)
        fastpath.uninstall(self.reactor)
        self._give_up_reactor_lock()

    def stop(self) -> None:
        """Stop the reactor: a clean Twisted shutdown, after which :meth:`run_forever` returns.

        Idempotent. Before the hub runs, it makes :meth:`run_forever` stop as soon as it has started.
        Greenlets still running then are killed (see :meth:`run_forever`): a server that wants to let
        in-flight requests finish drains them first (stop listening, join them with a timeout), then
        calls ``stop()``.

        Call from: any thread, any greenlet (from another thread it is handed over with
        ``reactor.callFromThread``).
        """
        if self.pid != os.getpid() or self._state == "stopped":
            return
        self._stop_requested = True
        if self._state == "running" and threading.get_ident() == self.thread_id:
            self._stop_reactor()
        else:
            self.reactor.callFromThread(self._stop_reactor)

    def _stop_reactor(self) -> None:
        with contextlib.suppress(error.ReactorNotRunning):
            self.reactor.stop()

    def _loop(self, install_signal_handlers: bool) -> None:
        """The hub greenlet's body: run the reactor, then deal with greenlets left behind."""
        reactor = self.reactor
        reactor.addSystemEventTrigger("before", "shutdown", self._before_shutdown)
        if self._stop_requested:
            reactor.callWhenRunning(self._stop_reactor)
        self._take_reactor_lock()
        fastpath.install(reactor)
        self._state = "running"
        try:
            reactor.run(installSignalHandlers=install_signal_handlers)
        finally:
            with self._tasks_lock:
                self._state = "stopped"
                leftovers = list(self._tasks)
            self._kill_leftovers(leftovers)
            fastpath.uninstall(reactor)
            self._give_up_reactor_lock()

    # -- the reactor lock: other threads' brief turns at reactor-owned sockets ----------------------

    def _take_reactor_lock(self) -> None:
        """Hold the reactor lock from now on while the hub greenlet runs, and trace this thread's
        greenlet switches to release it while request greenlets run.

        Call from: the hub greenlet, as it starts running the reactor.
        """
        self._reactor_lock.acquire()
        self._holding_reactor_lock = True
        self._previous_trace = greenlet.settrace(self._trace_switch)

    def _give_up_reactor_lock(self) -> None:
        """Stop tracing switches and release the reactor lock for good: the reactor has stopped.

        Call from: the hub greenlet, once the reactor has stopped.
        """
        greenlet.settrace(self._previous_trace)
        self._previous_trace = None
        if self._holding_reactor_lock:
            self._holding_reactor_lock = False
            self._reactor_lock.release()

    def _trace_switch(self, event: str, args: tuple[Any, Any]) -> None:
        """greenlet's trace function for the hub's thread: a switch (or throw) out of the hub greenlet
        releases the reactor lock, a switch back into it takes the lock again (waiting while another
        thread holds it for its brief turn, see :meth:`call_exclusive`).

        Call from: greenlet itself, on every switch in the hub's thread.
        """
        if event in ("switch", "throw"):
            origin, target = args
            hub_greenlet = self.greenlet
            if target is hub_greenlet:
                if not self._holding_reactor_lock:
                    self._reactor_lock.acquire()
                    self._holding_reactor_lock = True
            elif origin is hub_greenlet and self._holding_reactor_lock:
                self._holding_reactor_lock = False
                self._reactor_lock.release()
        previous = self._previous_trace
        if previous is not None:
            previous(event, args)

    def call_exclusive(self, fn: Callable[[], T]) -> T:
        """Run ``fn()`` where the reactor cannot run at the same time, and return its result.

        For another OS thread that must touch what the reactor owns (a cooperative connection's
        transport, see :class:`greenpsyco.green.GreenConnection`). ``fn`` runs either in this thread
        while it holds the reactor lock -- the hub's thread is then inside a request greenlet (maybe
        blocked outside the reactor, e.g. in ``urlopen()``), not in reactor code, and cannot re-enter
        the reactor until ``fn`` returns -- or, when the reactor is busy or idle in its poll, in the hub
        greenlet itself (handed over with ``reactor.callFromThread``), whichever comes first. ``fn``
        must be brief and must never wait for the hub: the hub's thread may be waiting for it.

        Call from: any thread, any greenlet. In the hub's thread ``fn`` runs at once: in the hub
        greenlet (which holds the lock), or in a request greenlet under the lock, which keeps another
        thread's turn (above) from overlapping with it.
        """
        if threading.get_ident() == self.thread_id:
            if self._holding_reactor_lock:
                return fn()
            with self._reactor_lock:
                return fn()
        call = _ExclusiveCall(fn)
        lock = self._reactor_lock
        if not lock.acquire(blocking=False):
            if self._state == "running" and self.pid == os.getpid():
                with contextlib.suppress(Exception):  # a stopped reactor: the lock will be free
                    self.reactor.callFromThread(call.run)
            # Whichever comes first: the hub greenlet runs it, or the hub's thread leaves reactor code.
            while not call.done.wait(0.002):
                if lock.acquire(blocking=False):
                    break
            else:
                return call.outcome()
        try:
            call.run()  # does nothing if the hub greenlet ran it already
        finally:
            lock.release()
        return call.outcome()

    def _live_tasks(self) -> list[GreenTask[Any]]:
        with self._tasks_lock:
            return [task for task in self._tasks if not task.done]

    def _before_shutdown(self) -> defer.Deferred[None] | None:
        """Kill the running greenlets while the reactor still runs, so their clean-up can still wait."""
        live = self._live_tasks()
        for task in live:
            task._killed_by_shutdown = True
            task._throw(GreenletExit())
        stragglers = {task for task in live if not task.done}
        if not stragglers:
            return None
        all_done: defer.Deferred[None] = defer.Deferred()

        def finish() -> None:
            if not all_done.called:
                if timer.active():
                    timer.cancel()
                all_done.callback(None)

        def one_done(task: GreenTask[Any]) -> None:
            stragglers.discard(task)
            if not stragglers:
                self.reactor.callLater(0, finish)  # fire in the hub greenlet, not the dying one

        def give_up() -> None:
            _logger.warning(
                "shutdown: %d greenlet(s) still running after %s s: %s",
                len(stragglers),
                self.shutdown_timeout,
                ", ".join(sorted(task.name for task in stragglers)),
            )
            finish()

        timer = self.reactor.callLater(self.shutdown_timeout, give_up)
        for task in list(stragglers):
            task._on_done(functools.partial(one_done, task))
        return all_done

    def _kill_leftovers(self, leftovers: list[GreenTask[Any]]) -> None:
        """After the reactor stopped: end what is left so ``finally`` blocks run in this thread."""
        for task in leftovers:
            if task.done:
                continue
            task._killed_by_shutdown = True
            task._throw(GreenletExit("the hub has stopped"))
            if not task.done:
                _logger.warning("greenlet %s did not end when the hub stopped; abandoned", task.name)

    # -- greenlets ------------------------------------------------------------------------------

    def spawn(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> GreenTask[T]:
        """Run ``fn(*args, **kwargs)`` in a new request greenlet of this hub; see :func:`spawn`.

        Call from: any greenlet of the hub's thread, or any other thread; also before the hub runs.
        """
        if self.pid != os.getpid():
            raise HubError("this hub belongs to the parent process: a forked child cannot spawn on it")
        task: GreenTask[T] = GreenTask(self, fn, args, kwargs)
        with self._tasks_lock:
            if self._state == "stopped":
                raise HubError("the hub has stopped: nothing would run a new greenlet")
            self._tasks.add(task)
        if self._state == "running" and threading.get_ident() == self.thread_id:
            self.reactor.callLater(0, task._start)
        else:
            self.reactor.callFromThread(task._start)
        return task

    def _forget(self, task: GreenTask[Any]) -> None:
        with self._tasks_lock:
            self._tasks.discard(task)

    def _wait(self, deferred: defer.Deferred[T], timeout: float | None) -> T:
        """Cooperative wait; the caller is a request greenlet of this running hub (see :func:`wait`)."""
        me = greenlet.getcurrent()
        hub_greenlet = self.greenlet
        reactor = self.reactor
        waiter = _Waiter()

        def resume() -> None:
            if waiter.waiting:
                waiter.waiting = False
                me.switch()

        def fired(result: object) -> None:
            waiter.outcome = result
            waiter.has_outcome = True
            if waiter.waiting:
                if greenlet.getcurrent() is hub_greenlet:
                    resume()
                elif threading.get_ident() == self.thread_id:
                    reactor.callLater(0, resume)  # fired by another request greenlet: it keeps running
                else:
                    reactor.callFromThread(resume)
            # Returning None consumes a Failure: no "Unhandled error in Deferred" for what we re-raise.

        deferred.addBoth(fired)
        if waiter.has_outcome:
            return _unwrap(waiter.outcome)  # type: ignore[no-any-return]
        delayed: Any = None
        if timeout is not None:

            def expire() -> None:
                if not waiter.waiting or waiter.has_outcome:
                    return
                waiter.timed_out = True
                try:
                    deferred.cancel()
                except Exception:
                    _logger.exception("cancelling %r after its timeout failed", deferred)
                resume()  # the canceller may not have fired it

            delayed = reactor.callLater(max(0.0, timeout), expire)
        waiter.waiting = True
        try:
            while waiter.waiting:
                hub_greenlet.switch()
        except BaseException:
            # Killed while waiting (GreenletExit or another exception thrown in): cancel, re-raise.
            waiter.waiting = False
            if delayed is not None and delayed.active():
                delayed.cancel()
            if not waiter.has_outcome:
                try:
                    deferred.cancel()
                except Exception:
                    _logger.exception("cancelling %r for a killed greenlet failed", deferred)
            raise
        if delayed is not None and delayed.active():
            delayed.cancel()
        if waiter.timed_out:
            cause = waiter.outcome.value if isinstance(waiter.outcome, Failure) else None
            if isinstance(cause, defer.CancelledError):
                cause = None
            raise TimeoutError(f"gave up waiting after {timeout} s; the operation was cancelled") from cause
        return _unwrap(waiter.outcome)  # type: ignore[no-any-return]


# -- tasks --------------------------------------------------------------------------------------------


class GreenTask(Generic[T]):
    """A function running in a request greenlet of the hub (see :func:`spawn`) and its outcome.

    ``greenlet`` is the request greenlet (None until it starts), ``name`` the function's name for logs.
    """

    def __init__(self, hub: Hub, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.hub = hub
        self.name: str = getattr(fn, "__qualname__", None) or repr(fn)
        self.greenlet: Any = None
        self._call: tuple[Callable[..., T], tuple[Any, ...], dict[str, Any]] | None = (fn, args, kwargs)
        self._state: Literal["pending", "running", "done"] = "pending"
        self._value: T | None = None
        self._exception: BaseException | None = None
        self._finished = threading.Event()
        self._joiners: list[defer.Deferred[None]] = []
        self._callbacks: list[Callable[[], object]] = []
        self._deferred: defer.Deferred[T] | None = None
        self._log_errors = True
        self._killed_by_shutdown = False

    def __repr__(self) -> str:
        return f"<GreenTask {self.name} {self._state}>"

    @property
    def done(self) -> bool:
        """True once the function has returned or raised (or the task was killed before it started).

        Call from: any thread.
        """
        return self._state == "done"

    def result(self) -> T:
        """The function's return value, or its exception raised again; :class:`HubError` if not done.

        Call from: any thread.
        """
        if self._state != "done":
            raise HubError(f"{self!r} has not finished: join() it first")
        if self._exception is not None:
            raise self._exception
        return self._value  # type: ignore[return-value]

    def exception(self) -> BaseException | None:
        """The exception the function ended with (``GreenletExit`` if killed), or None; needs ``done``.

        Call from: any thread.
        """
        if self._state != "done":
            raise HubError(f"{self!r} has not finished: join() it first")
        return self._exception

    @property
    def deferred(self) -> defer.Deferred[T]:
        """A Deferred (the same one each time) that fires with the result or fails with the exception.

        Call from: the hub's thread (hub or request greenlet).
        """
        if self._deferred is None:
            if self._state != "done":
                self._deferred = defer.Deferred()
            elif self._exception is not None:
                self._deferred = defer.fail(self._exception)
            else:
                self._deferred = defer.succeed(self._value)  # type: ignore[arg-type]
        return self._deferred

    def join(self, timeout: float | None = None) -> None:
        """Wait until the task is done (it does not raise the task's exception: see :meth:`result`).

        Raises ``TimeoutError`` if ``timeout`` seconds pass first.

        Call from: a request greenlet (cooperative wait), or any other thread (blocks that thread).
        From the hub greenlet, from the hub's thread while the hub does not run, or once the hub has
        stopped, it raises :class:`HubError` unless the task is already done, since nothing could run
        the task meanwhile. (Before the hub starts, a thread that joins waits for it to start; joining
        in the thread that is to run the hub, before it does, would never end.)
        """
        if self._state == "done":
            return
        current = mode()
        if current == "cooperative":
            if greenlet.getcurrent() is self.greenlet:
                raise HubError(f"{self!r} cannot join itself: it would wait forever")
            joined: defer.Deferred[None] = defer.Deferred(self._joiners.remove)
            self._joiners.append(joined)
            wait(joined, timeout)
            return
        if current == "hub":
            raise BlockingInHubError(f"join() was called in the hub greenlet; {_SPAWN_HINT}.")
        if self.hub.pid != os.getpid():
            raise HubError(f"{self!r} belongs to the parent process's hub: a forked child cannot join it")
        if threading.get_ident() == self.hub.thread_id or self.hub._state == "stopped":
            raise HubError(f"join({self!r}) would never end: the hub that runs it is not running")
        if not self._finished.wait(timeout):
            raise TimeoutError(f"{self!r} did not finish within {timeout} s")

    def kill(
        self,
        exception: type[BaseException] | BaseException = GreenletExit,
        *,
        block: bool = True,
        timeout: float | None = None,
    ) -> None:
        """Throw ``exception`` into the greenlet where it waits: :func:`wait` cancels its Deferred.

        A task that has not started yet ends without running. With ``block`` (the default) the call
        returns once the task is done (``timeout`` as for :meth:`join`), except from the hub greenlet,
        where the throw happens at once and the task runs until it next waits or ends. Killing a done
        task does nothing; a task killing itself raises ``exception`` in place.

        Call from: any greenlet of the hub's thread, or any other thread (handed over with
        ``reactor.callFromThread``).
        """
        if self._state == "done":
            return
        exc = exception() if isinstance(exception, type) else exception
        hub = self.hub
        if hub.pid != os.getpid():
            raise HubError(f"{self!r} belongs to the parent process's hub: a forked child cannot kill it")
        if hub._state != "running":
            if self._state != "pending":  # only an abandoned greenlet of a stopped hub gets here
                raise HubError(f"cannot kill {self!r}: its hub does not run")
            self._throw(exc)  # never started: it just ends
            return
        if threading.get_ident() != hub.thread_id:
            hub.reactor.callFromThread(self._throw, exc)
        else:
            me = greenlet.getcurrent()
            if me is self.greenlet:
                raise exc
            if me is hub.greenlet or self._state == "pending":
                self._throw(exc)  # at once: from the hub, or a task that never started just ends
                return
            hub.reactor.callLater(0, self._throw, exc)
        if block:
            self.join(timeout)

    # -- internals (hub's thread) ---------------------------------------------------------------

    def _start(self) -> None:
        """Create the greenlet and run it until it first waits. Runs in the hub greenlet."""
        if self._state != "pending":
            return  # killed before it started
        child = greenlet.greenlet(self._run, parent=self.hub.greenlet)
        child.greenpsyco_task = self
        self.greenlet = child
        self._state = "running"
        child.switch()

    def _run(self) -> None:
        """The request greenlet's body: the function, with its outcome recorded and never propagated."""
        assert self._call is not None
        fn, args, kwargs = self._call
        self._call = None
        try:
            value = fn(*args, **kwargs)
        except BaseException as exc:
            self._finish(None, exc)
        else:
            self._finish(value, None)
        finally:
            # The greenlet and its task refer to each other: parting them here lets reference counting
            # free the greenlet, its context and the request's objects at once, instead of leaving a
            # cycle per request for the cyclic garbage collector (whose full passes stall the hub).
            del greenlet.getcurrent().greenpsyco_task

    def _throw(self, exc: BaseException) -> None:
        """Throw ``exc`` into the task's greenlet. Runs in the hub's thread, never in the task itself."""
        if self._state == "done":
            return
        if self._state == "pending":
            self._call = None
            self._finish(None, exc)
            return
        self.greenlet.throw(exc)

    def _finish(self, value: T | None, exc: BaseException | None) -> None:
        self._value = value
        self._exception = exc
        self._state = "done"
        self.hub._forget(self)
        if exc is not None and self._log_errors:
            if isinstance(exc, GreenletExit):
                _logger.debug("greenlet %s was killed", self.name)
            else:
                _logger.error("greenlet %s raised an uncaught exception", self.name, exc_info=exc)
        self._finished.set()
        joiners, self._joiners = self._joiners, []
        for joined in joiners:
            joined.callback(None)
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                _logger.exception("a done-callback of greenlet %s failed", self.name)
        if self._deferred is not None:
            if exc is not None:
                self._deferred.errback(exc)  # a Failure with exc's traceback
            else:
                self._deferred.callback(value)  # type: ignore[arg-type]

    def _on_done(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` when the task is done (at once if it is). Hub's thread only."""
        if self._state == "done":
            callback()
        else:
            self._callbacks.append(callback)


__all__ = [
    "BlockingInHubError",
    "GreenTask",
    "GreenletExit",
    "Hub",
    "HubError",
    "Mode",
    "NoHubError",
    "UnsupportedReactorError",
    "current_task",
    "get_hub",
    "install_fresh_reactor",
    "mode",
    "run",
    "sleep",
    "spawn",
    "start_hub",
    "wait",
]
