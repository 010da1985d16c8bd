"""The supervising process of ``greenpsyco serve``: opens the sockets, runs and replaces the workers.

Like gunicorn's arbiter, it never imports the application. It opens every listening socket once
(so "address already in use" or an unreadable certificate is reported before anything starts), then
starts ``--workers`` processes (``python -m greenpsyco.server.worker``, a fresh interpreter each: no
state, reactor or sockets inherited from a fork) that all accept on those sockets.

Each worker talks back through a pipe: one byte when it is ready, then a heartbeat every second. The
first worker is started alone, so that an application that cannot be loaded gives one error line and
exit status 1, not one per worker. Afterwards a worker that dies is replaced (one that exited
because of ``--max-requests`` or ``--reload`` at once, one that crashed or stopped beating after a
short pause).

Signals, as gunicorn users expect: SIGTERM stops gracefully (the workers finish the requests in
flight within ``--graceful-timeout``), SIGINT/SIGQUIT stop fast, SIGHUP starts new workers (re-reading
the application's code) and then gracefully stops the old ones, SIGTTIN/SIGTTOU add or remove a worker.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from greenpsyco.server.binds import Listener, open_listener, parse_bind
from greenpsyco.server.config import ServerConfig
from greenpsyco.server.worker import (
    EXIT_BOOT_ERROR,
    EXIT_OK,
    EXIT_RELOAD,
    READY,
    WORKER_CONFIG_VARIABLE,
)

_logger = logging.getLogger("greenpsyco.server")

BOOT_TIMEOUT = 120.0
"""Seconds the first worker may take to import the application and start listening."""
CRASH_PAUSE = 1.0
"""Seconds before replacing a worker that crashed (so a crash loop does not spin)."""
KILL_MARGIN = 5.0
"""Seconds after the graceful timeout (or after a fast stop) before stragglers get SIGKILL."""


@dataclass
class WorkerProcess:
    """A worker the arbiter started, and what it has heard from it."""

    process: subprocess.Popen[bytes]
    status_fd: int
    generation: int
    started: float = field(default_factory=time.monotonic)
    last_beat: float = field(default_factory=time.monotonic)
    ready: bool = False
    retiring: bool = False

    @property
    def pid(self) -> int:
        return self.process.pid


class Arbiter:
    """Runs ``greenpsyco serve``: see the module docstring. Call :meth:`run` from the main thread."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.listeners: list[Listener] = []
        self.workers: dict[int, WorkerProcess] = {}
        self.wanted = config.workers
        self.generation = 0
        self.stopping: str | None = None  # "graceful" or "fast" once a stop was asked for
        self.stop_deadline = 0.0
        self._signals: list[int] = []
        self._wakeup_r, self._wakeup_w = os.pipe()
        for fd in (self._wakeup_r, self._wakeup_w):
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)

    # -- start-up --------------------------------------------------------------------------------

    def open_listeners(self) -> None:
        """Open every --bind socket; a BindError (one line) if one cannot be opened."""
        for text in self.config.binds:
            self.listeners.append(open_listener(parse_bind(text)))

    def run(self) -> int:
        """Open the sockets, start the workers, supervise until stopped; return the exit status."""
        try:
            self.open_listeners()
            self._install_signal_handlers()
            first = self._spawn()
            if not self._wait_until_ready(first):
                return 1
            for listener in self.listeners:
                _logger.info("Listening at: %s (%d)", listener.url(), os.getpid())
            while len(self.workers) < self.wanted:
                self._spawn()
            return self._supervise()
        finally:
            self._kill_all()
            for listener in self.listeners:
                listener.close()

    def _install_signal_handlers(self) -> None:
        def remember(signum: int, frame: object) -> None:
            self._signals.append(signum)
            with contextlib.suppress(BlockingIOError):
                os.write(self._wakeup_w, b"s")

        for signum in (
            signal.SIGTERM,
            signal.SIGINT,
            signal.SIGQUIT,
            signal.SIGHUP,
            signal.SIGCHLD,
            signal.SIGTTIN,
            signal.SIGTTOU,
        ):
            signal.signal(signum, remember)

    def _spawn(self) -> WorkerProcess:
        read_fd, write_fd = os.pipe()
        fcntl.fcntl(read_fd, fcntl.F_SETFL, fcntl.fcntl(read_fd, fcntl.F_GETFL) | os.O_NONBLOCK)
        fcntl.fcntl(write_fd, fcntl.F_SETFL, fcntl.fcntl(write_fd, fcntl.F_GETFL) | os.O_NONBLOCK)
        state = {
            "config": self.config.to_json(),
            "listeners": [listener.describe() for listener in self.listeners],
            "status_fd": write_fd,
        }
        env = dict(os.environ)
        env[WORKER_CONFIG_VARIABLE] = json.dumps(state)
        fds = [write_fd] + [listener.fd for listener in self.listeners if listener.fd >= 0]
        process = subprocess.Popen(
            [sys.executable, "-m", "greenpsyco.server.worker"],
            pass_fds=fds,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        os.close(write_fd)
        worker = WorkerProcess(process, read_fd, self.generation)
        self.workers[process.pid] = worker
        _logger.info("Booting worker with pid: %d", process.pid)
        return worker

    def _wait_until_ready(self, worker: WorkerProcess) -> bool:
        deadline = time.monotonic() + BOOT_TIMEOUT
        while not worker.ready:
            if self._signals and self._handle_signals_during_boot():
                return False
            if worker.process.poll() is not None:
                self._forget(worker)
                code = worker.process.returncode
                if code != EXIT_BOOT_ERROR:
                    print(
                        f"greenpsyco: error: the worker exited with status {code} before it was ready",
                        file=sys.stderr,
                        flush=True,
                    )
                return False
            if time.monotonic() > deadline:
                print(
                    f"greenpsyco: error: the worker was not ready after {BOOT_TIMEOUT:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
                return False
            self._wait_for_events(0.5)
        return True

    def _handle_signals_during_boot(self) -> bool:
        signals, self._signals = self._signals, []
        return any(signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT) for signum in signals)

    # -- the supervision loop ------------------------------------------------------------------

    def _wait_for_events(self, timeout: float) -> None:
        fds = [self._wakeup_r] + [worker.status_fd for worker in self.workers.values()]
        try:
            readable, _, _ = select.select(fds, [], [], timeout)
        except InterruptedError:
            return
        now = time.monotonic()
        for fd in readable:
            if fd == self._wakeup_r:
                with contextlib.suppress(BlockingIOError):
                    os.read(fd, 4096)
                continue
            for worker in list(self.workers.values()):
                if worker.status_fd == fd:
                    try:
                        data = os.read(fd, 4096)
                    except BlockingIOError:
                        data = b""
                    if READY in data:
                        worker.ready = True
                    if data:  # READY or HEARTBEAT bytes
                        worker.last_beat = now

    def _supervise(self) -> int:
        while True:
            self._wait_for_events(1.0)
            self._handle_signals()
            self._reap()
            if self.stopping:
                if not self.workers:
                    _logger.info("Shutting down: all workers have stopped")
                    return 0
                if time.monotonic() > self.stop_deadline:
                    self._kill_all()
                continue
            self._check_heartbeats()
            self._retire_extra()
            while len(self._current()) < self.wanted:
                self._spawn()

    def _current(self) -> list[WorkerProcess]:
        return [worker for worker in self.workers.values() if not worker.retiring]

    def _handle_signals(self) -> None:
        signals, self._signals = self._signals, []
        for signum in signals:
            if signum == signal.SIGTERM:
                self._stop("graceful", signal.SIGTERM, self.config.graceful_timeout + KILL_MARGIN)
            elif signum in (signal.SIGINT, signal.SIGQUIT):
                self._stop("fast", signal.SIGINT, KILL_MARGIN)
            elif signum == signal.SIGHUP and not self.stopping:
                self._reload()
            elif signum == signal.SIGTTIN and not self.stopping:
                self.wanted += 1
                _logger.info("SIGTTIN: %d workers", self.wanted)
            elif signum == signal.SIGTTOU and not self.stopping and self.wanted > 1:
                self.wanted -= 1
                _logger.info("SIGTTOU: %d workers", self.wanted)

    def _stop(self, how: str, signum: int, allowance: float) -> None:
        if self.stopping == "fast" or self.stopping == how:
            return
        _logger.info("Handling signal: %s", "term" if how == "graceful" else "int")
        self.stopping = how
        self.stop_deadline = time.monotonic() + allowance
        for listener in self.listeners:
            listener.close()  # new connections are refused once every worker has let go
        for worker in self.workers.values():
            self._signal(worker, signum)

    def _reload(self) -> None:
        """SIGHUP: new workers with fresh code first, then the old ones finish gracefully."""
        _logger.info("Handling signal: hup; starting %d new workers", self.wanted)
        old = self._current()
        self.generation += 1
        for _ in range(self.wanted):
            self._spawn()
        for worker in old:
            worker.retiring = True
            self._signal(worker, signal.SIGTERM)

    def _retire_extra(self) -> None:
        current = sorted(self._current(), key=lambda worker: worker.started)
        for worker in current[: max(0, len(current) - self.wanted)]:
            worker.retiring = True
            self._signal(worker, signal.SIGTERM)

    def _signal(self, worker: WorkerProcess, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signum)

    def _check_heartbeats(self) -> None:
        limit = self.config.heartbeat_timeout
        if not limit:
            return
        now = time.monotonic()
        for worker in self.workers.values():
            if worker.ready and now - worker.last_beat > limit:
                _logger.error(
                    "worker %d sent no heartbeat for %.0f s (its hub is blocked): killing it",
                    worker.pid,
                    limit,
                )
                self._signal(worker, signal.SIGKILL)
                worker.last_beat = now

    def _reap(self) -> None:
        for worker in list(self.workers.values()):
            code = worker.process.poll()
            if code is None:
                continue
            self._forget(worker)
            if self.stopping or worker.retiring:
                continue
            if code in (EXIT_OK, EXIT_RELOAD):
                _logger.info("worker %d exited (%s); starting a new one", worker.pid, _describe(code))
                continue
            _logger.warning("worker %d died (%s); starting a new one", worker.pid, _describe(code))
            if time.monotonic() - worker.started < CRASH_PAUSE:
                time.sleep(CRASH_PAUSE)

    def _forget(self, worker: WorkerProcess) -> None:
        self.workers.pop(worker.pid, None)
        with contextlib.suppress(OSError):
            os.close(worker.status_fd)

    def _kill_all(self) -> None:
        for worker in list(self.workers.values()):
            self._signal(worker, signal.SIGKILL)
            with contextlib.suppress(Exception):
                worker.process.wait(5)
            self._forget(worker)


def _describe(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    if code == EXIT_RELOAD:
        return "reload"
    if code == EXIT_OK:
        return "recycled"
    return f"exit status {code}"


__all__ = ["Arbiter"]
