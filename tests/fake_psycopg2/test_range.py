"""psycopg2._range against the real psycopg2 (the oracle) and the real server.

* ``Range`` semantics, for hypothesis-generated bounds: attributes, ``repr``/``str``, ``in``, equality,
  ordering, hashing and pickles (the same bytes as psycopg2's) equal psycopg2's outcome, errors included;
* the range-literal parser gives psycopg2's result (or error) for arbitrary text;
* builtin and registered range types make the same SQL literals and are fetched as the same values;
* ``register_range`` finds types as psycopg2 does (schema, search_path, transaction state) and fails
  with the same errors;
* every class names ``psycopg2._range`` as its module (Django's migration writer relies on it).
"""

from __future__ import annotations

import datetime as dt
import functools
import pickle
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from types import ModuleType, SimpleNamespace
from typing import Any

import psycopg2
import psycopg2._range
import psycopg2.extensions
import psycopg2.extras
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import greenpsyco.fake_psycopg2 as fake
import greenpsyco.fake_psycopg2._range as fake_range
import greenpsyco.fake_psycopg2.extensions as fake_ext
import greenpsyco.fake_psycopg2.extras as fake_extras
from greenpsyco.testing import TestServer

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))

REAL = SimpleNamespace(
    name="psycopg2", psycopg2=psycopg2, ext=psycopg2.extensions, extras=psycopg2.extras, range=psycopg2._range
)
FAKE = SimpleNamespace(name="greenpsyco", psycopg2=fake, ext=fake_ext, extras=fake_extras, range=fake_range)
RANGE_CLASSES = ("Range", "NumericRange", "DateRange", "DateTimeRange", "DateTimeTZRange")


def outcome(call: Callable[[], Any]) -> Any:
    """What a call did: its result, or the exception's class name and message."""
    try:
        return ("ok", call())
    except Exception as error:
        return ("raised", type(error).__name__, str(error))


def shown(value: Any) -> Any:
    """A value made comparable across the two libraries: their classes differ, their reprs must not."""
    if isinstance(value, list | tuple):
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
    """Undo whatever a test registered globally, in both libraries' typecaster and adapter registries."""
    saved = [
        (registry, dict(registry))
        for lib in (REAL, FAKE)
        for registry in (lib.ext.string_types, lib.ext.adapters)
    ]
    yield
    for registry, content in saved:
        registry.clear()
        registry.update(content)


@pytest.fixture(scope="module")
def dsn(pg_server: TestServer) -> Iterator[str]:
    """The server, with a schema of range types for this module (dropped at the end)."""
    dsn = pg_server.dsn()
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "DROP SCHEMA IF EXISTS gp_range CASCADE; CREATE SCHEMA gp_range;"
            "DROP TYPE IF EXISTS gp_textrange CASCADE;"
            "CREATE TYPE gp_textrange AS RANGE (subtype = text);"
            "CREATE TYPE gp_range.floatrange AS RANGE (subtype = float8);"
            "CREATE TYPE gp_range.hidden AS RANGE (subtype = int4)"
        )
    yield dsn
    with conn.cursor() as cur:
        cur.execute("DROP SCHEMA gp_range CASCADE; DROP TYPE gp_textrange CASCADE")
    conn.close()


# --------------------------------------------------------------------------------------- semantics

bound_values = st.one_of(
    st.none(),
    st.integers(-5, 5),
    st.decimals(-5, 5, places=1, allow_nan=False),
    st.floats(-5, 5, allow_nan=False),
    st.dates(dt.date(2020, 1, 1), dt.date(2020, 1, 10)),
    st.sampled_from(["a", "b", ""]),
)
flags = st.one_of(st.sampled_from(["[)", "(]", "()", "[]"]), st.sampled_from(["[", "", "[[", "])", None, 1]))
range_args = st.tuples(st.sampled_from(RANGE_CLASSES), bound_values, bound_values, flags, st.booleans())


def make(lib: SimpleNamespace, args: tuple[Any, ...]) -> Any:
    name, lower, upper, bounds, empty = args
    return getattr(lib.range, name)(lower, upper, bounds, empty)


