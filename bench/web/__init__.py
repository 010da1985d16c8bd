"""The web suite: two Django views served by ``greenpsyco serve`` and by gunicorn (sync, gthread, gevent).

A ``SELECT pg_sleep(0.05)``-then-one-query view and a trivial one-query view (:mod:`bench.web.site`),
at 10, 100, 500 and 2,000 concurrent connections from wrk, on a throw-away PostgreSQL cluster with the
default ``max_connections`` (100). Measures good requests/s, p50/p99 latency, errors, peak PostgreSQL
sessions and server memory; checks the issue's targets. ``python -m bench --suite web [--quick]``.
"""

from __future__ import annotations

import argparse
from typing import Any

from bench.web import plots as _plots
from bench.web import report
from bench.web.servers import BY_NAME, SERVERS, VIEWS

NAME = "web"
CONCURRENCIES = (10, 100, 500, 2000)
QUICK_CONCURRENCIES = (10, 100)
PEER_PACKAGES = ("Django", "gunicorn", "gevent", "psycogreen", "psycopg2-binary")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--web-rounds", type=int, help="rounds (default 2; quick: 1)")
    parser.add_argument(
        "--web-duration", type=float, help="seconds of load per measurement (default 10; quick: 1)"
    )
    parser.add_argument(
        "--web-concurrency",
        type=int,
        action="append",
        help="concurrent connections (repeatable; default 10 100 500 2000; quick: 10 100)",
    )
    parser.add_argument("--web-server", action="append", choices=list(BY_NAME), help="only these servers")
    parser.add_argument("--web-view", action="append", choices=list(VIEWS), help="only these views")


def _versions() -> dict[str, str]:
    from importlib import metadata

    found = {}
    for name in PEER_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def run(args: argparse.Namespace) -> dict[str, Any]:
    import psycopg2

    from bench.environment import describe
    from bench.web import runner, wrk
    from greenpsyco.testing import ThrowawayCluster

    quick = bool(getattr(args, "quick", False))
    wanted = set(args.web_server or BY_NAME)
    plan = runner.Plan(
        rounds=args.web_rounds or (1 if quick else 2),
        duration=args.web_duration or (1.0 if quick else 10.0),
        warmup=1.0,
        concurrencies=tuple(args.web_concurrency or (QUICK_CONCURRENCIES if quick else CONCURRENCIES)),
        servers=tuple(s for s in SERVERS if s.name in wanted),
        views=tuple(v for v in VIEWS if v in (args.web_view or VIEWS)),
    )
    generator = f"{wrk.version()} (--threads {wrk.THREADS}, --timeout {wrk.TIMEOUT:g}s, keep-alive)"
    files = wrk.raise_file_limit()
    with ThrowawayCluster(extensions=(), ssl=False) as server:
        database = dict(server.params("scram-sha-256"))
        admin = psycopg2.connect(server.dsn())
        admin.autocommit = True
        try:
            with admin.cursor() as cursor:
                cursor.execute("SHOW server_version")
                server_version = cursor.fetchone()[0]
                cursor.execute("SHOW max_connections")
                max_connections = int(cursor.fetchone()[0])
            raw = runner.run(plan, database, admin)
        finally:
            admin.close()
    environment = describe(server_version)
    environment["versions"].update(_versions())
    rows = report.summarise(raw)
    return {
        "environment": environment,
        "config": {
            "quick": quick,
            "rounds": plan.rounds,
            "duration": plan.duration,
            "warmup": plan.warmup,
            "concurrencies": list(plan.concurrencies),
            "views": list(plan.views),
            "servers": [s.name for s in plan.servers],
            "server_details": {
                s.name: {
                    "label": s.label,
                    "command": " ".join(["python", *s.argv[1:]]),
                    "conn_max_age": s.conn_max_age,
                }
                for s in plan.servers
            },
            "load_generator": generator,
            "open_files_limit": files,
            "max_connections": max_connections,
        },
        "raw": raw,
        "results": rows,
        "targets": report.targets(rows),
    }


markdown = report.markdown
plots = _plots.plots
