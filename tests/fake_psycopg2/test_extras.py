"""psycopg2.extras against the real psycopg2 (the oracle) and the real server.

Each scenario runs once with psycopg2 and once with greenpsyco's driver, and what it observed (values,
reprs, types, statements sent, log output, exception classes and messages) must be equal:

* dict, real-dict and namedtuple cursors and connections (client-side and named cursors, callproc,
  iteration, pickles);
* logging connections and cursors (file and logger targets, filters, minimum time);
* uuid, inet, hstore, composite and json registration (scoped and global), adaptation and casting,
  with the catalog lookups' transaction handling and errors;
* ``execute_batch``/``execute_values``: the same statements byte for byte, the same results;
* the module's names, star import and ``__module__``s; replication names exist but refuse to run.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import re
import select
import sys
import uuid
import warnings
from collections.abc import Callable, Iterator
from decimal import Decimal
from types import ModuleType, SimpleNamespace
from typing import Any

import psycopg2
import psycopg2._json
import psycopg2.extensions
import psycopg2.extras
import psycopg2.sql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import greenpsyco.fake_psycopg2 as fake
import greenpsyco.fake_psycopg2._json as fake_json
import greenpsyco.fake_psycopg2.extensions as fake_ext
import greenpsyco.fake_psycopg2.extras as fake_extras
import greenpsyco.fake_psycopg2.sql as fake_sql
from greenpsyco.testing import TestServer

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))

REAL = SimpleNamespace(
    psycopg2=psycopg2, ext=psycopg2.extensions, extras=psycopg2.extras, sql=psycopg2.sql, json=psycopg2._json
)
FAKE = SimpleNamespace(psycopg2=fake, ext=fake_ext, extras=fake_extras, sql=fake_sql, json=fake_json)
EXT_ATTRIBUTES = ("UUID", "UUIDARRAY", "INET", "INETARRAY")
ROWS = "SELECT 1 AS a, 'x' AS b, NULL::int AS c UNION ALL SELECT 2, 'y', 3 UNION ALL SELECT 3, 'z', NULL"


def outcome(call: Callable[[], Any]) -> Any:
    """What a call did: its result, or the exception's class name and message."""
    try:
        return ("ok", call())
    except Exception as error:
        return ("raised", type(error).__name__, str(error))


def shown(value: Any) -> Any:
    """A value made comparable across the two libraries: their classes differ, their reprs must not."""
    if isinstance(value, list):
        return [shown(item) for item in value]
    return (type(value).__module__, type(value).__qualname__, repr(value))


def differential(scenario: Callable[[SimpleNamespace], list[Any]]) -> list[Any]:
    """Run ``scenario`` with psycopg2 then with greenpsyco's: the observations must be equal."""
    expected = scenario(REAL)
    actual = scenario(FAKE)
    assert len(actual) == len(expected)
    for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
        assert got == want, f"observation {index}: psycopg2 {want!r}, greenpsyco {got!r}"
    return actual


@pytest.fixture(autouse=True)
def restore_registries() -> Iterator[None]:
    """Undo what a test registered globally: typecasters, adapters, extensions.UUID and friends."""
    saved = [
        (registry, dict(registry))
        for lib in (REAL, FAKE)
        for registry in (lib.ext.string_types, lib.ext.adapters)
    ]
    missing = object()
    attributes = [
        (lib.ext, name, getattr(lib.ext, name, missing)) for lib in (REAL, FAKE) for name in EXT_ATTRIBUTES
    ]
    yield
    for registry, content in saved:
        registry.clear()
        registry.update(content)
    for module, name, value in attributes:
        if value is missing:
            if hasattr(module, name):
                delattr(module, name)
        else:
            setattr(module, name, value)


@pytest.fixture(scope="module")
def server(pg_server: TestServer) -> Iterator[TestServer]:
    """The server, with this module's types (and a database without hstore), removed at the end."""
    conn = psycopg2.connect(pg_server.dsn())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "DROP SCHEMA IF EXISTS gp_extras CASCADE; CREATE SCHEMA gp_extras;"
            'DROP TYPE IF EXISTS gp_card, gp_hand, gp_badnames, "gp-dash" CASCADE;'
            "CREATE TYPE gp_card AS (value int, suit text);"
            "CREATE TYPE gp_hand AS (cards gp_card[], first gp_card, note text, price numeric);"
            'CREATE TYPE gp_badnames AS ("first card" int);'
            'CREATE TYPE "gp-dash" AS (a int, "select" text);'
            "CREATE TYPE gp_extras.hidden_comp AS (x int, y int);"
        )
        cur.execute("DROP DATABASE IF EXISTS gp_nohstore")
        cur.execute("CREATE DATABASE gp_nohstore TEMPLATE template0")
    yield pg_server
    with conn.cursor() as cur:
        cur.execute(
            'DROP SCHEMA gp_extras CASCADE;DROP TYPE gp_hand, gp_card, gp_badnames, "gp-dash" CASCADE;'
        )
        cur.execute("DROP DATABASE gp_nohstore")
    conn.close()


@pytest.fixture(scope="module")
def dsn(server: TestServer) -> str:
    return server.dsn()


# ---------------------------------------------------------------------------------- dict cursors


