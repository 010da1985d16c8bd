"""One server process: the hub, the Site, the listening ports, signals, draining and recycling.

A :class:`Worker` runs in the process's main thread under ``greenpsyco serve`` (started by the
supervisor, :mod:`greenpsyco.server.arbiter`, as ``python -m greenpsyco.server.worker``), or in any
thread for ``manage.py runserver`` and the demo. It:

- listens on the sockets the supervisor opened (or on endpoints it opens itself), and tells the
  supervisor through a pipe when it is ready, then sends a heartbeat every second (a worker whose hub
  is stuck — a view doing CPU work or calling a blocking API — stops beating and is replaced);
- on SIGTERM (or SIGHUP) stops accepting, lets the requests in flight finish within
  ``--graceful-timeout``, closes idle keep-alive connections, and exits 0; on SIGINT/SIGQUIT it stops
  at once (request greenlets are killed, which cancels their queries on the server);
- after ``--max-requests`` (+ jitter) requests drains the same way, so the supervisor starts a fresh one;
- with ``--reload``, exits with :data:`EXIT_RELOAD` when a loaded source file changes.
"""

from __future__ import annotations

import errno
import gc
import json
import logging
import os
import random
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from twisted.internet import defer, task

from greenpsyco import hub as hub_module
from greenpsyco.server.accesslog import open_access_log
from greenpsyco.server.binds import listen, take_turns
from greenpsyco.server.config import ServerConfig
from greenpsyco.server.logs import configure_logging
from greenpsyco.server.proxy import TrustedProxies
from greenpsyco.server.reloader import FileWatcher
from greenpsyco.server.site import GreenSite
from greenpsyco.server.wsgi import GreenWSGIResource, ServerOptions, WSGIApp

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BOOT_ERROR = 3
"""The application could not be loaded or the worker could not listen: restarting will not help."""
EXIT_RELOAD = 4
"""A source file changed (``--reload``): start a new worker at once."""

READY = b"R"
HEARTBEAT = b"."
HEARTBEAT_INTERVAL = 1.0
SHUTDOWN_CLEANUP_TIMEOUT = 5.0
"""Seconds killed request greenlets get to cancel their queries before the reactor stops."""
DRAIN_POLL_SECONDS = 0.05  # how often a graceful drain looks whether the closing connections are gone

WORKER_CONFIG_VARIABLE = "GREENPSYCO_WORKER_CONFIG"

_logger = logging.getLogger("greenpsyco.server")


