"""psycopg2's typecasting (server text -> Python) and its typecaster registry.

This is the pure-Python twin of psycopg2 2.9's ``typecast*.c``: the ``psycopg2._psycopg.type`` objects
(:class:`Typecaster`), every builtin caster psycopg2 exposes with the same ``values``, the live global
registries ``string_types`` / ``binary_types`` filled in psycopg2's order, ``new_type``,
``new_array_type`` and ``register_type`` with psycopg2's argument errors, and the fetch-time lookup chain
(cursor -> connection -> global -> default).

psycopg2's C casters work on the raw bytes libpq hands over, and some of their quirks are observable
(array elements that are *not* NUL-terminated make ``infinity`` unparsable inside a date array, C ``int``
arithmetic wraps on absurd years, ``24:00:00`` becomes midnight, a Python caster gets the text decoded
with the connection's codec and is called for NULL too).  Every caster here therefore takes the raw bytes
and reproduces the C algorithm; canonical server output takes a fast path whose result is, by
construction, the one the C algorithm gives.  ``row_caster`` is the fetch hot path: it resolves the
casters once per result and compiles one small function that converts a whole row.

What JSON/JSONB and the range types add to ``string_types`` at ``import psycopg2`` is done by the modules
that own them (``extensions``/``_json``/``_range``), exactly as in psycopg2; this module fills what the
C extension fills.
"""

from __future__ import annotations

import binascii
import datetime as _dt
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple, NoReturn

from greenpsyco.fake_psycopg2._exceptions import DataError, Error, InterfaceError, NotSupportedError

__all__ = [
    "BINARY",
    "BINARYARRAY",
    "BOOLEAN",
    "BOOLEANARRAY",
    "BYTES",
    "BYTESARRAY",
    "CIDRARRAY",
    "DATE",
    "DATEARRAY",
    "DATETIME",
    "DATETIMEARRAY",
    "DATETIMETZ",
    "DATETIMETZARRAY",
    "DECIMAL",
    "DECIMALARRAY",
    "FLOAT",
    "FLOATARRAY",
    "INETARRAY",
    "INTEGER",
    "INTEGERARRAY",
    "INTERVAL",
    "INTERVALARRAY",
    "LONGINTEGER",
    "LONGINTEGERARRAY",
    "MACADDRARRAY",
    "NUMBER",
    "PYDATE",
    "PYDATEARRAY",
    "PYDATETIME",
    "PYDATETIMEARRAY",
    "PYDATETIMETZ",
    "PYDATETIMETZARRAY",
    "PYINTERVAL",
    "PYINTERVALARRAY",
    "PYTIME",
    "PYTIMEARRAY",
    "ROWID",
    "ROWIDARRAY",
    "STRING",
    "STRINGARRAY",
    "TIME",
    "TIMEARRAY",
    "UNICODE",
    "UNICODEARRAY",
    "UNKNOWN",
    "Typecaster",
    "binary_types",
    "cast",
    "caster_for",
    "new_array_type",
    "new_type",
    "register_type",
    "row_caster",
    "string_types",
]

_TP_NAME = "psycopg2._psycopg.type"

# A C caster: (text, cursor, buf, pos) -> value, never called with NULL.  ``text`` is the value's bytes.
# psycopg2's C casters receive a ``char *`` that is NUL-terminated right after the value, except for array
# elements, which point into the array's text; the few casters that read past the value's length see the
# rest of that text.  ``buf``/``pos`` give it: None means "terminated right after ``text``", otherwise
# ``buf`` is the whole C string the element lives in and ``pos`` the element's offset in it.
_CCast = Callable[[bytes, Any, "bytes | None", int], Any]

_timezone = _dt.timezone
_timedelta = _dt.timedelta
_date = _dt.date
_time = _dt.time
_datetime = _dt.datetime


# -- helpers: the cursor/connection contract ----------------------------------------------------------


def _codec_of(cursor: Any) -> str:
    """The Python codec psycopg2's ``conn_decode`` would use: the connection's, else UTF-8."""
    conn = getattr(cursor, "connection", None)
    if conn is None:
        return "utf-8"
    return getattr(conn, "_py_encoding", None) or "utf-8"


def _tzinfo_factory_of(cursor: Any) -> Any:
    """``cursor.tzinfo_factory``; psycopg2's default (``datetime.timezone``) when there is no cursor."""
    return getattr(cursor, "tzinfo_factory", _timezone)


# -- helpers: C semantics ------------------------------------------------------------------------------


def _i32(v: int) -> int:
    """Wrap to a C ``int`` the way psycopg2's parsers overflow on absurd input."""
    v &= 0xFFFFFFFF
    return v - 0x100000000 if v & 0x80000000 else v


def _cview(s: bytes, buf: bytes | None, pos: int) -> bytes:
    """The C string a caster's ``char *`` points to: from the value up to the next NUL."""
    if buf is None:
        nul = s.find(0)
        return s if nul < 0 else s[:nul]
    nul = buf.find(0, pos)
    return buf[pos:] if nul < 0 else buf[pos:nul]


def _cchar(s: bytes, i: int, buf: bytes | None, pos: int) -> int:
    """``s[i]`` as C reads it, possibly past the value's length (0 is the terminating NUL)."""
    if i < len(s):
        return s[i]
    if buf is None:
        return 0
    j = pos + i
    return buf[j] if j < len(buf) else 0


def _c_format_str(view: bytes) -> str:
    """What ``PyErr_Format("%s", view)`` shows: the bytes decoded as UTF-8 with replacement."""
    return view.decode("utf-8", "replace")


def _pylong_from_string(cstr: bytes) -> int:
    """CPython's ``PyLong_FromString(cstr, NULL, 0)`` on a C string, with its ValueError message."""
    try:
        return int(cstr, 0)
    except ValueError:
        pass
    # Rebuild the message PyLong_FromString gives: the base it deduced, and the string decoded strictly.
    i = 0
    n = len(cstr)
    while i < n and cstr[i] in b" \t\n\r\x0b\x0c":
        i += 1
    if i < n and cstr[i] in b"+-":
        i += 1
    base = 10
    if i < n and cstr[i] == 0x30:
        nxt = cstr[i + 1] if i + 1 < n else 0
        if nxt in b"xX":
            base = 16
        elif nxt in b"oO":
            base = 8
        elif nxt in b"bB":
            base = 2
        else:
            base = 0
    text = cstr[:200].decode("utf-8")
    raise ValueError(f"invalid literal for int() with base {base}: {text!r}")


# -- the C parsers of typecast.c -----------------------------------------------------------------------


def _parse_date(s: bytes, i: int, n: int) -> tuple[int, int, int, int, int]:
    """``typecast_parse_date``: (fields found, year, month, day, index after the date)."""
    acc = -1
    cz = 0
    y = m = d = 0
    while cz < 3 and i < n:
        c = s[i]
        if c == 0:
            break
        if c == 0x2D or c == 0x20 or c == 0x54:  # '-', ' ', 'T'
            if cz == 0:
                y = acc
            elif cz == 1:
                m = acc
            elif cz == 2:
                d = acc
            acc = -1
            cz += 1
        else:
            acc = _i32((0 if acc == -1 else acc * 10) + ((c if c < 128 else c - 256) - 48))
        i += 1
    if acc != -1:
        d = acc
        cz += 1
    if n - i >= 2 and s[n - 2] == 0x42 and s[n - 1] == 0x43:  # trailing "BC"
        y = _i32(-y)
    return cz, y, m, d, i


