"""``SELECT 1`` round trips with the client and its server backend pinned to chosen CPUs.

On a small virtual machine a one-connection round trip costs what the scheduler makes it cost: when
the client and its PostgreSQL backend share a CPU, the answer needs a context switch; when they sit on
different CPUs, it needs a cross-CPU wake-up of an idle virtual CPU, several times dearer. Which one a
run gets is the kernel's choice, and it can differ from one client to the next in the same run (the
driver suite's Unix ``SELECT 1`` samples are bimodal for that reason). This tool takes the choice
away: psycopg2 and greenpsyco (blocking) alternate, each with the benchmark process and its backend
pinned to the same CPU, then to two different CPUs, then left to the scheduler.

With ``--cooperative`` the clients are greenpsyco in blocking mode, in cooperative mode (the queries run
in a request greenlet of a hub on its own thread, every wait a turn of the reactor), and in cooperative
mode with Twisted's own epoll dispatch instead of greenpsyco's short path (:mod:`greenpsyco.wire.fastpath`):
the cost of a reactor turn per query, and what the short path takes off it.

    python -m bench.driver.placement [--rounds 5] [--count 20000] [--tcp] [--cooperative]

Needs two CPUs and permission to set the backend's affinity (the cluster runs as this user).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import psycopg2

import greenpsyco.fake_psycopg2 as fake_psycopg2
from bench.driver.hubthread import HubThread
from greenpsyco.testing import ThrowawayCluster
from greenpsyco.wire import fastpath

Placement = tuple[int, int] | None
Runner = Callable[[str, Placement, int], tuple[float, float]]

WARM_UP = 500
PLACEMENTS: dict[str, Placement] = {
    "same CPU": (0, 0),
    "different CPUs": (0, 1),
    "the scheduler's choice": None,
}


def _round_trips(module: Any, dsn: str, placement: Placement, count: int) -> tuple[float, float]:
    """Queries per second and client CPU µs per query of ``count`` ``SELECT 1`` on a new connection
    (the pinning applies to the calling thread: the hub's, in cooperative mode)."""
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


def _blocking(module: Any) -> Runner:
    def run(dsn: str, placement: Placement, count: int) -> tuple[float, float]:
        return _round_trips(module, dsn, placement, count)

    return run


def _cooperative(short_path: bool) -> Runner:
    """greenpsyco in a request greenlet of the shared hub, with or without the short dispatch path."""

    def batch(dsn: str, placement: Placement, count: int) -> tuple[float, float]:
        reactor = shared.hub.reactor
        if short_path:
            if not fastpath.install(reactor):
                raise RuntimeError("the hub's reactor cannot take the short path (not Twisted's epoll)")
        else:
            fastpath.uninstall(reactor)
        try:
            return _round_trips(fake_psycopg2, dsn, placement, count)
        finally:
            fastpath.install(reactor)  # as the hub runs it

    def run(dsn: str, placement: Placement, count: int) -> tuple[float, float]:
        task = shared.hub.spawn(batch, dsn, placement, count)
        task.join()
        return task.result()

    shared = HubThread.shared()
    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.driver.placement", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--tcp", action="store_true", help="over TCP on 127.0.0.1 instead of the Unix socket")
    parser.add_argument(
        "--cooperative",
        action="store_true",
        help="greenpsyco blocking against cooperative, with and without the short dispatch path",
    )
    args = parser.parse_args(argv)
    if len(os.sched_getaffinity(0)) < 2:
        parser.error("needs at least two CPUs")
    clients: dict[str, Runner]
    if args.cooperative:
        clients = {
            "greenpsyco": _blocking(fake_psycopg2),
            "cooperative": _cooperative(short_path=True),
            "cooperative, Twisted's dispatch": _cooperative(short_path=False),
        }
    else:
        clients = {"psycopg2": _blocking(psycopg2), "greenpsyco": _blocking(fake_psycopg2)}
    first, *others = clients
    try:
        with ThrowawayCluster(extensions=(), ssl=False) as server:
            dsn = server.dsn(unix=not args.tcp)
            where = "TCP" if args.tcp else "the Unix socket"
            print(f"SELECT 1 over {where}; medians of {args.rounds} rounds")
            ratios = " | ".join(f"{name}: rate, client CPU" for name in others)
            print(f"| placement | {' | '.join(clients)} | {ratios} |")
            print("|---|" + "---|" * (len(clients) + len(others)))
            for label, placement in PLACEMENTS.items():
                samples: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
                for number in range(args.rounds):
                    order = list(clients.items())
                    for name, run in order if number % 2 == 0 else reversed(order):
                        samples[name].append(run(dsn, placement, args.count))
                rate = {name: statistics.median(s[0] for s in taken) for name, taken in samples.items()}
                cpu = {name: statistics.median(s[1] for s in taken) for name, taken in samples.items()}
                measured = " | ".join(f"{rate[name]:,.0f}/s, {cpu[name]:.1f} µs" for name in clients)
                compared = " | ".join(
                    f"{rate[name] / rate[first]:.2f}x, {cpu[name] / cpu[first]:.2f}x" for name in others
                )
                print(f"| {label} | {measured} | {compared} |", flush=True)
    finally:
        HubThread.stop_shared()


if __name__ == "__main__":
    main()
