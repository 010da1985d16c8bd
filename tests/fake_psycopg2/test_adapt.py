"""Adaptation and interpolation against the real psycopg2 (the oracle) and the real server.

* every ``mogrify`` output, for hypothesis-generated values, equals psycopg2's on a connection with
  ``standard_conforming_strings`` on, with it off (psycopg2's ``E''`` mode), in LATIN1 and EUC_JP, and on
  the connection-less ``adapt(v).getquoted()`` path (with libpq's process-wide state mirrored);
* the server, given our literals, returns the original values (no literal breaks out);
* the placeholder/parameter-container corpus raises psycopg2's exception classes and messages;
* the deliberate difference (psycopg2 #366) is shown: psycopg2's literal breaks out, ours does not.
"""

from __future__ import annotations

import collections
import datetime as dt
import decimal
import enum
import math
import uuid
import zoneinfo
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import psycopg2
import psycopg2.extensions as pext
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenpsyco.fake_psycopg2 import _adapt as ours
from greenpsyco.fake_psycopg2._exceptions import NotSupportedError, ProgrammingError
from greenpsyco.testing import TestServer

EXAMPLES = 400
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


class StubConnection:
    """The connection contract ``_adapt`` relies on, without a server."""

    def __init__(
        self,
        encoding: str = "UTF8",
        *,
        scs: bool = True,
        server_version: int = 150018,
        equote: bool | None = None,
        closed: int = 0,
    ) -> None:
        self.encoding = encoding
        self._py_encoding = pext.encodings[encoding]
        self._scs = scs
        self.server_version = server_version
        self.closed = closed
        if equote is not None:
            self._equote = equote

    def cursor(self) -> StubCursor:
        return StubCursor(self)


class StubCursor:
    def __init__(self, conn: StubConnection) -> None:
        self.connection = conn


def outcome(call: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    """A comparable result of ``call(*args)``: the value, or the exception's class name and message."""
    try:
        return ("ok", call(*args))
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


# ------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def dsn(pg_server: TestServer) -> str:
    return pg_server.dsn()


@pytest.fixture(scope="module", autouse=True)
def _libpq_defaults_in_step(dsn: str) -> None:
    """Start with libpq's process-wide settings known (UTF8, on) and mirrored in our module."""
    psycopg2.connect(dsn).close()
    ours.note_parameter_status("client_encoding", "UTF8")
    ours.note_parameter_status("standard_conforming_strings", "on")


@pytest.fixture
def restore_libpq_defaults(dsn: str) -> Iterator[None]:
    """After a test that moved libpq's process-wide settings, put them (and our mirror) back to normal."""
    yield
    psycopg2.connect(dsn).close()
    ours.note_parameter_status("client_encoding", "UTF8")
    ours.note_parameter_status("standard_conforming_strings", "on")


def _connect(dsn: str, **kwargs: Any) -> Any:
    conn = psycopg2.connect(dsn, **kwargs)
    conn.autocommit = True
    return conn


@pytest.fixture(scope="module")
def pg(dsn: str) -> Iterator[Any]:
    """psycopg2 with standard_conforming_strings on (the default)."""
    conn = _connect(dsn)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def pg_off(dsn: str) -> Iterator[Any]:
    """psycopg2 connected with standard_conforming_strings off: it writes E'' literals."""
    conn = _connect(dsn, options="-c standard_conforming_strings=off")
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def pg_latin1(dsn: str) -> Iterator[Any]:
    conn = _connect(dsn, client_encoding="LATIN1")
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def pg_eucjp(dsn: str) -> Iterator[Any]:
    conn = _connect(dsn, client_encoding="EUC_JP")
    yield conn
    conn.close()


# ------------------------------------------------------------------------------------------ strategies

texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"))
tricky_texts = st.lists(
    st.sampled_from(["'", "\\", "a", "é", "%", '"', "\n", "E", "☃", "𝄞", "\\'", "''", "\\\\"]), max_size=8
).map("".join)
offsets = st.timedeltas(
    min_value=-dt.timedelta(hours=23, minutes=59), max_value=dt.timedelta(hours=23, minutes=59)
)
tzinfos = st.none() | st.timezones() | st.builds(dt.timezone, offsets) | st.just(dt.UTC)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**90), max_value=2**90)
    | st.floats()
    | st.decimals()
    | st.sampled_from(
        [Decimal("sNaN"), Decimal("-NaN"), Decimal("-Infinity"), Decimal("-0"), Decimal("1E+30")]
    )
    | texts
    | tricky_texts
    | st.binary()
    | st.dates()
    | st.times(timezones=tzinfos)
    | st.datetimes(timezones=tzinfos)
    | st.timedeltas()
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.lists(inner, max_size=4).map(tuple), max_leaves=12
)

# Values PostgreSQL can store and give back unchanged, for the round trips.
pg_offsets = st.integers(min_value=-(15 * 3600 + 59 * 60 + 59), max_value=15 * 3600 + 59 * 60 + 59).map(
    lambda s: dt.timezone(dt.timedelta(seconds=s))
)
roundtrip_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats()
    | st.decimals(allow_infinity=False)
    | texts
    | tricky_texts
    | st.binary()
    | st.dates()
    | st.times(timezones=st.none() | pg_offsets)
    | st.datetimes(timezones=st.none() | pg_offsets | st.just(PARIS))
    | st.timedeltas()
)


