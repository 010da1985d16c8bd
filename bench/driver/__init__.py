"""The driver suite: greenpsyco (blocking and cooperative) beside psycopg2, pg8000, psycopg 3 and asyncpg.

Measures (see :mod:`bench.driver.workloads`): ``SELECT 1`` round trips, a parameterised query,
fetching 100k typed rows, executemany of 10k INSERTs, connect+close with SCRAM, COPY out and in of 1M
rows; over TCP and a Unix socket, on a throw-away cluster started for the run.
"""

from __future__ import annotations

import argparse
from typing import Any

from bench.driver import clients as c
from bench.driver import pinning, report
from bench.driver import plots as _plots
from bench.driver import workloads as w
from bench.driver.runner import Plan
from bench.driver.runner import run as run_plan
from bench.environment import describe

NAME = "driver"
COOPERATIVE_NOTE = (
    "Cooperative: greenpsyco inside its hub (a Twisted reactor in a hub greenlet on its own thread); "
    "each batch of operations runs in one request greenlet and every query waits on the reactor."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, help="alternating rounds (default 9; quick: 1)")
    parser.add_argument("--copy-rounds", type=int, help="rounds that include COPY (default 3; quick: 1)")
    parser.add_argument("--measure", action="append", choices=w.MEASURE_KEYS, help="only these measures")
    parser.add_argument(
        "--client", action="append", choices=[k.name for k in c.CLIENTS], help="only these clients"
    )
    parser.add_argument("--transport", action="append", choices=("tcp", "unix"), help="only these")
    parser.add_argument(
        "--placement",
        choices=pinning.PLACEMENTS,
        default="apart",
        help="CPU placement of client and server (default apart: bench.driver.pinning)",
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    from greenpsyco.testing import ThrowawayCluster

    quick = bool(getattr(args, "quick", False))
    sizes = w.Sizes.quick() if quick else w.Sizes()
    rounds = args.rounds or (1 if quick else 9)
    copy_rounds = min(rounds, args.copy_rounds or (1 if quick else 3))
    wanted = set(args.client or [k.name for k in c.CLIENTS]) | {c.BASELINE}
    kinds = [k for k in c.CLIENTS if k.name in wanted and k.available()]
    cluster = ThrowawayCluster(extensions=(), ssl=False)
    with cluster as server:
        targets = [
            c.Target(
                label,
                dict(server.params(unix=unix), **({} if unix else {"sslmode": "disable"})),
                dict(server.params("scram-sha-256", unix=unix), **({} if unix else {"sslmode": "disable"})),
            )
            for label, unix in (("tcp", False), ("unix", True))
            if label in (args.transport or ("tcp", "unix"))
        ]
        plan = Plan(rounds, sizes, tuple(args.measure or w.MEASURE_KEYS), copy_rounds, kinds, targets)
        import psycopg2

        probe = psycopg2.connect(c.Target.dsn(targets[0].params))
        server_version = probe.info.parameter_status("server_version")
        probe.close()
        try:
            with pinning.placed(getattr(args, "placement", "apart"), cluster.pid) as placement:
                collected = run_plan(plan)
        finally:
            from bench.driver.hubthread import HubThread

            HubThread.stop_shared()
    rows = report.summarise(collected)
    return {
        "environment": describe(server_version),
        "config": {
            "quick": quick,
            "rounds": rounds,
            "copy_rounds": copy_rounds,
            "sizes": vars(sizes),
            "clients": [k.name for k in kinds],
            "transports": [t.label for t in targets],
            "cooperative": COOPERATIVE_NOTE,
            "placement": placement,
        },
        "results": rows,
        "targets": report.targets(rows),
    }


markdown = report.markdown
plots = _plots.plots