class Worker:
    """A server process's serving part (see the module docstring). Build it, then :meth:`run` it.

    Call from: the thread that is to run the hub (the main thread for signal handling), before the
    process has a hub.
    """

    def __init__(
        self,
        config: ServerConfig,
        app: WSGIApp,
        listeners: list[dict[str, Any]],
        *,
        status_fd: int | None = None,
        on_ready: Callable[[list[Any]], None] | None = None,
        multiprocess: bool = False,
        close_inherited_fds: bool = False,
        reactor: Any = None,
    ) -> None:
        self.config = config
        self.hub = hub_module.start_hub(reactor, shutdown_timeout=SHUTDOWN_CLEANUP_TIMEOUT)
        self.reactor = self.hub.reactor
        options = ServerOptions(
            timeout=config.timeout,
            max_concurrency=config.max_concurrency,
            trusted_proxies=TrustedProxies.parse(config.forwarded_allow_ips),
            multiprocess=multiprocess,
        )
        self.resource = GreenWSGIResource(app, hub_=self.hub, options=options, listener=self)
        self.access_log = open_access_log(config.access_logfile)
        self.site = GreenSite(
            self.resource, access_log=self.access_log, keep_alive=config.keep_alive, reactor=self.reactor
        )
        self.listeners = listeners
        self.close_inherited_fds = close_inherited_fds
        self.ports: list[Any] = []
        self.status_fd = status_fd
        self.on_ready = on_ready
        self.state = "starting"
        self.exit_code = EXIT_OK
        self.served = 0
        jitter = random.randint(0, config.max_requests_jitter) if config.max_requests_jitter else 0
        self.max_requests = config.max_requests + jitter if config.max_requests else 0
        self._drain_timer: Any = None
        self._loops: list[task.LoopingCall] = []
        self._watcher = FileWatcher() if config.reload else None

    # -- lifecycle (the hub's thread) -------------------------------------------------------------

    def run(self, *, install_signal_handlers: bool | None = None) -> int:
        """Serve until stopped; return the process exit code. Call from: the thread that runs the hub."""
        if install_signal_handlers is None:
            install_signal_handlers = threading.current_thread() is threading.main_thread()
        if install_signal_handlers:
            self._install_signal_handlers()
        self.reactor.callWhenRunning(self._start)
        try:
            self.hub.run_forever(install_signal_handlers=False)
        finally:
            if self.access_log is not None:
                self.access_log.close()
        return self.exit_code

    def _install_signal_handlers(self) -> None:
        def graceful(signum: int, frame: Any) -> None:
            self.reactor.callFromThread(self.stop_gracefully, f"signal {signal.Signals(signum).name}")

        def fast(signum: int, frame: Any) -> None:
            self.reactor.callFromThread(self.stop_now, f"signal {signal.Signals(signum).name}")

        signal.signal(signal.SIGTERM, graceful)
        signal.signal(signal.SIGHUP, graceful)
        signal.signal(signal.SIGINT, fast)
        signal.signal(signal.SIGQUIT, fast)

    def _start(self) -> None:
        """Listen everywhere, then report ready. Call from: the hub greenlet."""
        pending: list[defer.Deferred[Any]] = []
        try:
            for description in self.listeners:
                result = listen(self.reactor, description, self.site)
                if isinstance(result, defer.Deferred):
                    pending.append(result.addCallback(self.ports.append))
                else:
                    if self.config.workers > 1:
                        take_turns(result)  # the listening socket is shared with the other workers
                    self.ports.append(result)
                    if self.close_inherited_fds:
                        os.close(description["fd"])  # the reactor listens on its own duplicate
        except Exception as exc:
            self._boot_failed(f"cannot listen on {description['text']}: {exc}")
            return
        done = defer.gatherResults(pending, consumeErrors=True)
        done.addCallbacks(lambda _: self._ready(), self._listen_failed)

    def _listen_failed(self, failure: Any) -> None:
        exc = getattr(failure.value, "subFailure", failure).value
        self._boot_failed(f"cannot listen: {exc}")

    def _boot_failed(self, message: str) -> None:
        print(f"greenpsyco: error: {message}", file=sys.stderr, flush=True)
        self.exit_code = EXIT_BOOT_ERROR
        self.stop_now("it could not listen")

    def _ready(self) -> None:
        if self.state != "starting":
            return
        self.state = "running"
        self._send_status(READY)
        if self.status_fd is not None:
            self._every(HEARTBEAT_INTERVAL, lambda: self._send_status(HEARTBEAT))
        if self._watcher is not None:
            self._every(1.0, self._check_files)
        if self.on_ready is not None:
            self.on_ready(self.ports)

    def _every(self, seconds: float, fn: Callable[[], object]) -> None:
        loop = task.LoopingCall(fn)
        loop.clock = self.reactor
        loop.start(seconds, now=False)
        self._loops.append(loop)

    def _send_status(self, message: bytes) -> None:
        if self.status_fd is None:
            return
        try:
            os.write(self.status_fd, message)
        except BlockingIOError:
            pass  # the supervisor is behind reading; a lost heartbeat is harmless
        except OSError as exc:
            if exc.errno in (errno.EPIPE, errno.EBADF):
                self.status_fd = None
                self.stop_gracefully("the supervising process has gone")
            else:
                raise

    def _check_files(self) -> None:
        assert self._watcher is not None
        changed = self._watcher.changed()
        if changed:
            _logger.info("%s changed: reloading", changed)
            self.exit_code = EXIT_RELOAD
            self.stop_now("a source file changed")

    def _stop_loops(self) -> None:
        for loop in self._loops:
            if loop.running:
                loop.stop()
        self._loops = []

    def _stop_listening(self) -> None:
        for port in self.ports:
            port.stopListening()
        self.ports = []

    def stop_gracefully(self, why: str) -> None:
        """Stop accepting; let requests in flight finish (``--graceful-timeout``); then stop.

        Call from: the hub greenlet (signal handlers hand over with ``callFromThread``).
        """
        if self.state in ("draining", "stopping"):
            return
        _logger.info("%s: finishing %d request(s) in flight, then stopping", why, self.resource.active)
        self.state = "draining"
        self.resource.draining = True
        self._stop_listening()
        if self.config.graceful_timeout > 0:
            self._drain_timer = self.reactor.callLater(self.config.graceful_timeout, self._drain_expired)
        self._check_drained()

    def stop_now(self, why: str) -> None:
        """Stop at once: running request greenlets are killed (their queries cancelled). Call from: hub."""
        if self.state == "stopping":
            return
        if self.exit_code == EXIT_OK:
            _logger.info("%s: stopping now", why)
        self.state = "stopping"
        self.resource.draining = True
        self._stop_listening()
        self._stop_loops()
        if self._drain_timer is not None and self._drain_timer.active():
            self._drain_timer.cancel()
        self.hub.stop()

    def _check_drained(self) -> None:
        if self.state != "draining":
            return
        self.site.close_idle_connections()
        if self.resource.active == 0:
            if self.site.open_connections():
                # The last responses are still being sent on connections now closing: stop the hub
                # only once they are out (the --graceful-timeout timer still bounds the wait).
                self.reactor.callLater(DRAIN_POLL_SECONDS, self._check_drained)
                return
            self._finish_drain()

    def _finish_drain(self) -> None:
        self.state = "stopping"
        self._stop_loops()
        if self._drain_timer is not None and self._drain_timer.active():
            self._drain_timer.cancel()
        self.hub.stop()

    def _drain_expired(self) -> None:
        self._drain_timer = None
        if self.state == "draining":
            _logger.warning(
                "%d request(s) still running after --graceful-timeout %s s: stopping them",
                self.resource.active,
                self.config.graceful_timeout,
            )
            self._finish_drain()

    # -- ActivityListener (request greenlets) -----------------------------------------------------

    def request_started(self) -> None:
        pass

    def request_finished(self) -> None:
        self.served += 1
        if self.max_requests and self.served >= self.max_requests and self.state == "running":
            self.reactor.callLater(0, self.stop_gracefully, f"served {self.served} requests (--max-requests)")
        if self.state == "draining":
            self.reactor.callLater(0, self._check_drained)