def _parse_time(s: bytes, i: int, n: int) -> tuple[int, int, int, int, int, int]:
    """``typecast_parse_time``: (fields found or -1, hh, mm, ss, us, tz offset in seconds)."""
    acc = -1
    cz = 0
    hh = mm = ss = us = 0
    tzsign = 1
    tzhh = tzmm = tzss = 0
    usd = 0
    while cz < 7 and i < n:
        c = s[i]
        if c == 0:
            break
        if c == 0x3A:  # ':'
            if cz == 0:
                hh = acc
            elif cz == 1:
                mm = acc
            elif cz == 2:
                ss = acc
            elif cz == 3:
                us = acc
            elif cz == 4:
                tzhh = acc
            elif cz == 5:
                tzmm = acc
            acc = -1
            cz += 1
        elif c == 0x2E:  # '.'
            if cz != 2:
                return -1, hh, mm, ss, us, 0
            ss = acc
            acc = -1
            cz += 1
        elif c == 0x2B or c == 0x2D:  # '+', '-'
            if cz < 2 or cz > 3:
                return -1, hh, mm, ss, us, 0
            if c == 0x2D:
                tzsign = -1
            if cz == 2:
                ss = acc
            else:
                us = acc
            acc = -1
            cz = 4
        elif c == 0x20 or c == 0x42 or c == 0x43:  # ' ', 'B', 'C': the " BC" suffix
            pass
        else:
            acc = _i32((0 if acc == -1 else acc * 10) + ((c if c < 128 else c - 256) - 48))
            if cz == 3:
                usd += 1
        i += 1
    if acc != -1:
        if cz == 0:
            hh = acc
            cz += 1
        elif cz == 1:
            mm = acc
            cz += 1
        elif cz == 2:
            ss = acc
            cz += 1
        elif cz == 3:
            us = acc
            cz += 1
        elif cz == 4:
            tzhh = acc
            cz += 1
        elif cz == 5:
            tzmm = acc
            cz += 1
        elif cz == 6:
            tzss = acc
    tz = _i32(tzsign * _i32(3600 * tzhh + 60 * tzmm + tzss))
    if us != 0:
        while usd < 6:
            us = _i32(us * 10)
            usd += 1
    if hh == 24:
        hh = 0
    return cz, hh, mm, ss, us, tz


# -- basic casters (typecast_basic.c) ------------------------------------------------------------------


def _cast_longinteger(s: bytes, cursor: Any, buf: bytes | None, pos: int) -> int:
    """INTEGER / LONGINTEGER / ROWID: copy into a 24-byte buffer, then ``PyLong_FromString(base 0)``."""
    if len(s) >= 24:
        raise DataError("int64 representation too long")
    nul = s.find(0)
    return _pylong_from_string(s if nul < 0 else s[:nul])


def _cast_float(s: bytes, cursor: Any, buf: bytes | None, pos: int) -> float:
    """FLOAT / NUMBER: ``float()`` of the value decoded as UTF-8 (length-bounded, NULs kept)."""
    try:
        return float(s)
    except ValueError:
        return float(s.decode("utf-8"))


def _cast_decimal(s: bytes, cursor: Any, buf: bytes | None, pos: int) -> Decimal:
    """DECIMAL: ``Decimal()`` of the value up to its first NUL (psycopg2 strncpy's it)."""
    nul = s.find(0)
    return Decimal((s if nul < 0 else s[:nul]).decode("utf-8"))


def _cast_unicode(s: bytes, cursor: Any, buf: bytes | None, pos: int) -> str:
    """STRING / UNICODE / UNKNOWN / default: the value decoded with the connection's codec."""
    return s.decode(_codec_of(cursor))


def _cast_bytes(s: bytes, cursor: Any, buf: bytes | None, pos: int) -> bytes:
    """BYTES: the raw value."""
    return bytes(s)


def _cast_boolean(s: bytes, cursor: Any, buf: bytes | None, pos: int) -> bool:
    """BOOLEAN: only the first character counts; anything but t/T/f/F is an InterfaceError."""
    c = s[0] if s else _cchar(s, 0, buf, pos)
    if c == 0x74 or c == 0x54:
        return True
    if c == 0x66 or c == 0x46:
        return False
    raise InterfaceError(f"can't parse boolean: '{_c_format_str(_cview(s, buf, pos))}'")


# -- bytea (typecast_binary.c) -------------------------------------------------------------------------

_HEX_LUT = [-1] * 128
for _i, _c in enumerate(b"0123456789"):
    _HEX_LUT[_c] = _i
for _i, _c in enumerate(b"abcdef"):
    _HEX_LUT[_c] = _i + 10
    _HEX_LUT[_c - 32] = _i + 10
del _i, _c

_ESCAPE_RE = re.compile(rb"\\([0-3][0-7][0-7]|[\s\S])")


def _escape_repl(m: re.Match[bytes]) -> bytes:
    g = m.group(1)
    if len(g) == 3:
        return bytes(((g[0] - 48) << 6 | (g[1] - 48) << 3 | (g[2] - 48),))
    return g


def _parse_hex(s: bytes) -> bytes:
    """``psycopg_parse_hex``: nibbles from the hex digits after ``\\x``; anything else is skipped."""
    try:
        return binascii.a2b_hex(s[2:])
    except (binascii.Error, ValueError):
        pass
    out = bytearray()
    n = len(s)
    i = 2
    lut = _HEX_LUT
    while i < n:
        while True:
            hi = lut[s[i] & 0x7F]
            i += 1
            if hi != -1:
                break
            if i >= n:
                return bytes(out)
        while True:
            lo = lut[s[i] & 0x7F] if i < n else -1
            i += 1
            if lo != -1:
                break
            if i >= n:
                return bytes(out)
        out.append(hi << 4 | lo)
    return bytes(out)


def _parse_escape(s: bytes) -> bytes:
    r"""``psycopg_parse_escape``: ``\ooo`` octal and ``\c`` escapes; a final lone backslash gives NUL."""
    if 0x5C not in s:
        return bytes(s)
    out = _ESCAPE_RE.sub(_escape_repl, s)
    # A trailing backslash that no escape consumed reads the terminating NUL, as the C parser does.
    stripped = s.rstrip(b"\\")
    if (len(s) - len(stripped)) % 2 == 1:
        out = out[:-1] + b"\x00"
    return out


def _cast_binary(s: bytes, cursor: Any, buf: bytes | None, pos: int) -> memoryview[bytes]:
    """BINARY: bytea in hex or escape output format, as a read-only memoryview (like psycopg2's chunk)."""
    # psycopg2's memoryview is over a buffer without a format, which memoryview reports as 'c'.
    if s[:1] == b"\\" and _cchar(s, 1, buf, pos) == 0x78:
        return memoryview(_parse_hex(s)).cast("c")
    return memoryview(_parse_escape(s)).cast("c")


# -- date and time (typecast_datetime.c) --------------------------------------------------------------

_UTC_MAX = _datetime.max.replace(tzinfo=_timezone.utc)
_UTC_MIN = _datetime.min.replace(tzinfo=_timezone.utc)

# Canonical ISO output (DateStyle ISO), the only shapes handed to ``fromisoformat``: on these, and only
# when it succeeds, it computes what the C parser computes (hour 24 and second 60, which the C parser
# folds, are excluded; so is everything ``fromisoformat`` reads differently: 'T', ',', '+0530', 'Z').
_OFFSET = rb"(?:[-+]\d\d(?::\d\d(?::\d\d)?)?)?"
_CLOCK = rb"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?"
_TS_CANON = re.compile(rb"\d{4}-\d\d-\d\d " + _CLOCK + _OFFSET)
_TIME_CANON = re.compile(_CLOCK + _OFFSET)
_ts_canon = _TS_CANON.fullmatch
_datetime_fromiso = _datetime.fromisoformat
_time_fromiso = _time.fromisoformat
_date_fromiso = _date.fromisoformat


