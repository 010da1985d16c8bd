"""``psycopg2.sql`` against the real one: rendered strings, reprs, equality, operators and errors.

Every scenario is a function of (module, context) run twice, with our module and a stub connection and
with psycopg2.sql and a real connection; the outcomes (value, or exception class and message) must match.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import psycopg2
import psycopg2.sql as their_sql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenpsyco.fake_psycopg2 import _adapt
from greenpsyco.fake_psycopg2 import sql as our_sql
from greenpsyco.testing import TestServer

EXAMPLES = 300
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


class StubConnection:
    """The connection contract of ``_adapt`` without a server (standard_conforming_strings on)."""

    def __init__(self, encoding: str = "UTF8") -> None:
        self.encoding = encoding
        self._py_encoding = psycopg2.extensions.encodings[encoding]
        self._scs = True
        self.server_version = 150018
        self.closed = 0

    def cursor(self) -> Any:
        return StubCursor(self)


class StubCursor:
    def __init__(self, conn: StubConnection) -> None:
        self.connection = conn


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    """A comparable result: the value, or the exception's class name and message."""
    try:
        return ("ok", call())
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


@pytest.fixture(scope="module")
def pg(pg_server: TestServer) -> Iterator[Any]:
    conn = psycopg2.connect(pg_server.dsn())
    psycopg2.connect(pg_server.dsn()).close()
    _adapt.note_parameter_status("client_encoding", "UTF8")
    _adapt.note_parameter_status("standard_conforming_strings", "on")
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def pg_latin1(pg_server: TestServer) -> Iterator[Any]:
    conn = psycopg2.connect(pg_server.dsn(), client_encoding="LATIN1")
    yield conn
    conn.close()


def both(pg_conn: Any, scenario: Callable[[Any, Any], Any], encoding: str = "UTF8") -> tuple[Any, Any]:
    stub = StubConnection(encoding)
    return outcome(lambda: scenario(our_sql, stub)), outcome(lambda: scenario(their_sql, pg_conn))


