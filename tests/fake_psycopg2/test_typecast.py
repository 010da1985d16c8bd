"""Typecasting against the real psycopg2 (the oracle) on the real server.

* a corpus of SQL expressions, fetched by psycopg2 and by greenpsyco's wire driver then cast with
  ``row_caster``: same values, same Python types, same tzinfo, same exceptions, under several TimeZone,
  DateStyle, IntervalStyle, bytea_output and client_encoding settings and three ``tzinfo_factory`` kinds;
* the builtin casters and the global registry are psycopg2's (names, values, keys, order);
* the registry API (``new_type``, ``new_array_type``, ``register_type``, scopes and precedence, the caster
  type's behaviour and argument errors) behaves as psycopg2's;
* direct caster calls on odd strings (the C parsers' quirks) give psycopg2's results;
* hypothesis: random nested text arrays round-trip through the server, and random array literals parse
  as psycopg2 parses them.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
import timeit
import zoneinfo
from collections.abc import Callable, Iterator
from typing import Any

import psycopg2
import psycopg2._psycopg as p2
import psycopg2.extensions as pext
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenpsyco.fake_psycopg2 import _typecast as ours
from greenpsyco.fake_psycopg2._exceptions import Error
from greenpsyco.testing import TestServer
from greenpsyco.wire.io_blocking import BlockingConnection

CLEAN_ENV = {"HOME": "/nonexistent"}
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


class StubConnection:
    """The connection contract ``_typecast`` relies on."""

    def __init__(self, py_encoding: str = "utf_8") -> None:
        self.string_types: dict[Any, Any] = {}
        self._py_encoding = py_encoding


class StubCursor:
    """The cursor contract ``_typecast`` relies on (psycopg2's defaults)."""

    def __init__(self, connection: StubConnection | None, tzinfo_factory: Any = dt.timezone) -> None:
        self.connection = connection
        self.string_types: dict[Any, Any] | None = None
        self.tzinfo_factory = tzinfo_factory

    def __repr__(self) -> str:
        return "<cursor>"


# -- comparing outcomes ----------------------------------------------------------------------------


def normalise(value: Any) -> Any:
    """A comparable, printable form: repr carries type, value, tzinfo; memoryviews become their bytes."""
    if isinstance(value, memoryview):
        return ("memoryview", value.format, value.readonly, value.tobytes())
    if isinstance(value, list | tuple):
        return (type(value).__name__, [normalise(v) for v in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__module__, type(value).__qualname__, repr(value))


def outcome(fn: Callable[[], Any]) -> Any:
    try:
        return normalise(fn())
    except Exception as exc:
        return ("raised", type(exc).__name__, str(exc))


# -- the two sides -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg2(pg_server: TestServer) -> Iterator[Any]:
    conn = psycopg2.connect(pg_server.dsn())
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def wire(pg_server: TestServer) -> Iterator[BlockingConnection]:
    conn = BlockingConnection.connect(pg_server.dsn(), environ=CLEAN_ENV)
    yield conn
    conn.close()


def json_caster(name: str, oid: int, array_oid: int) -> list[Any]:
    """What psycopg2's ``_json`` registers at import, built with our ``new_type``/``new_array_type``."""

    def loads(s: str | None, cur: Any) -> Any:
        return None if s is None else json.loads(s)

    base = ours.new_type((oid,), name, loads)
    return [base, ours.new_array_type((array_oid,), f"{name}ARRAY", base)]


JSON_CASTERS = json_caster("JSON", 114, 199) + json_caster("JSONB", 3802, 3807)


class Session:
    """One server configuration applied to both connections, and a way to fetch through each side."""

    def __init__(self, pg2: Any, wire: BlockingConnection, setup: str, encoding: str = "UTF8") -> None:
        self.pg2 = pg2
        self.wire = wire
        cur = pg2.cursor()
        cur.execute("RESET ALL")
        pg2.set_client_encoding(encoding)
        cur.execute(setup)
        wire.execute(f"RESET ALL; SET client_encoding = '{encoding}'; {setup}")
        self.py_encoding = pext.encodings[pg2.encoding]
        self.extra_pg2: list[Any] = []
        self.extra_ours: list[Any] = []

    def register(self, theirs: Any, mine: Any) -> None:
        """A connection-scoped caster on both sides (kept out of the global registries)."""
        self.extra_pg2.append(theirs)
        self.extra_ours.append(mine)

    def fetch_pg2(self, sql: str, factory: Any) -> Any:
        cur = self.pg2.cursor()
        for caster in self.extra_pg2:
            pext.register_type(caster, cur)
        cur.tzinfo_factory = factory
        cur.execute(sql)
        return outcome(cur.fetchall)

    def fetch_ours(self, sql: str, factory: Any) -> Any:
        conn = StubConnection(self.py_encoding)
        for caster in (*JSON_CASTERS, *self.extra_ours):
            ours.register_type(caster, conn)
        cursor = StubCursor(conn, factory)
        [result] = self.wire.execute(sql)
        assert result.description is not None
        caster = ours.row_caster([f.type_oid for f in result.description], cursor)
        return outcome(lambda: [caster(row) for row in result.rows])

    def mismatches(self, corpus: list[str], factories: tuple[Any, ...] = (dt.timezone, None)) -> list[str]:
        found = []
        for expr in corpus:
            sql = f"SELECT {expr}"
            for factory in factories:
                theirs = self.fetch_pg2(sql, factory)
                mine = self.fetch_ours(sql, factory)
                if theirs != mine:
                    found.append(f"{sql!r} factory={factory!r}\n  psycopg2: {theirs}\n  ours:     {mine}")
        return found


# -- the corpus --------------------------------------------------------------------------------------

SCALARS = [
    "NULL",
    "NULL::int",
    "true",
    "false",
    "NULL::bool",
    "1::int2",
    "(-32768)::int2",
    "2147483647::int4",
    "(-2147483648)::int4",
    "9223372036854775807::int8",
    "(-9223372036854775808)::int8",
    "0::int8",
    "42::oid",
    "4294967295::oid",
    "1.5::float4",
    "0.1::float4",
    "3.4e38::float4",
    "1.17549435e-38::float4",
    "0.1::float8",
    "123456789.123::float8",
    "1e308::float8",
    "5e-324::float8",
    "'NaN'::float8",
    "'Infinity'::float8",
    "'-Infinity'::float4",
    "(-0.0)::float8",
    "1.10::numeric",
    "'NaN'::numeric",
    "'Infinity'::numeric",
    "'-Infinity'::numeric",
    "1e-20::numeric",
    "123::numeric(10,2)",
    "1e1000::numeric",
    "'-0'::numeric",
    "(-123.456)::numeric",
    "0.000001::numeric",
    "12.34::money",
    "'abc'::text",
    "''::text",
    "'ab'::varchar(10)",
    "'ab'::char(5)",
    "'x'::\"char\"",
    "'n'::name",
    "'hi'",
    "'hi'::unknown",
    "'héllo wörld ✓ 日本語 🎉'::text",
    "E'tab\\there\\nnew line'",
    "'quote''s \"double\" back\\slash'",
    "repeat('xy', 5000)",
    "'\\x00ff41'::bytea",
    "''::bytea",
    "'\\x'::bytea",
    "'abc'::bytea",
    "'\\\\'::bytea",
    "'a\\000b'::bytea",
    "(SELECT decode(string_agg(lpad(to_hex(i), 2, '0'), ''), 'hex') FROM generate_series(0, 255) i)",
    "'2024-02-29'::date",
    "'infinity'::date",
    "'-infinity'::date",
    "'0044-03-15 BC'::date",
    "'0001-01-01 BC'::date",
    "'10000-01-01'::date",
    "'0001-01-01'::date",
    "'9999-12-31'::date",
    "'1582-10-15'::date",
    "'13:14:15.123456'::time",
    "'24:00:00'::time",
    "'00:00:00'::time",
    "'23:59:59.999999'::time",
    "'13:14:15.1234567'::time",
    "'13:14:15+05:30'::timetz",
    "'12:00:00-12:34:56'::timetz",
    "'00:00:00+00'::timetz",
    "'24:00:00-15:59'::timetz",
    "'10:00:00.5+00:00:01'::timetz",
    "'2024-02-29 13:14:15.5'::timestamp",
    "'infinity'::timestamp",
    "'-infinity'::timestamp",
    "'10000-01-01 00:00'::timestamp",
    "'0001-01-01 BC'::timestamp",
    "'4713-11-24 00:00 BC'::timestamp",
    "'1999-12-31 23:59:59.999999'::timestamp",
    "'2000-01-01'::timestamp",
    "'0001-01-01 00:00:00'::timestamp",
    "'2024-02-29 13:14:15.5+00'::timestamptz",
    "'2024-07-01 00:00:00+00'::timestamptz",
    "'2024-03-31 01:30:00+00'::timestamptz",
    "'1900-01-01 00:00:00+00'::timestamptz",
    "'1850-06-01 12:00:00+00'::timestamptz",
    "'1937-07-01 00:00:00+00'::timestamptz",
    "'infinity'::timestamptz",
    "'-infinity'::timestamptz",
    "'2024-01-01 10:00:00.999999+14'::timestamptz",
    "'0001-01-01 00:00:00+00'::timestamptz",
    "'0044-03-15 12:00:00+00 BC'::timestamptz",
    "'10000-01-01 00:00:00+00'::timestamptz",
    "'1 year 2 mons 3 days 04:05:06.789'::interval",
    "'-1 day +02:00'::interval",
    "'-00:00:01'::interval",
    "'1000000 days'::interval",
    "'1 mon'::interval",
    "'1 year'::interval",
    "'1.5 months'::interval",
    "'-1 year -2 mons +3 days -04:05:06'::interval",
    "'178000000 years'::interval",
    "'-178000000 years'::interval",
    "'0'::interval",
    "'00:00:00.000001'::interval",
    "'-00:00:00.000001'::interval",
    "'2562047788:00:54.775807'::interval",
    "'-2562047788:00:54.775807'::interval",
    "'2147483647 days'::interval",
    "'-2147483648 days'::interval",
    "'999999999 days 23:59:59.999999'::interval",
    "'1 week'::interval",
    "'0.5 seconds'::interval",
    "'1 day 25:00:00'::interval",
    "'100 years 11 mons'::interval",
    "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid",
    "'192.168.0.1/24'::inet",
    "'::1'::inet",
    "'10.0.0.0/8'::cidr",
    "'08:00:2b:01:02:03'::macaddr",
    "'08:00:2b:01:02:03:04:05'::macaddr8",
    "'<a/>'::xml",
    "B'101'",
    "B'101'::varbit",
    "'(1,2)'::point",
    "'((0,0),(1,1))'::box",
    "'<(1,2),3>'::circle",
    "'a b'::tsvector",
    "'a & b'::tsquery",
    "'pg_class'::regclass",
    "'int4'::regtype",
    "row(1, 'a', NULL)",
    "pg_sleep(0)",
    "'0/16B3748'::pg_lsn",
    "'{\"a\": [1, 2.5, null]}'::json",
    "'{\"b\": true}'::jsonb",
    "'3'::jsonb",
    "'\"s\"'::jsonb",
    "'null'::json",
]

ARRAYS = [
    "ARRAY[1,2,NULL]::int[]",
    "'{}'::int[]",
    "'{}'::text[]",
    "ARRAY[[1,2],[3,4]]",
    "ARRAY[[[1,2],[3,4]],[[5,6],[7,8]]]",
    "ARRAY[NULL]::int[]",
    "ARRAY[1::int2, (-32768)::int2]",
    "ARRAY[9223372036854775807, -9223372036854775808]::int8[]",
    "ARRAY[1::oid, 4294967295::oid]",
    "ARRAY['a','b c','q\"uote','back\\slash',NULL,'NULL','']::text[]",
    "ARRAY['null', 'Null', 'NULL', NULL]::text[]",
    "ARRAY['', ' ', '  a  ', E'\\t', E'x\\ny']::text[]",
    "ARRAY['a,b', 'c}d', '{e}', 'f\"g', 'h\\\\i', '{}', 'j k', ',', '}', '\"']::text[]",
    "ARRAY['héllo', '日本', '🎉']::text[]",
    "ARRAY[['a', NULL], [NULL, 'b\"']]::text[]",
    "ARRAY[true,false,NULL]",
    "ARRAY[1.5,NULL,'NaN','Infinity','-Infinity']::numeric[]",
    "ARRAY[1.5,'NaN','Infinity','-Infinity',-0.0]::float8[]",
    "ARRAY[1.5,'NaN']::float4[]",
    "ARRAY['2024-01-01'::date, NULL]",
    "ARRAY['infinity'::date]",
    "ARRAY['2024-01-01'::date, '0044-01-01 BC'::date]",
    "ARRAY['2024-01-01 10:00'::timestamp, '2024-01-01 10:00:00.5'::timestamp]",
    "ARRAY['infinity'::timestamp]",
    "ARRAY['2024-01-01 10:00+00'::timestamptz, '1900-01-01 00:00+00'::timestamptz, NULL]",
    "ARRAY['-infinity'::timestamptz]",
    "ARRAY['1 day'::interval, '-1 year -2 mons +3 days -04:05:06.5'::interval, NULL]",
    "ARRAY['10:00'::time, '24:00:00'::time]",
    "ARRAY['10:00+05:30'::timetz]",
    "ARRAY['\\x01'::bytea, '\\x'::bytea, NULL, 'a\\\\b'::bytea]",
    "ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid]",
    "ARRAY['1.2.3.4'::inet, NULL]",
    "ARRAY['10.0.0.0/8'::cidr]",
    "ARRAY['08:00:2b:01:02:03'::macaddr]",
    "ARRAY['{\"a\":1}'::jsonb, NULL]",
    'ARRAY[\'{"a":"x,}"}\'::json]',
    "ARRAY['x'::varchar, 'y z'::varchar]",
    "ARRAY['x'::char(2)]",
    "ARRAY['x'::\"char\"]",
    "ARRAY['n'::name]",
    "ARRAY[1::money]",
    "ARRAY['(1,2)'::point]",
    "ARRAY['((0,0),(1,1))'::box, '((2,2),(3,3))'::box]",
    "ARRAY[B'101']",
    "'[0:1]={1,2}'::int[]",
    "'[2:3][-1:0]={{a,b},{c,d}}'::text[]",
    "'[-5:-5]={\"x y\"}'::text[]",
    "(SELECT array_agg(i) FROM generate_series(1, 1000) i)",
    "(SELECT array_agg(i::text || ',\"' || i) FROM generate_series(1, 300) i)",
    "(SELECT array_agg(('2024-01-01'::timestamptz + i * interval '1 hour')) FROM generate_series(1, 50) i)",
]

CORPUS = SCALARS + ARRAYS


def test_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 150


SESSIONS = {
    "utc": "SET TimeZone = 'UTC'",
    "paris": "SET TimeZone = 'Europe/Paris'",
    "kolkata": "SET TimeZone = 'Asia/Kolkata'",
    "amsterdam": "SET TimeZone = 'Europe/Amsterdam'",
    "st_johns": "SET TimeZone = 'America/St_Johns'",
    "chatham": "SET TimeZone = 'Pacific/Chatham'",
    "offset_posix": "SET TimeZone = '<+0530>-05:30'",
    "sao_paulo": "SET TimeZone = 'America/Sao_Paulo'",
    "bytea_escape": "SET bytea_output = 'escape'",
    "iso_dmy": "SET DateStyle = 'ISO, DMY'",
    "sql_dmy": "SET DateStyle = 'SQL, DMY'; SET TimeZone = 'Europe/Paris'",
    "postgres_mdy": "SET DateStyle = 'Postgres, MDY'",
    "german": "SET DateStyle = 'German'",
    "sql_standard": "SET IntervalStyle = 'sql_standard'",
    "postgres_verbose": "SET IntervalStyle = 'postgres_verbose'",
    "iso_8601": "SET IntervalStyle = 'iso_8601'",
    "extra_float_digits": "SET extra_float_digits = 0",
}


@pytest.mark.parametrize("session", SESSIONS)
def test_corpus_matches_psycopg2(pg2: Any, wire: BlockingConnection, session: str) -> None:
    s = Session(pg2, wire, SESSIONS[session])
    assert s.mismatches(CORPUS) == []


def test_django_style_tzinfo_factory(pg2: Any, wire: BlockingConnection) -> None:
    """USE_TZ=True: Django attaches its zone whatever the offset (called once per value)."""
    s = Session(pg2, wire, "SET TimeZone = 'Europe/Paris'")
    corpus = [sql for sql in CORPUS if "timestamptz" in sql or "timetz" in sql]

    def factory(offset: dt.timedelta) -> dt.tzinfo:
        assert isinstance(offset, dt.timedelta)
        return PARIS

    assert s.mismatches(corpus, factories=(factory,)) == []


@pytest.mark.parametrize(
    ("encoding", "text"), [("LATIN1", "héllo ÿ"), ("WIN1252", "€ café"), ("SQL_ASCII", "plain")]
)
def test_client_encodings(pg2: Any, wire: BlockingConnection, encoding: str, text: str) -> None:
    s = Session(pg2, wire, "SET TimeZone = 'UTC'", encoding=encoding)
    lit = text.replace("'", "''")
    corpus = [f"'{lit}'::text", f"ARRAY['{lit}', NULL, 'a\"b']::text[]", f"'{lit}'::varchar", "'x'::name"]
    assert s.mismatches(corpus) == []


def test_registered_box_array_splits_on_commas_as_psycopg2(pg2: Any, wire: BlockingConnection) -> None:
    """box[] uses ';' between elements; psycopg2's parser only knows ',' and splits inside the boxes."""
    s = Session(pg2, wire, "SET TimeZone = 'UTC'")
    s.register(
        pext.new_array_type((1020,), "BOXARRAY", pext.UNICODE),
        ours.new_array_type((1020,), "BOXARRAY", ours.UNICODE),
    )
    corpus = ["ARRAY['((0,0),(1,1))'::box, '((2,2),(3,3))'::box]", "ARRAY[]::box[]", "ARRAY[NULL::box]"]
    assert s.mismatches(corpus) == []


def test_python_casters_see_decoded_text_and_null(pg2: Any, wire: BlockingConnection) -> None:
    def theirs(s: str | None, cur: Any) -> Any:
        return ("cast", s, type(cur).__name__ == "cursor")

    def mine(s: str | None, cur: Any) -> Any:
        return ("cast", s, isinstance(cur, StubCursor))

    s = Session(pg2, wire, "SET TimeZone = 'UTC'")
    t_base, o_base = pext.new_type((25, 23), "T", theirs), ours.new_type((25, 23), "T", mine)
    s.register(t_base, o_base)
    s.register(
        pext.new_array_type((1009, 1007), "TA", t_base), ours.new_array_type((1009, 1007), "TA", o_base)
    )
    corpus = [
        "'héllo'::text",
        "NULL::text",
        "1",
        "ARRAY['a', NULL, 'b\"c']::text[]",
        "ARRAY[[1],[NULL]]::int[]",
    ]
    assert s.mismatches(corpus) == []


def test_unknown_oids_fall_back_to_text(pg2: Any, wire: BlockingConnection) -> None:
    s = Session(pg2, wire, "SET TimeZone = 'UTC'")
    corpus = ["ARRAY['(1,2)'::point]", "'1 2'::int2vector", "'1 2'::oidvector"]
    assert s.mismatches(corpus) == []


# -- the builtins and the global registry ---------------------------------------------------------------


def builtin_names(module: Any) -> list[str]:
    return sorted(
        n for n in dir(module) if n.isupper() and n[0] != "_" and type(getattr(module, n)).__name__ == "type"
    )


def test_builtin_casters_are_psycopg2s() -> None:
    # psycopg2._psycopg also holds JSON/JSONB after ``import psycopg2.extensions`` (registered by _json).
    theirs = [n for n in builtin_names(p2) if not n.startswith("JSON")]
    assert builtin_names(ours) == theirs
    for name in theirs:
        mine, orig = getattr(ours, name), getattr(p2, name)
        assert (mine.name, mine.values) == (orig.name, orig.values), name
        assert type(mine.values) is tuple


def test_global_registry_starts_with_what_the_c_extension_registers_in_its_order() -> None:
    """The 47 C-level entries come first; JSON/JSONB and the ranges are added by the modules owning them
    (psycopg2.extensions, _json, _range), which may already have run in this process."""
    owned_elsewhere = {114, 199, 3802, 3807} | set(range(3904, 3914)) | {3926, 3927}
    theirs = [(k, v.name) for k, v in pext.string_types.items() if k not in owned_elsewhere]
    assert len(theirs) == 47
    assert [(k, v.name) for k, v in ours.string_types.items()][:47] == theirs
    assert set(ours.string_types) - set(pext.string_types) == set()
    assert ours.binary_types == pext.binary_types == {}
    assert type(ours.string_types) is dict


def test_caster_type_looks_like_psycopg2s() -> None:
    t_type, o_type = type(pext.INTEGER), type(ours.INTEGER)
    assert (o_type.__name__, o_type.__qualname__, o_type.__module__) == ("type", "type", "psycopg2._psycopg")
    assert o_type.__doc__ == t_type.__doc__
    assert dir(ours.INTEGER) == dir(pext.INTEGER)
    assert re.fullmatch(r"<psycopg2\._psycopg\.type 'INTEGER' at 0x[0-9a-f]+>", repr(ours.INTEGER))
    assert ours.INTEGER.__hash__ is None
    assert ours.INTEGER.values is ours.INTEGER.values


# -- direct calls: the C parsers and the caster type -----------------------------------------------------

DIRECT = [
    "p.INTEGER == 23",
    "p.INTEGER == '23'",
    "p.INTEGER == 'abc'",
    "p.INTEGER == b'23'",
    "p.INTEGER == p.NUMBER",
    "p.INTEGER != p.NUMBER",
    "p.INTEGER > p.NUMBER",
    "p.INTEGER >= 23",
    "p.INTEGER <= 22",
    "p.INTEGER == 2**70",
    "p.INTEGER == True",
    "p.INTEGER == 23.7",
    "p.INTEGER == None",
    "p.INTEGER == [23]",
    "23 == p.INTEGER",
    "23 in [p.INTEGER]",
    "p.STRING == 25",
    "p.STRING == p.UNICODE",
    "p.NUMBER.values == (20, 23, 21, 701, 700, 1700)",
    "p.DATETIME == 1184",
    "p.new_type(('a',), 'X') == 1",
    "p.new_type((), 'X') == 1",
    "type(p.INTEGER)()",
    "setattr(p.INTEGER, 'name', 'x')",
    "setattr(p.INTEGER, 'foo', 'x')",
    "delattr(p.INTEGER, 'values')",
    "__import__('pickle').dumps(p.INTEGER)",
    "__import__('copy').copy(p.INTEGER)",
    "repr(p.new_type((1,)))",
    "repr(p.new_type((1,), '\\ud800'))",
    "p.INTEGER('1')",
    "p.INTEGER('1', None, 3)",
    "p.INTEGER(value='1', cursor=None)",
    "p.INTEGER('1', C, x=1)",
    "p.INTEGER(1, None)",
    "p.INTEGER(bytearray(b'1'), None)",
    "p.INTEGER(memoryview(b'1'), None)",
    "p.INTEGER(None, None)",
    "p.INTEGER('\\ud800', None)",
    "p.INTEGER(' +1 ', None)",
    "p.INTEGER('0x10', None)",
    "p.INTEGER('010', None)",
    "p.INTEGER('', None)",
    "p.INTEGER('1\\x00x', None)",
    "p.INTEGER('1'*23, None)",
    "p.INTEGER('1'*24, None)",
    "p.INTEGER('\\xe9', None)",
    "p.INTEGER(b'\\xff', None)",
    "p.NUMBER('1', None)",
    "p.ROWID('7', None)",
    "p.FLOAT(' 1.5 ', None)",
    "p.FLOAT('\\u0663', None)",
    "p.FLOAT('1\\x002', None)",
    "p.FLOAT('x', None)",
    "p.DECIMAL('1\\x002', None)",
    "p.DECIMAL('\\u0663', None)",
    "p.DECIMAL('sNaN', None)",
    "p.DECIMAL('x', None)",
    "p.BOOLEAN('T', None)",
    "p.BOOLEAN('false', None)",
    "p.BOOLEAN('', None)",
    "p.BOOLEAN('x\\x00y', None)",
    "p.BYTES('x', None)",
    "p.UNKNOWN(b'a', None)",
    "p.BINARY('\\\\x4g1', None)",
    "p.BINARY('\\\\x41 42', None)",
    "p.BINARY('\\\\x414', None)",
    "p.BINARY(b'\\\\x\\xc1\\xb1', None)",
    "p.BINARY('a\\\\\\\\b\\\\001\\\\x', None)",
    "p.BINARY('a\\\\', None)",
    "p.BINARY('ab\\\\400', None)",
    "p.BINARY('A', None)[0]",
    "p.DATE('2020-01-01 BC', None)",
    "p.DATE('9999999999-01-01', None)",
    "p.DATE('Wed Jan 01', None)",
    "p.DATE('01-02-2020', None)",
    "p.DATE('2020-01', None)",
    "p.DATE('-2020-01-01', None)",
    "p.DATE('infinity ', None)",
    "p.DATE('infinity\\x00x', None)",
    "p.DATETIME('2020-01-01 24:00:00', None)",
    "p.DATETIME('2020-01-01 10:00:60', None)",
    "p.DATETIME('2020-01-01 10:59:60', None)",
    "p.DATETIME('2020-01-01T10:00:00', None)",
    "p.DATETIME('2020-01-01 10:00', None)",
    "p.DATETIME('2020-01-01 10:00:00.1234567', None)",
    "p.DATETIME('Wed Jan 01 10:00:00.5 2020', None)",
    "p.DATETIME('2020-1-1 1:2:3', None)",
    "p.DATE('2020-02-30', None)",
    "p.DATE('0000-01-01', None)",
    "p.DATETIME('2020-02-30 10:00:00', None)",
    "p.DATETIME('2020-01-01 10:00:00.12', None)",
    "p.DATETIMETZ('2020-01-01 10:00:00+25', None)",
    "p.DATETIMETZ('2020-01-01 10:00:00.5-03:06:28', None)",
    "p.DATETIMETZ('2020-01-01 10:00:00+0530', None)",
    "p.DATETIMETZ('2020-01-01T10:00:00+05:30', None)",
    "p.DATETIMETZ('2020-01-01 10:00:00Z', None)",
    "p.DATETIMETZ('2020-01-01 10:00:00,5+01', None)",
    "p.DATETIMETZ('infinity', None)",
    "p.DATETIMETZ('0044-03-15 10:00:00+00 BC', None)",
    "p.TIME('10:00:00+25', None)",
    "p.TIME('23:59:59.999999-15:59', None)",
    "p.TIME('24:00:00+01', None)",
    "p.TIME('10:00:00+0530', None)",
    "p.DATETIMETZARRAY('{\"2020-01-01 10:00:00+01\",infinity}', None)",
    "p.TIMEARRAY('{10:00:00+01,\"24:00:00-02\"}', None)",
    "p.TIME('10:00:00:00', None)",
    "p.TIME('ab:cd:ef', None)",
    "p.TIME('10:00', None)",
    "p.TIME('-10:00:00', None)",
    "p.TIME('10:00:00.0000001', None)",
    "p.INTERVAL('P1D', None)",
    "p.INTERVAL('123', None)",
    "p.INTERVAL('abc', None)",
    "p.INTERVAL('010', None)",
    "p.INTERVAL('99999999999999999999', None)",
    "p.INTERVAL('1 day 2147483648', None)",
    "p.INTERVAL('178000000 years', None)",
    "p.INTERVAL('999999999 days 24:00:00', None)",
    "p.INTERVAL('00:00:00.0000025', None)",
    "p.INTERVAL('00:00:00.00000049999999', None)",
    "p.INTERVAL('00:00:00.1234567895', None)",
    "p.INTERVAL('@ 1 year 2 mons 3 days 4 hours 5 mins 6.7 secs ago', None)",
    "p.INTERVAL('+1-2 +3 +4:05:06.789', None)",
    "p.INTERVAL('1 mins', None)",
    'p.STRINGARRAY(\'{"a\\\\"b","c\\\\\\\\d",NULL,"NULL",null,nUlL}\', None)',
    "p.STRINGARRAY('[2:3][1:1]={{a},{b}}', None)",
    "p.STRINGARRAY('[2:3]={a,b}', None)",
    "p.STRINGARRAY('[]={', None)",
    "p.STRINGARRAY('{', None)",
    "p.STRINGARRAY('x', None)",
    "p.STRINGARRAY('{a}}', None)",
    "p.STRINGARRAY('{a}x', None)",
    "p.STRINGARRAY('{{a}', None)",
    "p.STRINGARRAY('{a,{b}}', None)",
    "p.STRINGARRAY('{\"a}', None)",
    "p.STRINGARRAY('{\"}', None)",
    "p.STRINGARRAY('{a\\\\}', None)",
    "p.STRINGARRAY('{ a , b }', None)",
    "p.STRINGARRAY('{a,}', None)",
    "p.STRINGARRAY('{,}', None)",
    "p.STRINGARRAY('{\"a\"b}', None)",
    'p.STRINGARRAY(\'{"a" , "b"}\', None)',
    "p.STRINGARRAY('{\\\\NULL}', None)",
    "p.STRINGARRAY('{' * 17 + 'a' + '}' * 17, None)",
    "p.STRINGARRAY('{' * 18 + 'a' + '}' * 18, None)",
    "p.STRINGARRAY('{(1,2),(0,0);(3,4),(1,1)}', None)",
    "p.BYTESARRAY('{a\\\\,,b}', None)",
    "p.BYTESARRAY('{a\\\\,}b,c}', None)",
    'p.BYTESARRAY(b\'{\\xff,"a\\\\"b"}\', None)',
    "p.BOOLEANARRAY('{t,x}', None)",
    "p.BOOLEANARRAY('{\"\",t}', None)",
    'p.BINARYARRAY(\'{"\\\\\\\\x41",\\\\\\\\x42,"\\\\\\\\",\\\\\\\\\\\\\\\\}\', None)',
    "p.DATEARRAY('{2020-01-01,infinity}', None)",
    "p.DATEARRAY('{infinit\\\\y}', None)",
    "p.INTERVALARRAY('{123}', None)",
    "p.INTERVALARRAY('{12\\\\3}', None)",
    "p.INTEGERARRAY('{' + '1'*24 + '}', None)",
    "p.new_array_type((1,), 'A', p.new_array_type((1,), 'B', p.INTEGER))('{\"{1,2}\",\"{3}\"}', None)",
    "p.new_array_type((1,), 'A', p.STRINGARRAY)('{{a,b},{c}}', None)",
    "p.new_array_type((1,), 'A', p.new_type((1,), 'X'))('{a}', None)",
    "p.new_type((1,), 'X')('a', None)",
    "p.new_type((1,), 'X')(None, None)",
    "p.new_type((1,), 'X', 5)('a', None)",
    "p.new_type((1,), 'X', lambda s, c: (s, c is C))(b'a', None)",
    "p.new_type((1,), 'X', lambda s, c: (s, c is C))(b'\\xff', None)",
    "p.new_type((1,), 'X', None, p.INTEGER)('{1}', None)",
    "p.new_type()",
    "p.new_type([1], 'X')",
    "p.new_type((1,), b'X')",
    "p.new_type((1,), 'X', None, None, None)",
    "p.new_type((1,), 'X', foo=1)",
    "p.new_type((1,), values=(1,))",
    "p.new_type(foo=1, bar=2, baz=3, a=4, b=5)",
    "p.new_type(values=(1,)).name",
    "p.new_array_type((1,))",
    "p.new_array_type((1,), 'X', 5)",
    "p.new_array_type((1,), None, p.INTEGER)",
    "p.new_array_type((1,), 'x', foo=1)",
    "p.new_array_type((1,), 'X', p.INTEGER, 3)",
    "p.register_type()",
    "p.register_type(5)",
    "p.register_type(p.INTEGER, 5)",
    "p.register_type(p.INTEGER, None, 3)",
    "p.register_type(obj=p.INTEGER)",
    "p.register_type(p.new_type(([],), 'X'), None)",
]


@pytest.mark.parametrize("expr", DIRECT)
def test_direct_calls_match_psycopg2(pg2: Any, expr: str) -> None:
    """Casters called by hand, given a cursor (psycopg2 may crash when given None instead)."""
    expr = expr.replace(", None)", ", C)")
    mine = outcome(lambda: eval(expr, {"p": ours, "C": StubCursor(StubConnection())}))
    theirs = outcome(lambda: eval(expr, {"p": p2, "C": pg2.cursor()}))
    assert _addresses(mine) == _addresses(theirs)


def _addresses(value: Any) -> str:
    text = re.sub(r"<cursor object at 0x[0-9a-f]+; closed: 0>", "<cursor>", repr(value))
    return re.sub(r"0x[0-9a-f]+", "0x", text)


# -- the registry API, scopes and precedence --------------------------------------------------------------


def scope_probe(mod: Any, conn: Any, cur: Any, other: Any, cast: Any, cast_other: Any) -> tuple[Any, ...]:
    """Register at the three scopes through ``mod`` and report what each lookup finds."""
    saved = dict(mod.string_types)
    log: list[Any] = []

    def caster(tag: str) -> Callable[[Any, Any], Any]:
        def cast_value(s: Any, c: Any) -> Any:
            log.append((tag, s))
            return (tag, s)

        return cast_value

    try:
        mod.register_type(mod.new_type((999001,), "G", caster("global")))
        mod.register_type(mod.new_type((999001, 999002), "C", caster("conn")), conn)
        mod.register_type(mod.new_type((999001,), "K", caster("cursor")), cur)
        return (
            cast(999001, "a"),
            cast(999002, "b"),
            cast_other(999001, "c"),
            cast(999003, "d"),
            cast(999001, None),
            cast(23, b"5"),
            cast(1700, None),
            cast("23", "1"),
            cast(23.0, "7"),
            cast([], "x"),
            sorted(cur.string_types),
            other.string_types,
            sorted(k for k in conn.string_types if k > 999000),
            log,
        )
    finally:
        mod.string_types.clear()
        mod.string_types.update(saved)
        for k in [k for k in conn.string_types if k > 999000]:
            del conn.string_types[k]


def test_register_type_scopes_and_precedence(pg2: Any) -> None:
    """cursor beats connection beats global beats default; each scope only sees its own registrations."""
    t_cur, t_other = pg2.cursor(), pg2.cursor()
    theirs = scope_probe(pext, pg2, t_cur, t_other, t_cur.cast, t_other.cast)
    conn = StubConnection()
    o_cur, o_other = StubCursor(conn), StubCursor(conn)

    def cast(oid: Any, s: Any) -> Any:
        return ours.cast(oid, s, o_cur)

    def cast_other(oid: Any, s: Any) -> Any:
        return ours.cast(oid, s, o_other)

    assert scope_probe(ours, conn, o_cur, o_other, cast, cast_other) == theirs


def test_cast_argument_errors_match(pg2: Any) -> None:
    cur = pg2.cursor()
    stub = StubCursor(StubConnection())
    for value in (1, bytearray(b"1"), memoryview(b"1")):
        with pytest.raises(TypeError) as theirs:
            cur.cast(23, value)
        with pytest.raises(TypeError) as mine:
            ours.cast(23, value, stub)
        assert str(mine.value) == str(theirs.value)


def test_registry_is_live(pg2: Any) -> None:
    """Editing ``string_types`` by hand changes what the next result uses (Django does this)."""
    saved = ours.string_types[1700]
    try:
        ours.string_types[1700] = ours.new_type((1700,), "D", lambda s, c: ("d", s))
        caster = ours.row_caster([1700], StubCursor(StubConnection()))
        assert caster((b"1.5",)) == (("d", "1.5"),)
    finally:
        ours.string_types[1700] = saved
    assert ours.row_caster([1700], StubCursor(StubConnection()))((b"1.5",)) == (ours.DECIMAL(b"1.5", None),)


def test_casters_are_resolved_when_the_row_caster_is_built_and_tzinfo_at_each_value() -> None:
    conn = StubConnection()
    cursor = StubCursor(conn)
    caster = ours.row_caster([23, 1184], cursor)
    ours.register_type(ours.new_type((23,), "LATE", lambda s, c: "late"), cursor)
    cursor.tzinfo_factory = None
    assert caster((b"1", b"2020-01-01 10:00:00+02")) == (1, dt.datetime(2020, 1, 1, 10, 0))
    assert ours.row_caster([23], cursor)((b"1",)) == ("late",)


def test_cursor_registry_is_created_on_first_registration() -> None:
    cursor = StubCursor(StubConnection())
    assert cursor.string_types is None
    ours.register_type(ours.INTEGER, cursor)
    assert cursor.string_types == {23: ours.INTEGER, 21: ours.INTEGER}


def test_row_caster_edge_shapes() -> None:
    cursor = StubCursor(StubConnection())
    assert ours.row_caster([], cursor)(()) == ()
    assert ours.row_caster([25], cursor)((None,)) == (None,)
    # Compiled row functions are shared between results of the same shape; the casters are not.
    for tag in ("first", "second"):
        scoped = StubCursor(StubConnection())
        ours.register_type(ours.new_type((25, 23), tag, lambda s, c, tag=tag: (tag, s)), scoped)
        assert ours.row_caster([25, 23, 25], scoped)((b"a", b"1", None)) == (
            (tag, "a"),
            (tag, "1"),
            (tag, None),
        )
    failing = ours.new_type((424242,), "NOCAST")
    ours.register_type(failing, cursor)
    with pytest.raises(Error, match="no casting function found"):
        ours.row_caster([424242], cursor)((None,))


# -- hypothesis: arrays ---------------------------------------------------------------------------------

ELEMENT_TEXT = st.one_of(
    st.text(alphabet=st.sampled_from(list("ab ,{}\"\\'NULnul\t\né日🎉;[]=:")), max_size=8),
    st.sampled_from(["NULL", "null", "x y", ""]),
)
ELEMENT = st.one_of(st.none(), ELEMENT_TEXT)


@st.composite
def rectangular(draw: st.DrawFn) -> Any:
    """A PostgreSQL-shaped (rectangular) nested list of text/None, 1 to 3 dimensions."""
    dims = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))

    def build(level: int) -> Any:
        if level == len(dims):
            return draw(ELEMENT)
        return [build(level + 1) for _ in range(dims[level])]

    return build(0)