def _is_infinity(s: bytes, buf: bytes | None, pos: int) -> int:
    """``strcmp(str, "infinity")`` / ``"-infinity"`` on the C string: 1, -1, or 0 for neither."""
    if buf is None:
        if s == b"infinity":
            return 1
        if s == b"-infinity":
            return -1
        if 0 not in s:
            return 0
    view = _cview(s, buf, pos)
    if view == b"infinity":
        return 1
    if view == b"-infinity":
        return -1
    return 0


def _apply_factory(value: Any, cursor: Any) -> Any:
    """Swap ``fromisoformat``'s ``timezone(offset)`` for what ``cursor.tzinfo_factory(offset)`` gives."""
    factory = _tzinfo_factory_of(cursor)
    if factory is _timezone:
        return value
    if factory is None:
        return value.replace(tzinfo=None)
    return value.replace(tzinfo=factory(value.utcoffset()))


def _cast_date(s: bytes, cursor: Any, buf: bytes | None, pos: int) -> _dt.date:
    """DATE / PYDATE: ``infinity`` -> date.max, ``-infinity`` -> date.min; BC and year > 9999 raise."""
    if len(s) == 10 and s[4] == 0x2D and s[7] == 0x2D and s[:4].isdigit() and s[5:7].isdigit():
        try:
            return _date_fromiso(s.decode("ascii"))
        except ValueError:
            pass
    inf = _is_infinity(s, buf, pos)
    if inf:
        return _date.max if inf > 0 else _date.min
    n, y, m, d, _ = _parse_date(s, 0, len(s))
    if n != 3:
        raise DataError("unable to parse date")
    return _date(y, m, d)


def _parse_noninftz(s: bytes, cursor: Any) -> _dt.datetime:
    """``_parse_noninftz``: a timestamp[tz]; an explicit offset goes through ``cursor.tzinfo_factory``."""
    if _TS_CANON.fullmatch(s) is not None:
        try:
            value = _datetime_fromiso(s.decode("ascii"))
        except ValueError:
            pass
        else:
            return value if value.tzinfo is None else _apply_factory(value, cursor)
    length = len(s)
    n, y, mo, d, i = _parse_date(s, 0, length)
    if n != 3:
        raise DataError("unable to parse date")
    hour = minute = sec = us = tzsec = 0
    if i < length:
        n, hour, minute, sec, us, tzsec = _parse_time(s, i, length)
        if n < 3 or n > 6:
            raise DataError("unable to parse time")
    if sec > 59:
        minute += 1
        sec -= 60
    tzinfo = None
    if n >= 5:
        factory = _tzinfo_factory_of(cursor)
        if factory is not None:
            tzinfo = factory(_timedelta(0, tzsec))
    return _datetime(y, mo, d, hour, minute, sec, us, tzinfo)


def _cast_datetime(s: bytes, cursor: Any, buf: bytes | None, pos: int) -> _dt.datetime:
    """DATETIME / PYDATETIME (timestamp): ``±infinity`` -> naive datetime.max/min."""
    if _ts_canon(s) is not None:  # the fetch hot path, inlined
        try:
            value = _datetime_fromiso(s.decode("ascii"))
        except ValueError:
            pass
        else:
            return value if value.tzinfo is None else _apply_factory(value, cursor)
    inf = _is_infinity(s, buf, pos)
    if inf:
        return _datetime.max if inf > 0 else _datetime.min
    return _parse_noninftz(s, cursor)


def _cast_datetimetz(s: bytes, cursor: Any, buf: bytes | None, pos: int) -> _dt.datetime:
    """DATETIMETZ / PYDATETIMETZ: ``±infinity`` -> datetime.max/min in UTC, naive without a factory."""
    if _ts_canon(s) is not None:  # the fetch hot path, inlined
        try:
            value = _datetime_fromiso(s.decode("ascii"))
        except ValueError:
            pass
        else:
            if value.tzinfo is None:
                return value
            factory = getattr(cursor, "tzinfo_factory", _timezone)
            if factory is _timezone:
                return value
            if factory is None:
                return value.replace(tzinfo=None)
            return value.replace(tzinfo=factory(value.utcoffset()))
    inf = _is_infinity(s, buf, pos)
    if inf:
        if _tzinfo_factory_of(cursor) is None:
            return _datetime.max if inf > 0 else _datetime.min
        return _UTC_MAX if inf > 0 else _UTC_MIN
    return _parse_noninftz(s, cursor)


def _cast_time(s: bytes, cursor: Any, buf: bytes | None, pos: int) -> _dt.time:
    """TIME / PYTIME (time and timetz): ``24:00:00`` -> midnight; an offset goes through the factory."""
    if _TIME_CANON.fullmatch(s) is not None:
        try:
            value = _time_fromiso(s.decode("ascii"))
        except ValueError:
            pass
        else:
            if value.tzinfo is None:
                return value
            factory = _tzinfo_factory_of(cursor)
            if factory is _timezone:
                return value
            if factory is None:
                return value.replace(tzinfo=None)
            return value.replace(tzinfo=factory(value.utcoffset()))
    n, hour, minute, sec, us, tzsec = _parse_time(s, 0, len(s))
    if n < 3 or n > 6:
        raise DataError("unable to parse time")
    if sec > 59:
        minute += 1
        sec -= 60
    tzinfo = None
    if n >= 5:
        factory = _tzinfo_factory_of(cursor)
        if factory is not None:
            tzinfo = factory(_timedelta(0, tzsec))
    return _time(hour, minute, sec, us, tzinfo)


_INTERVAL_RE = re.compile(
    rb"(?:(-?\d{1,9}) years?(?: |$))?(?:(-?\d{1,9}) mons?(?: |$))?(?:(-?\d{1,9}) days?(?: |$))?"
    rb"(?:([-+]?)(\d{1,9}):(\d\d):(\d\d)(?:\.(\d{1,6}))?)?"
)
_INT_MAX = 2147483647
_US_SCALE = (0, 100000, 10000, 1000, 100, 10, 1)


def _interval_from_usecs(orig: bytes) -> _dt.timedelta:
    """``interval_from_usecs``: a bare number is taken as microseconds (Redshift, psycopg2 #558)."""
    return _timedelta(0, 0, _pylong_from_string(orig))


def _cast_interval(s: bytes, cursor: Any, buf: bytes | None, pos: int) -> _dt.timedelta:
    """INTERVAL / PYINTERVAL: months are 30 days, years 365; iso_8601 style is NotSupportedError."""
    m = _INTERVAL_RE.fullmatch(s)
    if m is not None and m.end() > 0:
        years, months, days, sign, hh, mi, ss, frac = m.groups()
        total_days = (int(days) if days else 0) + 30 * (int(months) if months else 0)
        total_days += 365 * (int(years) if years else 0)
        if hh is None:
            return _timedelta(total_days)
        seconds = int(ss) + 60 * int(mi) + 3600 * int(hh)
        micros = int(frac) * _US_SCALE[len(frac)] if frac else 0
        if sign == b"-":
            return _timedelta(total_days, -seconds, -micros)
        return _timedelta(total_days, seconds, micros)
    return _parse_interval(s, buf, pos)