def test_dict_cursor_like_psycopg2(dsn: str) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        conn = lib.psycopg2.connect(dsn)
        seen: list[Any] = []
        try:
            cur = conn.cursor(cursor_factory=lib.extras.DictCursor)
            seen.append(type(cur).__name__)
            seen.append(outcome(lambda: cur.fetchone()))
            cur.execute(ROWS)
            row = cur.fetchone()
            seen.append(shown(row))
            seen.append((row["a"], row[1], row[-1], row[0:2], row.get("b"), row.get("nope", 42), row.get(7)))
            seen.append((list(row.keys()), list(row.values()), list(row.items()), repr(row.copy())))
            seen.append(("a" in row, "nope" in row, 1 in row, len(row), list(row), row == [1, "x", None]))
            seen.append(outcome(lambda: row["nope"]))
            row["b"] = "changed"
            row[2] = 7
            seen.append(repr(row))
            seen.append(shown(cur.fetchmany(1)))
            seen.append(shown(cur.fetchall()))
            seen.append(shown(cur.fetchall()))
            cur.execute(ROWS)
            seen.append(shown(list(cur)))
            cur.execute(ROWS)
            seen.append(shown(cur.fetchall()))
            cur.execute(ROWS)
            seen.append([shown(cur.fetchone()), shown(list(cur))])
            cur.execute("SELECT 1 AS a, 2 AS a")  # duplicate names: the last position wins
            seen.append((repr(cur.fetchone()["a"]), dict(cur.index)))
            cur.execute("SELECT 1 WHERE false")
            seen.append((cur.fetchone(), list(cur)))
            seen.append(cur.callproc("generate_series", (1, 3)))
            seen.append((shown(cur.fetchall()), cur.query))
            cur.execute("SET search_path TO public")
            seen.append(outcome(lambda: cur.fetchone()))
            seen.append(outcome(lambda: list(cur)))

            named = conn.cursor("gp_dict", cursor_factory=lib.extras.DictCursor)
            named.itersize = 2
            named.execute("SELECT g AS n, g * 2 AS double FROM generate_series(1, 5) AS g")
            seen.append(shown(named.fetchone()))
            seen.append(shown(list(named)))
            named.close()
            named = conn.cursor("gp_dict2", cursor_factory=lib.extras.DictCursor)
            named.execute("SELECT g AS n FROM generate_series(1, 3) AS g")
            seen.append([shown(named.fetchmany(2)), shown(named.fetchall())])
            named.close()
            seen.append(outcome(lambda: lib.extras.DictCursorBase(conn)))
        finally:
            conn.close()

        dict_conn = lib.psycopg2.connect(dsn, connection_factory=lib.extras.DictConnection)
        try:
            seen.append((type(dict_conn).__name__, type(dict_conn.cursor()).__name__))
            seen.append(type(dict_conn.cursor(cursor_factory=lib.extras.RealDictCursor)).__name__)
            seen.append(type(dict_conn.cursor("named")).__name__)
            dict_conn.cursor_factory = lib.extras.NamedTupleCursor
            seen.append(type(dict_conn.cursor()).__name__)
        finally:
            dict_conn.close()
        via_connect = lib.psycopg2.connect(dsn, cursor_factory=lib.extras.DictCursor)
        try:
            cur = via_connect.cursor()
            cur.execute("SELECT 1 AS one")
            seen.append(shown(cur.fetchone()))
        finally:
            via_connect.close()
        return seen

    differential(scenario)


def test_real_dict_cursor_like_psycopg2(dsn: str) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        conn = lib.psycopg2.connect(dsn)
        seen: list[Any] = []
        try:
            cur = conn.cursor(cursor_factory=lib.extras.RealDictCursor)
            cur.execute(ROWS)
            row = cur.fetchone()
            seen.append(shown(row))
            seen.append((row == {"a": 1, "b": "x", "c": None}, list(row), row["b"], outcome(lambda: row[0])))
            seen.append(shown(cur.fetchmany(5)))
            cur.execute(ROWS)
            seen.append(shown(list(cur)))
            cur.execute(ROWS)
            seen.append([shown(cur.fetchone()), shown(cur.fetchall())])
            cur.execute("SELECT 1 AS a, 2 AS a")
            seen.append(shown(cur.fetchall()))
            seen.append(cur.callproc("generate_series", (1, 2)))
            seen.append((shown(cur.fetchall()), cur.query))
            cur.execute("SELECT WHERE true")  # a row with no columns
            seen.append(shown(cur.fetchall()))
            seen.append(repr(lib.extras.RealDictRow([("k", 1)], z=2)))
            seen.append(repr(lib.extras.RealDictRow({"k": 1})))

            named = conn.cursor("gp_real", cursor_factory=lib.extras.RealDictCursor)
            named.itersize = 2
            named.execute("SELECT g AS n, 'v' || g AS label FROM generate_series(1, 5) AS g")
            seen.append(shown(named.fetchone()))
            seen.append(shown(list(named)))
            named.close()
            named = conn.cursor("gp_real2", cursor_factory=lib.extras.RealDictCursor)
            named.execute("SELECT g AS n FROM generate_series(1, 3) AS g")
            seen.append([shown(named.fetchmany(2)), shown(named.fetchall())])
            named.close()
        finally:
            conn.close()
        real_conn = lib.psycopg2.connect(dsn, connection_factory=lib.extras.RealDictConnection)
        try:
            seen.append(type(real_conn.cursor()).__name__)
        finally:
            real_conn.close()
        return seen

    differential(scenario)