def same_value(sent: Any, got: Any) -> bool:
    """Equality as PostgreSQL gives values back (NaN, bytea as memoryview, NaN numerics)."""
    if isinstance(sent, float):  # finite floats are written as numeric literals and come back as Decimal
        if math.isnan(sent):
            return isinstance(got, float) and math.isnan(got)
        return isinstance(got, float | Decimal) and float(got) == sent
    if isinstance(sent, Decimal):  # integral values are written as integer literals and come back as int
        if sent.is_nan():
            return isinstance(got, Decimal) and got.is_nan()
        return isinstance(got, Decimal | int) and Decimal(got) == sent
    if isinstance(sent, bytes):
        return bytes(got) == sent
    if isinstance(sent, dt.datetime) and sent.utcoffset() is not None:
        # by instant: PEP 495 makes a time in a DST gap unequal to everything in other zones
        return bool(got.utcoffset() is not None and _utc(got) == _utc(sent))
    if isinstance(sent, dt.time) and sent.tzinfo is not None:
        return (
            got.tzinfo is not None
            and got.replace(tzinfo=None) == sent.replace(tzinfo=None)
            and (got.utcoffset() == sent.utcoffset())
        )
    return bool(got == sent)


def _utc(moment: dt.datetime) -> dt.datetime:
    offset = moment.utcoffset()
    assert offset is not None
    return moment.replace(tzinfo=None) - offset


def mogrify_both(
    pg_conn: Any, stub: StubConnection, query: Any, params: Any, *, mine: Any = None
) -> tuple[Any, Any]:
    """Our interpolation (of ``mine``'s single value when given) and psycopg2's mogrify, as outcomes."""
    our_params = params if mine is None else (mine,)
    return (
        outcome(lambda: ours.interpolate(ours.query_to_bytes(query, stub), our_params, stub)),
        outcome(lambda: pg_conn.cursor().mogrify(query, params)),
    )


# ------------------------------------------------------------------------------------ measured values

REFERENCE_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2**70,
    -(2**63),
    1.5,
    0.1,
    1e100,
    1e-7,
    -0.0,
    float("nan"),
    float("inf"),
    float("-inf"),
    Decimal("1.10"),
    Decimal("-1E+5"),
    Decimal("NaN"),
    Decimal("sNaN"),
    Decimal("Infinity"),
    Decimal("-Infinity"),
    Decimal("1E-30"),
    "abc",
    "",
    "O'Reilly",
    "back\\slash",
    "café ☃",
    "line\nbreak\ttab",
    "%s %(x)s",
    type("Strsub", (str,), {})("x"),
    "nul\x00",
    b"\x00\x01\xff'",
    b"",
    bytearray(b"ab"),
    memoryview(b"ab"),
    dt.date(2024, 2, 29),
    dt.date.min,
    dt.date.max,
    dt.time(13, 14, 15, 123456),
    dt.time(13, 14),
    dt.time(13, 14, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    dt.datetime(2024, 2, 29, 13, 14, 15),
    dt.datetime(2024, 2, 29, 13, 14, 15, 500000),
    dt.datetime(2024, 2, 29, 13, 14, 15, tzinfo=dt.UTC),
    dt.datetime(2024, 7, 1, tzinfo=PARIS),
    dt.datetime(1900, 1, 1, tzinfo=PARIS),
    dt.datetime.min,
    dt.datetime.max,
    dt.timedelta(days=1, seconds=3661, microseconds=5),
    dt.timedelta(0),
    dt.timedelta(seconds=-1),
    dt.timedelta(days=-3, hours=4),
    dt.timedelta.max,
    dt.timedelta.min,
    [1, 2, 3],
    [],
    [[1, 2], [3, 4]],
    ["a", None, "b'c"],
    [None],
    [None, None],
    [[]],
    [[None]],
    [[], None],
    [None, []],
    [[[]]],
    [[None, [None]]],
    [[1], [None]],
    [[1, None], [None, None]],
    [1.5, Decimal("2")],
    [True, False],
    [dt.date(2024, 1, 1)],
    [b"x"],
    [(1, 2)],
    (1, 2, 3),
    ("a",),
    (),
    (1, (2, 3)),
    ([1, 2],),
    ((1, None),),
    {"a": 1},
    uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    object(),
    pext.AsIs("now()"),
    pext.QuotedString("it's"),
    psycopg2.Binary(b"ab"),
    collections.OrderedDict(),
]


@pytest.mark.parametrize("value", REFERENCE_VALUES, ids=repr)
def test_reference_values_match_psycopg2(pg: Any, pg_off: Any, value: Any) -> None:
    """The measured table of the reference (section 3.5.1), on and off, plus oracle-made adapters."""
    for pg_conn, stub in ((pg, StubConnection()), (pg_off, StubConnection(scs=False))):
        theirs = type(value)(value.adapted) if type(value).__module__ == "psycopg2.extensions" else value
        got, expected = mogrify_both(pg_conn, stub, "SELECT %s", (theirs,), mine=_our_twin(value))
        assert got == expected  # (adapter objects cache their quoting: a fresh pair per connection)


def _our_twin(value: Any) -> Any:
    """Our adapter object for a psycopg2-made one (AsIs, QuotedString, Binary), else the value itself."""
    for theirs, mine in (
        (pext.AsIs, ours.AsIs),
        (pext.QuotedString, ours.QuotedString),
        (pext.Binary, ours.Binary),
    ):
        if type(value) is theirs:
            return mine(value.adapted)
    return value


def test_reference_table_spot_checks() -> None:
    """A few rows of the reference, spelled out, so a change in the oracle cannot hide a regression."""
    stub = StubConnection()

    def mog(value: Any) -> bytes:
        return ours.interpolate(b"SELECT %s", (value,), stub)

    assert mog(-1) == b"SELECT  -1"
    assert mog(float("nan")) == b"SELECT 'NaN'::float"
    assert mog(Decimal("-Infinity")) == b"SELECT 'NaN'::numeric"
    assert mog("back\\slash") == b"SELECT 'back\\slash'"
    assert mog(b"\x00\x01\xff'") == b"SELECT '\\x0001ff27'::bytea"
    assert mog([[1, None], [None, None]]) == b"SELECT ARRAY[ARRAY[1,NULL],'{NULL,NULL}']"
    assert mog(dt.timedelta(seconds=-1)) == b"SELECT '-1 days 86399.000000 seconds'::interval"
    assert mog(()) == b"SELECT ()"
    assert ours.interpolate(b"SELECT %s - %s", [1, -1], stub) == b"SELECT 1 -  -1"
    off = StubConnection(scs=False)
    assert ours.interpolate(b"SELECT %s", ["a\\b"], off) == b"SELECT E'a\\\\b'"
    assert ours.interpolate(b"SELECT %s", [b"\\"], off) == b"SELECT E'\\\\x5c'::bytea"