def sql_array(value: Any) -> str:
    if isinstance(value, list):
        return "ARRAY[" + ", ".join(sql_array(v) for v in value) + "]"
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


@SETTINGS
@given(value=rectangular())
def test_text_arrays_round_trip_through_the_server(pg2: Any, wire: BlockingConnection, value: Any) -> None:
    sql = f"SELECT {sql_array(value)}::text[]"
    cur = pg2.cursor()
    cur.execute(sql)
    [(theirs,)] = cur.fetchall()
    [result] = wire.execute(sql)
    [(mine,)] = [ours.row_caster([1009], StubCursor(StubConnection()))(row) for row in result.rows]
    assert mine == theirs == value


@st.composite
def array_literal(draw: st.DrawFn) -> str:
    """Well-formed array text with every quoting PostgreSQL accepts (and psycopg2 survives)."""

    def element() -> str:
        kind = draw(st.sampled_from(["plain", "quoted", "escaped", "null"]))
        if kind == "null":
            return draw(st.sampled_from(["NULL", "null", "NuLl"]))
        text = draw(st.text(alphabet=st.sampled_from(list('ab,{}" \\;é')), max_size=6))
        if kind == "quoted":
            return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if kind == "escaped":
            return "".join("\\" + c if c in '\\",{} ' else c for c in text) or "x"
        return "".join(c for c in text if c not in '\\",{} ') or "y"

    def level(depth: int) -> str:
        n = draw(st.integers(0 if depth == 0 else 1, 3))
        if depth > 0 and draw(st.booleans()):
            return "{" + ",".join(level(depth - 1) for _ in range(n)) + "}"
        return "{" + ",".join(element() for _ in range(n)) + "}"

    body = level(draw(st.integers(0, 2)))
    if draw(st.booleans()):
        body = draw(st.sampled_from(["[1:1]=", "[-2:0]=", "[0:1][1:2]="])) + body
    return body


