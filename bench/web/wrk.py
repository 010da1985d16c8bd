"""The load generator: wrk (Debian's package), with a Lua ``done()`` hook that prints its summary as JSON.

wrk keeps ``--connections`` HTTP/1.1 keep-alive connections busy for ``--duration`` seconds (a server
that closes after each response, like gunicorn's sync worker, is reconnected to) and reports completed
requests, latency percentiles (of completed requests only: one still waiting when the run ends is not
counted) and errors: connect, read, write, timeout (no answer within ``--timeout``) and status (an
answer other than 2xx/3xx).
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

THREADS = 2
"""wrk threads: one per core of the machines this ran on; each runs an epoll loop for its connections."""
TIMEOUT = 10.0
"""Seconds a request may go unanswered before wrk counts it as a timeout error."""
MARKER = "BENCH-WRK-JSON "

_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"duration_us": %d, "requests": %d, "connect": %d, "read": %d, "write": %d, "status": %d, '
    .. '"timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\\n',
    "MARKER", summary.duration, summary.requests, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
""".replace("MARKER", MARKER)


class WrkMissing(RuntimeError):
    """wrk is not installed (``apt-get install wrk``)."""


@dataclass(frozen=True)
class LoadResult:
    """What one wrk run measured."""

    connections: int
    duration: float
    requests: int
    """Answers received (any status)."""
    connect: int
    read: int
    write: int
    status: int
    timeout: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def errors(self) -> int:
        return self.connect + self.read + self.write + self.status + self.timeout

    @property
    def good(self) -> int:
        """Answers with a 2xx/3xx status."""
        return self.requests - self.status

    @property
    def rate(self) -> float:
        """Good answers per second."""
        return self.good / self.duration if self.duration > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def executable() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkMissing("the web benchmark needs wrk: apt-get install wrk")
    return found


def version() -> str:
    done = subprocess.run([executable(), "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).splitlines()[0].split(" Copyright")[0].strip()


def raise_file_limit() -> int:
    """Raise this process's open-file limit to its hard limit (wrk and the servers inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else 1 << 20
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def run(url: str, connections: int, duration: float, *, timeout: float = TIMEOUT) -> LoadResult:
    """Load ``url`` with ``connections`` connections for ``duration`` seconds."""
    threads = max(1, min(THREADS, connections))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_DONE)
    try:
        argv = [
            executable(),
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={max(1, round(duration))}s",
            f"--timeout={timeout:g}s",
            "--latency",
            f"--script={script.name}",
            url,
        ]
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=duration + timeout + 60, check=False
        )
    finally:
        Path(script.name).unlink(missing_ok=True)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith(MARKER)), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout[-2000:]}")
    raw = json.loads(line[len(MARKER) :])
    return LoadResult(
        connections=connections,
        duration=raw["duration_us"] / 1e6,
        requests=raw["requests"],
        connect=raw["connect"],
        read=raw["read"],
        write=raw["write"],
        status=raw["status"],
        timeout=raw["timeout"],
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
    )
