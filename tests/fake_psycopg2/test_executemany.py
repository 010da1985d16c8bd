"""executemany, differential: psycopg2 runs statements one by one; greenpsyco pipelines them inside a
transaction block. Whatever happens mid-batch (a server error, a value that cannot be adapted, a
statement an adapter made into two), the exception, the cursor, the connection and the data must be
what psycopg2 leaves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from greenpsyco.testing import TestServer
from tests.fake_psycopg2.differential import compare, outcome

TABLE = "CREATE TEMP TABLE em (a int PRIMARY KEY, b text)"
INSERT = "INSERT INTO em (a, b) VALUES (%s, %s)"


@pytest.fixture
def dsn(pg_server: TestServer) -> str:
    return pg_server.dsn()


def failure(call: Callable[[], Any]) -> Any:
    """The outcome of a call, with a raised error's SQLSTATE and libpq text when it has them."""
    try:
        return call()
    except Exception as error:
        return (
            type(error).__module__,
            type(error).__name__,
            str(error),
            getattr(error, "pgcode", None),
            getattr(error, "pgerror", None),
            getattr(error, "cursor", None) is not None,
        )


def state(pg: Any, conn: Any, cur: Any) -> list[Any]:
    return [
        cur.rowcount,
        cur.query,
        cur.statusmessage,
        cur.description,
        cur.rownumber,
        outcome(cur.fetchone),
        conn.status,
        conn.get_transaction_status(),
        conn.closed,
        list(conn.notices),
    ]


def rows(pg: Any, dsn: str) -> Any:
    """What another session sees (committed data only)."""
    other = pg.connect(dsn)
    cur = other.cursor()
    cur.execute("SELECT count(*), coalesce(sum(a), 0) FROM em_committed")
    seen = cur.fetchone()
    other.close()
    return seen


def rows_of(count: int, duplicate_at: int | None = None) -> list[tuple[int, str]]:
    values = [(i, f"row {i}") for i in range(count)]
    if duplicate_at is not None:
        values[duplicate_at] = (0, "duplicate")
    return values


@pytest.mark.parametrize(
    ("count", "duplicate_at"),
    [(5, 2), (5, 0), (5, 4), (1000, 700), (2000, 257), (600, 511)],
)
def test_server_error_mid_batch_in_a_transaction(dsn: str, count: int, duplicate_at: int) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        cur = conn.cursor()
        cur.execute(TABLE)
        seen = [failure(lambda: cur.executemany(INSERT, rows_of(count, duplicate_at)))]
        seen += state(pg, conn, cur)
        seen += [failure(lambda: cur.execute("SELECT count(*) FROM em"))]
        conn.rollback()
        cur.execute(TABLE)
        cur.execute("SAVEPOINT s")
        seen += [failure(lambda: cur.executemany(INSERT, rows_of(count, duplicate_at)))]
        cur.execute("ROLLBACK TO SAVEPOINT s")
        cur.execute("SELECT count(*) FROM em")
        seen += [cur.fetchone(), conn.get_transaction_status()]
        conn.close()
        return seen

    compare(scenario, dsn)