@SETTINGS
@given(literal=array_literal())
def test_array_literals_parse_as_psycopg2_parses_them(pg2: Any, literal: str) -> None:
    """Also where psycopg2's tokenizer goes wrong on valid input (a backslash before ',' or '}')."""
    cur = pg2.cursor()
    casters = [(pext.STRINGARRAY, ours.STRINGARRAY), (pext.BYTESARRAY, ours.BYTESARRAY)]
    casters.append((pext.BOOLEANARRAY, ours.BOOLEANARRAY))
    if not re.search(r"\\[,}]", literal):
        # There psycopg2 may hand INTEGER an element of length -1, and overflow its stack buffer.
        casters.append((pext.INTEGERARRAY, ours.INTEGERARRAY))
    for t_caster, o_caster in casters:
        theirs = outcome(functools.partial(t_caster, literal, cur))
        mine = outcome(functools.partial(o_caster, literal, StubCursor(StubConnection())))
        assert mine == theirs, literal


# -- the hot path ------------------------------------------------------------------------------------------


def test_row_caster_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """Not an assertion on speed: prints µs/row for a Django-like row so regressions are visible."""
    row = (b"12345", b"Some title text", b"2024-02-29 13:14:15.123456+01", b"t", b"19.99", None, b"42")
    oids = [23, 25, 1184, 16, 1700, 25, 20]
    caster = ours.row_caster(oids, StubCursor(StubConnection()))
    n = 20000

    def one_row() -> Any:
        return caster(row)

    per_row = min(timeit.repeat(one_row, number=n, repeat=3)) / n * 1e6
    with capsys.disabled():
        print(f"\nrow_caster: {per_row:.2f} µs/row (7 columns)")
    assert per_row > 0