def test_namedtuple_cursor_like_psycopg2(dsn: str) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        conn = lib.psycopg2.connect(dsn)
        seen: list[Any] = []
        try:
            cur = conn.cursor(cursor_factory=lib.extras.NamedTupleCursor)
            seen.append(cur.Record)
            cur.execute(ROWS)
            row = cur.fetchone()
            seen.append(shown(row))
            seen.append((row.a, row[1], row._fields, type(row).__name__, type(row).__module__))
            seen.append(shown(cur.fetchmany(1)))
            seen.append(shown(cur.fetchall()))
            seen.append(cur.Record is type(row))
            cur.execute(ROWS)
            seen.append(cur.Record)
            seen.append(shown(list(cur)))
            cur.execute(ROWS)
            seen.append([shown(cur.fetchone()), shown(list(cur))])
            cur.execute(
                'SELECT 1 AS "a b", 2 AS "_private", 3 AS "1st", 4 AS "x-y.z", 5 AS "café", 6 AS "?column?"'
            )
            seen.append(shown(cur.fetchone()))
            cur.execute("SELECT 1 AS a, 2 AS a")
            seen.append(outcome(lambda: cur.fetchone()))
            cur.execute("SELECT 1 AS a WHERE false")
            seen.append((cur.fetchone(), cur.fetchmany(3), cur.fetchall(), list(cur)))
            seen.append(cur.callproc("generate_series", (1, 2)))
            seen.append(shown(cur.fetchall()))
            cur.execute("CREATE TEMPORARY TABLE gp_nt (id int)")
            cur.executemany("INSERT INTO gp_nt VALUES (%s)", [(1,), (2,)])
            seen.append((cur.Record, cur.rowcount, outcome(lambda: cur.fetchone())))

            named = conn.cursor("gp_nt_named", cursor_factory=lib.extras.NamedTupleCursor)
            named.itersize = 2
            named.execute("SELECT g AS n FROM generate_series(1, 5) AS g")
            seen.append(shown(named.fetchone()))
            seen.append(shown(list(named)))
            named.close()
            seen.append(lib.extras.NamedTupleCursor.MAX_CACHE)
            info = lib.extras.NamedTupleCursor._cached_make_nt.cache_info()
            seen.append((type(info).__name__, info.maxsize))
            first = lib.extras.NamedTupleCursor._cached_make_nt(("p", "q"))
            seen.append(first is lib.extras.NamedTupleCursor._cached_make_nt(("p", "q")))
            seen.append((first.__name__, first.__module__, first._fields))
        finally:
            conn.close()
        nt_conn = lib.psycopg2.connect(dsn, connection_factory=lib.extras.NamedTupleConnection)
        try:
            seen.append(type(nt_conn.cursor()).__name__)
        finally:
            nt_conn.close()
        return seen

    differential(scenario)


@pytest.fixture
def fake_extras_installed(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], None]:
    """Switch ``sys.modules['psycopg2.extras']`` between the real module and ours (pickle looks there)."""

    def install(ours: bool) -> None:
        module: ModuleType = fake_extras if ours else psycopg2.extras
        monkeypatch.setitem(sys.modules, "psycopg2.extras", module)

    return install


def test_rows_pickle_to_the_same_bytes(dsn: str, fake_extras_installed: Callable[[bool], None]) -> None:
    def rows(lib: SimpleNamespace) -> list[Any]:
        conn = lib.psycopg2.connect(dsn)
        try:
            fetched = []
            for factory in ("DictCursor", "RealDictCursor", "NamedTupleCursor"):
                cur = conn.cursor(cursor_factory=getattr(lib.extras, factory))
                cur.execute(ROWS)
                fetched.append(cur.fetchone())
            return fetched
        finally:
            conn.close()

    theirs_rows, ours_rows = rows(REAL), rows(FAKE)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        for theirs, ours in zip(theirs_rows, ours_rows, strict=True):
            fake_extras_installed(False)
            expected = outcome(lambda: pickle.dumps(theirs, protocol))  # noqa: B023 - called at once
            fake_extras_installed(True)
            actual = outcome(lambda: pickle.dumps(ours, protocol))  # noqa: B023 - called at once
            assert actual == expected
            if actual[0] == "ok":
                copy = pickle.loads(actual[1])
                assert type(copy) is type(ours)
                assert repr(copy) == repr(ours)
                if isinstance(ours, fake_extras.DictRow):
                    assert copy["b"] == ours["b"]


# ------------------------------------------------------------------------------------------ logging

ELAPSED = re.compile(r"\(execution time: [0-9.e-]+ ms\)")


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[Any] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append((record.levelname, record.msg))