def test_server_error_mid_batch_in_autocommit(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("DROP TABLE IF EXISTS em_committed")
        cur.execute("CREATE TABLE em_committed (a int PRIMARY KEY, b text)")
        insert = "INSERT INTO em_committed (a, b) VALUES (%s, %s)"
        seen = [failure(lambda: cur.executemany(insert, rows_of(600, 400)))]
        seen += state(pg, conn, cur)
        seen += [rows(pg, dsn)]
        with conn:  # psycopg2 2.9: `with conn` opens a transaction even in autocommit
            seen += [
                failure(lambda: cur.executemany(insert, [(1000 + i, "x") for i in range(300)] + [(1, "d")]))
            ]
            seen += state(pg, conn, cur)
        seen += [rows(pg, dsn)]
        cur.execute("DROP TABLE em_committed")
        conn.close()
        return seen

    compare(scenario, dsn)


def test_committed_rows_after_an_error_and_a_commit(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        cur = conn.cursor()
        cur.execute("DROP TABLE IF EXISTS em_committed")
        cur.execute("CREATE TABLE em_committed (a int PRIMARY KEY, b text)")
        conn.commit()
        insert = "INSERT INTO em_committed (a, b) VALUES (%s, %s)"
        seen = [failure(lambda: cur.executemany(insert, rows_of(900, 800)))]
        seen += [failure(conn.commit), rows(pg, dsn), conn.get_transaction_status()]
        cur.executemany(insert, rows_of(900))
        seen += state(pg, conn, cur)
        conn.commit()
        seen += [rows(pg, dsn)]
        cur.execute("DROP TABLE em_committed")
        conn.commit()
        conn.close()
        return seen

    compare(scenario, dsn)


class Unadaptable:
    pass


def test_adaptation_error_mid_batch(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        cur = conn.cursor()
        cur.execute(TABLE)
        values: list[Any] = rows_of(700)
        values[600] = (600, Unadaptable())
        seen = [failure(lambda: cur.executemany(INSERT, values))]
        seen += state(pg, conn, cur)
        cur.execute("SELECT count(*), max(a) FROM em")
        seen += [cur.fetchone()]
        values[600] = (600,)  # too few values for the placeholders
        cur.execute("DELETE FROM em")
        seen += [failure(lambda: cur.executemany(INSERT, values))]
        seen += state(pg, conn, cur)
        values[0] = (Unadaptable(), "x")  # the first statement: nothing is sent, not even BEGIN
        conn.rollback()
        seen += [failure(lambda: cur.executemany(INSERT, values))]
        seen += state(pg, conn, cur)
        # a server error before the bad value: the server error is what psycopg2 reports
        values = rows_of(700, 100)
        values[600] = (600, Unadaptable())
        cur.execute(TABLE)
        seen += [failure(lambda: cur.executemany(INSERT, values))]
        seen += state(pg, conn, cur)
        conn.close()
        return seen

    compare(scenario, dsn)


def test_successful_batches(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        cur = conn.cursor()
        cur.execute(TABLE)
        cur.executemany(INSERT, rows_of(1500))
        seen: list[Any] = state(pg, conn, cur)
        cur.executemany("UPDATE em SET b = %s WHERE a < %s", [("u", 10), ("v", 0), ("w", 1000)])
        seen += state(pg, conn, cur)
        cur.executemany("DELETE FROM em WHERE a = %(a)s", [{"a": 5}, {"a": 5}, {"a": 6}])
        seen += state(pg, conn, cur)
        cur.executemany("  insert INTO em (a, b) VALUES (%s, %s) ON CONFLICT (a) DO NOTHING", rows_of(3))
        seen += state(pg, conn, cur)
        cur.executemany(b"INSERT INTO em (a, b) VALUES (%s, 'it''s 100%%')", [(2000 + i,) for i in range(3)])
        seen += state(pg, conn, cur)
        cur.executemany("INSERT INTO em (a, b) VALUES (%s, %s) RETURNING a", [(3000, "r"), (3001, "s")])
        seen += state(pg, conn, cur)
        cur.executemany(INSERT, ((4000 + i, "generated") for i in range(5)))
        seen += state(pg, conn, cur)
        cur.execute("SELECT count(*), sum(a), string_agg(DISTINCT b, ',' ORDER BY b) FROM em WHERE a < 10")
        seen += [cur.fetchall()]
        conn.close()
        return seen

    compare(scenario, dsn)


def test_semicolons_and_several_statements(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        cur = conn.cursor()
        cur.execute(TABLE)
        # a literal with a semicolon is harmless; an adapter writing two statements runs them alone
        values: list[Any] = [(i, f"a;b {i}") for i in range(400)]
        values[350] = (pg.extensions.AsIs("350, 'x'); INSERT INTO em (a, b) VALUES (350"), "again")
        seen = [failure(lambda: cur.executemany(INSERT, values))]
        seen += state(pg, conn, cur)
        conn.rollback()
        cur.execute(TABLE)
        values[350] = (pg.extensions.AsIs("350, 'x'); ROLLBACK; INSERT INTO em (a, b) VALUES (351"), "y")
        seen += [failure(lambda: cur.executemany(INSERT, values))]
        seen += state(pg, conn, cur)
        conn.rollback()
        cur.execute(TABLE)
        values[100] = (0, "duplicate before the ROLLBACK")
        seen += [failure(lambda: cur.executemany(INSERT, values))]
        seen += state(pg, conn, cur)
        conn.rollback()
        conn.close()
        return seen

    compare(scenario, dsn)


def test_notices_from_pipelined_statements(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        cur = conn.cursor()
        cur.execute(TABLE)
        cur.execute(
            "CREATE FUNCTION pg_temp.note() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN IF NEW.a % 100 = 0 THEN RAISE NOTICE 'row %', NEW.a; END IF; RETURN NEW; END $$"
        )
        cur.execute("CREATE TRIGGER note BEFORE INSERT ON em FOR EACH ROW EXECUTE FUNCTION pg_temp.note()")
        cur.executemany(INSERT, rows_of(700))
        seen: list[Any] = state(pg, conn, cur)
        conn.close()
        return seen

    compare(scenario, dsn)


def test_edge_cases(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        cur = conn.cursor()
        cur.execute("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3")
        seen = [failure(lambda: cur.executemany(INSERT, []))]
        seen += state(pg, conn, cur)
        seen += [outcome(cur.fetchall), outcome(lambda: cur.fetchmany(-1))]
        cur.execute("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3")
        seen += [failure(lambda: cur.executemany(INSERT, 5))]
        seen += state(pg, conn, cur)
        seen += [outcome(cur.fetchall), outcome(lambda: cur.fetchmany(2))]
        cur.execute("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3")
        seen += [failure(lambda: cur.executemany("", [(1,)])), failure(lambda: cur.executemany(5, []))]
        seen += state(pg, conn, cur)
        cur.execute("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3")
        seen += [cur.fetchmany(-1), cur.fetchmany(-1), cur.rownumber]
        seen += [failure(lambda: cur.executemany("SELECT %s", [(1,), (2,)]))]
        seen += state(pg, conn, cur)
        seen += [failure(lambda: cur.executemany("SELECT 1", [None, None]))]
        seen += state(pg, conn, cur)

        def broken() -> Iterator[tuple[int, str]]:
            yield (1, "x")
            raise KeyError("boom")

        cur.execute(TABLE)
        seen += [failure(lambda: cur.executemany(INSERT, broken()))]
        seen += state(pg, conn, cur)
        named = conn.cursor("n")
        seen += [failure(lambda: named.executemany(INSERT, []))]
        cur.close()
        seen += [failure(lambda: cur.executemany(INSERT, []))]
        conn.close()
        return seen

    compare(scenario, dsn)


@pytest.mark.parametrize("bad_at", [0, 1, 15, 16, 17, 300])
def test_errors_with_a_position_mid_batch(dsn: str, bad_at: int) -> None:
    """Runtime and syntax errors carry a position: psycopg2's LINE and caret point into the statement."""

    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        cur = conn.cursor()
        cur.execute(TABLE)
        cast_insert = "INSERT INTO em (a, b) VALUES (%s::int, %s)"
        values: list[Any] = [(str(i), f"é {i}") for i in range(400)]
        values[bad_at] = ("not a number", "x")
        seen = [failure(lambda: cur.executemany(cast_insert, values))]
        seen += state(pg, conn, cur)
        conn.rollback()
        cur.execute(TABLE)
        values = [(i, f"ü {i}") for i in range(400)]
        values[bad_at] = (pg.extensions.AsIs("1) garbage ("), "y")
        seen += [failure(lambda: cur.executemany(INSERT, values))]
        seen += state(pg, conn, cur)
        conn.rollback()
        cur.execute(TABLE)
        values = [(i, "-- a comment\n") for i in range(40)]
        # a statement that ends inside a line comment: packed statements must not be swallowed by it
        values[bad_at % 40] = (pg.extensions.AsIs("1000, 'x') -- the line's end\n --"), "z")
        seen += [failure(lambda: cur.executemany(INSERT, values))]
        seen += state(pg, conn, cur)
        cur.execute("SELECT count(*) FROM em")
        seen += [cur.fetchone()]
        conn.close()
        return seen

    compare(scenario, dsn)
