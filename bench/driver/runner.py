"""The driver benchmark's loop: every client, every measure, both transports, alternating, in rounds.

Within a round each measure is taken for every client back to back (A B C ... then the next measure),
and the client order rotates from round to round, so a slow patch of the shared machine spreads over
all clients instead of landing on one. Untimed work (emptying the insert tables) happens between
samples on a separate psycopg2 connection.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg2

from bench.driver import workloads as w
from bench.driver.clients import Client, Target
from bench.timing import Sample, timed


@dataclass
class Plan:
    rounds: int
    sizes: w.Sizes
    measures: tuple[str, ...]
    copy_rounds: int
    clients: list[type[Client]]
    targets: list[Target]


@dataclass
class Collected:
    """Samples by (measure, transport, client name)."""

    samples: dict[tuple[str, str, str], list[Sample]] = field(default_factory=dict)

    def add(self, key: tuple[str, str, str], sample: Sample) -> None:
        self.samples.setdefault(key, []).append(sample)


def _admin(target: Target) -> Any:
    conn = psycopg2.connect(Target.dsn(target.params))
    conn.autocommit = True
    return conn


def prepare_database(target: Target, plan: Plan) -> bytes:
    """Create and fill the shared tables and each client's own; return the COPY payload."""
    admin = _admin(target)
    cur = admin.cursor()
    for sql in w.setup_sql(plan.sizes):
        cur.execute(sql)
    for client in plan.clients:
        for sql in w.client_tables_sql(client.slug):
            cur.execute(sql)
    payload = io.BytesIO()
    cur.copy_expert(f"COPY {w.COPY_TABLE} TO STDOUT", payload)
    admin.close()
    return payload.getvalue()


def _batch(client: Client, measure: str, plan: Plan, payload: bytes, rows: list[Any]) -> Callable[[], int]:
    sizes = plan.sizes
    batches: dict[str, Callable[[], int]] = {
        "select1": lambda: client.call(client.select1, sizes.select1),
        "params": lambda: client.call(client.params, sizes.params),
        "fetch": lambda: client.call(client.fetch),
        "executemany": lambda: client.call(client.executemany, rows),
        "connect": lambda: client.call(client.connect_close, sizes.connect),
        "copy_out": lambda: client.call(client.copy_out, sizes.copy),
        "copy_in": lambda: client.call(client.copy_in, payload, sizes.copy),
    }
    return batches[measure]


def _untimed_reset(admin: Any, client: Client, measure: str) -> None:
    if measure == "executemany":
        admin.cursor().execute(f"TRUNCATE {w.insert_table(client.slug)}")
    elif measure == "copy_in":
        admin.cursor().execute(f"TRUNCATE {w.copy_in_table(client.slug)}")


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(plan: Plan, log: Callable[[str], None] = _log) -> Collected:
    collected = Collected()
    payload = prepare_database(plan.targets[0], plan)
    rows = w.insert_rows(plan.sizes.executemany)
    opened: dict[str, list[Client]] = {}
    admins = {target.label: _admin(target) for target in plan.targets}
    try:
        for target in plan.targets:
            opened[target.label] = []
            for kind in plan.clients:
                client = kind(target)
                client.call(client.open)
                opened[target.label].append(client)
        # Warm-up: every code path once (imports, caches, the server's plan and catalogue caches).
        for target in plan.targets:
            for client in opened[target.label]:
                client.call(client.select1, 50)
                client.call(client.params, 50)
        for round_number in range(plan.rounds):
            for measure in plan.measures:
                if measure.startswith("copy") and round_number >= plan.copy_rounds:
                    continue
                for target in plan.targets:
                    clients = opened[target.label]
                    shift = round_number % len(clients)
                    for client in clients[shift:] + clients[:shift]:
                        _untimed_reset(admins[target.label], client, measure)
                        sample = timed(_batch(client, measure, plan, payload, rows))
                        collected.add((measure, target.label, client.name), sample)
                        log(
                            f"round {round_number + 1}/{plan.rounds} {measure:11} {target.label:4} "
                            f"{client.name:16} {sample.rate:12.0f}/s {sample.cpu_us:9.2f} us CPU/op"
                        )
    finally:
        for clients in opened.values():
            for client in clients:
                try:
                    client.call(client.close)
                finally:
                    client.stop()
        for admin in admins.values():
            admin.close()
    return collected