def observe(lib: SimpleNamespace, first: tuple[Any, ...], second: tuple[Any, ...], probe: Any) -> list[Any]:
    """Everything observable about two ranges made from ``first``/``second`` and a probe value."""
    made = outcome(lambda: make(lib, first))
    if made[0] != "ok":
        return [made]
    r = made[1]
    other = outcome(lambda: make(lib, second))
    seen = [
        repr(r),
        str(r),
        type(r).__module__,
        (r.lower, r.upper, r.isempty, r.lower_inf, r.upper_inf, r.lower_inc, r.upper_inc, bool(r)),
        outcome(lambda: probe in r),
        outcome(lambda: hash(r)),
        outcome(lambda: r == probe),
        outcome(lambda: r != probe),
        outcome(lambda: r < probe),
        outcome(lambda: r >= probe),
    ]
    if other[0] == "ok":
        o = other[1]
        seen += [
            outcome(lambda: r == o),
            outcome(lambda: r != o),
            outcome(lambda: r < o),
            outcome(lambda: r <= o),
            outcome(lambda: r > o),
            outcome(lambda: r >= o),
            outcome(lambda: sorted([r, o], key=lambda x: x) == [r, o]),
        ]
    return seen


@SETTINGS
@given(range_args, range_args, bound_values)
def test_range_semantics_are_psycopg2s(first: tuple[Any, ...], second: tuple[Any, ...], probe: Any) -> None:
    assert observe(FAKE, first, second, probe) == observe(REAL, first, second, probe)


@pytest.fixture
def fake_range_installed(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], None]:
    """Switch ``sys.modules['psycopg2._range']`` between the real module and ours (pickle looks there)."""

    def install(ours: bool) -> None:
        module: ModuleType = fake_range if ours else psycopg2._range
        monkeypatch.setitem(sys.modules, "psycopg2._range", module)

    return install


@SETTINGS
@given(args=range_args)
def test_pickles_are_byte_identical_and_round_trip(
    fake_range_installed: Callable[[bool], None], args: tuple[Any, ...]
) -> None:
    if outcome(lambda: make(REAL, args))[0] != "ok":
        return
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        fake_range_installed(False)
        theirs = pickle.dumps(make(REAL, args), protocol)
        fake_range_installed(True)
        ours = make(FAKE, args)
        data = pickle.dumps(ours, protocol)
        assert data == theirs
        copy = pickle.loads(data)
        assert type(copy) is type(ours)
        assert copy == ours
        assert repr(copy) == repr(ours)


def test_every_class_reports_psycopg2s_module_and_names() -> None:
    for name in (*RANGE_CLASSES, "RangeAdapter", "RangeCaster", "NumberRangeAdapter"):
        ours, theirs = getattr(fake_range, name), getattr(psycopg2._range, name)
        assert (ours.__module__, ours.__qualname__) == (theirs.__module__, theirs.__qualname__)
        assert [c.__name__ for c in ours.__mro__] == [c.__name__ for c in theirs.__mro__]
    assert fake_range.Range.__slots__ == psycopg2._range.Range.__slots__
    assert repr(fake_range.NumericRange(1, 10)) == "NumericRange(1, 10, '[)')"
    assert repr(fake_range.DateRange(empty=True)) == "DateRange(empty=True)"


def test_the_extras_names_are_the_range_modules_objects() -> None:
    for name in (*RANGE_CLASSES, "RangeAdapter", "RangeCaster", "register_range"):
        assert getattr(fake_extras, name) is getattr(fake_range, name)
    assert fake.extensions is fake_ext
    assert fake._range is fake_range


def test_builtin_registrations_are_psycopg2s() -> None:
    for oid in (3904, 3905, 3906, 3907, 3908, 3909, 3910, 3911, 3912, 3913, 3926, 3927):
        assert fake_ext.string_types[oid].name == psycopg2.extensions.string_types[oid].name
    for name in ("int4range", "int8range", "numrange", "daterange", "tsrange", "tstzrange"):
        ours, theirs = getattr(fake_range, f"{name}_caster"), getattr(psycopg2._range, f"{name}_caster")
        assert ours.subtype_oid == theirs.subtype_oid
        assert (ours.adapter.__module__, ours.adapter.__name__, ours.range.__name__) == (
            theirs.adapter.__module__,
            theirs.adapter.__name__,
            theirs.range.__name__,
        )
    ours_order = [(key[0].__name__, value.__name__) for key, value in fake_ext.adapters.items()]
    theirs_order = [(key[0].__name__, value.__name__) for key, value in psycopg2.extensions.adapters.items()]
    assert ours_order == theirs_order


# ------------------------------------------------------------------------------------------ parsing

range_text = st.one_of(
    st.text(alphabet='[]()",\\ab1 e', max_size=14),
    st.builds(
        lambda lo, a, b, hi: lo + a + "," + b + hi,
        st.sampled_from("[("),
        st.text(alphabet='"\\a, 1', max_size=5),
        st.text(alphabet='"\\a, 1)]', max_size=5),
        st.sampled_from("])"),
    ),
)


