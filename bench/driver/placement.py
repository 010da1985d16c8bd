"""``SELECT 1`` round trips with the client and its server backend pinned to chosen CPUs.

On a small virtual machine a one-connection round trip costs what the scheduler makes it cost: when
the client and its PostgreSQL backend share a CPU, the answer needs a context switch; when they sit on
different CPUs, it needs a cross-CPU wake-up of an idle virtual CPU, several times dearer. Which one a
run gets is the kernel's choice, and it can differ from one client to the next in the same run (the
driver suite's Unix ``SELECT 1`` samples are bimodal for that reason). This tool takes the choice
away: psycopg2 and greenpsyco (blocking) alternate, each with the benchmark process and its backend
pinned to the same CPU, then to two different CPUs, then left to the scheduler.

    python -m bench.driver.placement [--rounds 5] [--count 20000] [--tcp]

Needs two CPUs and permission to set the backend's affinity (the cluster runs as this user).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import psycopg2

import greenpsyco.fake_psycopg2 as fake_psycopg2
from greenpsyco.testing import ThrowawayCluster

WARM_UP = 500
PLACEMENTS: dict[str, tuple[int, int] | None] = {
    "same CPU": (0, 0),
    "different CPUs": (0, 1),
    "the scheduler's choice": None,
}


def _round_trips(module: Any, dsn: str, placement: tuple[int, int] | None, count: int) -> tuple[float, float]:
    """Queries per second and client CPU µs per query of ``count`` ``SELECT 1`` on a new connection."""
    conn = module.connect(dsn)
    conn.autocommit = True
    mine = os.sched_getaffinity(0)
    try:
        if placement is not None:
            os.sched_setaffinity(0, {placement[0]})
            os.sched_setaffinity(conn.get_backend_pid(), {placement[1]})
        cursor = conn.cursor()
        for _ in range(WARM_UP):
            cursor.execute("SELECT 1")
            cursor.fetchone()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(count):
            cursor.execute("SELECT 1")
            cursor.fetchone()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        os.sched_setaffinity(0, mine)
        conn.close()
    return count / wall, cpu / count * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.driver.placement", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--tcp", action="store_true", help="over TCP on 127.0.0.1 instead of the Unix socket")
    args = parser.parse_args(argv)
    if len(os.sched_getaffinity(0)) < 2:
        parser.error("needs at least two CPUs")
    clients = {"psycopg2": psycopg2, "greenpsyco": fake_psycopg2}
    with ThrowawayCluster(extensions=(), ssl=False) as server:
        dsn = server.dsn(unix=not args.tcp)
        print(f"SELECT 1 over {'TCP' if args.tcp else 'the Unix socket'}; medians of {args.rounds} rounds")
        print("| placement | psycopg2 | greenpsyco | rate | client CPU |")
        print("|---|---|---|---|---|")
        for label, placement in PLACEMENTS.items():
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
            for number in range(args.rounds):
                order = list(clients.items())
                for name, module in order if number % 2 == 0 else reversed(order):
                    samples[name].append(_round_trips(module, dsn, placement, args.count))
            rate = {name: statistics.median(s[0] for s in taken) for name, taken in samples.items()}
            cpu = {name: statistics.median(s[1] for s in taken) for name, taken in samples.items()}
            rate_ratio = rate["greenpsyco"] / rate["psycopg2"]
            cpu_ratio = cpu["greenpsyco"] / cpu["psycopg2"]
            print(
                f"| {label} | {rate['psycopg2']:,.0f}/s, {cpu['psycopg2']:.1f} µs "
                f"| {rate['greenpsyco']:,.0f}/s, {cpu['greenpsyco']:.1f} µs "
                f"| {rate_ratio:.2f}x | {cpu_ratio:.2f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()
