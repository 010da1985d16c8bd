"""SELECT 1 round trips on one TCP connection: psycopg2 against greenpsyco's blocking wire driver and
greenpsyco's fake psycopg2 (the cursor path Django takes).

Alternates A B A B over several rounds on one throw-away cluster and reports medians, the rate ratio
and the client CPU time per query (user+sys of this process), the fairer figure on a noisy machine.

    python -m bench.select1 [--rounds 7] [--queries 5000]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable

import psycopg2

import greenpsyco.fake_psycopg2 as fake_psycopg2
from greenpsyco.testing import ThrowawayCluster
from greenpsyco.wire.io_blocking import BlockingConnection


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(run_one: Callable[[], object], queries: int) -> tuple[float, float]:
    """(queries per second, client CPU microseconds per query)."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    for _ in range(queries):
        run_one()
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    return queries / wall, cpu / queries * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--queries", type=int, default=5000)
    args = parser.parse_args()

    with ThrowawayCluster(extensions=(), ssl=False) as server:
        dsn = server.dsn(sslmode="disable")
        ours = BlockingConnection.connect(dsn)
        theirs = psycopg2.connect(dsn)
        theirs.autocommit = True
        cursor = theirs.cursor()
        fake = fake_psycopg2.connect(dsn)
        fake.autocommit = True
        fake_cursor = fake.cursor()

        def psycopg2_select() -> object:
            cursor.execute("SELECT 1")
            return cursor.fetchone()

        def greenpsyco_select() -> object:
            return ours.execute(b"SELECT 1")[0].rows[0]

        def fake_select() -> object:
            fake_cursor.execute("SELECT 1")
            return fake_cursor.fetchone()

        candidates = {
            "psycopg2": psycopg2_select,
            "greenpsyco.wire": greenpsyco_select,
            "greenpsyco psycopg2": fake_select,
        }
        for run in candidates.values():  # warm up both
            measure(run, 500)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in candidates}
        for _ in range(args.rounds):
            for name, run in candidates.items():
                samples[name].append(measure(run, args.queries))
        ours.close()
        theirs.close()
        fake.close()

    print(f"SELECT 1, one TCP connection, {args.rounds} rounds x {args.queries} queries (medians)")
    base_rate = statistics.median(rate for rate, _ in samples["psycopg2"])
    base_cpu = statistics.median(cpu for _, cpu in samples["psycopg2"])
    for name, values in samples.items():
        rate = statistics.median(r for r, _ in values)
        cpu = statistics.median(c for _, c in values)
        print(
            f"  {name:20} {rate:9.0f} q/s  ({rate / base_rate:4.2f}x)"
            f"   CPU {cpu:6.1f} us/q  ({cpu / base_cpu:4.2f}x)"
        )


if __name__ == "__main__":
    main()