@SETTINGS
@given(range_text)
def test_parse_matches_psycopg2_on_any_text(text: str) -> None:
    caster_name = "daterange_caster"  # no cursor: the bounds stay strings
    theirs = outcome(lambda: getattr(psycopg2._range, caster_name).parse(text))
    ours = outcome(lambda: getattr(fake_range, caster_name).parse(text))
    if theirs[0] == "ok":
        assert ours[0] == "ok"
        assert shown(ours[1]) == shown(theirs[1])
    else:
        assert ours == theirs


def test_parse_of_none_and_empty() -> None:
    for lib in (REAL, FAKE):
        assert lib.range.numrange_caster.parse(None) is None
        assert repr(lib.range.numrange_caster.parse("empty")) == "NumericRange(empty=True)"


# ------------------------------------------------------------------------------------- adaptation


def adaptation_cases(lib: SimpleNamespace) -> list[Any]:
    r = lib.range
    utc = dt.UTC
    return [
        r.NumericRange(1, 10),
        r.NumericRange(-1, Decimal("2.5"), "(]"),
        r.NumericRange(None, 3.5, "()"),
        r.NumericRange(empty=True),
        r.NumericRange(None, None),
        r.DateRange(dt.date(2020, 1, 1), dt.date(2021, 1, 1), "[]"),
        r.DateRange(None, dt.date(2020, 1, 1)),
        r.DateRange(empty=True),
        r.DateTimeRange(dt.datetime(2020, 1, 1, 12, 30), None),
        r.DateTimeTZRange(dt.datetime(2020, 1, 1, tzinfo=utc), dt.datetime(2020, 1, 2, tzinfo=utc), "(]"),
        [r.NumericRange(1, 2), r.NumericRange(empty=True)],
    ]


def test_builtin_ranges_adapt_and_round_trip_as_in_psycopg2(dsn: str) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        conn = lib.psycopg2.connect(dsn)
        seen = []
        try:
            cur = conn.cursor()
            for value in adaptation_cases(lib):
                seen.append(cur.mogrify("SELECT %s", (value,)))
                seen.append(str(lib.ext.adapt(value).getquoted()) if not isinstance(value, list) else None)
                cur.execute("SELECT %s", (value,))
                seen.append(shown(cur.fetchone()[0]))
            cur.execute(
                "SELECT '[1,10)'::int4range, '(,)'::numrange, '[2020-01-01,2020-02-01)'::daterange,"
                " '[\"2020-01-01 00:00+02\",)'::tstzrange, '(\"2020-01-01 10:00\",infinity]'::tsrange,"
                " array['(1,2]'::int8range, null, 'empty'], 'empty'::int4range, null::numrange,"
                " '[1.5,2.25)'::numrange, numrange(null, 3)"
            )
            seen.append(shown(list(cur.fetchone())))
            seen.append([(c.name, c.type_code) for c in cur.description])
        finally:
            conn.close()
        return seen

    differential(scenario)


def test_range_adapter_misuse_fails_like_psycopg2() -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        r = lib.range
        unprepared = r.daterange_caster.adapter(r.DateRange(dt.date(2020, 1, 1), None))
        return [
            outcome(lambda: r.RangeAdapter(r.NumericRange(1, 2)).getquoted()),
            outcome(lambda: unprepared.getquoted()),
            outcome(lambda: unprepared.__conform__(lib.ext.ISQLQuote)),
            outcome(lambda: lib.ext.adapt(r.Range(1, 2))),
            outcome(lambda: r.NumberRangeAdapter(r.NumericRange(empty=True)).getquoted()),
            outcome(lambda: r.daterange_caster.adapter(r.DateRange(empty=True)).getquoted()),
            outcome(lambda: r.daterange_caster.adapter(r.DateRange(None, None)).getquoted()),
        ]

    differential(scenario)


def test_range_caster_construction_errors_and_names() -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        r = lib.range

        class Sub(r.Range):  # type: ignore[name-defined,misc]
            pass

        class Adapter(r.RangeAdapter):  # type: ignore[name-defined,misc]
            name = "myrange"

        def caster_of(pgrange: Any, pyrange: Any) -> Any:
            return r.RangeCaster(pgrange, pyrange, oid=1, subtype_oid=23, array_oid=2)

        seen: list[Any] = []
        cases: list[tuple[Any, Any]] = [
            ("myrange", "MyRange"),
            ("myrange", Sub),
            (Adapter, Sub),
            (r.RangeAdapter, Sub),
            (42, Sub),
            ("myrange", r.Range),
            ("myrange", 42),
            ("myrange", int),
        ]
        for case in cases:
            made = outcome(functools.partial(caster_of, *case))
            if made[0] != "ok":
                seen.append(made)
                continue
            caster = made[1]
            seen.append(
                (
                    caster.adapter.__module__,
                    caster.adapter.__qualname__,
                    caster.adapter.name,
                    caster.range.__module__,
                    caster.range.__qualname__ if caster.range is not Sub else "Sub",
                    caster.typecaster.name,
                    caster.typecaster.values,
                    caster.array_typecaster.name,
                    repr(caster.parse('["a b",)')),
                )
            )
        no_array = r.RangeCaster("x", "X", oid=1, subtype_oid=23)
        seen.append(no_array.array_typecaster)
        return seen

    differential(scenario)