def _parse_interval(s: bytes, buf: bytes | None, pos: int) -> _dt.timedelta:
    """``typecast_PYINTERVAL_cast``, character by character, for anything but canonical output."""
    v = years = months = hours = minutes = micros = 0
    days = seconds = 0
    sign = 1
    denom = 1
    part = 0
    n = len(s)
    i = 0
    while i < n:
        c = s[i]
        if c == 0:
            break
        if c == 0x2D:  # '-'
            sign = -1
        elif 0x30 <= c <= 0x39:
            v1 = v * 10 + (c - 0x30)
            if v1 > _INT_MAX:
                try:
                    return _interval_from_usecs(_cview(s, buf, pos))
                except Exception:
                    pass
                raise OverflowError("interval component too big")
            v = v1
            # The C ``int denom *= 10`` overflows past 10 digits; the psycopg2 2.9 binary behaves as if it
            # stopped at 10**9 (measured: 9 to 40 fraction digits all divide by 10**9).
            if part == 6 and denom < 1000000000:
                denom *= 10
        elif c == 0x79:  # 'y'
            if part == 0:
                years = v * sign
                v = 0
                sign = 1
                part = 1
                i = _skip_until_space(s, i, n)
        elif c == 0x6D:  # 'm'
            if part <= 1:
                months = v * sign
                v = 0
                sign = 1
                part = 2
                i = _skip_until_space(s, i, n)
        elif c == 0x64:  # 'd'
            if part <= 2:
                days = v * sign
                v = 0
                sign = 1
                part = 3
                i = _skip_until_space(s, i, n)
        elif c == 0x3A:  # ':'
            if part <= 3:
                hours = v
                v = 0
                part = 4
            elif part == 4:
                minutes = v
                v = 0
                part = 5
        elif c == 0x2E:  # '.'
            if part == 5:
                seconds = v
                v = 0
                part = 6
        elif c == 0x50:  # 'P'
            raise NotSupportedError("iso_8601 intervalstyle currently not supported")
        i += 1

    if part == 4:
        minutes = v
    elif part == 5:
        seconds = v
    elif part == 6:
        micros = v
        if denom < 1000000:
            while denom < 1000000:
                micros *= 10
                denom *= 10
        elif denom > 1000000:
            x = micros / denom * 1000000.0
            # C round(): half away from zero (x is never negative here).
            whole = int(x)
            micros = whole + 1 if x - whole >= 0.5 else whole
    elif part == 0:
        return _interval_from_usecs(_cview(s, buf, pos))

    seconds += 60 * minutes + 3600 * hours
    if sign < 0:
        seconds = -seconds
        micros = -micros
    days += 30 * months + 365 * years
    return _timedelta(days, seconds, micros)


def _skip_until_space(s: bytes, i: int, n: int) -> int:
    """``skip_until_space2`` as the interval loop uses it: the index of the word's last scanned char."""
    while i < n - 1 and s[i] != 0 and s[i] != 0x20:
        i += 1
    return i


# -- arrays (typecast_array.c) -------------------------------------------------------------------------

_MAX_DIMENSIONS = 16
# One array element as typecast_array_tokenize scans it: everything up to the first ',' or '}' that is
# neither quoted nor escaped.  A backslash escapes the next character, but ',' and '}' right after it
# leave it "pending" (the C loop does not reset its flag for them), hence the ``[,}]*``.
_TOKEN_RE = re.compile(rb'(?:[^"\\,}]++|\\[,}]*+[^,}]?|"(?:[^"\\]++|\\[,}]*+[^,}]?)*+"?)*+')
_UNESCAPE_RE = re.compile(rb"\\([\s\S])")
_NULLS = frozenset(
    bytes(c) for c in ((a, b, c, d) for a in b"nN" for b in b"uU" for c in b"lL" for d in b"lL")
)
# Base casters whose C code reads past an element's length (or whose result depends on what follows it):
# elements handed to them must carry the array text they live in.
_VIEW_CASTS: set[Any] = set()


def _unescape(token: bytes, buf: bytes, after: int) -> bytes:
    """The tokenizer's copy of an element with backslashes: ``\\c`` -> ``c``; a final lone backslash
    copies the character that follows the element in the array text."""
    out = _UNESCAPE_RE.sub(rb"\1", token)
    stripped = token.rstrip(b"\\")
    if (len(token) - len(stripped)) % 2 == 1:
        out = out[:-1] + bytes((buf[after] if after < len(buf) else 0,))
    return out


def _array_scan(s: bytes, start: int, strlength: int, base: Typecaster, cursor: Any) -> list[Any]:
    """``typecast_array_scan`` over ``s[start:start+strlength]`` (reads past it as C does)."""
    end = start + strlength
    n = len(s)
    result: list[Any] = []
    array = result
    stack: list[list[Any]] = []
    pos = start
    token_match = _TOKEN_RE.match
    wants_view = base._ccast in _VIEW_CASTS
    while True:
        if pos == end:  # ASCAN_EOF
            break
        if pos > end:
            _scan_overshoot(s, pos, base, cursor, array, len(stack))
            break
        c = s[pos]
        if c == 0x7B:  # '{': ASCAN_BEGIN
            pos += 1
            sub: list[Any] = []
            array.append(sub)
            if len(stack) == _MAX_DIMENSIONS:
                raise DataError("excessive array dimensions")
            stack.append(array)
            array = sub
            continue
        if c == 0x7D:  # '}': ASCAN_END
            pos += 1
            if pos < n and s[pos] == 0x2C:
                pos += 1
            if not stack:
                raise DataError("unbalanced braces in array")
            array = stack.pop()
            continue
        m = token_match(s, pos, end)
        i = m.end() if m is not None else pos  # the pattern matches the empty string: never None
        length = i - pos
        quoted = s.find(b"\\", pos, i) >= 0
        quotes = c == 0x22
        if quotes:
            pos += 1
            length -= 2
        if length < 0:
            # A lone '"' at the end of the scanned text: C hands the caster a length of -1.
            array.append(_negative_length_cast(base, _cview(s, s, pos), cursor))
            pos = i
            if i < n and s[i] == 0x2C:
                pos += 1
            continue
        if quoted:
            token = _unescape(s[pos : pos + length], s, pos + length)
            tbuf = None
        else:
            token = s[pos : pos + length]
            tbuf = s
        tpos = pos
        pos = i
        if i < n and s[i] == 0x2C:
            pos += 1
        if not quotes and token in _NULLS:
            array.append(_typecast_cast(base, None, cursor))
        elif wants_view:
            array.append(_typecast_cast(base, token, cursor, tbuf, tpos))
        else:
            array.append(_typecast_cast(base, token, cursor))
    return result


def _scan_overshoot(s: bytes, pos: int, base: Typecaster, cursor: Any, array: list[Any], depth: int) -> None:
    """psycopg2 past the scanned text (a literal ending in ','): it never sees EOF again.

    Its tokenizer then yields zero-length elements at the same position forever, following any ','.
    The first element that fails to cast ends it with that error, as in psycopg2; if casting succeeds
    psycopg2 loops until memory runs out, reported here as the MemoryError it eventually raises instead
    of hanging.  (Braces met out there, only possible inside a nested element, are approximated.)
    """
    n = len(s)
    for _ in range(n + 2):
        c = s[pos] if pos < n else 0
        if c == 0x7D and depth == 0:
            raise DataError("unbalanced braces in array")
        if c == 0x7B or c == 0x7D:
            raise MemoryError()
        if c == 0x22:
            array.append(_negative_length_cast(base, _cview(s, s, pos + 1), cursor))
            raise MemoryError()
        array.append(_typecast_cast(base, b"", cursor, s, pos))
        if c != 0x2C:
            raise MemoryError()
        pos += 1
    raise MemoryError()


def _negative_length_cast(base: Typecaster, view: bytes, cursor: Any) -> Any:
    """What psycopg2's casters do with an element of length -1 (psycopg2's own tokenizer produces it for
    valid input such as ``{\\,,","}``): most read the C string up to its NUL, some refuse."""
    ccast = base._ccast
    if ccast is _cast_bytes:
        raise SystemError("Negative size passed to PyBytes_FromStringAndSize")
    if ccast is _cast_float:
        raise SystemError("Negative size passed to PyUnicode_FromStringAndSize")
    if ccast is _cast_binary:
        raise MemoryError()
    if ccast is _cast_longinteger:  # psycopg2 overflows its stack buffer here
        raise DataError("int64 representation too long")
    if ccast is _cast_date or ccast is _cast_datetime or ccast is _cast_datetimetz:
        inf = _is_infinity(view, None, 0)
        if not inf:
            raise DataError("unable to parse date")
    elif ccast is _cast_time:
        raise DataError("unable to parse time")
    return _typecast_cast(base, view, cursor, None, 0)


