"""Starting and stopping a server under test, and reading the memory of its process tree.

A server runs in its own session (process group), so stopping it reaches the supervisor and its
workers, and only them. Its output goes to a log file kept for a failed start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT = 60.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STOP_TIMEOUT = 15.0


class ServerFailed(RuntimeError):
    """The server did not come up (its output is in the message)."""


@dataclass
class RunningServer:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start(argv: list[str], env: dict[str, str], cwd: Path, port: int, log: Path, probe: str) -> RunningServer:
    """Start the server and wait until ``probe`` (a URL path) answers 200."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = RunningServer(process, port, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(server.url(probe), timeout=5) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.1)
    stop(server)
    raise ServerFailed(f"{' '.join(argv)} did not answer {probe}; its output:\n{server.output()[-3000:]}")


def stop(server: RunningServer) -> None:
    """Stop fast (SIGINT: gunicorn's and greenpsyco's quick shutdown), then SIGKILL the group if needed."""
    process = server.process
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT)
    # Workers that outlived their supervisor (they should not) go with the group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as listing:
                found.extend(int(child) for child in listing.read().split())
    return found


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (Linux ``/proc``)."""
    pids, pending = [], [pid]
    while pending:
        current = pending.pop()
        pids.append(current)
        pending.extend(_children(current))
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds these processes have used (``/proc/PID/stat``; gone ones count 0)."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / _CLOCK_TICKS


def rss_bytes(pids: list[int]) -> int:
    """The resident set size of these processes together (``VmRSS``; gone processes count 0)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
    return total
