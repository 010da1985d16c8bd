"""psycopg2._range: the ``Range`` family, their adapters, and the typecasters of PostgreSQL range types.

Importing the module registers, globally and as psycopg2 does at import, the adapters of ``NumericRange``,
``DateRange``, ``DateTimeRange`` and ``DateTimeTZRange`` and the typecasters of the builtin range types
(int4range, int8range, numrange, daterange, tsrange, tstzrange and their arrays).

Every class here reports ``psycopg2._range`` as its module, including the classes made at run time by
``RangeCaster`` for a name given as a string: Django's migration serializer writes ``__module__`` and
``repr()`` of range defaults into migration files, and pickles name the module too.
"""

from __future__ import annotations

import re
from typing import Any

from greenpsyco.fake_psycopg2._adapt import ISQLQuote, adapt, register_adapter
from greenpsyco.fake_psycopg2._exceptions import InterfaceError, ProgrammingError
from greenpsyco.fake_psycopg2._typecast import new_array_type, new_type, register_type

_MODULE = "psycopg2._range"

# The accepted bound flags, in a tuple: membership is tested with ``==`` only, so an unhashable value
# is refused with the same ValueError as any other invalid one.
_BOUND_FLAGS = ("[)", "(]", "()", "[]")


class Range:
    """A PostgreSQL range value: ``Range(lower, upper, bounds='[)', empty=False)``.

    ``None`` for a bound means unbounded on that side; ``bounds`` is one of ``'[)'``, ``'(]'``, ``'()'``,
    ``'[]'`` (``[``/``]`` include the bound); ``empty=True`` makes the empty range, whatever the rest.
    Instances are immutable in use, hashable, ordered (by lower, upper, then flags) and picklable.
    """

    # psycopg2's order: it is the order of a pickle's state, so it decides the pickle's bytes.
    __slots__ = ("_lower", "_upper", "_bounds")  # noqa: RUF023

    _lower: Any
    _upper: Any
    _bounds: Any

    def __init__(self, lower: Any = None, upper: Any = None, bounds: Any = "[)", empty: Any = False) -> None:
        if empty:
            self._lower = None
            self._upper = None
            self._bounds = None
            return
        if bounds not in _BOUND_FLAGS:
            raise ValueError(f"bound flags not valid: {bounds!r}")
        self._lower = lower
        self._upper = upper
        self._bounds = bounds

    def __repr__(self) -> str:
        name = self.__class__.__name__
        if self._bounds is None:
            return f"{name}(empty=True)"
        return f"{name}({self._lower!r}, {self._upper!r}, {self._bounds!r})"

    def __str__(self) -> str:
        bounds = self._bounds
        if bounds is None:
            return "empty"
        return "".join([bounds[0], str(self._lower), ", ", str(self._upper), bounds[1]])

    @property
    def lower(self) -> Any:
        """The lower bound; None when the range is empty or unbounded below."""
        return self._lower

    @property
    def upper(self) -> Any:
        """The upper bound; None when the range is empty or unbounded above."""
        return self._upper

    @property
    def isempty(self) -> bool:
        """Whether this is the empty range."""
        return self._bounds is None

    @property
    def lower_inf(self) -> bool:
        """Whether the range is unbounded below (False for the empty range)."""
        return self._bounds is not None and self._lower is None

    @property
    def upper_inf(self) -> bool:
        """Whether the range is unbounded above (False for the empty range)."""
        return self._bounds is not None and self._upper is None

    @property
    def lower_inc(self) -> Any:
        """Whether the lower bound belongs to the range (False when there is none)."""
        if self._bounds is None or self._lower is None:
            return False
        return self._bounds[0] == "["

    @property
    def upper_inc(self) -> Any:
        """Whether the upper bound belongs to the range (False when there is none)."""
        if self._bounds is None or self._upper is None:
            return False
        return self._bounds[1] == "]"

    def __contains__(self, x: Any) -> bool:
        # The operators (and their order) are psycopg2's: with values of mixed types the same
        # comparison is attempted, so the same TypeError comes out.
        bounds = self._bounds
        if bounds is None:
            return False
        lower = self._lower
        if lower is not None:
            outside = x < lower if bounds[0] == "[" else x <= lower
            if outside:
                return False
        upper = self._upper
        if upper is not None:
            outside = x > upper if bounds[1] == "]" else x >= upper
            if outside:
                return False
        return True

    def __bool__(self) -> bool:
        return self._bounds is not None

    def __eq__(self, other: object) -> Any:
        if not isinstance(other, Range):
            return False
        return self._lower == other._lower and self._upper == other._upper and self._bounds == other._bounds

    def __ne__(self, other: object) -> Any:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash((self._lower, self._upper, self._bounds))

    # Ordering is arbitrary (as the server's is) but stable: lower, then upper, then the flags, with an
    # absent value sorting first.

    def __lt__(self, other: object) -> Any:
        if not isinstance(other, Range):
            return NotImplemented
        for mine, theirs in (
            (self._lower, other._lower),
            (self._upper, other._upper),
            (self._bounds, other._bounds),
        ):
            if mine == theirs:
                continue
            if mine is None:
                return True
            if theirs is None:
                return False
            return mine < theirs
        return False

    def __le__(self, other: object) -> Any:
        return True if self == other else self.__lt__(other)

    def __gt__(self, other: object) -> Any:
        if not isinstance(other, Range):
            return NotImplemented
        return other.__lt__(self)

    def __ge__(self, other: object) -> Any:
        return True if self == other else self.__gt__(other)

    def __getstate__(self) -> dict[str, Any]:
        return {slot: getattr(self, slot) for slot in self.__slots__ if hasattr(self, slot)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for slot, value in state.items():
            setattr(self, slot, value)


def register_range(pgrange: Any, pyrange: Any, conn_or_curs: Any, globally: bool = False) -> RangeCaster:
    """Look up the range type ``pgrange`` (a name, optionally schema-qualified) on ``conn_or_curs`` and
    make its values ``pyrange`` instances (a strict ``Range`` subclass, or a name for a new one).

    The typecasters are registered on ``conn_or_curs`` (everywhere with ``globally=True``) and the adapter
    globally. Raises ``ProgrammingError`` when the type does not exist. Returns the ``RangeCaster``.
    """
    caster = RangeCaster._from_db(pgrange, pyrange, conn_or_curs)
    caster._register(None if globally else (conn_or_curs or None))
    return caster


class RangeAdapter:
    """Adapts a ``Range`` to ``name(lower, upper, 'flags')``, the range type's constructor function.

    Abstract: a subclass sets ``name`` (the SQL type) or overrides ``getquoted()``.
    """

    name: str | None = None

    # Declared, never assigned: psycopg2's __conform__ reads ``self._proto`` and so fails with
    # AttributeError; keeping the declaration without a value reproduces that.
    _proto: Any
    _conn: Any

    def __init__(self, adapted: Any) -> None:
        self.adapted = adapted

    def __conform__(self, proto: Any) -> Any:
        if self._proto is ISQLQuote:
            return self
        return None

    def prepare(self, conn: Any) -> None:
        """Remember the connection, to prepare the bounds' adapters with it."""
        self._conn = conn

    def getquoted(self) -> bytes:
        """The SQL literal: ``'empty'::name`` or ``name(lower, upper, 'flags')``."""
        if self.name is None:
            raise NotImplementedError(
                "RangeAdapter must be subclassed overriding its name or the getquoted() method"
            )
        value = self.adapted
        name = self.name.encode("utf8")
        if value.isempty:
            return b"'empty'::" + name
        lower = self._bound(value.lower)
        upper = self._bound(value.upper)
        flags = value._bounds.encode("utf8")
        return b"".join([name, b"(", lower, b", ", upper, b", '", flags, b"')"])

    def _bound(self, bound: Any) -> bytes:
        """One bound as an SQL literal (prepared for the connection when its adapter wants it)."""
        if bound is None:
            return b"NULL"
        adapted = adapt(bound)
        if hasattr(adapted, "prepare"):
            adapted.prepare(self._conn)
        quoted: bytes = adapted.getquoted()
        return quoted


# A range literal as the server writes it: flag, optional lower bound (quoted with doubled quotes and
# backslashes, or bare), comma, optional upper bound, flag. Matched at the start only, as psycopg2 does.
_QUOTED = r'"((?:[^"]|"")*)"'
_RANGE_LITERAL = re.compile(r"([(\[])(?:" + _QUOTED + r'|([^",]+))?,(?:' + _QUOTED + r'|([^")\]]+))?([)\]])')


def _undouble(text: str) -> str:
    """Undo the server's doubling of ``"`` and ``\\`` inside a quoted bound."""
    return text.replace('""', '"').replace("\\\\", "\\")


class RangeCaster:
    """Ties a PostgreSQL range type (by OID) to a ``Range`` subclass and a ``RangeAdapter``.

    ``register_range()`` makes one from the catalog; made directly, it needs the OIDs of the type, of its
    subtype and optionally of its array, and ``_register()`` installs its typecasters and adapter.
    """

    adapter: Any
    range: Any

    def __init__(self, pgrange: Any, pyrange: Any, oid: Any, subtype_oid: Any, array_oid: Any = None) -> None:
        self.subtype_oid = subtype_oid
        self._create_ranges(pgrange, pyrange)
        # NumberRangeAdapter has no name: its typecasters are then named after its metaclass, 'type'.
        name = self.adapter.name or self.adapter.__class__.__name__
        self.typecaster = new_type((oid,), name, self.parse)
        self.array_typecaster = (
            None if array_oid is None else new_array_type((array_oid,), name + "ARRAY", self.typecaster)
        )

    def _create_ranges(self, pgrange: Any, pyrange: Any) -> None:
        """Use, or make from a name, the adapter class and the ``Range`` subclass."""
        self.adapter = None
        if isinstance(pgrange, str):
            self.adapter = type(pgrange, (RangeAdapter,), {"__module__": _MODULE})
            self.adapter.name = pgrange
        else:
            try:
                if issubclass(pgrange, RangeAdapter) and pgrange is not RangeAdapter:
                    self.adapter = pgrange
            except TypeError:
                pass
        if self.adapter is None:
            raise TypeError("pgrange must be a string or a RangeAdapter strict subclass")

        self.range = None
        try:
            if isinstance(pyrange, str):
                self.range = type(pyrange, (Range,), {"__module__": _MODULE})
            if issubclass(pyrange, Range) and pyrange is not Range:
                self.range = pyrange
        except TypeError:  # a str is not a class: the new class made above stays
            pass
        if self.range is None:
            raise TypeError("pyrange must be a type or a Range strict subclass")

    @classmethod
    def _from_db(cls, name: str, pyrange: Any, conn_or_curs: Any) -> RangeCaster:
        """Read the range type ``name`` from pg_range/pg_type; ProgrammingError when it is not there.

        The connection is left in the transaction state it had (psycopg2 rolls back the transaction it
        opened for the lookup).
        """
        from greenpsyco.fake_psycopg2.extensions import STATUS_IN_TRANSACTION
        from greenpsyco.fake_psycopg2.extras import _solve_conn_curs

        conn, curs = _solve_conn_curs(conn_or_curs)
        if conn.info.server_version < 90200:
            raise ProgrammingError(f"range types not available in version {conn.info.server_version}")

        status_before = conn.status
        if "." in name:
            schema, tname = name.split(".", 1)
        else:
            schema, tname = "public", name

        curs.execute(
            "select rngtypid, rngsubtype, typarray\n"
            "from pg_range r\n"
            "join pg_type t on t.oid = rngtypid\n"
            "join pg_namespace ns on ns.oid = typnamespace\n"
            "where typname = %s and ns.nspname = %s;\n",
            (tname, schema),
        )
        rec = curs.fetchone()

        if not rec:
            # Fallback for a type reached through search_path (psycopg2 #1487), used only when the
            # lookup by name and schema found nothing, inside a savepoint when in a transaction.
            savepoint = False
            try:
                if conn.status == STATUS_IN_TRANSACTION:
                    curs.execute("SAVEPOINT register_type")
                    savepoint = True
                curs.execute(
                    "SELECT rngtypid, rngsubtype, typarray, typname, nspname\n"
                    "from pg_range r\n"
                    "join pg_type t on t.oid = rngtypid\n"
                    "join pg_namespace ns on ns.oid = typnamespace\n"
                    "WHERE t.oid = %s::regtype\n",
                    (name,),
                )
            except ProgrammingError:
                pass
            else:
                rec = curs.fetchone()
            finally:
                if savepoint:
                    curs.execute("ROLLBACK TO SAVEPOINT register_type")

        if status_before != STATUS_IN_TRANSACTION and not conn.autocommit:
            conn.rollback()

        if not rec:
            raise ProgrammingError(f"PostgreSQL range '{name}' not found")

        oid, subtype, array = rec[:3]
        return RangeCaster(name, pyrange, oid=oid, subtype_oid=subtype, array_oid=array)

    def parse(self, s: str | None, cur: Any = None) -> Any:
        """The range for the server's text ``s``; bounds are cast by the subtype's caster given a cursor."""
        if s is None:
            return None
        if s == "empty":
            return self.range(empty=True)
        match = _RANGE_LITERAL.match(s)
        if match is None:
            raise InterfaceError(f"failed to parse range: '{s}'")
        flag_lower, quoted_lower, bare_lower, quoted_upper, bare_upper, flag_upper = match.groups()
        lower = bare_lower
        if lower is None and quoted_lower is not None:
            lower = _undouble(quoted_lower)
        upper = bare_upper
        if upper is None and quoted_upper is not None:
            upper = _undouble(quoted_upper)
        if cur is not None:
            lower = cur.cast(self.subtype_oid, lower)
            upper = cur.cast(self.subtype_oid, upper)
        return self.range(lower, upper, flag_lower + flag_upper)

    def _register(self, scope: Any = None) -> None:
        """Install the typecasters on ``scope`` (None: globally) and the adapter of ``range``."""
        register_type(self.typecaster, scope)
        if self.array_typecaster is not None:
            register_type(self.array_typecaster, scope)
        register_adapter(self.range, self.adapter)


class NumericRange(Range):
    """A range of numbers: int4range, int8range and numrange values, adapted whatever the number type."""


class DateRange(Range):
    """A daterange value."""


class DateTimeRange(Range):
    """A tsrange value (timestamps without time zone)."""


class DateTimeTZRange(Range):
    """A tstzrange value (timestamps with time zone)."""


class NumberRangeAdapter(RangeAdapter):
    """Adapts a numeric range to a plain literal such as ``'[1,10)'`` (numbers need no quoting)."""

    def getquoted(self) -> bytes:
        # The bounds are numbers: their literals need no quoting inside the range literal, and no
        # connection (psycopg2 does not prepare them either).
        value = self.adapted
        if value.isempty:
            return b"'empty'"
        lower = "" if value.lower_inf else adapt(value.lower).getquoted().decode("ascii")
        upper = "" if value.upper_inf else adapt(value.upper).getquoted().decode("ascii")
        flags = value._bounds
        return f"'{flags[0]}{lower},{upper}{flags[1]}'".encode("ascii")


for _cls in (Range, RangeAdapter, RangeCaster, NumericRange, DateRange, DateTimeRange, DateTimeTZRange):
    _cls.__module__ = _MODULE
NumberRangeAdapter.__module__ = _MODULE
register_range.__module__ = _MODULE
del _cls

register_adapter(NumericRange, NumberRangeAdapter)

# The builtin range types, registered globally (the NumericRange adapter again each time, harmlessly).
int4range_caster = RangeCaster(NumberRangeAdapter, NumericRange, oid=3904, subtype_oid=23, array_oid=3905)
int4range_caster._register()
int8range_caster = RangeCaster(NumberRangeAdapter, NumericRange, oid=3926, subtype_oid=20, array_oid=3927)
int8range_caster._register()
numrange_caster = RangeCaster(NumberRangeAdapter, NumericRange, oid=3906, subtype_oid=1700, array_oid=3907)
numrange_caster._register()
daterange_caster = RangeCaster("daterange", DateRange, oid=3912, subtype_oid=1082, array_oid=3913)
daterange_caster._register()
tsrange_caster = RangeCaster("tsrange", DateTimeRange, oid=3908, subtype_oid=1114, array_oid=3909)
tsrange_caster._register()
tstzrange_caster = RangeCaster("tstzrange", DateTimeTZRange, oid=3910, subtype_oid=1184, array_oid=3911)
tstzrange_caster._register()


def _adapters_in_psycopg2_order() -> None:
    """Put the tuple, None and Decimal adapters after the range ones, where psycopg2 has them.

    psycopg2 registers those three in ``psycopg2/__init__.py``, after ``extensions`` imported this module;
    here they are registered earlier, so they are moved to the end to give ``extensions.adapters`` the same
    iteration order.
    """
    import decimal

    from greenpsyco.fake_psycopg2._adapt import adapters

    for typ in (tuple, type(None), decimal.Decimal):
        key = (typ, ISQLQuote)
        if key in adapters:
            adapters[key] = adapters.pop(key)


_adapters_in_psycopg2_order()

# psycopg2's module has no __all__: this lists its public names, so that a star import gives the same.
__all__ = [
    "DateRange",
    "DateTimeRange",
    "DateTimeTZRange",
    "ISQLQuote",
    "InterfaceError",
    "NumberRangeAdapter",
    "NumericRange",
    "ProgrammingError",
    "Range",
    "RangeAdapter",
    "RangeCaster",
    "adapt",
    "daterange_caster",
    "int4range_caster",
    "int8range_caster",
    "new_array_type",
    "new_type",
    "numrange_caster",
    "re",
    "register_adapter",
    "register_range",
    "register_type",
    "tsrange_caster",
    "tstzrange_caster",
]
