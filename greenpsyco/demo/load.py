"""``greenpsyco demo --load N``: N concurrent requests at the slow page, timed, with a progress bar.

The requests are made by Twisted's HTTP client in the same reactor as the server (one greenlet per
request), so the demo needs nothing else installed. What it prints — wall time against the time the
same requests would take one after another — is the point of greenpsyco.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from greenpsyco import hub, pooling

BAR_WIDTH = 30


@dataclass
class LoadResult:
    """What a load run measured."""

    requests: int
    wall: float
    per_request_sleep: float
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    peak_connections: int = 0

    @property
    def ok(self) -> int:
        return len(self.latencies)

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
        return ordered[index]


def _connections_in_use() -> int:
    return sum(pool["in_use"] + pool["idle"] + pool["opening"] for pool in pooling.stats())


class _Progress:
    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.done = 0
        self.live = stream.isatty()

    def draw(self, final: bool = False) -> None:
        if not self.live and not final:
            return
        filled = BAR_WIDTH * self.done // max(1, self.total)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        end = "\n" if final else ""
        self.stream.write(f"\r  [{bar}] {self.done}/{self.total}{end}")
        self.stream.flush()


def run_load(url: str, requests: int, per_request_sleep: float, stream: TextIO = sys.stderr) -> LoadResult:
    """Fire ``requests`` GETs at ``url`` all at once and wait for them. Call from: a request greenlet."""
    from twisted.internet import reactor as _reactor
    from twisted.web.client import Agent, HTTPConnectionPool, readBody

    reactor: Any = _reactor
    agent = Agent(reactor, pool=HTTPConnectionPool(reactor, persistent=False), connectTimeout=30)
    result = LoadResult(requests, 0.0, per_request_sleep)
    progress = _Progress(requests, stream)

    def one() -> None:
        started = time.monotonic()
        try:
            response = hub.wait(agent.request(b"GET", url.encode()), timeout=120)
            hub.wait(readBody(response), timeout=120)
            if response.code != 200:
                result.errors.append(f"HTTP {response.code}")
            else:
                result.latencies.append(time.monotonic() - started)
        except Exception as exc:
            result.errors.append(f"{type(exc).__name__}: {exc}")
        progress.done += 1

    started = time.monotonic()
    tasks = [hub.spawn(one) for _ in range(requests)]
    while not all(task.done for task in tasks):
        result.peak_connections = max(result.peak_connections, _connections_in_use())
        progress.draw()
        hub.sleep(0.05)
    result.wall = time.monotonic() - started
    progress.draw(final=True)
    return result


def format_table(result: LoadResult, pool_size: int) -> str:
    """The small table the demo prints after a load run."""
    serial = result.requests * result.per_request_sleep
    rate = result.ok / result.wall if result.wall else 0.0
    rows = [
        ("requests", f"{result.requests} at once ({result.ok} ok, {len(result.errors)} failed)"),
        ("wall time", f"{result.wall:.2f} s"),
        ("requests/s", f"{rate:.1f}"),
        ("latency p50 / p99", f"{result.percentile(0.50):.3f} s / {result.percentile(0.99):.3f} s"),
        (
            "one after another",
            f"{serial:.1f} s ({result.requests} x {result.per_request_sleep:g} s of pg_sleep)",
        ),
        ("speed-up", f"{serial / result.wall:.0f}x" if result.wall else "-"),
        ("PostgreSQL connections", f"{result.peak_connections} at most (pool size {pool_size})"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"  {name:<{width}}  {value}" for name, value in rows]
    if result.errors:
        lines.append(f"  first error: {result.errors[0]}")
    return "\n".join(lines)


__all__ = ["LoadResult", "format_table", "run_load"]