# --------------------------------------------------------------------------- hypothesis: mogrify


@SETTINGS
@given(value=values)
def test_mogrify_matches_psycopg2_scs_on(pg: Any, value: Any) -> None:
    got, expected = mogrify_both(pg, StubConnection(), "SELECT %s", (value,))
    assert got == expected


@SETTINGS
@given(value=values)
def test_mogrify_matches_psycopg2_scs_off(pg_off: Any, value: Any) -> None:
    got, expected = mogrify_both(pg_off, StubConnection(scs=False), "SELECT %s", (value,))
    assert got == expected


@SETTINGS
@given(value=values, name=st.text(st.characters(blacklist_characters="%()\x00"), max_size=5))
def test_mogrify_matches_psycopg2_named(pg: Any, value: Any, name: str) -> None:
    query = f"SELECT %({name})s, %({name})s, %%"
    got, expected = mogrify_both(pg, StubConnection(), query, {name: value})
    assert got == expected


@SETTINGS
@given(value=st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=6))
def test_mogrify_matches_psycopg2_latin1(pg_latin1: Any, value: Any) -> None:
    got, expected = mogrify_both(pg_latin1, StubConnection("LATIN1"), "SELECT %s", (value,))
    assert got == expected


@SETTINGS
@given(value=st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=6))
def test_mogrify_matches_psycopg2_euc_jp(pg_eucjp: Any, value: Any) -> None:
    got, expected = mogrify_both(pg_eucjp, StubConnection("EUC_JP"), "SELECT %s", (value,))
    assert got == expected


@SETTINGS
@given(data=st.binary().filter(lambda b: b"\x00" not in b) | texts.map(lambda s: s.encode("utf-8")))
def test_prepared_bytes_quotedstring_matches_libpq(
    pg: Any, pg_eucjp: Any, pg_latin1: Any, data: bytes
) -> None:
    """QuotedString over raw bytes exercises libpq's multibyte validation (invalid input replaced)."""
    for pg_conn, stub in ((pg, StubConnection()), (pg_eucjp, StubConnection("EUC_JP"))):
        mine = ours.QuotedString(data)
        mine.prepare(stub)
        theirs = pext.QuotedString(data)
        theirs.prepare(pg_conn)
        assert outcome(mine.getquoted) == outcome(theirs.getquoted)
    for pg_conn, stub in ((pg, StubConnection()), (pg_latin1, StubConnection("LATIN1"))):
        assert outcome(ours.quote_ident, data, stub) == outcome(pext.quote_ident, data, pg_conn)
    assert outcome(lambda: ours.quote_ident(data, StubConnection("EUC_JP"))) == outcome(
        lambda: pext.quote_ident(data, pg_eucjp)
    )


@pytest.mark.parametrize(
    ("encoding", "std"), [("UTF8", "on"), ("UTF8", "off"), ("LATIN1", "on"), ("EUC_JP", "on")]
)
@pytest.mark.usefixtures("restore_libpq_defaults")
def test_connectionless_adapt_matches_psycopg2(dsn: str, encoding: str, std: str) -> None:
    """``adapt(v).getquoted()`` with no connection follows libpq's last reported settings, as psycopg2."""
    last = psycopg2.connect(dsn, client_encoding=encoding, options=f"-c standard_conforming_strings={std}")
    last.close()
    ours.note_parameter_status("client_encoding", encoding)
    ours.note_parameter_status("standard_conforming_strings", std)

    @SETTINGS
    @given(value=values)
    def check(value: Any) -> None:
        assert outcome(lambda: ours.adapt(value).getquoted()) == outcome(
            lambda: pext.adapt(value).getquoted()
        )
        if isinstance(value, str):  # Django's sql.quote path: encoding set to utf8, no prepare
            mine, theirs = ours.adapt(value), pext.adapt(value)
            mine.encoding = theirs.encoding = "utf8"
            assert outcome(mine.getquoted) == outcome(theirs.getquoted)

    check()


def test_connectionless_before_any_connection_defaults() -> None:
    """libpq's defaults before any connection: backslashes doubled, escape-format bytea, SQL_ASCII."""
    saved = (ours._LibpqDefaults.std_strings, ours._LibpqDefaults.client_encoding)
    try:
        ours._LibpqDefaults.std_strings, ours._LibpqDefaults.client_encoding = False, "SQL_ASCII"
        assert ours.adapt("a\\b").getquoted() == b"'a\\\\b'"
        assert ours.adapt(b"\x00\xff\\'a").getquoted() == b"'\\\\000\\\\377\\\\\\\\''a'::bytea"
        assert ours.adapt(b"\xc3(\xe9'").getquoted() == b"'\\\\303(\\\\351'''::bytea"
        assert ours.QuotedString(b"\xc3(\xe9'").getquoted() == b"'\xc3(\xe9'''"
    finally:
        ours._LibpqDefaults.std_strings, ours._LibpqDefaults.client_encoding = saved


# ----------------------------------------------------------------------- round trips through the server


def _fetch(pg_conn: Any, query: bytes) -> Any:
    cur = pg_conn.cursor()
    cur.execute(query)
    return cur.fetchone()


@SETTINGS
@given(value=roundtrip_scalars, other=roundtrip_scalars)
def test_roundtrip_scs_on(pg: Any, value: Any, other: Any) -> None:
    query = ours.interpolate(b"SELECT %s, %s", (value, other), StubConnection())
    row = _fetch(pg, query)
    assert same_value(value, row[0]), (query, row)
    assert same_value(other, row[1]), (query, row)