def test_logging_connection_like_psycopg2(dsn: str) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        seen: list[Any] = []
        conn = lib.psycopg2.connect(dsn, connection_factory=lib.extras.LoggingConnection)
        try:
            seen.append(outcome(lambda: conn.cursor()))
            target = io.StringIO()
            conn.initialize(target)
            cur = conn.cursor()
            seen.append(type(cur).__name__)
            cur.execute("SELECT %s, %s", (1, "it's"))
            seen.append(outcome(lambda: cur.execute("SELECT nope")))
            conn.rollback()
            cur.execute(b"SELECT 'caf\xc3\xa9'")
            seen.append(type(conn.cursor(cursor_factory=lib.extras.DictCursor)).__name__)
            seen.append(target.getvalue())

            logger = logging.getLogger(f"gp_test_extras.{id(lib)}")
            logger.setLevel(logging.DEBUG)
            logger.propagate = False
            handler = ListHandler()
            logger.addHandler(handler)
            conn.initialize(logger)
            conn.cursor().execute("SELECT 2")
            conn.initialize(logging.LoggerAdapter(logger, {}))
            conn.cursor().execute("SELECT 3")
            seen.append(handler.messages)
        finally:
            conn.close()

        class Quiet(lib.extras.LoggingConnection):  # type: ignore[name-defined,misc]
            def filter(self, msg: Any, curs: Any) -> Any:
                return None if b"secret" in msg else msg.upper()

        quiet = lib.psycopg2.connect(dsn, connection_factory=Quiet)
        try:
            target = io.StringIO()
            quiet.initialize(target)
            cur = quiet.cursor()
            cur.execute("SELECT 'secret'")
            cur.execute("SELECT 'public'")
            seen.append(target.getvalue())
        finally:
            quiet.close()
        return seen

    differential(scenario)


def test_min_time_logging_connection_like_psycopg2(dsn: str) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        seen: list[Any] = []
        conn = lib.psycopg2.connect(dsn, connection_factory=lib.extras.MinTimeLoggingConnection)
        try:
            target = io.StringIO()
            conn.initialize(target)
            cur = conn.cursor()
            seen.append(type(cur).__name__)
            cur.execute("SELECT pg_sleep(0.01)")
            cur.execute("SELECT %s", ("é",))
            seen.append(ELAPSED.sub("(execution time: T ms)", target.getvalue()))
            target = io.StringIO()
            conn.initialize(target, mintime=60_000)
            conn.cursor().execute("SELECT 1")
            seen.append(target.getvalue())
        finally:
            conn.close()
        return seen

    differential(scenario)


def test_logging_cursor_logs_callproc_once_like_psycopg2(dsn: str) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        conn = lib.psycopg2.connect(dsn, connection_factory=lib.extras.LoggingConnection)
        try:
            target = io.StringIO()
            conn.initialize(target)
            conn.cursor().callproc("generate_series", (1, 2))
            return [target.getvalue()]
        finally:
            conn.close()

    differential(scenario)


# ---------------------------------------------------------------------------------------- uuid, inet

UUIDS = [uuid.UUID("12345678-1234-5678-1234-567812345678"), uuid.UUID(int=0)]
UUID_QUERY = (
    "SELECT '12345678-1234-5678-1234-567812345678'::uuid, NULL::uuid,"
    " ARRAY['00000000-0000-0000-0000-000000000000'::uuid, NULL], '{}'::uuid[]"
)


def test_register_uuid_like_psycopg2(dsn: str) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        seen: list[Any] = []
        conn = lib.psycopg2.connect(dsn)
        other = lib.psycopg2.connect(dsn)
        try:
            cur = conn.cursor()
            seen.append(outcome(lambda: cur.mogrify("SELECT %s", (UUIDS[0],))))
            cur.execute(UUID_QUERY)
            seen.append(shown(list(cur.fetchone())))
            caster = lib.extras.register_uuid(conn_or_curs=conn)
            seen.append((caster.name, caster.values, lib.ext.UUID is caster, lib.ext.UUIDARRAY.name))
            cur.execute(UUID_QUERY)
            seen.append(shown(list(cur.fetchone())))
            seen.append(cur.mogrify("SELECT %s, %s", (UUIDS[0], UUIDS)))
            cur.execute("SELECT %s, %s", (UUIDS[0], UUIDS))
            seen.append(shown(list(cur.fetchone())))
            ocur = other.cursor()
            ocur.execute(UUID_QUERY)
            seen.append(shown(list(ocur.fetchone())))  # the typecasters were for ``conn`` only
            adapter = lib.extras.UUID_adapter(UUIDS[1])
            seen.append(
                (adapter.getquoted(), str(adapter), adapter.__conform__(lib.ext.ISQLQuote) is adapter)
            )
            seen.append(adapter.__conform__(object))

            lib.extras.register_uuid(oids=(2950, 2951), conn_or_curs=ocur)
            ocur.execute(UUID_QUERY)
            seen.append(shown(list(ocur.fetchone())))
            lib.extras.register_uuid(2950)
            fresh = lib.psycopg2.connect(dsn)
            fcur = fresh.cursor()
            fcur.execute(UUID_QUERY)
            seen.append(shown(list(fcur.fetchone())))
            fresh.close()
            seen.append(outcome(lambda: lib.extras.register_uuid([2950])))
        finally:
            conn.close()
            other.close()
        return seen

    differential(scenario)


def test_register_inet_like_psycopg2(dsn: str) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        seen: list[Any] = []
        conn = lib.psycopg2.connect(dsn)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                caster = lib.extras.register_inet(conn_or_curs=conn)
            seen.append([(w.category.__name__, str(w.message)) for w in caught])
            seen.append((caster.name, lib.ext.INET is caster, lib.ext.INETARRAY.name))
            cur = conn.cursor()
            cur.execute("SELECT '10.0.0.1/8'::inet, NULL::inet, ARRAY['::1'::inet, NULL], ''::text")
            seen.append(shown(list(cur.fetchone())))
            value = lib.extras.Inet("192.168.1.1")
            seen.append((repr(value), str(value), value.__conform__(lib.ext.ISQLQuote) is value))
            seen.append(cur.mogrify("SELECT %s, %s", (value, [value])))
            seen.append(outcome(lambda: lib.extras.Inet("1.2.3.4").getquoted()))
            seen.append(outcome(lambda: lib.extras.Inet(None).getquoted()))
            cur.execute("SELECT %s", (lib.extras.Inet("::1"),))
            seen.append(shown(cur.fetchone()[0]))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                seen.append(lib.extras.register_inet((869, 1041)).values)
                seen.append(lib.extras.register_inet(869).values)
        finally:
            conn.close()
        return seen

    differential(scenario)


