"""Fuzzing the literal quoting end to end: arbitrary text, bytes and numbers sent through greenpsyco's own
connection come back from ``SELECT %s`` unchanged, whatever ``standard_conforming_strings`` was at
connect time and however it is flipped mid-session (the live ParameterStatus decides, psycopg2 #366),
and no value ever changes how many statements the server executes.

(tests/fake_psycopg2/test_adapt.py compares our literals with psycopg2's byte for byte; here the server
is the judge, through the real connection. Under ``--green`` this module runs in cooperative mode too.)

The statement count is the server's: the query our cursor sends (``mogrify``) runs through the wire
layer, which returns one result per statement executed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import greenpsyco.fake_psycopg2 as psycopg2
from greenpsyco.testing import TestServer
from greenpsyco.wire import ops

EXAMPLES = 400
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

# Text with the characters that matter to a literal's end, anywhere in the Unicode range but NUL.
texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40) | st.lists(
    st.sampled_from(["'", "\\", "''", "\\'", "E'", "--", ";", "$$", "/*", "*/", "\n", "%", "é", "😀", "a"]),
    max_size=10,
).map("".join)
numbers = (
    st.integers()
    | st.floats()
    | st.decimals(allow_infinity=False)
    | st.sampled_from([-1, -0.0, Decimal("-1"), Decimal("NaN"), 2**100, -(2**100)])
)
values = texts | st.binary(max_size=40) | numbers


def same(sent: Any, got: Any) -> bool:
    """Equality as PostgreSQL gives values back (floats as numerics or floats, NaN, bytea)."""
    if isinstance(sent, bytes):
        return isinstance(got, memoryview) and bytes(got) == sent
    if isinstance(sent, float):
        if math.isnan(sent):
            return isinstance(got, float) and math.isnan(got)
        return isinstance(got, float | Decimal) and float(got) == sent
    if isinstance(sent, Decimal):
        if sent.is_nan():
            return isinstance(got, Decimal) and got.is_nan()
        return isinstance(got, Decimal | int) and Decimal(got) == sent
    if isinstance(sent, int):  # beyond bigint, the literal is a numeric (as psycopg2's)
        return isinstance(got, int | Decimal) and got == sent
    return bool(type(got) is type(sent) and got == sent)


@pytest.fixture(scope="module", params=["on", "off"], ids=["connected-scs-on", "connected-scs-off"])
def conn(pg_server: TestServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A connection that started with standard_conforming_strings on or off (psycopg2 decides its
    quoting once, at this point; we follow the live setting)."""
    connection = psycopg2.connect(pg_server.dsn(options=f"-c standard_conforming_strings={request.param}"))
    connection.autocommit = True
    yield connection
    connection.close()


def statements_executed(conn: Any, query: bytes) -> int:
    """How many statements the server ran for ``query`` (one result per statement)."""
    wire = conn._wire
    return len(wire.run(ops.simple_query(wire.state, query)))


@FUZZ
@given(value=values, other=values, scs=st.sampled_from(["on", "off", None]))
def test_select_returns_what_was_sent_and_runs_one_statement(
    conn: Any, value: Any, other: Any, scs: Any
) -> None:
    cur = conn.cursor()
    if scs is not None:  # flip (or keep) standard_conforming_strings just before, mid-session
        cur.execute(f"SET standard_conforming_strings = {scs}")
        assert conn.get_parameter_status("standard_conforming_strings") == scs
    query = cur.mogrify("SELECT %s, %s", (value, other))
    assert statements_executed(conn, query) == 1, query
    cur.execute("SELECT %s, %s", (value, other))
    assert cur.rowcount == 1
    assert cur.statusmessage == "SELECT 1"
    got_value, got_other = cur.fetchone()
    assert same(value, got_value), (query, got_value)
    assert same(other, got_other), (query, got_other)


@FUZZ
@given(items=st.lists(texts | st.binary(max_size=10) | st.integers(), max_size=5))
def test_a_sequence_of_values_is_one_statement_too(conn: Any, items: list[Any]) -> None:
    """Lists become ARRAY[...] and tuples IN-lists: still one statement, whatever the items hold."""
    cur = conn.cursor()
    words = [str(item) for item in items]
    query = cur.mogrify("SELECT %s IN %s, %s", ("needle", ("needle", *words), words))
    assert statements_executed(conn, query) == 1, query


@pytest.mark.parametrize("text", ["a\x00b", "\x00", "'\x00'; DROP TABLE x; --"])
def test_a_nul_in_text_is_refused_before_anything_is_sent(conn: Any, text: str) -> None:
    cur = conn.cursor()
    with pytest.raises(ValueError, match=r"A string literal cannot contain NUL \(0x00\) characters\."):
        cur.execute("SELECT %s", (text,))
    cur.execute("SELECT 1")
    assert cur.fetchone() == (1,)