@SETTINGS
@given(value=roundtrip_scalars, other=roundtrip_scalars)
def test_roundtrip_scs_off(pg_off: Any, value: Any, other: Any) -> None:
    query = ours.interpolate(b"SELECT %s, %s", (value, other), StubConnection(scs=False))
    row = _fetch(pg_off, query)
    assert same_value(value, row[0]), (query, row)
    assert same_value(other, row[1]), (query, row)


@SETTINGS
@given(
    items=st.lists(st.integers(min_value=-(2**31), max_value=2**31 - 1) | st.none(), min_size=1, max_size=5),
    words=st.lists(texts | tricky_texts | st.none(), min_size=1, max_size=5),
)
def test_roundtrip_arrays_and_in_lists(pg: Any, items: list[Any], words: list[Any]) -> None:
    stub = StubConnection()
    row = _fetch(pg, ours.interpolate(b"SELECT (%s)::int[], (%s)::text[]", (items, words), stub))
    assert row == (items, words)
    needle = next((w for w in words if w is not None), None)
    if needle is not None:
        assert _fetch(pg, ours.interpolate(b"SELECT %s IN %s", (needle, tuple(words)), stub)) == (True,)


@SETTINGS
@given(
    value=texts.filter(lambda s: _encodable(s, "euc_jp"))
    | tricky_texts.filter(lambda s: _encodable(s, "euc_jp"))
)
def test_roundtrip_euc_jp(pg_eucjp: Any, value: str) -> None:
    row = _fetch(pg_eucjp, ours.interpolate(b"SELECT %s", (value,), StubConnection("EUC_JP")))
    assert row == (value,)


def _encodable(text: str, codec: str) -> bool:
    """Whether the codec can carry ``text`` both ways (Python's euc_jp writes U+00A5 as 0x5C, say)."""
    try:
        return text.encode(codec).decode(codec) == text
    except UnicodeEncodeError:
        return False


# ------------------------------------------------------------------------------- the deliberate difference


@pytest.mark.usefixtures("restore_libpq_defaults")
def test_psycopg2_366_breaks_out_ours_does_not(dsn: str) -> None:
    """Connected with standard_conforming_strings off, then SET on: psycopg2 keeps writing E'' but stops
    doubling backslashes, so a value ending in a backslash escapes the closing quote (psycopg2 #366).
    """
    conn = _connect(dsn, options="-c standard_conforming_strings=off")
    try:
        conn.cursor().execute("SET standard_conforming_strings = on")
        params = ("\\", ", current_user --")
        theirs = conn.cursor().mogrify("SELECT %s, %s", params)
        assert theirs == b"SELECT E'\\', E', current_user --'"
        assert _fetch(conn, theirs) != params  # the second value became SQL: current_user was executed

        stub = StubConnection(scs=True, equote=True)  # the same history, told to us
        mine = ours.interpolate(b"SELECT %s, %s", params, stub)
        assert mine == b"SELECT E'\\\\', E', current_user --'"
        assert _fetch(conn, mine) == params
        # Without the connect-time hint, the live setting alone decides: plain literal, also correct.
        plain = ours.interpolate(b"SELECT %s, %s", params, StubConnection(scs=True))
        assert plain == b"SELECT '\\', ', current_user --'"
        assert _fetch(conn, plain) == params
        binary = ours.interpolate(b"SELECT %s", (b"\\'",), stub)
        assert binary == b"SELECT E'\\\\x5c27'::bytea"
        assert bytes(_fetch(conn, binary)[0]) == b"\\'"
    finally:
        conn.close()


@pytest.mark.usefixtures("restore_libpq_defaults")
def test_scs_turned_off_after_connect_is_identical(dsn: str) -> None:
    """The other flip (on at connect, SET off) is safe in psycopg2: there we match it byte for byte."""
    conn = _connect(dsn)
    try:
        conn.cursor().execute("SET standard_conforming_strings = off")
        stub = StubConnection(scs=False, equote=False)
        for value in ("a\\b", "x\\'", b"\x00\\'a", ["a\\", b"\\"], ("a\\",)):
            got, expected = mogrify_both(conn, stub, "SELECT %s", (value,))
            assert got == expected
            if not isinstance(value, list | tuple):
                assert same_value(value, _fetch(conn, got[1])[0])
        # Told only the live setting, we write E'' with doubled backslashes: different bytes, same value.
        live = ours.interpolate(b"SELECT %s", ("a\\b",), StubConnection(scs=False))
        assert live == b"SELECT E'a\\\\b'"
        assert _fetch(conn, live) == ("a\\b",)
    finally:
        conn.close()


@pytest.mark.parametrize("encoding", ["SJIS", "BIG5", "GBK", "GB18030", "UHC", "JOHAB", "SHIFT_JIS_2004"])
def test_unsafe_client_encodings_are_refused(encoding: str) -> None:
    stub = StubConnection(encoding)
    with pytest.raises(NotSupportedError, match=f"client_encoding {encoding}"):
        ours.interpolate(b"SELECT %s", ("x",), stub)
    with pytest.raises(NotSupportedError):
        ours.quote_ident("x", stub)
    quoted = ours.QuotedString("x")
    quoted.prepare(stub)
    with pytest.raises(NotSupportedError):
        quoted.getquoted()
    # Values whose literals are plain ASCII do not go through the string escaper.
    assert ours.interpolate(b"SELECT %s, %s, %s", (1, dt.date(2024, 1, 2), b"\\'"), stub) == (
        b"SELECT 1, '2024-01-02'::date, '\\x5c27'::bytea"
    )


# --------------------------------------------------------------------------- placeholders and errors


class _DictSub(dict):  # type: ignore[type-arg]
    pass


