"""The client's own Python cost per operation, without the kernel: the replayed-socket micro benchmark.

Each operation runs once for real against a throw-away cluster while the bytes the server sends are
recorded; then the fake psycopg2's blocking connection gets a socket whose ``recv`` returns those
bytes again and whose ``sendall`` does nothing, and the same operation is timed in a loop (minimum of
several rounds, microseconds per operation). psycopg2 cannot be replayed (libpq owns its socket), so
its figure here is the real round trip, for scale only.

    python -m bench.driver.replay [--rounds 7] [--count 20000] [--profile select1|params|fetch]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Callable
from typing import Any

import greenpsyco.fake_psycopg2 as fake_psycopg2
from bench.driver import workloads as w
from greenpsyco.testing import ThrowawayCluster


class _Recorder:
    """Wraps the real socket: what ``recv`` returns is kept, per operation."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.chunks: list[bytes] = []

    def recv(self, size: int) -> bytes:
        data: bytes = self.sock.recv(size)
        self.chunks.append(data)
        return data

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


class _Replayer:
    """A socket that answers every ``recv`` with the recorded chunks, in a cycle."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.index = 0

    def recv(self, size: int) -> bytes:
        chunks = self.chunks
        data = chunks[self.index]
        self.index = (self.index + 1) % len(chunks)
        return data

    def sendall(self, data: bytes) -> None:
        pass

    def send(self, data: bytes) -> int:
        return len(data)


def operations(fetch_rows: int) -> dict[str, Callable[[Any], object]]:
    def select1(cur: Any) -> object:
        cur.execute("SELECT 1")
        return cur.fetchone()

    def params(cur: Any) -> object:
        cur.execute(w.PARAMS_SQL, w.PARAMS_VALUES)
        return cur.fetchone()

    def fetch(cur: Any) -> object:
        cur.execute(f"SELECT * FROM {w.FETCH_TABLE} LIMIT {fetch_rows}")
        return cur.fetchall()

    return {"select1": select1, "params": params, "fetch": fetch}


def replayed(conn: Any, op: Callable[[Any], object]) -> Callable[[], object]:
    """Record one run of ``op`` on ``conn``; return a function that replays it on a fake socket."""
    wire = conn._wire
    runner = wire._runner
    real = runner.sock
    recorder = _Recorder(real)
    runner.sock = recorder
    cur = conn.cursor()
    try:
        expected = op(cur)
    finally:
        runner.sock = real
    replay = _Replayer(recorder.chunks)
    cursor = conn.cursor()

    def run() -> object:
        runner.sock = replay
        try:
            return op(cursor)
        finally:
            runner.sock = real

    assert run() == expected
    return run


def per_op_us(fn: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        fn()
    return (time.perf_counter() - start) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--fetch-rows", type=int, default=1000)
    parser.add_argument("--profile", choices=("select1", "params", "fetch"))
    args = parser.parse_args()

    with ThrowawayCluster(extensions=(), ssl=False) as server:
        dsn = server.dsn(sslmode="disable")
        setup = fake_psycopg2.connect(dsn)
        setup.autocommit = True
        with setup.cursor() as cur:
            for sql in w.setup_sql(w.Sizes(fetch=args.fetch_rows, copy=1)):
                cur.execute(sql)
        setup.close()
        conn = fake_psycopg2.connect(dsn)
        conn.autocommit = True
        runs = {name: replayed(conn, op) for name, op in operations(args.fetch_rows).items()}
        if args.profile:
            fn = runs[args.profile]
            profile = cProfile.Profile()
            profile.runcall(lambda: [fn() for _ in range(args.count)])
            stats = pstats.Stats(profile)
            stats.sort_stats("tottime").print_stats(25)
            print(f"function calls per operation: {stats.total_calls / args.count:.1f}")  # type: ignore[attr-defined]
            return
        counts = {"select1": args.count, "params": args.count, "fetch": max(1, args.count // args.fetch_rows)}
        best: dict[str, float] = {}
        for _ in range(args.rounds):
            for name, fn in runs.items():
                value = per_op_us(fn, counts[name])
                best[name] = min(best.get(name, value), value)
        conn.close()
    print(f"replayed socket, minimum of {args.rounds} rounds: Python cost per operation")
    for name, value in best.items():
        unit = "query" if name != "fetch" else f"{args.fetch_rows} rows"
        print(f"  {name:8} {value:8.2f} us / {unit}")


if __name__ == "__main__":
    main()