SCENARIOS: dict[str, Callable[[Any, Any], Any]] = {
    "sql": lambda m, c: m.SQL("select 1").as_string(c),
    "sql non-str": lambda m, c: m.SQL(5),
    "sql bytes": lambda m, c: m.SQL(b"x"),
    "sql string": lambda m, c: m.SQL("x").string,
    "identifier": lambda m, c: m.Identifier('a"b').as_string(c),
    "identifier dotted": lambda m, c: m.Identifier("schema", "ta ble", "c\u00e9").as_string(c),
    "identifier empty": lambda m, c: m.Identifier(),
    "identifier non-str": lambda m, c: m.Identifier("a", 5),
    "identifier bytes": lambda m, c: m.Identifier(b"a"),
    "identifier string": lambda m, c: m.Identifier("a").string,
    "identifier string many": lambda m, c: m.Identifier("a", "b").string,
    "identifier strings": lambda m, c: m.Identifier("a", "b").strings,
    "identifier nul": lambda m, c: m.Identifier("a\x00b").as_string(c),
    "literal": lambda m, c: [
        m.Literal(v).as_string(c)
        for v in (
            "it's",
            "a\\b",
            42,
            -1,
            1.5,
            float("nan"),
            None,
            True,
            Decimal("-1.5"),
            b"\x00\xff",
            dt.date(2020, 1, 2),
            dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
            [1, None, "x"],
            (1, "a"),
            dt.timedelta(hours=-1),
        )
    ],
    "literal dict": lambda m, c: m.Literal({}).as_string(c),
    "literal nul": lambda m, c: m.Literal("a\x00").as_string(c),
    "literal bad context": lambda m, c: m.Literal(1).as_string(5),
    "literal wrapped": lambda m, c: m.Literal([1]).wrapped,
    "literal cursor": lambda m, c: m.Literal("x").as_string(c.cursor()),
    "identifier cursor": lambda m, c: m.Identifier("x").as_string(c.cursor()),
    "identifier bad context": lambda m, c: m.Identifier("x").as_string(5),
    "placeholder": lambda m, c: [m.Placeholder().as_string(c), m.Placeholder("name").as_string(c)],
    "placeholder bad name": lambda m, c: m.Placeholder("a)"),
    "placeholder non-str": lambda m, c: m.Placeholder(5),
    "placeholder empty": lambda m, c: m.Placeholder("").as_string(c),
    "placeholder names": lambda m, c: [m.Placeholder().name, m.Placeholder("x").name],
    "null default": lambda m, c: [m.NULL.as_string(c), m.DEFAULT.as_string(c), repr(m.NULL), repr(m.DEFAULT)],
    "composable": lambda m, c: m.Composable(1).as_string(c),
    "composable repr": lambda m, c: repr(m.Composable([1])),
    "composed": lambda m, c: m.Composed([m.SQL("a"), m.Identifier("b"), m.Literal("c")]).as_string(c),
    "composed bad": lambda m, c: m.Composed([m.SQL("a"), "b"]),
    "composed seq": lambda m, c: repr(m.Composed([m.SQL("a")]).seq),
    "composed iter": lambda m, c: [repr(x) for x in m.Composed([m.SQL("a"), m.Literal(1)])],
    "composed join": lambda m, c: m.Composed([m.Identifier("a"), m.Identifier("b")]).join(", ").as_string(c),
    "composed join sql": lambda m, c: (
        m.Composed([m.Literal(1), m.Literal(2)]).join(m.SQL(" + ")).as_string(c)
    ),
    "composed join bad": lambda m, c: m.Composed([m.SQL("a")]).join(m.Literal(1)),
    "composed join bytes": lambda m, c: m.Composed([m.SQL("a")]).join(b","),
    "add": lambda m, c: (m.SQL("a") + m.Identifier("b") + m.Literal(3)).as_string(c),
    "add repr": lambda m, c: repr(m.SQL("a") + m.Identifier("b", "c") + m.Placeholder("p") + m.Placeholder()),
    "add composed": lambda m, c: repr(m.Composed([m.SQL("a")]) + m.Composed([m.SQL("b")])),
    "add composed composable": lambda m, c: repr(m.Composed([m.SQL("a")]) + m.Literal("b")),
    "add composable composed": lambda m, c: repr(m.Literal("b") + m.Composed([m.SQL("a")])),
    "add str": lambda m, c: m.SQL("a") + "b",
    "add str composed": lambda m, c: m.Composed([]) + "b",
    "radd str": lambda m, c: "b" + m.SQL("a"),
    "mul": lambda m, c: (m.Placeholder() * 3).as_string(c),
    "mul repr": lambda m, c: repr(m.SQL(", ") * 2),
    "mul zero": lambda m, c: repr(m.SQL("x") * 0),
    "mul str": lambda m, c: m.SQL("x") * "a",
    "join": lambda m, c: m.SQL(", ").join([m.Identifier("a"), m.Literal(1), m.Placeholder("x")]).as_string(c),
    "join generator": lambda m, c: m.SQL(", ").join(m.Identifier(n) for n in "abc").as_string(c),
    "join empty": lambda m, c: repr(m.SQL(", ").join([])),
    "join one": lambda m, c: repr(m.SQL(", ").join([m.SQL("x")])),
    "join non-composable": lambda m, c: m.SQL(", ").join(["a", "b"]),
    "join composed": lambda m, c: m.SQL("-").join(m.SQL("a") + m.SQL("b")).as_string(c),
    "format auto": lambda m, c: (
        m.SQL("select {} from {}").format(m.Identifier("a"), m.Identifier("t")).as_string(c)
    ),
    "format numbered": lambda m, c: m.SQL("{1} {0} {1}").format(m.Literal(1), m.Literal("x")).as_string(c),
    "format named": lambda m, c: (
        m.SQL("{a} = {b}").format(a=m.Identifier("x"), b=m.Placeholder("x")).as_string(c)
    ),
    "format repr": lambda m, c: repr(m.SQL("a {} b").format(m.Literal(1))),
    "format braces": lambda m, c: m.SQL("{{}} {}").format(m.SQL("x")).as_string(c),
    "format spec": lambda m, c: m.SQL("{:>10}").format(m.SQL("x")),
    "format conversion": lambda m, c: m.SQL("{!r}").format(m.SQL("x")),
    "format auto then manual": lambda m, c: m.SQL("{} {0}").format(m.SQL("x")),
    "format manual then auto": lambda m, c: m.SQL("{0} {}").format(m.SQL("x")),
    "format missing positional": lambda m, c: m.SQL("{} {}").format(m.SQL("x")),
    "format missing named": lambda m, c: m.SQL("{a}").format(),
    "format non-composable": lambda m, c: m.SQL("{}").format("x"),
    "format unbalanced": lambda m, c: m.SQL("{").format(),
    "format single close": lambda m, c: m.SQL("}").format(),
    "format attribute": lambda m, c: m.SQL("{a.b}").format(a=m.SQL("x")),
    "format zero then auto zero": lambda m, c: m.SQL("{0}{}").format(m.SQL("x")),
    "eq": lambda m, c: [
        m.SQL("a") == m.SQL("a"),
        m.SQL("a") == m.SQL("b"),
        m.SQL("a") == m.Literal("a"),
        m.Literal(1) == m.Literal(1.0),
        m.Identifier("a", "b") == m.Identifier("a", "b"),
        m.Composed([m.SQL("a")]) == m.Composed([m.SQL("a")]),
        m.SQL("a") != m.SQL("a"),
        m.SQL("a") == "a",
        m.Placeholder() == m.Placeholder(None),
    ],
    "hash": lambda m, c: hash(m.SQL("a")),
    "reprs": lambda m, c: [
        repr(x)
        for x in (
            m.SQL("it's"),
            m.Identifier("a"),
            m.Identifier("a", 'b"'),
            m.Literal(Decimal("1.5")),
            m.Literal(None),
            m.Placeholder(),
            m.Placeholder("n"),
            m.Composed([]),
        )
    ],
    "str": lambda m, c: str(m.SQL("a")).split(" at ")[0],
    "as_string returns": lambda m, c: type(m.Literal(b"x").as_string(c)).__name__,
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_matches_psycopg2(pg: Any, name: str) -> None:
    mine, theirs = both(pg, SCENARIOS[name])
    assert mine == theirs


@pytest.mark.parametrize("name", ["identifier dotted", "literal", "composed", "join"])
def test_scenario_matches_psycopg2_latin1(pg_latin1: Any, name: str) -> None:
    mine, theirs = both(pg_latin1, SCENARIOS[name], "LATIN1")
    assert mine == theirs


def test_class_identity() -> None:
    for name in ("Composable", "Composed", "SQL", "Identifier", "Literal", "Placeholder"):
        mine, theirs = getattr(our_sql, name), getattr(their_sql, name)
        assert mine.__module__ == theirs.__module__ == "psycopg2.sql"
        assert mine.__name__ == theirs.__name__
        assert [c.__name__ for c in mine.__mro__] == [c.__name__ for c in theirs.__mro__]
        public = {a for a in dir(theirs) if not a.startswith("_")}
        assert {a for a in dir(mine) if not a.startswith("_")} == public
    assert isinstance(our_sql.NULL, our_sql.SQL)
    assert isinstance(our_sql.DEFAULT, our_sql.SQL)


def test_module_attribute_is_settable() -> None:
    """Django's psycopg_any does ``sql.quote = _quote`` on psycopg2.sql."""

    def quote(value: Any, connection: Any = None) -> str:
        return "quoted"

    try:
        our_sql.quote = quote  # type: ignore[attr-defined]
        assert our_sql.quote("x") == "quoted"  # type: ignore[attr-defined]
    finally:
        del our_sql.quote  # type: ignore[attr-defined]


def test_composed_query_through_interpolate(pg: Any) -> None:
    """A Composable is rendered with as_string(conn), then interpolated: the reference's row."""
    stub = StubConnection()
    query = our_sql.SQL("SELECT {}, %s").format(our_sql.Identifier("t", "c"))
    mine = _adapt.interpolate(_adapt.query_to_bytes(query, stub), [1], stub)
    theirs = pg.cursor().mogrify(their_sql.SQL("SELECT {}, %s").format(their_sql.Identifier("t", "c")), [1])
    assert mine == theirs == b'SELECT "t"."c", 1'


names = st.text(st.characters(codec="utf-8"), max_size=8)
literals = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(st.characters(codec="utf-8", exclude_characters="\x00"))
)


@SETTINGS
@given(
    parts=st.lists(names, min_size=1, max_size=3),
    value=literals,
    template=st.sampled_from(["{} {}", "{1}{0}"]),
)
def test_random_compositions_match_psycopg2(pg: Any, parts: list[str], value: Any, template: str) -> None:
    def build(m: Any, c: Any) -> Any:
        composed = m.SQL(template).format(m.Identifier(*parts), m.Literal(value))
        joined = m.SQL(", ").join([composed, m.Placeholder(), m.Literal(value)])
        return repr(joined), joined.as_string(c)

    mine, theirs = both(pg, build)
    assert mine == theirs