class _TwoItems:
    def __getitem__(self, index: int) -> int:
        if index < 2:
            return index
        raise IndexError("custom")

    def __len__(self) -> int:
        return 2


class _NoLen:
    def __getitem__(self, index: int) -> int:
        return index


PLACEHOLDER_CASES: list[tuple[Any, Any]] = [
    ("SELECT 1 %% 2", ()),
    ("SELECT 1 %% 2", []),
    ("SELECT 50%", ()),
    ("SELECT %s, %s", [1]),
    ("SELECT %s", [1, 2]),
    ("SELECT %(a)s, %(a)s, %(b)s", {"a": 1, "b": "x"}),
    ("SELECT %(a)s", {}),
    ("SELECT %(a)s, %s", {"a": 1}),
    ("SELECT %s, %(a)s", [1]),
    ("SELECT %s, %(a)s", {"a": 1}),
    ("SELECT %d", [1]),
    ("SELECT %d", [object()]),
    ("SELECT %s", "ab"),
    ("SELECT %s", "a"),
    ("SELECT %s", 5),
    ("SELECT %s", 1.5),
    ("SELECT %s", True),
    ("SELECT %s", object()),
    ("SELECT %s", {1, 2}),
    ("SELECT %s", iter([1])),
    ("SELECT %s", (x for x in [1])),
    ("SELECT %s", {"a": 1}),
    ("SELECT %s", _DictSub(a=1)),
    ("SELECT %s", collections.OrderedDict(a=1)),
    ("SELECT %s", collections.defaultdict(int)),
    ("SELECT %s", collections.Counter("a")),
    ("SELECT %s, %s", _TwoItems()),
    ("SELECT %s", _TwoItems()),
    ("SELECT %s", _NoLen()),
    ("SELECT %s", range(3)),
    ("SELECT %s", range(1)),
    ("SELECT %s", b"a"),
    ("SELECT %s", bytearray(b"a")),
    ("SELECT %s", memoryview(b"a")),
    ("SELECT %s", collections.deque([1])),
    ("SELECT 1", {"a": 1}),
    ("SELECT 1", [1, 2]),
    ("SELECT 1", 5),
    ("SELECT 1 %%", 5),
    ("SELECT %(a)s", [1]),
    ("SELECT %(a)s", (1,)),
    ("SELECT %(a)s", "abc"),
    ("SELECT %(a)s", 5),
    ("SELECT %(a)s", _TwoItems()),
    ("SELECT %(a)s", {"a": None, "b": 2}),
    ("SELECT %(a)s %%", {"a": 1}),
    ("SELECT %(a", {"a": 1}),
    ("SELECT %(a%s)s", {"a": 1}),
    ("SELECT %(a(b)s", {"a(b": 1}),
    ("SELECT %(a(b)c)s", {"a(b": 1}),
    ("SELECT %(a)d", {"a": 1}),
    ("SELECT %(a)", {"a": 1}),
    ("SELECT %()s", {"": 1}),
    ("SELECT %(é)s", {"é": 1}),
    ("SELECT %s %", [1, 2]),
    ("SELECT %s %", [1]),
    ("SELECT %", [1]),
    ("SELECT %", []),
    ("SELECT %", {}),
    ("SELECT %é", [1]),
    ("SELECT %\x7f", [1]),
    ("SELECT % s", [1]),
    ("SELECT %%%s", [1]),
    ("SELECT %%(a)s", {"a": 1}),
    ("SELECT %%(a)s", []),
    ("SELECT %%s", [1]),
    ("SELECT %s", []),
    ("SELECT %s", ()),
    ("SELECT %s", (1, 2)),
    (b"SELECT %s", [1]),
    ("SELECT %s\x00 %s", [1]),
    ("SELECT \x00", []),
    ("SELECT %s", [b"\x00"]),
    ("SELECT %s", ["nul\x00"]),
    ("SELECT %(a)s", {"a": "\x00"}),
    ("SELECT %s", [{}]),
    ("SELECT %s IN %s", [1, (1, 2)]),
    ("%(a)s)s", {"a": 1}),
    ("%(a)s %(b)s", {"a": 1}),
    ("%s%%%s", (1, 2)),
    ("%(\xff)s", {}),
    (b"%(\xff)s", {}),
    (b"%\xff", [1]),
]


@pytest.mark.parametrize(("query", "params"), PLACEHOLDER_CASES, ids=repr)
def test_placeholder_corpus_matches_psycopg2(pg: Any, query: Any, params: Any) -> None:
    got, expected = mogrify_both(pg, StubConnection(), query, params)
    assert got == expected


@SETTINGS
@given(
    query=st.text(st.sampled_from(["%", "s", "(", ")", "a", "d", " ", "é", "\x00"]), max_size=12),
    params=st.lists(st.integers(), max_size=3)
    | st.dictionaries(st.sampled_from(["a", "", "a(", "(a", "s"]), st.integers() | st.none(), max_size=3)
    | st.lists(st.integers(), max_size=3).map(tuple),
)
def test_random_format_strings_match_psycopg2(pg: Any, query: str, params: Any) -> None:
    got, expected = mogrify_both(pg, StubConnection(), query, params)
    assert got == expected


def test_programming_errors_carry_the_cursor() -> None:
    marker = object()
    with pytest.raises(ProgrammingError) as info:
        ours.interpolate(b"SELECT %(a)s, %s", {"a": 1}, StubConnection(), cursor=marker)
    assert info.value.cursor is marker
    assert str(info.value) == "argument formats can't be mixed"


def test_params_none_and_str_queries() -> None:
    stub = StubConnection("LATIN1")
    assert ours.interpolate(b"SELECT 50% %s", None, stub) == b"SELECT 50% %s"
    assert ours.interpolate("SELECT 'é', %s", ["é"], stub) == b"SELECT '\xe9', '\xe9'"
    with pytest.raises(TypeError, match="got bytearray instead"):
        ours.interpolate(bytearray(b"x"), [], stub)  # type: ignore[arg-type]