# -------------------------------------------------------------------------------------------- hstore

HSTORE_VALUES = [
    {},
    {"a": "1", "b": None},
    {"k": None},
    {'q"uote': "back\\slash", "it's": "a,b=>c", "": ""},
    {"é": "ü"},
]


def test_register_hstore_like_psycopg2(dsn: str) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        seen: list[Any] = []
        conn = lib.psycopg2.connect(dsn)
        other = lib.psycopg2.connect(dsn)
        try:
            cur = conn.cursor()
            seen.append(outcome(lambda: cur.mogrify("SELECT %s", ({"a": "b"},))))
            seen.append(lib.extras.register_hstore(conn))
            seen.append((conn.status, conn.get_transaction_status()))
            for value in HSTORE_VALUES:
                seen.append(cur.mogrify("SELECT %s", (value,)))
                cur.execute("SELECT %s, ARRAY[%s, NULL]", (value, value))
                seen.append(list(cur.fetchone()))
            cur.execute(r"""SELECT 'a=>1, b=>NULL, "c d"=>"e\"f\\g"'::hstore, NULL::hstore""")
            seen.append(list(cur.fetchone()))
            ocur = other.cursor()
            ocur.execute("SELECT 'a=>1'::hstore")
            seen.append(ocur.fetchone())  # not registered there: a string
            seen.append(ocur.mogrify("SELECT %s", ({"x": "y"},)))  # but the dict adapter is global

            adapter = lib.extras.HstoreAdapter({"a": "b"})
            seen.append(outcome(lambda: adapter.getquoted()))
            seen.append(lib.extras.HstoreAdapter({}).getquoted())

            with conn.cursor() as lookup:
                lookup.execute("SELECT 'hstore'::regtype::oid, 'hstore[]'::regtype::oid")
                oid, array_oid = lookup.fetchone()
            conn.rollback()
            third = lib.psycopg2.connect(dsn)
            lib.extras.register_hstore(third, oid=oid)
            tcur = third.cursor()
            tcur.execute("SELECT 'a=>1'::hstore, ARRAY['a=>1'::hstore]")
            seen.append(list(tcur.fetchone()))
            lib.extras.register_hstore(tcur, oid=(oid,), array_oid=(0, array_oid))
            tcur.execute("SELECT 'a=>1'::hstore, ARRAY['a=>1'::hstore]")
            seen.append(list(tcur.fetchone()))
            third.close()

            conn.autocommit = True
            lib.extras.register_hstore(conn.cursor(), globally=True, unicode=True)
            seen.append((conn.status, conn.get_transaction_status()))
            fresh = lib.psycopg2.connect(dsn)
            fcur = fresh.cursor()
            fcur.execute("SELECT 'a=>1'::hstore")
            seen.append(fcur.fetchone())
            fresh.close()
            seen.append(outcome(lambda: lib.extras.register_hstore(None)))
        finally:
            conn.close()
            other.close()
        return seen

    differential(scenario)


def test_register_hstore_without_the_extension_like_psycopg2(server: TestServer) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        conn = lib.psycopg2.connect(server.dsn(dbname="gp_nohstore"))
        try:
            seen = [outcome(lambda: lib.extras.register_hstore(conn))]
            seen.append((conn.status, conn.get_transaction_status()))
            seen.append(lib.extras.HstoreAdapter.get_oids(conn))
            cur = conn.cursor()
            cur.execute("SELECT 1")
            seen.append(outcome(lambda: lib.extras.register_hstore(cur)))
            seen.append((conn.status, conn.get_transaction_status()))
            return seen
        finally:
            conn.close()

    differential(scenario)


hstore_text = st.one_of(
    st.text(alphabet='"\\=>, abNUL\n', max_size=20),
    st.lists(
        st.tuples(st.text(alphabet='"\\a b,=>', max_size=4), st.one_of(st.none(), st.text(max_size=4))),
        max_size=3,
    ).map(
        lambda pairs: ", ".join(
            '"{}"=>{}'.format(
                k.replace("\\", "\\\\").replace('"', '\\"'),
                "NULL" if v is None else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"',
            )
            for k, v in pairs
        )
    ),
)


@SETTINGS
@given(hstore_text)
def test_hstore_parse_matches_psycopg2_on_any_text(text: str) -> None:
    theirs = outcome(lambda: psycopg2.extras.HstoreAdapter.parse(text, None))
    ours = outcome(lambda: fake_extras.HstoreAdapter.parse(text, None))
    assert ours == theirs


# ----------------------------------------------------------------------------------------- composite

COMPOSITES = (
    "SELECT ROW(1, 'hearts')::gp_card, NULL::gp_card, ROW(NULL, NULL)::gp_card, ROW(2, '')::gp_card,"
    " ROW(ARRAY[ROW(3, 'a\"b')::gp_card, NULL], ROW(4, 'x\\y,(z)')::gp_card, 'note', 1.50)::gp_hand,"
    " ARRAY[ROW(5, 'c')::gp_card, NULL]"
)