# -- the worker process ------------------------------------------------------------------------------


def _wait_for_a_change_then_exit(watcher: FileWatcher, extra: list[str]) -> int:
    """``--reload`` after a boot error: wait until the user edits something, then ask for a restart."""
    import time

    watcher.add(extra)
    while not watcher.changed():
        time.sleep(1.0)
    return EXIT_RELOAD


def raise_open_file_limit() -> int:
    """Raise the soft limit on open files to the hard one and return it.

    Thousands of concurrent requests mean thousands of sockets, and many systems start processes
    with a soft limit of 1024; the hard limit is what the administrator allows.
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):
            return soft
        return wanted
    return soft


def freeze_loaded_objects() -> None:
    """Move everything allocated so far (application, Django, Twisted) out of the cyclic GC's reach.

    Those objects live as long as the worker, yet every full collection walks them all while the hub,
    and so every request in flight, waits: with hundreds of requests in flight such a pause measured
    100-200 ms (bench/README.md). ``gc.freeze()`` after loading the application is the usual remedy
    (gunicorn users call it in a preloading master); later collections only walk what requests create.
    """
    gc.collect()
    gc.freeze()


def worker_main() -> int:
    """Entry point of ``python -m greenpsyco.server.worker`` (started by the supervisor)."""
    from greenpsyco.server.app import AppLoadError, load_app

    raise_open_file_limit()

    state = json.loads(os.environ.pop(WORKER_CONFIG_VARIABLE))
    config = ServerConfig.from_json(state["config"])
    configure_logging(config.log_level)
    status_fd: int | None = state["status_fd"]
    if config.chdir:
        os.chdir(config.chdir)
    watcher = FileWatcher() if config.reload else None
    try:
        if config.patch:
            import greenpsyco

            greenpsyco.patch(pool_size=config.pool_size, pool_timeout=config.pool_timeout)
        app = load_app(config.app)
    except AppLoadError as exc:
        print(f"greenpsyco: error: {exc}", file=sys.stderr, flush=True)
        if config.log_level == "debug":
            _logger.debug("the traceback", exc_info=exc.__cause__ or exc)
        if watcher is not None:
            cause = exc.__cause__
            extra = [getattr(cause, "filename", None) or ""] if cause is not None else []
            return _wait_for_a_change_then_exit(watcher, [path for path in extra if path])
        return EXIT_BOOT_ERROR
    freeze_loaded_objects()
    worker = Worker(
        config,
        app,
        state["listeners"],
        status_fd=status_fd,
        multiprocess=config.workers > 1,
        close_inherited_fds=True,
    )
    return worker.run()


if __name__ == "__main__":
    sys.exit(worker_main())