def test_query_to_bytes_matches_psycopg2_validation(pg: Any) -> None:
    from greenpsyco.fake_psycopg2 import sql as our_sql

    stub = StubConnection()
    for query in ["", b"", None, 5, bytearray(b"x"), "SELECT 'é'", b"SELECT 1"]:
        assert outcome(ours.query_to_bytes, query, stub) == outcome(pg.cursor().mogrify, query)
    composed = our_sql.SQL("SELECT {}, %s").format(our_sql.Identifier("t", "c"))
    assert ours.interpolate(ours.query_to_bytes(composed, stub), [1], stub) == b'SELECT "t"."c", 1'


# --------------------------------------------------------------------------- the adapters themselves


def test_registry_keys_match_psycopg2() -> None:
    """The same adapted types in the same order (range types are ours, so compared by name)."""

    def key(tp: type) -> tuple[str, str]:
        return (
            (tp.__module__, tp.__qualname__)
            if tp.__module__.startswith("psycopg2")
            else (tp.__module__, tp.__name__)
        )

    assert [key(k[0]) for k in ours.adapters] == [key(k[0]) for k in pext.adapters]
    assert all(k[1] is ours.ISQLQuote for k in ours.adapters)
    assert {key(t): v.__name__ for (t, _), v in ours.adapters.items()} == {
        key(t): v.__name__ for (t, _), v in pext.adapters.items()
    }


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("AsIs", "psycopg2.extensions"),
        ("QuotedString", "psycopg2.extensions"),
        ("Binary", "psycopg2.extensions"),
        ("Boolean", "psycopg2.extensions"),
        ("Float", "psycopg2.extensions"),
        ("Int", "psycopg2.extensions"),
        ("ISQLQuote", "psycopg2.extensions"),
        ("SQL_IN", "psycopg2.extensions"),
        ("NoneAdapter", "psycopg2.extensions"),
        ("List", "psycopg2._psycopg"),
        ("Decimal", "psycopg2._psycopg"),
    ],
)
def test_class_identity_matches_psycopg2(name: str, module: str) -> None:
    mine = getattr(ours, name)
    theirs = getattr(pext, name, None) or getattr(psycopg2._psycopg, name)
    assert mine.__module__ == theirs.__module__ == module
    assert mine.__name__ == theirs.__name__
    public = {a for a in dir(theirs) if not a.startswith("_") or a == "__conform__"}
    assert {a for a in dir(mine) if not a.startswith("_") or a == "__conform__"} == public


@pytest.mark.parametrize(
    "value",
    [1, 1.5, True, "x", b"x", [1], (1,), None, Decimal(1), dt.date(2020, 1, 1), dt.timedelta(1)],
    ids=repr,
)
def test_adapter_objects_match_psycopg2(value: Any) -> None:
    mine, theirs = ours.adapt(value), pext.adapt(value)
    assert type(mine).__module__ == type(theirs).__module__
    assert type(mine).__name__ == type(theirs).__name__
    assert repr(mine).split(" object at ")[0] == repr(theirs).split(" object at ")[0]
    if value is not None:  # NoneAdapter has object's str(), with the address
        assert str(mine) == str(theirs)
    for attr in ("adapted", "buffer", "encoding", "type"):
        assert outcome(getattr, mine, attr) == outcome(getattr, theirs, attr)
    if hasattr(theirs, "__conform__"):
        assert mine.__conform__(ours.ISQLQuote) is mine
        assert mine.__conform__(int) is None


_UNADAPTABLE: tuple[Any, ...] = (len, int, ..., frozenset(), collections.OrderedDict())

