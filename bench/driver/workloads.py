"""What the driver benchmark measures: the operations, their sizes, and the tables they use.

Each measure is one batch of operations timed as a whole; its rate is operations per second and its
client CPU is per operation (a query, a fetched row, an inserted row, a connection, a copied row).
"""

from __future__ import annotations

from dataclasses import dataclass

FETCH_TABLE = "bench_fetch"
COPY_TABLE = "bench_copy"
PARAMS_SQL = "SELECT %s::int, %s::text"
PARAMS_VALUES = (42, "hello, world")


@dataclass(frozen=True)
class Measure:
    """One kind of operation: its key, how the tables call it, and what one operation is."""

    key: str
    title: str
    unit: str


MEASURES = (
    Measure("select1", "`SELECT 1` round trip", "query"),
    Measure("params", "`SELECT %s::int, %s::text`", "query"),
    Measure("fetch", "fetch 100k rows x 5 columns", "row"),
    Measure("executemany", "executemany INSERT (one transaction)", "row"),
    Measure("connect", "connect + close (SCRAM)", "connection"),
    Measure("copy_out", "COPY TO STDOUT", "row"),
    Measure("copy_in", "COPY FROM STDIN", "row"),
)
MEASURE_KEYS = tuple(measure.key for measure in MEASURES)


@dataclass(frozen=True)
class Sizes:
    """How many operations one sample of each measure does."""

    select1: int = 2000
    params: int = 2000
    fetch: int = 100_000
    executemany: int = 10_000
    connect: int = 100
    copy: int = 1_000_000

    @classmethod
    def quick(cls) -> Sizes:
        return cls(select1=100, params=100, fetch=2000, executemany=200, connect=3, copy=5000)


def setup_sql(sizes: Sizes) -> list[str]:
    """The tables every client reads: 5 typed columns to fetch, 3 columns to COPY."""
    return [
        f"DROP TABLE IF EXISTS {FETCH_TABLE}, {COPY_TABLE}",
        f"CREATE TABLE {FETCH_TABLE} (i int, t text, f float8, ts timestamptz, n numeric(12, 2))",
        f"INSERT INTO {FETCH_TABLE} SELECT g, 'row number ' || g, g * 1.5, "
        f"timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second', g * 1.25 "
        f"FROM generate_series(1, {sizes.fetch}) g",
        f"CREATE TABLE {COPY_TABLE} (a int, b text, c float8)",
        f"INSERT INTO {COPY_TABLE} SELECT g, 'copied row ' || g, g / 7.0 "
        f"FROM generate_series(1, {sizes.copy}) g",
        f"VACUUM ANALYZE {FETCH_TABLE}, {COPY_TABLE}",
    ]


def insert_table(slug: str) -> str:
    return f"bench_insert_{slug}"


def copy_in_table(slug: str) -> str:
    return f"bench_copyin_{slug}"


def client_tables_sql(slug: str) -> list[str]:
    return [
        f"DROP TABLE IF EXISTS {insert_table(slug)}, {copy_in_table(slug)}",
        f"CREATE UNLOGGED TABLE {insert_table(slug)} (a int, b text, c float8)",
        f"CREATE UNLOGGED TABLE {copy_in_table(slug)} (a int, b text, c float8)",
    ]


def insert_rows(count: int) -> list[tuple[int, str, float]]:
    return [(i, f"inserted row {i}", i / 3) for i in range(count)]