def test_register_composite_like_psycopg2(dsn: str) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        seen: list[Any] = []
        conn = lib.psycopg2.connect(dsn)
        other = lib.psycopg2.connect(dsn)
        try:
            cur = conn.cursor()
            card = lib.extras.register_composite("gp_card", conn)
            seen.append((conn.status, conn.get_transaction_status()))
            seen.append(
                (
                    card.name,
                    card.schema,
                    card.attnames,
                    card.atttypes,
                    card.array_oid is not None,
                    card.oid > 0,
                )
            )
            seen.append((card.type.__name__, card.type.__module__, card.type._fields))
            seen.append((card.typecaster.name, card.array_typecaster.name))
            hand = lib.extras.register_composite("public.gp_hand", cur)
            seen.append((hand.name, hand.schema, hand.attnames))
            cur.execute(COMPOSITES)
            seen.append(shown(list(cur.fetchone())))
            value = card.type(7, "spades")
            seen.append(cur.mogrify("SELECT %s", (value,)))
            cur.execute("SELECT %s::gp_card", (value,))
            seen.append(shown(cur.fetchone()[0]))
            seen.append(outcome(lambda: card.parse("(1,a,b)", cur)))
            seen.append(outcome(lambda: shown(card.parse("(1,)", cur))))
            seen.append(card.parse(None, cur))
            ocur = other.cursor()
            ocur.execute("SELECT ROW(1, 'hearts')::gp_card")
            seen.append(ocur.fetchone())  # registered on ``conn`` only

            class AsDict(lib.extras.CompositeCaster):  # type: ignore[name-defined,misc]
                def make(self, values: list[Any]) -> Any:
                    return dict(zip(self.attnames, values, strict=True))

            as_dict = lib.extras.register_composite("gp_card", ocur, factory=AsDict)
            seen.append(type(as_dict).__name__)
            ocur.execute("SELECT ROW(1, 'hearts')::gp_card, ARRAY[ROW(2, 'x')::gp_card]")
            seen.append(list(ocur.fetchone()))

            dash = lib.extras.register_composite('"gp-dash"', conn)
            seen.append((dash.name, dash.type.__name__, dash.attnames))
            cur.execute("SELECT ROW(1, 's')::\"gp-dash\"")
            seen.append(shown(cur.fetchone()[0]))
        finally:
            conn.close()
            other.close()
        return seen

    differential(scenario)


def test_register_composite_lookup_and_errors_like_psycopg2(dsn: str) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        seen: list[Any] = []
        conn = lib.psycopg2.connect(dsn)
        register = lib.extras.register_composite
        try:
            seen.append(outcome(lambda: register("gp_nosuch", conn)))
            seen.append((conn.status, conn.get_transaction_status()))
            seen.append(outcome(lambda: register("nosuch.gp_card", conn)))
            seen.append(outcome(lambda: register("gp_badnames", conn)))
            seen.append(outcome(lambda: register("int4", conn)))
            seen.append(outcome(lambda: register("hidden_comp", conn)))
            caster = register("gp_extras.hidden_comp", conn)
            seen.append((caster.name, caster.schema, caster.attnames))
            with conn.cursor() as cur:
                cur.execute("SET search_path TO public, gp_extras")
            conn.commit()
            caster = register("hidden_comp", conn)
            seen.append((caster.name, caster.schema, caster.attnames))
            cur = conn.cursor()
            cur.execute("SELECT 1")  # in a transaction: the failed lookup is rolled back to a savepoint
            seen.append(outcome(lambda: register("gp_nosuch", conn)))
            seen.append((conn.status, conn.get_transaction_status()))
            caster = register("hidden_comp", conn)
            seen.append((caster.name, caster.schema, conn.status, conn.get_transaction_status()))
            cur.execute("SELECT ROW(1, 2)::hidden_comp")
            seen.append(shown(cur.fetchone()[0]))
            conn.rollback()
            conn.autocommit = True
            seen.append(outcome(lambda: register("gp_nosuch", conn)))
            seen.append(outcome(lambda: register("gp_card", None)))
            register("gp_card", conn, globally=True)
            fresh = lib.psycopg2.connect(dsn)
            fcur = fresh.cursor()
            fcur.execute("SELECT ROW(1, 'x')::gp_card")
            seen.append(shown(fcur.fetchone()[0]))
            fresh.close()
        finally:
            conn.close()
        return seen

    differential(scenario)


def test_composite_caster_made_directly_like_psycopg2() -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        caster = lib.extras.CompositeCaster("my type", 1, [("a", 23), ("b", 25)], array_oid=2, schema="s")
        no_array = lib.extras.CompositeCaster("t", 1, iter([("a", 23)]))
        return [
            (caster.name, caster.schema, caster.type.__name__, caster.typecaster.name),
            caster.array_typecaster.name,
            (no_array.attnames, no_array.atttypes, no_array.array_typecaster),
            outcome(lambda: lib.extras.CompositeCaster("t", 1, [("1a", 23)])),
        ]

    differential(scenario)


composite_text = st.one_of(
    st.text(alphabet='()",\\ab1', max_size=16),
    st.lists(
        st.one_of(st.none(), st.text(alphabet='"\\,()a ', max_size=4)),
        min_size=1,
        max_size=4,
    ).map(
        lambda items: (
            "("
            + ",".join(
                "" if i is None else '"' + i.replace("\\", "\\\\").replace('"', '""') + '"' for i in items
            )
            + ")"
        )
    ),
)