ADAPTER_CALLS: list[tuple[str, Callable[[Any], Any]]] = [
    ("Int", lambda m: [m.Int(x).getquoted() for x in (5, -5, True, "7", 2.7, Decimal("-3.9"))]),
    ("Int bad", lambda m: m.Int("x").getquoted()),
    ("Int None", lambda m: m.Int(None).getquoted()),
    (
        "Float",
        lambda m: [m.Float(x).getquoted() for x in (1.5, -0.0, 5, True, Decimal("1.5"), 1e301, 5e-324)],
    ),
    ("Float str", lambda m: m.Float("1.5").getquoted()),
    ("Float big int", lambda m: m.Float(10**400).getquoted()),
    ("Boolean", lambda m: [m.Boolean(x).getquoted() for x in (True, False, 0, 1, "", "x", None, [], [0])]),
    ("AsIs", lambda m: [m.AsIs(x).getquoted() for x in ("now()", None, 5, -5, b"x", "é", 1.5)]),
    ("AsIs surrogate", lambda m: m.AsIs("\ud800").getquoted()),
    ("AsIs str", lambda m: [str(m.AsIs("é")), str(m.AsIs(None))]),
    ("Decimal int", lambda m: (m.Decimal if m is ours else psycopg2._psycopg.Decimal)(5).getquoted()),
    ("List bad", lambda m: (m.List if m is ours else psycopg2._psycopg.List)(5)),
    ("List str", lambda m: str((m.List if m is ours else psycopg2._psycopg.List)([1, "é"]))),
    ("Binary None", lambda m: m.Binary(None).getquoted()),
    ("Binary str", lambda m: m.Binary("abc").getquoted()),
    ("Binary int", lambda m: m.Binary(5).getquoted()),
    ("Binary strided", lambda m: m.Binary(memoryview(b"abcdef")[::2]).getquoted()),
    ("Binary array", lambda m: m.Binary(__import__("array").array("h", [1, 256])).getquoted()),
    ("QuotedString int", lambda m: m.QuotedString(1).getquoted()),
    ("QuotedString bytearray", lambda m: m.QuotedString(bytearray(b"a")).getquoted()),
    ("QuotedString nul bytes", lambda m: m.QuotedString(b"a\x00b").getquoted()),
    ("QuotedString latin1", lambda m: m.QuotedString("caf\xe9").encoding),
    ("QuotedString snowman", lambda m: m.QuotedString("☃").getquoted()),
    ("QuotedString no args", lambda m: m.QuotedString()),
    ("QuotedString two args", lambda m: m.QuotedString("x", "y")),
    ("QuotedString prepare int", lambda m: m.QuotedString("x").prepare(5)),
    ("encoding bytes", lambda m: _set_encoding(m, b"utf8")),
    ("encoding int", lambda m: _set_encoding(m, 5)),
    ("encoding bogus", lambda m: _set_encoding(m, "bogus")),
    ("adapted readonly", lambda m: setattr(m.QuotedString("x"), "adapted", 1)),
    (
        "ISQLQuote",
        lambda m: [m.ISQLQuote(1)._wrapped, m.ISQLQuote(1).getquoted(), m.ISQLQuote(1).getbinary()],
    ),
    ("ISQLQuote no args", lambda m: m.ISQLQuote()),
    ("adapt dict", lambda m: m.adapt({})),
    ("adapt alt ignored", lambda m: m.adapt(object(), m.ISQLQuote, 5)),
    ("adapt other protocol", lambda m: m.adapt(1, int)),
    ("adapt conform protocol", lambda m: m.adapt(_Conform(lambda p: p), int)),
    ("conform None", lambda m: m.adapt(_Conform(lambda p: None))),
    ("conform TypeError", lambda m: m.adapt(_Conform(lambda p: _raise(TypeError("no"))))),
    ("conform ValueError", lambda m: m.adapt(_Conform(lambda p: _raise(ValueError("no"))))),
    ("adapt types", lambda m: [m.adapt(x) for x in _UNADAPTABLE]),
    ("SQL_IN", lambda m: [m.SQL_IN(x).getquoted() for x in ((), (1,), [1, 2], "ab", ((1, None),))]),
    ("SQL_IN str", lambda m: str(m.SQL_IN((1, "a")))),
    ("NoneAdapter", lambda m: m.NoneAdapter(5).getquoted()),
    ("DateFromPy datetime", lambda m: m.DateFromPy(dt.datetime(2020, 1, 1, 5)).getquoted()),
    ("DateFromPy str", lambda m: m.DateFromPy("x")),
    ("TimeFromPy datetime", lambda m: m.TimeFromPy(dt.datetime(2020, 1, 1))),
    ("TimestampFromPy date", lambda m: m.TimestampFromPy(dt.date(2020, 1, 1))),
    ("IntervalFromPy", lambda m: [m.IntervalFromPy(dt.timedelta(days=-1, microseconds=7)).getquoted()]),
    (
        "wrapper type",
        lambda m: [m.adapt(x).type for x in (dt.time(), dt.date(1, 1, 1), dt.datetime(1, 1, 1))],
    ),
    ("Date", lambda m: [m.Date(2024, 1, 2).getquoted(), m.Time(1, 2, 3.5).getquoted()]),
    (
        "Timestamp",
        lambda m: [m.Timestamp(2024, 1, 2, 3, 4, 5.25).getquoted(), m.Timestamp(2024, 1, 2).getquoted()],
    ),
    ("Time tz", lambda m: m.Time(1, 2, 3, dt.UTC).getquoted()),
    ("Timestamp tz", lambda m: m.Timestamp(2024, 1, 2, 3, 4, 5, dt.UTC).getquoted()),
    ("Timestamp bad month", lambda m: m.Timestamp(2020, 13, 2)),
    ("Time rounding", lambda m: m.Time(1, 2, 59.9999999)),
    ("Date str", lambda m: m.Date("2020", 1, 2)),
    ("Ticks", lambda m: [m.TimeFromTicks(3600.5).getquoted(), m.DateFromTicks(86400 * 365.25).getquoted()]),
    ("TimestampFromTicks", lambda m: [m.TimestampFromTicks(t).getquoted() for t in (0, 1e9 + 0.25, -1.5)]),
    ("TimestampFromTicks str", lambda m: m.TimestampFromTicks("1")),
    (
        "subclasses",
        lambda m: [m.adapt(x).getquoted() for x in (_IntEnum.A, _FloatRepr(-1.0), _IsoDateTime(2020, 1, 1))],
    ),
]


def _raise(exc: Exception) -> Any:
    raise exc


class _Conform:
    def __init__(self, answer: Callable[[Any], Any]) -> None:
        self.answer = answer

    def __conform__(self, proto: Any) -> Any:
        return self.answer(proto)


class _IntEnum(enum.IntEnum):
    A = -3

    def __str__(self) -> str:
        return "not a number"


class _FloatRepr(float):
    def __repr__(self) -> str:
        return "FS!"


class _IsoDateTime(dt.datetime):
    def isoformat(self, *args: Any, **kwargs: Any) -> str:
        return "ISO"


def _set_encoding(module: Any, value: Any) -> Any:
    quoted = module.QuotedString("é")
    quoted.encoding = value
    return quoted.encoding, quoted.getquoted()


@pytest.mark.parametrize(("label", "call"), ADAPTER_CALLS, ids=[label for label, _ in ADAPTER_CALLS])
def test_adapter_behaviour_matches_psycopg2(label: str, call: Callable[[Any], Any]) -> None:
    mine, theirs = outcome(lambda: call(ours)), outcome(lambda: call(THEIRS))
    if (
        label.startswith(("adapt types", "adapt dict", "adapt alt", "adapt other", "conform"))
        and mine[0] == "ok"
    ):
        mine, theirs = ("ok", _describe(mine[1])), ("ok", _describe(theirs[1]))
    if label in ("List bad",) or label.endswith(("no args", "two args")):
        assert mine[:2] == theirs[:2]  # SystemError/TypeError; the C arity messages are not reproduced
        return
    assert mine == theirs


