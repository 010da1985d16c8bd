"""Cursor behaviour, differential: every scenario runs on psycopg2 and on greenpsyco."""

from __future__ import annotations

import io
from typing import Any

import pytest

from greenpsyco.testing import TestServer
from tests.fake_psycopg2.differential import compare, outcome


@pytest.fixture
def dsn(pg_server: TestServer) -> str:
    return pg_server.dsn()


def described(cur: Any) -> Any:
    if cur.description is None:
        return None
    return [
        (repr(c), tuple(c), c.table_oid is not None, c.table_column, len(c), c[0:2], c == tuple(c))
        for c in cur.description
    ]


TABLE = (
    "CREATE TEMP TABLE t (id serial primary key, v varchar(30), n numeric(10,2), f float8, "
    "d timestamptz, b bytea)"
)


def test_client_side_cursor(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        cur = conn.cursor()
        seen: list[Any] = [
            cur.rowcount, cur.rownumber, cur.lastrowid, cur.query, cur.statusmessage, cur.description,
            cur.arraysize, cur.itersize, cur.name, cur.scrollable, cur.withhold, cur.closed,
            cur.connection is conn, cur.tzinfo_factory, cur.row_factory, outcome(cur.fetchone),
        ]  # fmt: skip
        cur.execute(TABLE)
        seen += [described(cur), cur.rowcount, cur.statusmessage, cur.lastrowid, cur.query]
        cur.executemany("INSERT INTO t (v, n) VALUES (%s, %s)", [("a", 1), ("b", 2), ("c", 3)])
        seen += [cur.rowcount, cur.statusmessage, cur.query, outcome(cur.fetchone)]
        cur.execute("INSERT INTO t (v, f) VALUES (%s, %s) RETURNING id", ("x", 1.5))
        seen += [cur.rowcount, cur.statusmessage, cur.fetchone(), cur.lastrowid]
        cur.execute("UPDATE t SET f = 1.5")
        seen += [cur.rowcount, cur.statusmessage, cur.description, outcome(cur.fetchone)]
        cur.execute("SELECT * FROM t ORDER BY id")
        seen += [described(cur), cur.rowcount, cur.rownumber]
        seen += [cur.fetchmany(), cur.fetchmany(2), cur.rownumber]
        cur.scroll(0, "absolute")
        seen += [
            cur.fetchone(),
            cur.fetchall(),
            cur.fetchone(),
            cur.fetchall(),
            outcome(lambda: cur.scroll(10)),
        ]
        seen += [outcome(lambda: cur.scroll(-1)), cur.rownumber, outcome(lambda: cur.scroll(1, "sideways"))]
        cur.execute("SELECT 1 UNION ALL SELECT 2")
        seen += [list(cur), outcome(cur.nextset), cur.setinputsizes(1), cur.setoutputsize(1)]
        seen += [cur.callproc("abs", [-5]), cur.fetchall(), cur.query]
        seen += [cur.callproc("make_interval", {"days": 2}), cur.fetchall(), cur.query]
        cur.execute("SELECT 1; SELECT 2")
        seen += [cur.fetchall(), cur.statusmessage]
        seen += [outcome(lambda: cur.execute("")), outcome(lambda: cur.execute("SELECT %s, %s", (1,)))]
        seen += [cur.mogrify("SELECT %s, %(x)s" if False else "SELECT %s", ("it's",))]
        seen += [outcome(lambda: cur.mogrify("SELECT %s", (object(),)))]
        seen += [cur.cast(23, "42"), cur.cast(1700, "1.5"), cur.cast(25, None)]
        with conn.cursor() as inner:
            inner.execute("SELECT 1")
        seen += [
            inner.closed,
            outcome(lambda: inner.execute("SELECT 1")),
            outcome(inner.fetchone),
            inner.close(),
        ]
        conn.close()
        return seen

    compare(scenario, dsn)


def test_copy_methods(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("CREATE TEMP TABLE c (a int, b text)")
        cur.copy_from(io.StringIO("1\tx\n2\t\\N\n"), "c")
        seen: list[Any] = [cur.rowcount, cur.query]
        cur.copy_from(io.BytesIO(b"3|y\n"), "c", sep="|", columns=("a", "b"))
        seen += [cur.rowcount, cur.query]
        text = io.StringIO()
        cur.copy_to(text, "c")
        seen += [text.getvalue(), cur.query, cur.rowcount]
        raw = io.BytesIO()
        cur.copy_to(raw, "c", sep=",", null="NULL", columns=["b"])
        seen += [raw.getvalue(), cur.query]
        csv = io.StringIO()
        cur.copy_expert("COPY c TO STDOUT (FORMAT CSV, HEADER)", csv)
        seen += [csv.getvalue(), cur.rowcount]
        cur.copy_expert("COPY c FROM STDIN (FORMAT CSV)", io.StringIO("9,z\n"))
        seen += [cur.rowcount]
        seen += [
            outcome(lambda: cur.execute("COPY c TO STDOUT")),
            outcome(lambda: cur.execute("COPY c FROM STDIN")),
        ]
        seen += [outcome(lambda: cur.copy_from(io.StringIO("x\ty\n"), "c"))]
        cur.execute("SELECT count(*) FROM c")
        seen += [cur.fetchone()]
        conn.close()
        return seen

    compare(scenario, dsn)


def test_named_cursors(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        named = conn.cursor("_django_curs_1_sync_1", scrollable=False, withhold=conn.autocommit)
        seen: list[Any] = [
            named.name,
            named.scrollable,
            named.withhold,
            named.itersize,
            outcome(named.fetchone),
        ]
        conn.rollback()
        seen.append(outcome(lambda: named.execute("SELECT 1")))
        named = conn.cursor("_django_curs_1_sync_1", scrollable=False, withhold=conn.autocommit)
        named.execute("SELECT generate_series(1, 5) AS x")
        seen += [named.query, named.description, named.rowcount]
        seen += [named.fetchmany(2), named.rowcount, named.rownumber, described(named)]
        cur = conn.cursor()
        cur.execute("SELECT name, statement, is_holdable, is_scrollable FROM pg_cursors")
        seen += [cur.fetchall()]
        seen += [outcome(lambda: named.execute("SELECT 1")), named.fetchall(), named.close(), named.closed]
        conn.rollback()
        conn.autocommit = True
        hold = conn.cursor("wh", withhold=True)
        hold.execute("SELECT generate_series(1, 3)")
        seen += [hold.query, hold.fetchall()]
        hold.close()
        nohold = conn.cursor("nh")
        seen += [outcome(lambda: nohold.execute("SELECT 1"))]
        conn.autocommit = False
        it = conn.cursor("it")
        it.itersize = 2
        it.execute("SELECT generate_series(1, 5)")
        seen += [list(it)]
        scroll = conn.cursor("sc", scrollable=True)
        scroll.execute("SELECT generate_series(1, 5)")
        seen += [scroll.fetchone(), outcome(lambda: scroll.scroll(2)), scroll.fetchone()]
        seen += [outcome(lambda: scroll.scroll(0, "absolute")), scroll.fetchone(), scroll.query]
        conn.close()
        return seen

    compare(scenario, dsn)


def test_row_factory_and_tzinfo_factory(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        cur = conn.cursor()
        cur.execute("SET TimeZone = 'Europe/Paris'")
        cur.execute("SELECT '2024-06-01 12:00:00+02'::timestamptz, 1")
        seen: list[Any] = [cur.fetchone()]
        cur.tzinfo_factory = None
        cur.execute("SELECT '2024-06-01 12:00:00+02'::timestamptz")
        seen.append(cur.fetchone())

        class Row(list):  # type: ignore[type-arg]
            def __init__(self, cursor: Any) -> None:
                super().__init__([None] * len(cursor.description))

        cur.row_factory = Row
        cur.execute("SELECT 1, 'a'")
        row = cur.fetchone()
        seen.append((type(row).__name__, list(row)))
        conn.close()
        return seen

    compare(scenario, dsn)


def test_errors_carry_cursor_and_statement_position(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        cur = conn.cursor()
        try:
            cur.execute("SELECT 1,\n  nope FROM (SELECT 1) s")
        except pg.Error as error:
            seen: list[Any] = [
                type(error).__name__,
                str(error),
                error.pgerror,
                error.pgcode,
                error.cursor is cur,
            ]
            seen.append(error.diag.message_primary)
        conn.rollback()
        seen.append(outcome(lambda: cur.execute("SELECT %s", ("a\x00b",))))
        conn.close()
        return seen

    compare(scenario, dsn)


def test_registry_edits_between_results_of_one_shape_are_seen(dsn: str) -> None:
    """A repeated result shape reuses its row function only while the registries are unchanged."""

    def scenario(pg: Any, dsn: str) -> list[Any]:
        ext = pg.extensions
        conn = pg.connect(dsn)
        cur, other = conn.cursor(), conn.cursor()
        sql = "SELECT 7::int4, 'x'::text"
        seen: list[Any] = []
        saved = ext.string_types[23]
        try:
            for step in range(6):
                if step == 1:
                    ext.string_types[23] = ext.new_type((23,), "G", lambda s, c: ("global", s))
                elif step == 2:
                    ext.register_type(ext.new_type((23,), "C", lambda s, c: ("conn", s)), conn)
                elif step == 3:
                    ext.register_type(ext.new_type((25,), "K", lambda s, c: ("cursor", s)), cur)
                elif step == 4:
                    ext.string_types[23] = saved
                    del conn.string_types[23]
                for c in (cur, other, conn.cursor()):
                    c.execute(sql)
                    seen.append(c.fetchone())
        finally:
            ext.string_types[23] = saved
            conn.close()
        return seen

    compare(scenario, dsn)


def test_description_columns_are_read_only_and_copy_like_psycopg2s(dsn: str) -> None:
    import copy

    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        cur = conn.cursor()
        cur.execute("CREATE TEMP TABLE cols (a int, b text)")
        cur.execute("SELECT a, b FROM cols")
        column = cur.description[0]

        def assign(name: str) -> Any:
            return outcome(lambda: setattr(column, name, "changed"))

        def delete(name: str) -> Any:
            return outcome(lambda: delattr(column, name))

        seen: list[Any] = [assign("name"), assign("type_code"), assign("table_oid"), assign("nonsense")]
        seen += [delete("name"), delete("null_ok")]
        other = conn.cursor()
        other.execute("SELECT a, b FROM cols")  # the same result shape: must be unchanged by the above
        seen.append([(c.name, c.type_code, c.internal_size) for c in other.description])
        # copy uses the pickle protocol (__reduce_ex__, __getstate__, __setstate__) without looking the class
        # up by name, which would find the real psycopg2's Column beside the fake one in this process
        for clone in (copy.copy(column), copy.deepcopy(column)):
            seen.append(
                (tuple(clone), clone.name, clone.table_oid is None, clone.table_column, clone == column)
            )
        blank = pg.extensions.Column()
        seen.append(outcome(lambda: blank.__setstate__({"name": "x"})))
        blank.__setstate__(("x", 25, None, None, None, None, True, 7, 2))
        seen.append((tuple(blank), blank.table_oid, blank.table_column))
        short = pg.extensions.Column()
        short.__setstate__(("y",))
        seen.append((tuple(short), short.table_oid))
        kept = pg.extensions.Column(name="a", type_code=3, table_oid=5)
        kept.__setstate__(("b",))
        seen.append((tuple(kept), kept.table_oid))
        conn.close()
        return seen

    compare(scenario, dsn)