# ------------------------------------------------------------------------------------ register_range


def test_register_range_round_trips_like_psycopg2(dsn: str) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        conn = lib.psycopg2.connect(dsn)
        seen: list[Any] = []
        try:
            caster = lib.extras.register_range("gp_textrange", "TextRange", conn)
            seen.append((conn.status, conn.get_transaction_status()))
            cls = caster.range
            seen.append((cls.__module__, cls.__name__, caster.adapter.__module__, caster.adapter.__name__))
            seen.append((caster.subtype_oid, caster.typecaster.name, caster.array_typecaster.name))
            values = [
                cls("a", "b"),
                cls('b"q', "x\\y", "[]"),
                cls(None, "it's", "()"),
                cls("", None),
                cls(empty=True),
            ]
            cur = conn.cursor()
            for value in values:
                seen.append(cur.mogrify("SELECT %s", (value,)))
                cur.execute("SELECT %s, ARRAY[%s]", (value, value))
                seen.append(shown(list(cur.fetchone())))
            other = lib.psycopg2.connect(dsn)  # registered on ``conn`` only: a string elsewhere
            with other.cursor() as ocur:
                ocur.execute("SELECT '[a,b)'::gp_textrange")
                seen.append(ocur.fetchone())
            other.close()

            float_caster = lib.extras.register_range("gp_range.floatrange", lib.range.NumericRange, cur)
            seen.append((float_caster.range.__name__, float_caster.adapter.__name__))
            cur.execute("SELECT '[1.5,2)'::gp_range.floatrange, %s", (lib.range.NumericRange(1.5, 2),))
            seen.append(cur.query)
            seen.append(shown(list(cur.fetchone())))
        finally:
            conn.close()
        return seen

    differential(scenario)


def test_register_range_lookup_and_errors_like_psycopg2(dsn: str) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        seen: list[Any] = []
        conn = lib.psycopg2.connect(dsn)
        try:
            register = lib.extras.register_range
            seen.append(outcome(lambda: register("nosuchrange", "X", conn)))
            seen.append((conn.status, conn.get_transaction_status()))
            seen.append(outcome(lambda: register("nosuch.range", "X", conn)))
            seen.append(outcome(lambda: register("int4", "X", conn)))
            seen.append(outcome(lambda: register("hidden", "X", conn)))
            with conn.cursor() as cur:
                cur.execute("SET search_path TO public, gp_range")
            seen.append(outcome(lambda: shown(register("hidden", "Hidden", conn).range)))
            # inside a transaction: the failed regtype lookup is rolled back to a savepoint
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
            seen.append(outcome(lambda: register("nosuchrange", "X", conn)))
            seen.append((conn.status, conn.get_transaction_status()))
            seen.append(outcome(lambda: shown(register("hidden", "Hidden", conn.cursor()).range)))
            seen.append((conn.status, conn.get_transaction_status()))
            conn.rollback()
            conn.autocommit = True
            seen.append(outcome(lambda: register("nosuchrange", "X", conn)))
            seen.append(outcome(lambda: shown(register("daterange", "D", conn).range)))
            seen.append((conn.status, conn.get_transaction_status()))
            seen.append(outcome(lambda: register("daterange", "D", None)))
            seen.append(outcome(lambda: register(42, "D", conn)))
        finally:
            conn.close()
        return seen

    differential(scenario)


def test_register_range_globally_reaches_every_connection(dsn: str) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        conn = lib.psycopg2.connect(dsn)
        try:
            lib.extras.register_range("gp_textrange", "GlobalTextRange", conn, globally=True)
            other = lib.psycopg2.connect(dsn)
            with other.cursor() as cur:
                cur.execute("SELECT '[a,b)'::gp_textrange")
                value = shown(cur.fetchone()[0])
            other.close()
        finally:
            conn.close()
        return [value]

    differential(scenario)