def _describe(value: Any) -> Any:
    if isinstance(value, list):
        return [_describe(v) for v in value]
    return value if isinstance(value, type | int) else type(value).__name__


class _TheirNames:
    """psycopg2's names gathered like our module's, so one lambda can call either side."""

    def __getattr__(self, name: str) -> Any:
        for module in (pext, psycopg2, psycopg2._psycopg):
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(name)


THEIRS = _TheirNames()


def test_quotedstring_prepare_and_cache(pg: Any, pg_latin1: Any) -> None:
    for pg_conn, stub in ((pg, StubConnection()), (pg_latin1, StubConnection("LATIN1"))):
        mine, theirs = ours.QuotedString("é"), pext.QuotedString("é")
        mine.prepare(stub)
        theirs.prepare(pg_conn)
        assert mine.encoding == theirs.encoding
        mine.encoding = theirs.encoding = "latin1"
        assert mine.encoding == theirs.encoding  # the connection's codec still wins
        assert mine.getquoted() == theirs.getquoted()
        assert mine.buffer == theirs.buffer
    # getquoted() caches: a later prepare() changes nothing, as in psycopg2
    mine, theirs = ours.QuotedString("é"), pext.QuotedString("é")
    first = (mine.getquoted(), theirs.getquoted())
    mine.prepare(StubConnection())
    theirs.prepare(pg)
    assert (mine.getquoted(), theirs.getquoted()) == first


@pytest.mark.usefixtures("restore_libpq_defaults")
def test_closed_connection_uses_libpq_defaults(dsn: str) -> None:
    conn = psycopg2.connect(dsn)
    conn.close()
    stub = StubConnection(closed=1)
    for value in ("a\\b", b"x\\"):
        theirs = pext.adapt(value)
        theirs.prepare(conn)
        mine = ours.adapt(value)
        mine.prepare(stub)
        assert mine.getquoted() == theirs.getquoted()
    assert outcome(lambda: ours.quote_ident("x", stub)) == outcome(lambda: pext.quote_ident("x", conn))


def test_server_version_selects_bytea_format() -> None:
    old = ours.Binary(b"\x00'\\")
    old.prepare(StubConnection(server_version=80400))
    assert old.getquoted() == b"'\\000''\\\\'::bytea"
    new = ours.Binary(b"\x00'\\")
    new.prepare(StubConnection())
    assert new.getquoted() == b"'\\x00275c'::bytea"


def test_adapter_protocol_hooks_and_registry() -> None:
    class Money(int):
        pass

    class Cents(Money):
        pass

    class Conforming:
        def __conform__(self, proto: Any) -> Any:
            return ours.AsIs("conformed") if proto is ours.ISQLQuote else None

    saved = dict(ours.adapters)
    try:
        ours.register_adapter(Money, lambda v: ours.AsIs("MONEY"))
        assert ours.adapt(Cents(1)).getquoted() == b"MONEY"  # the MRO walk
        assert ours.adapt(Conforming()).getquoted() == b"conformed"
        ours.register_adapter(Conforming, lambda v: ours.AsIs("registered"))
        assert ours.adapt(Conforming()).getquoted() == b"registered"  # the exact type comes first
        ours.register_adapter(type(None), lambda v: ours.AsIs("NONE!"))
        stub = StubConnection()
        assert (
            ours.interpolate(b"%s %s %s", (None, [None, 1], (None,)), stub) == b"NULL ARRAY[NULL,1] (NONE!)"
        )
    finally:
        ours.adapters.clear()
        ours.adapters.update(saved)


def test_getquoted_result_types(pg: Any) -> None:
    class Raw:
        def __init__(self, result: Any) -> None:
            self.result = result

        def __conform__(self, proto: Any) -> Any:
            return self

        def getquoted(self) -> Any:
            return self.result

    for result in ("é", b"q", bytearray(b"x"), 5, None):
        for container in (lambda v: [v], lambda v: {"a": v}):
            query = "SELECT %(a)s" if isinstance(container(0), dict) else "SELECT %s"
            got, expected = mogrify_both(pg, StubConnection(), query, container(Raw(result)))
            assert got == expected
    assert ours.List([Raw("é")]).getquoted() == psycopg2._psycopg.List([Raw("é")]).getquoted()


# ------------------------------------------------------------------------------------------- quote_ident


@SETTINGS
@given(name=st.text(st.characters(codec="utf-8")))
def test_quote_ident_matches_psycopg2(pg: Any, pg_latin1: Any, pg_eucjp: Any, name: str) -> None:
    for pg_conn, encoding in ((pg, "UTF8"), (pg_latin1, "LATIN1"), (pg_eucjp, "EUC_JP")):
        stub = StubConnection(encoding)
        assert outcome(ours.quote_ident, name, stub) == outcome(pext.quote_ident, name, pg_conn)
        assert outcome(ours.quote_ident, name, stub.cursor()) == outcome(ours.quote_ident, name, stub)


def test_quote_ident_arguments(pg: Any) -> None:
    stub = StubConnection()
    for ident, scope_pair in [
        ('my "col"', (stub, pg)),
        (5, (stub, pg)),
        (None, (stub, pg)),
        (type("S", (str,), {})("x"), (stub, pg)),
        (b"a\x00b", (stub, pg)),
        ("x", (5, 5)),
        ("\ud800", (stub, pg)),
    ]:
        mine, theirs = scope_pair
        assert outcome(ours.quote_ident, ident, mine) == outcome(pext.quote_ident, ident, theirs)


def test_decimal_context_is_not_touched() -> None:
    with decimal.localcontext() as ctx:
        ctx.traps[decimal.InvalidOperation] = True
        assert ours.adapt(Decimal("sNaN")).getquoted() == b"'NaN'::numeric"
