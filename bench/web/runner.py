"""The web benchmark's loop: every view, concurrency and server, with servers alternating, in rounds.

Each measurement gets a freshly started server: a run at 2,000 connections leaves a sync server with
a listen backlog of abandoned requests to work through, which would otherwise weigh on the next one.
The server is warmed up (every thread or pooled session opened, at most that many connections, so no
backlog) and then loaded with wrk for the measured run while :class:`~bench.web.sampler.PeakSampler`
records the peak PostgreSQL sessions and server memory. Between measurements the runner waits until
the server's sessions are gone. For each (view, concurrency) the servers run back to back, their
order rotating from cell to cell and round to round (A B C, B C A, ...).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.web import processes, wrk
from bench.web.sampler import PeakSampler, count_sessions
from bench.web.servers import VIEWS, Server

ROOT = Path(__file__).resolve().parents[2]
SETTLE_TIMEOUT = 20.0
_DROPPED_VARIABLES = (
    "GREENPSYCO_POOL_SIZE",
    "GREENPSYCO_POOL_TIMEOUT",
    "WEB_CONCURRENCY",
    "PORT",
    "DJANGO_SETTINGS_MODULE",
    "GUNICORN_CMD_ARGS",
)


@dataclass(frozen=True)
class Plan:
    rounds: int
    duration: float
    warmup: float
    concurrencies: tuple[int, ...]
    servers: tuple[Server, ...]
    views: tuple[str, ...]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_environment(server: Server, database: dict[str, Any]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _DROPPED_VARIABLES}
    env["BENCH_WEB_DATABASE"] = json.dumps(database)
    env["BENCH_WEB_CONN_MAX_AGE"] = str(server.conn_max_age)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    return env


def _settle(admin: Any, role: str) -> None:
    """Wait until the last server's sessions have ended; end stragglers after :data:`SETTLE_TIMEOUT`."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while count_sessions(admin, role) and time.monotonic() < deadline:
        time.sleep(0.1)
    with admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role])


def measure(
    server: Server,
    view: str,
    concurrency: int,
    plan: Plan,
    database: dict[str, Any],
    admin: Any,
    logs: Path,
) -> dict[str, Any]:
    """Start ``server``, warm it up, load ``view`` at ``concurrency``; one row of raw results."""
    port = _free_port()
    log = logs / f"{server.name}-{view}-{concurrency}.log"
    running = processes.start(
        server.command(port), server_environment(server, database), ROOT, port, log, VIEWS["trivial"]
    )
    url = running.url(VIEWS[view])
    try:
        wrk.run(url, min(concurrency, max(server.slots, wrk.THREADS)), plan.warmup)
        with PeakSampler(admin, database["user"], running.process.pid) as peaks:
            load = wrk.run(url, concurrency, plan.duration)
        alive = running.process.poll() is None
    finally:
        processes.stop(running)
        _settle(admin, database["user"])
    row: dict[str, Any] = {
        "view": view,
        "server": server.name,
        "concurrency": concurrency,
        **load.to_json(),
        "rate": load.rate,
        "errors": load.errors,
        "peak_sessions": peaks.sessions,
        "rss_start_mib": peaks.rss_start / 2**20,
        "peak_rss_mib": peaks.rss / 2**20,
        "server_cpu_s": peaks.cpu,
        "cpu_us_per_request": peaks.cpu / load.requests * 1e6 if load.requests else None,
        "server_survived": alive,
    }
    log.unlink(missing_ok=True)
    return row


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(
    plan: Plan, database: dict[str, Any], admin: Any, log: Callable[[str], None] = _log
) -> list[dict[str, Any]]:
    """Every measurement of the plan, each a row with its round number."""
    rows: list[dict[str, Any]] = []
    cells = [(view, concurrency) for view in plan.views for concurrency in plan.concurrencies]
    servers = list(plan.servers)
    with tempfile.TemporaryDirectory(prefix="bench-web-") as directory:
        for round_number in range(plan.rounds):
            for index, (view, concurrency) in enumerate(cells):
                shift = (round_number + index) % len(servers)
                for server in servers[shift:] + servers[:shift]:
                    try:
                        row = measure(server, view, concurrency, plan, database, admin, Path(directory))
                    except (processes.ServerFailed, RuntimeError) as exc:
                        log(f"round {round_number + 1} {view} c={concurrency} {server.name}: FAILED {exc}")
                        rows.append(
                            {
                                "view": view,
                                "server": server.name,
                                "concurrency": concurrency,
                                "round": round_number,
                                "failed": str(exc)[-2000:],
                            }
                        )
                        continue
                    row["round"] = round_number
                    rows.append(row)
                    log(
                        f"round {round_number + 1}/{plan.rounds} {view:8} c={concurrency:<5} {server.name:19}"
                        f" {row['rate']:8.0f} req/s  p50 {row['p50_ms']:8.1f} ms  p99 {row['p99_ms']:8.1f} ms"
                        f"  errors {row['errors']:6}  sessions {row['peak_sessions']:3}"
                        f"  RSS {row['peak_rss_mib']:6.0f} MiB"
                        f"  CPU {row['cpu_us_per_request'] or 0:6.0f} us/req"
                    )
    return rows