def _array_cleanup(s: bytes, buf: bytes | None, pos: int) -> tuple[bytes, int] | None:
    """``typecast_array_cleanup``: drop a ``[lo:hi]...=`` dimension prefix; None if malformed."""
    n = len(s)
    depth = 1
    i = 1
    while depth > 0 and i < n:
        c = s[i]
        if c == 0x5B:
            depth += 1
        elif c == 0x5D:
            depth -= 1
        i += 1
    if _cchar(s, i, buf, pos) != 0x3D:
        return None
    return s[i + 1 :], pos + i + 1


def _cast_generic_array(base: Typecaster, s: bytes, cursor: Any, buf: bytes | None, pos: int) -> list[Any]:
    """``typecast_GENERIC_ARRAY_cast``: parse a PostgreSQL array literal, casting elements with ``base``."""
    if s[:1] == b"[":
        cleaned = _array_cleanup(s, buf, pos)
        if cleaned is not None:
            s, pos = cleaned
    if s[:1] != b"{":
        raise DataError("array does not start with '{'")
    if _cchar(s, 1, buf, pos) == 0:
        raise DataError("malformed array: '{'")
    flat = _flat_array(base, s, cursor)
    if flat is not None:
        return flat
    if buf is not None:
        # The element's C string runs to the end of the enclosing text: keep it for overreads.
        full = buf[pos:]
        return _array_scan(full, 1, len(s) - 2, base, cursor)
    return _array_scan(s, 1, len(s) - 2, base, cursor)


def _flat_array(base: Typecaster, s: bytes, cursor: Any) -> list[Any] | None:
    """The common case fast: ``{a,b,NULL}`` with no quotes, escapes or nesting, split at commas.

    Returns None when the literal needs the full scanner, or when the base caster is one whose C code
    looks past an element's end (their elements must carry the surrounding text).
    """
    if s[-1:] != b"}" or base._ccast in _VIEW_CASTS:
        return None
    inner = s[1:-1]
    if not inner:
        return []
    if (
        inner[-1:] == b","
        or b'"' in inner
        or b"\\" in inner
        or b"{" in inner
        or b"}" in inner
        or b"\x00" in inner
    ):
        return None
    parts = inner.split(b",")
    nulls = _NULLS
    ccast = base._ccast
    if ccast is _cast_unicode:
        codec = _codec_of(cursor)
        return [None if t in nulls else t.decode(codec) for t in parts]
    # int(t, 0) is PyLong_FromString on a NUL-free token shorter than psycopg2's 24-byte buffer, and
    # float(bytes) accepts a subset of what float(str) does, identically: on any doubt (ValueError), the
    # general loop below recomputes with psycopg2's exact errors.
    if ccast is _cast_longinteger and max(map(len, parts)) < 24:
        try:
            return [None if t in nulls else int(t, 0) for t in parts]
        except ValueError:
            pass
    elif ccast is _cast_float:
        try:
            return [None if t in nulls else float(t) for t in parts]
        except ValueError:
            pass
    if ccast is not None:
        return [None if t in nulls else ccast(t, cursor, None, 0) for t in parts]
    return [_typecast_cast(base, None if t in nulls else t, cursor) for t in parts]


# -- the typecaster type ----------------------------------------------------------------------------------


def _c_long(v: Any) -> int:
    """``PyLong_AsLong``: index the object and require it to fit a C long."""
    if not isinstance(v, int):
        try:
            v = v.__index__()
        except AttributeError:
            raise TypeError(f"'{v.__class__.__name__}' object cannot be interpreted as an integer") from None
    if not -(2**63) <= v < 2**63:
        raise OverflowError("Python int too large to convert to C long")
    return int(v)


class Typecaster:
    # psycopg2._psycopg.type: its __doc__ is observable, so it must stay psycopg2's one-liner below.
    # Instances are made only by this module (new_type / new_array_type / the builtins); they are
    # immutable, unhashable, unpicklable and cannot be subclassed, like the C type.
    """psycopg type-casting object"""

    __slots__ = ("_base", "_ccast", "_name", "_pcast", "_values")

    _name: Any
    _values: tuple[Any, ...]
    _ccast: _CCast | None
    _pcast: Any
    _base: Typecaster | None

    __hash__ = None  # type: ignore[assignment]

    def __new__(cls, *args: Any, **kwargs: Any) -> Typecaster:
        raise TypeError(f"cannot create '{_TP_NAME}' instances")

    def __init_subclass__(cls, **kwargs: Any) -> NoReturn:
        raise TypeError(f"type '{_TP_NAME}' is not an acceptable base type")

    @classmethod
    def _make(
        cls, values: tuple[Any, ...], name: Any, ccast: _CCast | None, pcast: Any, base: Typecaster | None
    ) -> Typecaster:
        self = object.__new__(cls)
        setattr_ = object.__setattr__
        setattr_(self, "_values", values)
        setattr_(self, "_name", name)
        setattr_(self, "_ccast", ccast)
        setattr_(self, "_pcast", pcast)
        setattr_(self, "_base", base)
        return self

    @property
    def name(self) -> Any:
        """The caster's name (a str, or None for ``new_type(values)`` without one)."""
        return self._name

    @property
    def values(self) -> tuple[Any, ...]:
        """The OIDs the caster registers for (the very tuple given to ``new_type``)."""
        return self._values

    def __setattr__(self, attr: str, value: Any) -> NoReturn:
        if attr in ("name", "values"):
            raise AttributeError("readonly attribute")
        raise AttributeError(f"'{_TP_NAME}' object has no attribute '{attr}'")

    def __delattr__(self, attr: str) -> NoReturn:
        if attr in ("name", "values"):
            raise AttributeError("readonly attribute")
        raise AttributeError(f"'{_TP_NAME}' object has no attribute '{attr}'")

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError(f"cannot pickle '{_TP_NAME}' object")

    def __dir__(self) -> list[str]:
        return sorted({*object.__dir__(object()), "__call__", "name", "values"})

    def __repr__(self) -> str:
        name = self._name
        if isinstance(name, str):
            shown = name.encode("utf-8").decode("utf-8", "replace")
        elif isinstance(name, bytes):
            shown = name.decode("utf-8", "replace")
        else:
            raise TypeError(f"Expected bytes or unicode string, got {name.__class__.__name__} instead")
        return f"<{_TP_NAME} '{shown}' at {id(self):#x}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``caster(text_or_None, cursor)``: None gives None without calling a Python caster."""
        if len(args) != 2:
            raise TypeError(f"function takes exactly 2 arguments ({len(args)} given)")
        s = _as_cstring(args[0], 1)
        if s is None:
            return None
        return _typecast_cast(self, s, args[1])

    # typecast_richcompare: equal when the other caster shares an OID, or the other object's int() is
    # one of ours; every other operator is the negation of that (so STRING < 25 is False).
    def _cmp(self, other: Any) -> bool:
        if isinstance(other, Typecaster):
            others: tuple[Any, ...] | None = other._values
            number: Any = None
        else:
            others = None
            number = int(other)
        error: BaseException | None = None
        found = False
        for v in self._values:
            try:
                val = _c_long(v)
            except (TypeError, OverflowError) as exc:
                error, val = exc, -1
            if others is not None:
                for o in others:
                    try:
                        ov = _c_long(o)
                    except (TypeError, OverflowError) as exc:
                        error, ov = exc, -1
                    if ov == val:
                        found = True
                        break
            else:
                try:
                    nv = _c_long(number)
                except (TypeError, OverflowError) as exc:
                    error, nv = exc, -1
                if nv == val:
                    found = True
            if found:
                break
        if error is not None:
            raise error
        return found

    def __eq__(self, other: object) -> bool:
        return self._cmp(other)

    def __ne__(self, other: object) -> bool:
        return not self._cmp(other)

    def __lt__(self, other: object) -> bool:
        return not self._cmp(other)

    def __le__(self, other: object) -> bool:
        return not self._cmp(other)

    def __gt__(self, other: object) -> bool:
        return not self._cmp(other)

    def __ge__(self, other: object) -> bool:
        return not self._cmp(other)