@SETTINGS
@given(composite_text)
def test_composite_tokenize_matches_psycopg2_on_any_text(text: str) -> None:
    theirs = outcome(lambda: psycopg2.extras.CompositeCaster.tokenize(text))
    ours = outcome(lambda: fake_extras.CompositeCaster.tokenize(text))
    assert ours == theirs


# -------------------------------------------------------------------------------------------- json


def test_json_registration_like_psycopg2(dsn: str) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        seen: list[Any] = [lib.extras.Json is lib.json.Json, lib.extras.json is lib.json.json]
        conn = lib.psycopg2.connect(dsn)
        try:
            cur = conn.cursor()
            json_caster, array_caster = lib.extras.register_json(conn, loads=lambda s: ("loaded", s))
            seen.append((json_caster.name, array_caster.name, conn.status))
            cur.execute("""SELECT '{"a": [1, 2]}'::json, ARRAY['1'::json], '{"b": 1}'::jsonb""")
            seen.append(list(cur.fetchone()))
            lib.extras.register_json(cur, name="jsonb", loads=lambda s: ("jsonb", s))
            cur.execute("""SELECT '{"b": 1}'::jsonb""")
            seen.append(cur.fetchone())
            lib.extras.register_default_jsonb(conn, loads=lambda s: ("default", s))
            cur = conn.cursor()
            cur.execute("""SELECT '{"b": 1}'::jsonb""")
            seen.append(cur.fetchone())
            seen.append(
                cur.mogrify("SELECT %s, %s", (lib.extras.Json({"k": "it's"}), lib.extras.Json([None])))
            )
            seen.append(outcome(lambda: lib.extras.register_json(conn, name="gp_nosuchjson")))
        finally:
            conn.close()
        return seen

    differential(scenario)


# ---------------------------------------------------------------------------------- batch helpers


def test_execute_batch_and_values_send_psycopg2s_statements(dsn: str) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        seen: list[Any] = []
        extras = lib.extras
        conn = lib.psycopg2.connect(dsn)
        try:
            cur = conn.cursor()
            cur.execute("CREATE TEMPORARY TABLE gp_batch (id int, v text, d numeric, t timestamptz)")
            rows = [(i, None if i % 3 == 0 else f"v{i}'", Decimal(i) / 4, None) for i in range(7)]
            seen.append(extras.execute_batch(cur, "INSERT INTO gp_batch VALUES (%s, %s, %s, %s)", rows))
            seen.append((cur.query, cur.rowcount))
            extras.execute_batch(
                cur,
                "UPDATE gp_batch SET v = %(v)s WHERE id = %(id)s",
                ({"id": i, "v": f"new{i}"} for i in range(5)),
                page_size=2,
            )
            seen.append((cur.query, cur.rowcount))
            extras.execute_batch(cur, "SELECT %s", [], page_size=2)
            seen.append(cur.query)
            seen.append(outcome(lambda: extras.execute_batch(cur, "SELECT %s", [(1,)], page_size=0)))
            conn.rollback()

            cur.execute("CREATE TEMPORARY TABLE gp_values (id int, v text, d numeric)")
            seen.append(
                extras.execute_values(
                    cur,
                    "INSERT INTO gp_values VALUES %s",
                    [(i, f"it's {i}", Decimal("-1.5") * i) for i in range(5)],
                    page_size=2,
                )
            )
            seen.append((cur.query, cur.rowcount))
            result = extras.execute_values(
                cur,
                "INSERT INTO gp_values (id, v) VALUES %s RETURNING id, v, d",
                [{"id": 10, "v": "a"}, {"id": 11, "v": None}, {"id": 12, "v": "c"}],
                template="(%(id)s, %(v)s)",
                page_size=2,
                fetch=True,
            )
            seen.append((result, cur.query))
            seen.append(
                extras.execute_values(
                    cur,
                    b"SELECT * FROM (VALUES %s) AS t (a, b) WHERE b LIKE '%%x' ORDER BY a",
                    [(1, "ax"), (2, "b"), (3, "cx")],
                    fetch=True,
                )
            )
            seen.append(cur.query)
            seen.append(
                extras.execute_values(
                    cur,
                    lib.sql.SQL("SELECT * FROM (VALUES %s) AS {} (a) ORDER BY 1").format(
                        lib.sql.Identifier("t")
                    ),
                    iter([[3], [1], [2]]),
                    template=b"(%s + 0)",
                    page_size=2,
                    fetch=True,
                )
            )
            seen.append(cur.query)
            seen.append(extras.execute_values(cur, "SELECT %s", [], fetch=True))
            for bad in ("SELECT 1", "SELECT %s, %s", "SELECT %d", "SELECT %(x)s"):
                seen.append(outcome(lambda: extras.execute_values(cur, bad, [(1,)])))  # noqa: B023
            seen.append(outcome(lambda: extras.execute_values(cur, "SELECT %s", [(1,), (1, 2)])))
            conn.rollback()
            seen.append(
                outcome(lambda: extras.execute_values(cur, "SELECT * FROM nosuch WHERE x IN %s", [(1,)]))
            )
        finally:
            conn.close()
        return seen

    differential(scenario)


