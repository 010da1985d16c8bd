"""A pytest plugin for tests that run a server (``greenpsyco serve``, runserver, twistd) as a subprocess."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from greenpsyco.testing import TestServer

HERE = Path(__file__).parent / "server"  # tests/server: the test project and apps
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RunningServer:
    """A server process started by a test, with its combined output in a file."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    app_name: str
    stopped: bool = field(default=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(
        self, pattern: str, timeout: float = START_TIMEOUT, *, after: int = 0
    ) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.compile(pattern).search(self.output(), after)
            if match:
                return match
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} did not appear; output:\n{self.output()}")

    def worker_pids(self) -> list[int]:
        return [int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", self.output())]

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)


def _environment(pg_server: TestServer, app_name: str) -> dict[str, str]:
    env = dict(os.environ)
    env["GREENPSYCO_TEST_SERVER_DSN"] = pg_server.dsn()
    env["GREENPSYCO_TEST_APPNAME"] = app_name
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).strip(os.pathsep)
    env.pop("PORT", None)
    env.pop("WEB_CONCURRENCY", None)
    return env


@pytest.fixture
def start_server(pg_server: TestServer, tmp_path: Path) -> Iterator[object]:
    """``start_server(*args, ready=True, env=None)``: run ``greenpsyco serve ARGS -b 127.0.0.1:PORT`` in
    tests/server, with ``env`` added to its environment.

    Waits for "Listening at" unless ``ready=False``. Every process started is killed at the end.
    """
    started: list[RunningServer] = []

    def start(
        *args: str,
        ready: bool = True,
        command: list[str] | None = None,
        bind: bool = True,
        env: dict[str, str] | None = None,
    ) -> RunningServer:
        port = free_port()
        app_name = f"gp-serve-{uuid.uuid4().hex[:10]}"
        log = tmp_path / f"server-{len(started)}.log"
        argv = command or [sys.executable, "-m", "greenpsyco", "serve", *args]
        if bind and command is None:
            argv += ["-b", f"127.0.0.1:{port}"]
        with open(log, "wb") as out:
            process = subprocess.Popen(
                argv,
                cwd=HERE,
                env={**_environment(pg_server, app_name), **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = RunningServer(process, port, log, app_name)
        started.append(server)
        if ready:
            server.wait_for_output(r"Listening at: ")
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGKILL)  # workers left behind by a failed test