Typecaster.__name__ = "type"
Typecaster.__qualname__ = "type"
Typecaster.__module__ = "psycopg2._psycopg"


def _as_cstring(value: Any, argno: int) -> bytes | None:
    """What ``PyArg_ParseTuple("z#")`` accepts: None, str (as UTF-8) or a read-only bytes-like object."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return bytes(value)
    try:
        memoryview(value).release()
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not '{value.__class__.__name__}'") from None
    raise TypeError(f"argument {argno} must be read-only bytes-like object, not {value.__class__.__name__}")


def _typecast_cast(caster: Any, s: bytes | None, cursor: Any, buf: bytes | None = None, pos: int = 0) -> Any:
    """``typecast_cast``: run a caster on raw bytes (None for NULL) as the fetch loop does."""
    if not isinstance(caster, Typecaster):
        # Not something psycopg2 survives (it would crash); be useful: treat it as a Python caster.
        return caster(None if s is None else s.decode(_codec_of(cursor)), cursor)
    ccast = caster._ccast
    if ccast is not None:
        if s is None:
            return None
        return ccast(s, cursor, buf, pos)
    pcast = caster._pcast
    if pcast is not None:
        return pcast(None if s is None else s.decode(_codec_of(cursor)), cursor)
    raise Error("internal error: no casting function found")


# -- construction: new_type / new_array_type ----------------------------------------------------------


def _parse_args(
    args: tuple[Any, ...], kwargs: dict[str, Any], names: tuple[str, ...], required: int
) -> list[Any]:
    """``PyArg_ParseTupleAndKeywords`` for an anonymous function: psycopg2's TypeErrors, in its order."""
    total = len(args) + len(kwargs)
    if total > len(names):
        kind = "keyword " if not args else ""
        raise TypeError(
            f"function takes at most {len(names)} {kind}argument{'s' if len(names) != 1 else ''} "
            f"({total} given)"
        )
    out: list[Any] = [_MISSING] * len(names)
    for i, v in enumerate(args):
        out[i] = v
    for k in kwargs:
        if not isinstance(k, str):
            raise TypeError("keywords must be strings")
    for i, name in enumerate(names):
        if name in kwargs:
            if i < len(args):
                raise TypeError(f"argument for function given by name ('{name}') and position ({i + 1})")
            out[i] = kwargs[name]
        elif i >= len(args) and i < required:
            raise TypeError(f"function missing required argument '{name}' (pos {i + 1})")
    for k in kwargs:
        if k not in names:
            raise TypeError(f"'{k}' is an invalid keyword argument for this function")
    return out


_MISSING: Any = object()


def _type_name(v: Any) -> str:
    return "None" if v is None else v.__class__.__name__


def new_type(*args: Any, **kwargs: Any) -> Typecaster:
    """``new_type(values, name=None, castobj=None, baseobj=None)``: a caster calling ``castobj(s, cursor)``.

    ``values`` must be a tuple of OIDs, ``name`` a str; ``castobj`` None makes a caster that fails when
    used on a non-NULL value, as in psycopg2.
    """
    values, name, castobj, baseobj = _parse_args(args, kwargs, ("values", "name", "castobj", "baseobj"), 1)
    if not isinstance(values, tuple):
        raise TypeError(f"argument 1 must be tuple, not {_type_name(values)}")
    if name is _MISSING:
        name = None
    elif not isinstance(name, str):
        raise TypeError(f"argument 2 must be str, not {_type_name(name)}")
    pcast = None if castobj is _MISSING or castobj is None else castobj
    base = None if baseobj is _MISSING else baseobj
    return Typecaster._make(values, name, None, pcast, base)


def new_array_type(*args: Any, **kwargs: Any) -> Typecaster:
    """``new_array_type(values, name, baseobj)``: parse an array literal, elements cast by ``baseobj``."""
    values, name, baseobj = _parse_args(args, kwargs, ("values", "name", "baseobj"), 3)
    if not isinstance(values, tuple):
        raise TypeError(f"argument 1 must be tuple, not {_type_name(values)}")
    if not isinstance(name, str):
        raise TypeError(f"argument 2 must be str, not {_type_name(name)}")
    if not isinstance(baseobj, Typecaster):
        raise TypeError(f"argument 3 must be {_TP_NAME}, not {_type_name(baseobj)}")
    return _make_array(values, name, baseobj)


def _make_array(values: tuple[Any, ...], name: str, base: Typecaster) -> Typecaster:
    def ccast(s: bytes, cursor: Any, buf: bytes | None, pos: int) -> list[Any]:
        return _cast_generic_array(base, s, cursor, buf, pos)

    ccast.__qualname__ = ccast.__name__ = f"cast_{name}"
    _VIEW_CASTS.add(ccast)
    return Typecaster._make(values, name, ccast, None, base)


# -- the registries -------------------------------------------------------------------------------------

#: psycopg2.extensions.string_types: OID -> caster, the global registry (a live dict callers edit).
string_types: dict[Any, Any] = {}
#: psycopg2.extensions.binary_types: always empty in psycopg2 2.9 (binary results are not supported).
binary_types: dict[Any, Any] = {}


def _typecast_add(caster: Typecaster, registry: dict[Any, Any]) -> None:
    """``typecast_add``: map every value of the caster to it (later registrations win)."""
    for v in caster._values:
        try:
            registry[v] = caster
        except TypeError as exc:
            raise SystemError(
                "<built-in function register_type> returned a result with an exception set"
            ) from exc


def register_type(*args: Any, **kwargs: Any) -> None:
    """``register_type(obj, scope=None)``: add a caster globally, or to a connection's/cursor's registry."""
    if kwargs:
        raise TypeError("register_type() takes no keyword arguments")
    if not args:
        raise TypeError("function takes at least 1 argument (0 given)")
    if len(args) > 2:
        raise TypeError(f"function takes at most 2 arguments ({len(args)} given)")
    obj = args[0]
    if not isinstance(obj, Typecaster):
        raise TypeError(f"argument 1 must be {_TP_NAME}, not {_type_name(obj)}")
    scope = args[1] if len(args) == 2 else None
    if scope is None:
        _typecast_add(obj, string_types)
        return
    registry = _scope_registry(scope)
    if registry is None:
        raise TypeError("argument 2 must be a connection, cursor or None")
    _typecast_add(obj, registry)


def _scope_registry(scope: Any) -> dict[Any, Any] | None:
    """The ``string_types`` dict of a connection or cursor (a cursor's is created on first use)."""
    if isinstance(scope, type):
        return None
    registry = getattr(scope, "string_types", _MISSING)
    if isinstance(registry, dict):
        return registry
    if registry is None and hasattr(scope, "connection"):
        registry = {}
        try:
            scope.string_types = registry
        except AttributeError:
            return None
        return registry
    return None