pages = st.tuples(st.lists(st.integers(), max_size=12), st.integers(1, 5))


@SETTINGS
@given(pages)
def test_paginate_like_psycopg2(case: tuple[list[int], int]) -> None:
    items, size = case
    assert list(fake_extras._paginate(items, size)) == list(psycopg2.extras._paginate(items, size))
    assert list(fake_extras._paginate(iter(items), page_size=size)) == list(
        psycopg2.extras._paginate(iter(items), page_size=size)
    )


@SETTINGS
@given(st.binary(max_size=20) | st.text(alphabet="%sd(x) \n", max_size=20).map(str.encode))
def test_split_sql_like_psycopg2(sql: bytes) -> None:
    assert outcome(lambda: fake_extras._split_sql(sql)) == outcome(lambda: psycopg2.extras._split_sql(sql))


# ----------------------------------------------------------------------------- waiting and helpers


class Pollster:
    """An object answering poll() with a fixed sequence, over a pipe that is readable and writable."""

    def __init__(self, states: list[int]) -> None:
        self.states = states
        self.read_end, self.write_end = os.pipe()
        os.write(self.write_end, b"x")
        self.polled = 0

    def poll(self) -> int:
        self.polled += 1
        return self.states.pop(0)

    def fileno(self) -> int:
        return self.read_end

    def close(self) -> None:
        os.close(self.read_end)
        os.close(self.write_end)

    class OperationalError(Exception):
        pass


def test_wait_select_like_psycopg2(dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        seen: list[Any] = []
        conn = lib.psycopg2.connect(dsn)
        try:
            seen.append(lib.extras.wait_select(conn))
            cur = conn.cursor()
            cur.execute("SELECT 1")
            seen.append(cur.fetchone())
        finally:
            conn.close()
        pollster = Pollster([1, 1, 0])
        seen.append((lib.extras.wait_select(pollster), pollster.polled))
        pollster.close()
        pollster = Pollster([1, 7])
        seen.append(outcome(lambda: lib.extras.wait_select(pollster)))
        pollster.close()
        return seen

    monkeypatch.setattr(select, "select", lambda r, w, x, *timeout: (r, w, x))
    differential(scenario)


def test_solve_conn_curs_like_psycopg2(dsn: str) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        conn = lib.psycopg2.connect(dsn, connection_factory=lib.extras.DictConnection)
        try:
            from_conn = lib.extras._solve_conn_curs(conn)
            from_curs = lib.extras._solve_conn_curs(conn.cursor())
            return [
                (from_conn[0] is conn, type(from_conn[1]).__name__),
                (from_curs[0] is conn, type(from_curs[1]).__name__),
                outcome(lambda: lib.extras._solve_conn_curs(None)),
            ]
        finally:
            conn.close()

    differential(scenario)


# ------------------------------------------------------------------------------------------ names


def test_public_names_and_star_import_are_psycopg2s() -> None:
    theirs = {name for name in dir(psycopg2.extras) if not name.startswith("__")}
    ours = {name for name in dir(fake_extras) if not name.startswith("__")}
    assert theirs <= ours
    star_theirs: dict[str, Any] = {}
    star_ours: dict[str, Any] = {}
    exec("from psycopg2.extras import *", star_theirs)
    exec("from greenpsyco.fake_psycopg2.extras import *", star_ours)
    assert sorted(star_ours) == sorted(star_theirs)
    assert fake_extras.psycopg2 is fake
    assert vars(fake_extras)["_ext"] is fake_ext
    assert vars(fake_extras)["_cursor"] is fake_ext.cursor
    assert vars(fake_extras)["_connection"] is fake_ext.connection
    assert (fake_extras.REPLICATION_PHYSICAL, fake_extras.REPLICATION_LOGICAL) == (
        psycopg2.extras.REPLICATION_PHYSICAL,
        psycopg2.extras.REPLICATION_LOGICAL,
    )
    assert fake_extras._re_clean.pattern == psycopg2.extras._re_clean.pattern


def test_classes_report_psycopg2s_modules_and_bases() -> None:
    for name in dir(psycopg2.extras):
        theirs = getattr(psycopg2.extras, name)
        if not isinstance(theirs, type) or name in ("OrderedDict",):
            continue
        ours = getattr(fake_extras, name)
        assert (ours.__module__, ours.__name__) == (theirs.__module__, theirs.__name__), name
        assert [(c.__module__, c.__name__) for c in ours.__mro__] == [
            (c.__module__, c.__name__) for c in theirs.__mro__
        ], name
    for name in ("register_hstore", "execute_values", "execute_batch", "register_uuid", "wait_select"):
        assert getattr(fake_extras, name).__module__ == "psycopg2.extras"


def test_replication_is_refused_clearly(dsn: str) -> None:
    for cls in (fake_extras.LogicalReplicationConnection, fake_extras.PhysicalReplicationConnection):
        with pytest.raises(fake.NotSupportedError, match="streaming replication is not supported"):
            cls(dsn)
    conn = fake.connect(dsn)
    try:
        with pytest.raises(fake.NotSupportedError, match="ReplicationCursor"):
            conn.cursor(cursor_factory=fake_extras.ReplicationCursor)
    finally:
        conn.close()
    with pytest.raises(fake.NotSupportedError):
        fake_extras.ReplicationMessage()
    assert not issubclass(fake_extras.StopReplication, fake.Error)
    assert issubclass(fake_extras.StopReplication, Exception)