def _lookup(registry: Any, oid: Any) -> Any:
    """``PyDict_GetItem``: a miss for anything that is not a dict or not a usable key."""
    if not isinstance(registry, dict):
        return None
    try:
        return dict.get(registry, oid)
    except TypeError:
        return None


def caster_for(oid: Any, cursor: Any) -> Any:
    """The caster psycopg2 picks for a column: cursor, then connection, then global, then the default."""
    if cursor is not None:
        found = _lookup(getattr(cursor, "string_types", None), oid)
        if found is not None:
            return found
        conn = getattr(cursor, "connection", None)
        if conn is not None:
            found = _lookup(getattr(conn, "string_types", None), oid)
            if found is not None:
                return found
    found = _lookup(string_types, oid)
    if found is not None:
        return found
    return _DEFAULT


def cast(oid: Any, value: Any, cursor: Any) -> Any:
    """``cursor.cast(oid, s)``: call the caster the cursor would use, as ``caster(s, cursor)``.

    Like psycopg2, ``s`` goes through the caster's own argument handling: str (sent as UTF-8) or bytes
    (as is), and None gives None without calling a Python caster.
    """
    return caster_for(oid, cursor)(value, cursor)


# -- the fetch hot path ------------------------------------------------------------------------------------

# OIDs whose server text output is canonical for the caster: there the caster's fast conversion is
# exactly psycopg2's result, without the guards an arbitrary string needs.
_CANONICAL_INT_OIDS = frozenset((20, 21, 23, 26))
_CANONICAL_FLOAT_OIDS = frozenset((700, 701))


def row_caster(
    type_oids: Sequence[int], cursor: Any, codec: str | None = None
) -> Callable[[Sequence[bytes | None]], tuple[Any, ...]]:
    """A function turning one DataRow (raw bytes, None for NULL) into the tuple psycopg2 fetches.

    The casters are resolved now, as psycopg2 does when a result arrives (registering a caster later
    does not affect this result); the connection's codec is read now; ``cursor.tzinfo_factory`` is read
    for every value, as psycopg2 does at fetch time.  The returned function is compiled for the column
    kinds, and remembered by the casters it was made for: a result of an already-seen shape costs one
    registry lookup per column and one closure, so that the per-row work is one unpacking plus one short
    statement per column. ``codec`` is the connection's, when the caller has it at hand.
    """
    ncols = len(type_oids)
    if ncols == 0:
        return _empty_row
    casters = _resolve(type_oids, cursor)
    # By identity: casters sharing an OID compare equal. The entry keeps its casters alive, so their
    # ids cannot be reused while it exists.
    key = (*type_oids, *map(id, casters))
    shape = _SHAPES.get(key)
    if shape is None:
        make, bound, uses_cursor = _make_for(type_oids, casters)
        shape = _Shape(make, bound, casters, uses_cursor, {})
        if len(_SHAPES) >= _ROW_MAKERS_MAX:
            _SHAPES.clear()
        _SHAPES[key] = shape
    codec = codec or _codec_of(cursor)
    if shape.uses_cursor:
        return shape.make(cursor, codec, _typecast_cast, Decimal, shape.bound)  # type: ignore[no-any-return]
    fn = shape.by_codec.get(codec)
    if fn is None:  # no caster of this shape needs the cursor: one function serves every cursor
        fn = shape.by_codec[codec] = shape.make(None, codec, _typecast_cast, Decimal, shape.bound)
    if not _has_own_registry(cursor):
        if len(_RECENT) >= _ROW_MAKERS_MAX:
            _RECENT.clear()
        _RECENT[id(type_oids)] = (type_oids, codec, tuple(map(string_types.get, type_oids)), fn)
    return fn


# The row function last made for a list of type OIDs (the cursor's description cache keeps one list
# per result shape) from the global registry alone, by the list's id (the entry keeps the list alive):
# with the codec and the registry's entries it was made from.
_RECENT: dict[int, tuple[Sequence[int], str, tuple[Any, ...], Any]] = {}


def recent_row_caster(type_oids: Sequence[int], codec: str) -> Any:
    """What :func:`row_caster` gives for these OIDs and codec when neither the cursor nor its
    connection has a registry of its own (the caller checks that), if it made one lately and the global
    registry still holds the same casters for them (by identity); else None."""
    recent = _RECENT.get(id(type_oids))
    if recent is None or recent[1] != codec:
        return None
    found = recent[2]
    get = string_types.get
    index = 0  # not zip(): a third of the time for the usual one or two columns
    for oid in type_oids:
        if get(oid) is not found[index]:
            return None
        index += 1  # noqa: SIM113
    return recent[3]


def _has_own_registry(cursor: Any) -> bool:
    """Whether :func:`_resolve` would look at the cursor's or its connection's registry first."""
    if cursor is None:
        return False
    registry = getattr(cursor, "string_types", None)
    if isinstance(registry, dict) and registry:
        return True
    registry = getattr(getattr(cursor, "connection", None), "string_types", None)
    return isinstance(registry, dict) and bool(registry)


class _Shape(NamedTuple):
    """A result shape's compiled row maker, what its code calls, the casters it was made for, whether
    a row needs the cursor (``tzinfo_factory``, Python casters), and its rows functions by codec."""

    make: Callable[..., Any]
    bound: list[Any]
    casters: list[Any]
    uses_cursor: bool
    by_codec: dict[str, Callable[[Sequence[bytes | None]], tuple[Any, ...]]]


def _resolve(type_oids: Sequence[int], cursor: Any) -> list[Any]:
    """:func:`caster_for` of each OID, with the registries looked up once for the whole row."""
    registries = []
    if cursor is not None:
        for registry in (
            getattr(cursor, "string_types", None),
            getattr(getattr(cursor, "connection", None), "string_types", None),
        ):
            if isinstance(registry, dict) and registry:
                registries.append(registry)
    if not registries:
        get = string_types.get
        casters = []
        for oid in type_oids:
            found = get(oid)
            casters.append(_DEFAULT if found is None else found)
        return casters
    registries.append(string_types)
    casters = []
    for oid in type_oids:
        for registry in registries:
            found = _lookup(registry, oid)
            if found is not None:
                break
        else:
            found = _DEFAULT
        casters.append(found)
    return casters


def _make_for(type_oids: Sequence[int], casters: Sequence[Any]) -> tuple[Callable[..., Any], list[Any], bool]:
    """The compiled ``make`` for these column casters, the objects its code calls, and whether that
    code reads the cursor."""
    lines = []
    bound: list[Any] = []
    bound_names: list[str] = []
    for i, (oid, caster) in enumerate(zip(type_oids, casters, strict=True)):
        line, obj = _column_code(caster, oid, f"v{i}")
        if obj is not None:
            name = f"c{i}"
            bound.append(obj)
            bound_names.append(name)
            line = line.replace("CASTER", name)
        if line:
            lines.append(line)
    source_key = "\n".join(lines) + f"\n{len(type_oids)}"
    make = _ROW_MAKERS.get(source_key)
    if make is None:
        make = _compile_row_maker(len(type_oids), lines, bound_names)
        if len(_ROW_MAKERS) < _ROW_MAKERS_MAX:
            _ROW_MAKERS[source_key] = make
    return make, bound, any("cur" in line for line in lines)


_SHAPES: dict[tuple[int, ...], _Shape] = {}
_ROW_MAKERS: dict[str, Callable[..., Any]] = {}
_ROW_MAKERS_MAX = 4096


def _compile_row_maker(ncols: int, lines: list[str], bound_names: list[str]) -> Callable[..., Any]:
    """Compile ``make(cur, codec, tc, Decimal, bound) -> row``; everything ``row`` uses is a closure cell."""
    names = ", ".join(f"v{i}" for i in range(ncols)) + ("," if ncols == 1 else "")
    unbind = f"    {', '.join(bound_names)}, = bound\n" if bound_names else ""
    body = "".join(f"        {line}\n" for line in lines)
    src = (
        f"def make(cur, codec, tc, Decimal, bound):\n{unbind}"
        f"    def row(r):\n        {names} = r\n{body}        return ({names})\n"
        "    return row\n"
    )
    ns: dict[str, Any] = {}
    exec(compile(src, "<row_caster>", "exec"), ns)
    make: Callable[..., Any] = ns["make"]
    return make


def _empty_row(row: Sequence[bytes | None]) -> tuple[Any, ...]:
    return ()


def _column_code(caster: Any, oid: int, v: str) -> tuple[str, Any]:
    """The statement converting ``v`` in place ('' when the raw value is the result), and the object
    the statement calls as ``CASTER`` (or None)."""
    if not isinstance(caster, Typecaster) or caster._ccast is None:
        return f"{v} = tc(CASTER, {v}, cur)", caster
    ccast = caster._ccast
    if ccast is _cast_unicode:
        return f"if {v} is not None: {v} = {v}.decode(codec)", None
    if ccast is _cast_bytes:
        return "", None
    if ccast is _cast_longinteger and oid in _CANONICAL_INT_OIDS:
        return f"if {v} is not None: {v} = int({v})", None
    if ccast is _cast_float and oid in _CANONICAL_FLOAT_OIDS:
        return f"if {v} is not None: {v} = float({v})", None
    if ccast is _cast_decimal and oid == 1700:
        return f"if {v} is not None: {v} = Decimal({v}.decode('ascii'))", None
    if ccast is _cast_boolean and oid == 16:
        return f"if {v} is not None: {v} = {v} == b't'", None
    return f"if {v} is not None: {v} = CASTER({v}, cur, None, 0)", ccast


# -- the builtin casters, created and registered in psycopg2's order (typecast_builtins.c) ---------------


def _builtin(name: str, values: tuple[int, ...], ccast: _CCast) -> Typecaster:
    return Typecaster._make(values, name, ccast, None, None)


_STRING_TYPES = (19, 18, 25, 1042, 1043)
_STRINGARRAY_TYPES = (1002, 1003, 1009, 1014, 1015)

NUMBER = _builtin("NUMBER", (20, 23, 21, 701, 700, 1700), _cast_float)
LONGINTEGER = _builtin("LONGINTEGER", (20,), _cast_longinteger)
INTEGER = _builtin("INTEGER", (23, 21), _cast_longinteger)
FLOAT = _builtin("FLOAT", (701, 700), _cast_float)
DECIMAL = _builtin("DECIMAL", (1700,), _cast_decimal)
UNICODE = _builtin("UNICODE", _STRING_TYPES, _cast_unicode)
BYTES = _builtin("BYTES", _STRING_TYPES, _cast_bytes)
STRING = _builtin("STRING", _STRING_TYPES, _cast_unicode)
BOOLEAN = _builtin("BOOLEAN", (16,), _cast_boolean)
DATETIME = _builtin("DATETIME", (1114,), _cast_datetime)
DATETIMETZ = _builtin("DATETIMETZ", (1184,), _cast_datetimetz)
TIME = _builtin("TIME", (1083, 1266), _cast_time)
DATE = _builtin("DATE", (1082,), _cast_date)
INTERVAL = _builtin("INTERVAL", (704, 1186), _cast_interval)
BINARY = _builtin("BINARY", (17,), _cast_binary)
ROWID = _builtin("ROWID", (26,), _cast_longinteger)
LONGINTEGERARRAY = _make_array((1016,), "LONGINTEGERARRAY", LONGINTEGER)
INTEGERARRAY = _make_array((1005, 1006, 1007), "INTEGERARRAY", INTEGER)
FLOATARRAY = _make_array((1021, 1022), "FLOATARRAY", FLOAT)
DECIMALARRAY = _make_array((1231,), "DECIMALARRAY", DECIMAL)
UNICODEARRAY = _make_array(_STRINGARRAY_TYPES, "UNICODEARRAY", UNICODE)
BYTESARRAY = _make_array(_STRINGARRAY_TYPES, "BYTESARRAY", BYTES)
STRINGARRAY = _make_array(_STRINGARRAY_TYPES, "STRINGARRAY", STRING)
BOOLEANARRAY = _make_array((1000,), "BOOLEANARRAY", BOOLEAN)
DATETIMEARRAY = _make_array((1115,), "DATETIMEARRAY", DATETIME)
DATETIMETZARRAY = _make_array((1185,), "DATETIMETZARRAY", DATETIMETZ)
TIMEARRAY = _make_array((1183, 1270), "TIMEARRAY", TIME)
DATEARRAY = _make_array((1182,), "DATEARRAY", DATE)
INTERVALARRAY = _make_array((1187,), "INTERVALARRAY", INTERVAL)
BINARYARRAY = _make_array((1001,), "BINARYARRAY", BINARY)
ROWIDARRAY = _make_array((1028, 1013), "ROWIDARRAY", ROWID)
UNKNOWN = _builtin("UNKNOWN", (705,), _cast_unicode)
INETARRAY = _make_array((1041,), "INETARRAY", STRING)
CIDRARRAY = _make_array((651,), "CIDRARRAY", STRING)
MACADDRARRAY = _make_array((1040,), "MACADDRARRAY", STRING)

for _caster in (
    NUMBER, LONGINTEGER, INTEGER, FLOAT, DECIMAL, UNICODE, BYTES, STRING, BOOLEAN, DATETIME, DATETIMETZ,
    TIME, DATE, INTERVAL, BINARY, ROWID, LONGINTEGERARRAY, INTEGERARRAY, FLOATARRAY, DECIMALARRAY,
    UNICODEARRAY, BYTESARRAY, STRINGARRAY, BOOLEANARRAY, DATETIMEARRAY, DATETIMETZARRAY, TIMEARRAY,
    DATEARRAY, INTERVALARRAY, BINARYARRAY, ROWIDARRAY, UNKNOWN, INETARRAY, CIDRARRAY, MACADDRARRAY,
):  # fmt: skip
    _typecast_add(_caster, string_types)
del _caster

# psycopg2's fallback for OIDs no registry knows (psycopg2 does not export it): the text, decoded.
_DEFAULT = _builtin("DEFAULT", (), _cast_unicode)

# The py-datetime aliases: same casters, distinct objects, not registered (typecast_pydatetime[]).
PYDATETIME = _builtin("PYDATETIME", (1114,), _cast_datetime)
PYDATETIMETZ = _builtin("PYDATETIMETZ", (1184,), _cast_datetimetz)
PYTIME = _builtin("PYTIME", (1083, 1266), _cast_time)
PYDATE = _builtin("PYDATE", (1082,), _cast_date)
PYINTERVAL = _builtin("PYINTERVAL", (704, 1186), _cast_interval)
PYDATETIMEARRAY = _make_array((1115,), "PYDATETIMEARRAY", PYDATETIME)
PYDATETIMETZARRAY = _make_array((1185,), "PYDATETIMETZARRAY", PYDATETIMETZ)
PYTIMEARRAY = _make_array((1183, 1270), "PYTIMEARRAY", PYTIME)
PYDATEARRAY = _make_array((1182,), "PYDATEARRAY", PYDATE)
PYINTERVALARRAY = _make_array((1187,), "PYINTERVALARRAY", PYINTERVAL)

_VIEW_CASTS.update(
    (_cast_boolean, _cast_binary, _cast_date, _cast_datetime, _cast_datetimetz, _cast_interval)
)

for _f in (new_type, new_array_type, register_type):
    _f.__module__ = "psycopg2._psycopg"
del _f
