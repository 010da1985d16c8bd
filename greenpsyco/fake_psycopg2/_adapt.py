"""psycopg2's adaptation (Python value -> SQL literal bytes) and its client-side query interpolation.

psycopg2 sends every query as one string: parameters are turned into SQL literals on the client
(``adapt(value).getquoted()``) and merged into the query text by a ``%``-formatter of its own. This module
reproduces both byte for byte, including the parts psycopg2 delegates to libpq (``PQescapeStringConn``,
``PQescapeByteaConn``, ``PQescapeIdentifier`` and libpq's process-wide defaults used when there is no
connection), and every error a mismatched query/parameter pair raises.

The connection contract used here (all read with ``getattr`` so that ``None`` -- Django's
``adapt(value).getquoted()`` without a connection -- works the psycopg2 way):

* ``conn.encoding``: the PostgreSQL client encoding name (``"UTF8"``);
* ``conn._py_encoding``: the Python codec for it (``"utf_8"``);
* ``conn._scs``: the *live* ``standard_conforming_strings`` (updated by ParameterStatus);
* ``conn.server_version``: e.g. ``150018`` (bytea hex format from 9.0 on);
* ``conn.closed``: psycopg2 escapes with libpq's connection-less functions once a connection is closed;
* optional ``conn._equote``: whether ``standard_conforming_strings`` was off *when the connection was
  made* (psycopg2's ``equote``, decided once at connect). Without it the live value decides.

Deliberate difference from psycopg2 (DESIGN.md section 6, psycopg2 issue #366): psycopg2 writes ``E'...'``
when the server had ``standard_conforming_strings`` off at connect time, but lets libpq decide on the live
setting whether backslashes are doubled. After ``SET standard_conforming_strings = on`` it therefore
writes ``E'a\\'`` with a single backslash, which escapes the closing quote: a literal that breaks out.
Here the content of an ``E'...'`` literal always has its backslashes doubled, whatever the live setting.
Everywhere else the output is psycopg2's.

Client encodings in which a multibyte character can contain the bytes of ``'`` or ``\\`` (SJIS, BIG5, GBK,
GB18030, UHC, JOHAB, ...) are refused for string escaping (``NotSupportedError``): libpq escapes them with
per-encoding knowledge this driver does not reimplement, and a mistake there is an SQL injection.
"""

from __future__ import annotations

import datetime as _dt
import decimal as _decimal
import math
import operator
import re
import time as _time
import types
from collections.abc import Callable, Mapping
from typing import Any

from greenpsyco.fake_psycopg2 import _template
from greenpsyco.fake_psycopg2._exceptions import InterfaceError, NotSupportedError, ProgrammingError
from greenpsyco.wire.encodings import is_ascii_safe, python_codec

__all__ = [
    "SQL_IN",
    "AsIs",
    "Binary",
    "Boolean",
    "Date",
    "DateFromPy",
    "DateFromTicks",
    "Decimal",
    "Float",
    "ISQLQuote",
    "Int",
    "IntervalFromPy",
    "List",
    "NoneAdapter",
    "QuotedString",
    "Time",
    "TimeFromPy",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromPy",
    "TimestampFromTicks",
    "adapt",
    "adapters",
    "getquoted",
    "interpolate",
    "note_parameter_status",
    "query_to_bytes",
    "quote_ident",
    "register_adapter",
]

_EXTENSIONS = "psycopg2.extensions"
_PSYCOPG = "psycopg2._psycopg"
_HEAPTYPE = 1 << 9
_IMMUTABLETYPE = 1 << 8
_MISSING: Any = object()
_C_TYPES: frozenset[type] = frozenset()  # the classes standing for psycopg2's C types, set below


# ------------------------------------------------------------------------------------------- helpers


def _tp_name(tp: type) -> str:
    """CPython's ``tp_name`` of a type, which psycopg2 puts in its error messages.

    Classes made by a ``class`` statement carry their bare name; static (C) types and immutable heap types
    made from a spec carry the dotted ``module.Name`` unless they are builtins. The adapter classes here
    stand for psycopg2's C types, so they are named the C way.
    """
    flags = getattr(tp, "__flags__", 0)
    if flags & _HEAPTYPE and not flags & _IMMUTABLETYPE and tp not in _C_TYPES:
        return tp.__name__
    module = getattr(tp, "__module__", "builtins")
    return tp.__name__ if module == "builtins" else f"{module}.{tp.__name__}"


def _exactly_one(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    """The single positional argument of a C adapter constructor, with CPython's arity error."""
    if kwargs or len(args) != 1:
        raise TypeError(f"function takes exactly 1 argument ({len(args)} given)")
    return args[0]


def _utf8_text(data: Any) -> str:
    """``str()`` of a C adapter: its quoted bytes read as UTF-8, undecodable bytes replaced."""
    return bytes(data).decode("utf-8", "replace")


def _ensure_bytes(obj: object) -> bytes:
    """psycopg2's ``psyco_ensure_bytes``: text as UTF-8, bytes as they are, anything else refused."""
    if isinstance(obj, str):
        return obj.encode("utf-8")
    if isinstance(obj, bytes):
        return bytes(obj)
    raise TypeError(f"Expected bytes or unicode string, got {_tp_name(type(obj))} instead")


# --------------------------------------------------------------------- libpq's escaping, reimplemented

# Encoding families, keyed by PostgreSQL's name without "_" / "-": each multibyte family has its own
# character-length and validity rules; everything else is treated byte by byte, as libpq does.
_UTF8, _EUC_JP, _EUC_KR, _EUC_CN, _EUC_TW, _SINGLE_BYTE, _REFUSED = range(7)
_FAMILIES: dict[str, int] = {
    "UTF8": _UTF8,
    "UNICODE": _UTF8,
    "EUCJP": _EUC_JP,
    "EUCJIS2004": _EUC_JP,
    "EUCKR": _EUC_KR,
    "EUCCN": _EUC_CN,
    "EUCTW": _EUC_TW,
    "MULEINTERNAL": _REFUSED,
}
# Encodings where a later byte of a character can be 0x27 (quote) or 0x5C (backslash): never escaped.
_UNSAFE_ENCODINGS = "SJIS SHIFTJIS SHIFTJIS2004 MSKANJI WIN932 WINDOWS932 BIG5 WIN950 WINDOWS950 GBK WIN936"
_UNSAFE_ENCODINGS += " WINDOWS936 GB18030 UHC WIN949 WINDOWS949 JOHAB"
_FAMILIES.update(dict.fromkeys(_UNSAFE_ENCODINGS.split(), _REFUSED))


def _family(pg_encoding: str) -> int:
    """The escaping family of a client encoding name (unknown names are single-byte, as in libpq)."""
    family = _family_memo.get(pg_encoding)
    if family is None:
        if len(_family_memo) >= 64:
            _family_memo.clear()
        family = _family_memo[pg_encoding] = _find_family(pg_encoding)
    return family


_family_memo: dict[str, int] = {}


def _find_family(pg_encoding: str) -> int:
    key = pg_encoding.upper().replace("_", "").replace("-", "")
    family = _FAMILIES.get(key)
    if family is not None:
        return family
    try:
        safe = is_ascii_safe(pg_encoding)
    except LookupError:
        return _SINGLE_BYTE
    return _SINGLE_BYTE if safe else _REFUSED


def _refuse(pg_encoding: str) -> NotSupportedError:
    return NotSupportedError(
        f"cannot quote text in client_encoding {pg_encoding}: in this encoding a multibyte character can "
        "contain the byte of a quote or a backslash, so client-side escaping is unsafe; "
        "use client_encoding UTF8"
    )


def _euc_range(c: int) -> bool:
    return 0xA1 <= c <= 0xFE


def _mblen(family: int, data: bytes, i: int) -> int:
    """libpq's ``pg_encoding_mblen`` for the character starting at ``data[i]`` (a byte >= 0x80)."""
    c = data[i]
    if family == _UTF8:
        if c & 0xE0 == 0xC0:
            return 2
        if c & 0xF0 == 0xE0:
            return 3
        if c & 0xF8 == 0xF0:
            return 4
        return 1
    if family == _EUC_CN:
        return 2
    if family == _EUC_TW:
        return 4 if c == 0x8E else 3 if c == 0x8F else 2
    if family in (_EUC_JP, _EUC_KR):
        return 3 if c == 0x8F else 2
    return 1


def _utf8_legal(chunk: bytes) -> bool:
    """PostgreSQL's ``pg_utf8_islegal`` (RFC 3629: no overlong forms, no surrogates, <= U+10FFFF)."""
    length = len(chunk)
    if length > 4:
        return False
    if length >= 4 and not 0x80 <= chunk[3] <= 0xBF:
        return False
    if length >= 3 and not 0x80 <= chunk[2] <= 0xBF:
        return False
    if length >= 2:
        a = chunk[1]
        low, high = {0xE0: (0xA0, 0xBF), 0xED: (0x80, 0x9F), 0xF0: (0x90, 0xBF), 0xF4: (0x80, 0x8F)}.get(
            chunk[0], (0x80, 0xBF)
        )
        if not low <= a <= high:
            return False
    first = chunk[0]
    return not (0x80 <= first < 0xC2 or first > 0xF4)


def _verify(family: int, data: bytes, i: int, length: int) -> int:
    """libpq's per-encoding ``mbverify``: the length of the valid character at ``data[i]``, else -1."""
    c1 = data[i]
    if family == _UTF8:
        size = _mblen(_UTF8, data, i)
        if length < size or not _utf8_legal(data[i : i + size]):
            return -1
        return size
    if c1 < 0x80 or family == _SINGLE_BYTE:
        return 1
    if family == _EUC_JP:
        if c1 == 0x8E:
            return 2 if length >= 2 and 0xA1 <= data[i + 1] <= 0xDF else -1
        if c1 == 0x8F:
            return 3 if length >= 3 and _euc_range(data[i + 1]) and _euc_range(data[i + 2]) else -1
        return 2 if length >= 2 and _euc_range(c1) and _euc_range(data[i + 1]) else -1
    if family in (_EUC_KR, _EUC_CN):
        return 2 if length >= 2 and _euc_range(c1) and _euc_range(data[i + 1]) else -1
    if family == _EUC_TW:
        if c1 == 0x8E:
            ok = length >= 4 and 0xA1 <= data[i + 1] <= 0xA7
            return 4 if ok and _euc_range(data[i + 2]) and _euc_range(data[i + 3]) else -1
        if c1 == 0x8F:
            return -1
        return 2 if length >= 2 and _euc_range(data[i + 1]) else -1
    return -1


def _escape_string(data: bytes, family: int, std_strings: bool) -> bytes:
    """``PQescapeStringConn`` (libpq 17): double ``'`` (and ``\\`` unless standard_conforming_strings).

    An invalid or truncated multibyte character is replaced by a two-byte sequence that is invalid in the
    encoding (``0xC0 0x20`` in UTF-8, ``0x8D 0x20`` elsewhere) and scanning resumes at the next byte, as
    libpq has done since CVE-2025-1094.
    """
    if family == _SINGLE_BYTE or data.isascii() or (family == _UTF8 and _valid_utf8(data)):
        if not std_strings:
            data = data.replace(b"\\", b"\\\\")
        return data.replace(b"'", b"''")
    out = bytearray()
    i, n = 0, len(data)
    invalid = b"\xc0 " if family == _UTF8 else b"\x8d "
    while i < n:
        c = data[i]
        if c < 0x80:
            if c == 0x27 or (c == 0x5C and not std_strings):
                out.append(c)
            out.append(c)
            i += 1
            continue
        size = _mblen(family, data, i)
        if n - i < size or _verify(family, data, i, size) == -1:
            out += invalid
            i += 1
        else:
            out += data[i : i + size]
            i += size
    return bytes(out)


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _escape_bytea(data: bytes, std_strings: bool, use_hex: bool) -> bytes:
    """``PQescapeByteaConn``: hex format (``\\x…``) for servers >= 9.0, else the octal escape format."""
    slash = b"\\" if std_strings else b"\\\\"
    if use_hex:
        return slash + b"x" + data.hex().encode("ascii")
    out = bytearray()
    for c in data:
        if c < 0x20 or c > 0x7E:
            out += slash + b"%03o" % c
        elif c == 0x27:
            out += b"''"
        elif c == 0x5C:
            out += slash + slash
        else:
            out.append(c)
    return bytes(out)


def _verify_identifier(data: bytes, family: int) -> None:
    """``PQescapeIdentifier``'s validation: the whole remainder is checked at the first multibyte char."""
    if family == _SINGLE_BYTE or data.isascii():
        return
    i, n = 0, len(data)
    validated = False
    while i < n:
        if data[i] < 0x80:
            i += 1
            continue
        size = _mblen(family, data, i)
        if size > n - i:
            raise InterfaceError("failed to escape identifier: incomplete multibyte character\n")
        if not validated:
            j = i
            while j < n:
                if data[j] < 0x80:
                    j += 1
                    continue
                step = _verify(family, data, j, n - j)
                if step < 0:
                    raise InterfaceError("failed to escape identifier: invalid multibyte character\n")
                j += step
            validated = True
        i += size


class _LibpqDefaults:
    """libpq's process-wide ``static_std_strings`` / ``static_client_encoding``.

    ``PQescapeString``/``PQescapeBytea`` (no connection) use them; every connection's ParameterStatus for
    ``standard_conforming_strings`` and ``client_encoding`` overwrites them, so psycopg2's connection-less
    quoting follows the last setting any connection of the process reported.
    """

    std_strings = False
    client_encoding = "SQL_ASCII"


def note_parameter_status(name: str, value: str) -> None:
    """Record a server ParameterStatus the way libpq does for its connection-less escaping functions.

    The connection layer calls this for every ParameterStatus message (``standard_conforming_strings`` and
    ``client_encoding`` are the ones that matter): ``adapt("a\\\\b").getquoted()`` without a connection
    then doubles backslashes only while the last reported ``standard_conforming_strings`` is off, exactly
    as psycopg2 on libpq does.
    """
    if name == "standard_conforming_strings":
        _LibpqDefaults.std_strings = value == "on"
    elif name == "client_encoding":
        _LibpqDefaults.client_encoding = value


# ------------------------------------------------------------------------------ connection accessors


def _is_connection(obj: object) -> bool:
    """Whether ``obj`` is a connection (duck-typed: it has ``encoding`` and a ``cursor()`` method)."""
    if obj is None:
        return False
    try:
        return callable(getattr(obj, "cursor", None)) and hasattr(obj, "encoding")
    except Exception:
        return False


def _context_connection(context: object) -> Any:
    """The connection of a connection-or-cursor argument, or None when it is neither."""
    if _is_connection(context):
        return context
    conn = getattr(context, "connection", None)
    return conn if _is_connection(conn) else None


def _check_connection(conn: object) -> None:
    if not _is_connection(conn):
        raise TypeError(f"argument 1 must be psycopg2.extensions.connection, not {_tp_name(type(conn))}")


def _alive(conn: Any) -> bool:
    """Whether libpq would still have a ``PGconn`` (psycopg2 drops it when the connection is closed)."""
    return conn is not None and not getattr(conn, "closed", 0)


def _conn_codec(conn: Any) -> str:
    codec = getattr(conn, "_py_encoding", None)
    if codec:
        return str(codec)
    return python_codec(str(getattr(conn, "encoding", "UTF8")))


def _conn_encode(conn: Any, text: str) -> bytes:
    """psycopg2's ``conn_encode``: the connection's codec, strict; UTF-8 without a connection."""
    if conn is None:
        return text.encode("utf-8")
    return text.encode(_conn_codec(conn))


def _conn_scs(conn: Any) -> bool:
    return bool(getattr(conn, "_scs", True))


def _conn_equote(conn: Any) -> bool:
    """psycopg2's ``equote``: write ``E'...'`` literals (the server had standard_conforming_strings off)."""
    if conn is None:
        return False
    decided = getattr(conn, "_equote", None)
    if decided is not None:
        return bool(decided)
    return not _conn_scs(conn)


def _literal_settings(conn: Any) -> tuple[bool, int, bool, str]:
    """How text literals are written for ``conn`` now: (equote, encoding family, std_strings, encoding).

    Computed once per query by the fast path, which encodes with ``_conn_codec(conn)`` itself."""
    equote = _conn_equote(conn)
    if _alive(conn):
        encoding = str(getattr(conn, "encoding", "UTF8"))
        std_strings = _conn_scs(conn)
    else:
        encoding = _LibpqDefaults.client_encoding
        std_strings = _LibpqDefaults.std_strings
    if equote:
        std_strings = False  # E'' always needs doubled backslashes: the fix for psycopg2 #366
    return equote, _family(encoding), std_strings, encoding


def _escape_with(settings: tuple[Any, ...], data: bytes) -> bytes:
    """The quoted literal for already-encoded text, with settings from :func:`_literal_settings`."""
    if b"\x00" in data:
        raise ValueError("A string literal cannot contain NUL (0x00) characters.")
    equote, family, std_strings, encoding = settings[:4]
    if family == _REFUSED:
        raise _refuse(encoding)
    body = _escape_string(data, family, std_strings)
    return (b"E'" if equote else b"'") + body + b"'"


def _escape_literal(conn: Any, data: bytes) -> bytes:
    """psycopg2's ``psyco_escape_string``: the quoted literal for already-encoded text."""
    if b"\x00" in data:
        raise ValueError("A string literal cannot contain NUL (0x00) characters.")
    return _escape_with(_literal_settings(conn), data)


# -------------------------------------------------------------------------------- protocol, registry


class ISQLQuote:
    """Abstract ISQLQuote protocol

    An object conform to this protocol should expose a ``getquoted()`` method
    returning the SQL representation of the object.

    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._wrapped = _exactly_one(args, kwargs)

    def getquoted(self) -> Any:
        """getquoted() -- return SQL-quoted representation of this object"""
        return None

    def getbinary(self) -> Any:
        """getbinary() -- return SQL-quoted binary representation of this object"""
        return None

    def getbuffer(self) -> Any:
        """getbuffer() -- return this object"""
        return None


ISQLQuote.__module__ = _EXTENSIONS

# psycopg2.extensions.adapters: (type, ISQLQuote) -> adapter factory. Callers edit it directly.
adapters: dict[tuple[Any, Any], Any] = {}


def register_adapter(typ: Any, callable: Any) -> None:
    """Register 'callable' as an ISQLQuote adapter for type 'typ'."""
    adapters[(typ, ISQLQuote)] = callable


register_adapter.__module__ = _EXTENSIONS


def _lookup(key: tuple[Any, Any]) -> Any:
    try:
        return adapters.get(key, _MISSING)
    except Exception:  # an unhashable protocol: PyDict_GetItem swallows the error
        return _MISSING


def _ask(owner: Any, method: str, arg: Any) -> Any:
    """Call ``owner.<method>(arg)`` as psycopg2 does for ``__adapt__``/``__conform__``.

    A missing method, a ``TypeError`` from the call and a ``None`` result all mean "no answer".
    """
    try:
        meth = getattr(owner, method)
    except Exception:
        return None
    try:
        return meth(arg)
    except TypeError:
        return None


def adapt(obj: Any, proto: Any = ISQLQuote, alt: Any = None, /) -> Any:
    """adapt(obj, protocol, alternate) -> object -- adapt obj to given protocol

    The lookup order is psycopg2's: the exact type in ``adapters``, ``protocol.__adapt__(obj)``,
    ``obj.__conform__(protocol)``, then the adapters of the type's base classes in MRO order.
    ``alternate`` is accepted and ignored, as in psycopg2 2.9.
    """
    tp = type(obj)
    adapter = _lookup((tp, proto))
    if adapter is not _MISSING:
        return adapter(obj)
    for owner, method, arg in ((proto, "__adapt__", obj), (obj, "__conform__", proto)):
        adapted = _ask(owner, method, arg)
        if adapted is not None:
            return adapted
    for base in tp.__mro__[1:]:
        adapter = _lookup((base, proto))
        if adapter is not _MISSING:
            return adapter(obj)
    raise ProgrammingError(f"can't adapt type '{_tp_name(tp)}'"[:254])


adapt.__module__ = _EXTENSIONS


def getquoted(obj: Any, conn: Any = None) -> Any:
    """psycopg2's ``microprotocol_getquoted``: adapt, ``prepare(conn)`` if there is both, ``getquoted()``.

    A ``str`` result is encoded with the connection's codec (UTF-8 without a connection); any other
    result is returned as it is (the formatter then insists on ``bytes``).
    """
    adapted = adapt(obj, ISQLQuote)
    if conn is not None:
        try:
            prepare = adapted.prepare
        except Exception:
            prepare = _MISSING
        if prepare is not _MISSING:
            prepare(conn)
    result = adapted.getquoted()
    if type(result) is str:
        return _conn_encode(conn, result)
    return result


class _ReadOnly:
    """A read-only member of a C adapter: reading gives the slot, writing fails as psycopg2's members do."""

    def __init__(self, slot: str) -> None:
        self.slot = slot

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        return self if obj is None else getattr(obj, self.slot)

    def __set__(self, obj: Any, value: Any) -> None:
        raise AttributeError("readonly attribute")

    def __delete__(self, obj: Any) -> None:
        raise AttributeError("readonly attribute")


class _Adapter:
    """Shared behaviour of psycopg2's C adapters: one wrapped object, ``__conform__``, ``str()``."""

    __slots__ = ("_wrapped",)

    adapted = _ReadOnly("_wrapped")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._wrapped = _exactly_one(args, kwargs)

    def __getattr__(self, name: str) -> Any:
        # A C type's tp_name carries its module: "'psycopg2.extensions.Int' object has no attribute ..."
        raise AttributeError(f"'{_tp_name(type(self))}' object has no attribute '{name}'")

    def __conform__(self, proto: Any) -> Any:
        return self if proto is ISQLQuote else None

    def getquoted(self) -> bytes:
        raise NotImplementedError

    def __str__(self) -> str:
        return _utf8_text(self.getquoted())


def _minus_space(text: str) -> bytes:
    """Numbers as UTF-8, with a space before a leading minus (``1 - -1`` must not become ``1--1``)."""
    data = text.encode("utf-8")
    return b" " + data if data[:1] == b"-" else data


# ------------------------------------------------------------------------------------------ adapters


class AsIs(_Adapter):
    """AsIs(str) -> new AsIs adapter object"""

    __slots__ = ()

    def getquoted(self) -> bytes:
        """getquoted() -> wrapped object value as SQL-quoted string"""
        if self._wrapped is None:
            return b"NULL"
        return str(self._wrapped).encode("utf-8")


class Boolean(_Adapter):
    """Boolean(str) -> new Boolean adapter object"""

    __slots__ = ()

    def getquoted(self) -> bytes:
        """getquoted() -> wrapped object value as SQL-quoted string"""
        return b"true" if self._wrapped else b"false"


class Int(_Adapter):
    """Int(str) -> new Int adapter object"""

    __slots__ = ()

    def getquoted(self) -> bytes:
        """getquoted() -> wrapped object value as SQL-quoted string"""
        value = self._wrapped
        number = value if type(value) is int else int(value)
        return _minus_space(str(number))


def _as_double(value: Any) -> float:
    """CPython's ``PyFloat_AsDouble``: floats as they are, else ``__float__``, else ``__index__``."""
    if isinstance(value, float):
        return float.__float__(value)
    tp = type(value)
    if hasattr(tp, "__float__"):
        result = tp.__float__(value)
        if not isinstance(result, float):
            raise TypeError(f"{_tp_name(tp)}.__float__ returned non-float (type {_tp_name(type(result))})")
        return float.__float__(result)
    if hasattr(tp, "__index__"):
        return float(operator.index(value))
    raise TypeError(f"must be real number, not {_tp_name(tp)}")


class Float(_Adapter):
    """Float(str) -> new Float adapter object"""

    __slots__ = ()

    def getquoted(self) -> bytes:
        """getquoted() -> wrapped object value as SQL-quoted string"""
        try:
            number = _as_double(self._wrapped)
        except Exception as exc:
            raise SystemError(
                "<method 'getquoted' of 'psycopg2.extensions.Float' objects> "
                "returned a result with an exception set"
            ) from exc
        if math.isnan(number):
            return b"'NaN'::float"
        if math.isinf(number):
            return b"'Infinity'::float" if number > 0 else b"'-Infinity'::float"
        return _minus_space(repr(self._wrapped))


class Decimal(_Adapter):
    """Decimal(str) -> new Decimal adapter object"""

    __slots__ = ()

    def getquoted(self) -> bytes:
        """getquoted() -> wrapped object value as SQL-quoted string"""
        value = self._wrapped
        try:
            finite = value.is_finite()
        except Exception:
            finite = _MISSING
        if finite is _MISSING:
            if value._isnan() or value._isinfinity():
                return b"'NaN'::numeric"
        elif finite is not True:
            return b"'NaN'::numeric"
        return _minus_space(str(value))


class QuotedString(_Adapter):
    """QuotedString(str) -> new quoted object"""

    __slots__ = ("_buffer", "_conn", "_encoding")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._buffer: bytes | None = None
        self._conn: Any = None
        self._encoding: str | None = None

    buffer = _ReadOnly("_buffer")

    @property
    def encoding(self) -> str:
        """current encoding of the adapter"""
        if self._conn is not None:
            return _conn_codec(self._conn)
        return self._encoding or "latin1"

    @encoding.setter
    def encoding(self, value: Any) -> None:
        self._encoding = _ensure_bytes(value).decode("utf-8")

    @encoding.deleter
    def encoding(self) -> None:
        raise AttributeError("can't delete attribute")

    def prepare(self, conn: Any) -> None:
        """prepare(conn) -> set encoding to conn->encoding and store conn"""
        _check_connection(conn)
        self._conn = conn

    def getquoted(self) -> bytes:
        """getquoted() -> wrapped object value as SQL-quoted string"""
        if self._buffer is None:
            self._buffer = self._quote()
        return self._buffer

    def _quote(self) -> bytes:
        wrapped = self._wrapped
        if isinstance(wrapped, str):
            if self._conn is not None:
                data = _conn_encode(self._conn, wrapped)
            else:
                data = wrapped.encode(self._encoding or "latin1")
        elif isinstance(wrapped, bytes):
            data = bytes(wrapped)
        else:
            raise TypeError("can't quote non-string object")
        return _escape_literal(self._conn, data)


class Binary(_Adapter):
    """Binary(buffer) -> new binary object"""

    __slots__ = ("_buffer", "_conn")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._buffer: bytes | None = None
        self._conn: Any = None

    buffer = _ReadOnly("_buffer")

    def prepare(self, conn: Any) -> None:
        """prepare(conn) -> prepare for binary encoding using conn"""
        _check_connection(conn)
        self._conn = conn

    def getquoted(self) -> bytes:
        """getquoted() -> wrapped object value as SQL-quoted binary string"""
        if self._buffer is None:
            self._buffer = self._quote()
        return self._buffer

    def _quote(self) -> bytes:
        wrapped = self._wrapped
        if wrapped is None:
            return b"NULL"
        try:
            view = memoryview(wrapped)
        except TypeError:
            raise TypeError(f"can't escape {_tp_name(type(wrapped))} to binary") from None
        with view:
            if not view.c_contiguous:
                raise BufferError("memoryview: underlying buffer is not C-contiguous")
            data = view.tobytes()
        conn = self._conn
        equote = _conn_equote(conn)
        if _alive(conn):
            std_strings = _conn_scs(conn)
            use_hex = int(getattr(conn, "server_version", 0) or 0) >= 90000
        else:
            std_strings = _LibpqDefaults.std_strings
            use_hex = False
        if equote:
            std_strings = False  # E'' always needs doubled backslashes: the fix for psycopg2 #366
        body = _escape_bytea(data, std_strings, use_hex)
        return (b"E'" if equote else b"'") + body + b"'::bytea"


class List(_Adapter):
    """List(list) -> new list wrapper object"""

    __slots__ = ("_conn",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self._wrapped, list):
            raise SystemError("<class 'psycopg2._psycopg.List'> returned NULL without setting an exception")
        self._conn: Any = None

    def prepare(self, conn: Any) -> None:
        """prepare(conn) -> set encoding to conn->encoding"""
        _check_connection(conn)
        self._conn = conn

    def getquoted(self) -> bytes:
        """getquoted() -> wrapped object value as SQL date/time"""
        items: list[Any] = self._wrapped
        if not items:
            return b"'{}'"
        quoted: list[bytes] = []
        all_nulls = True
        for item in items:
            if item is None:
                quoted.append(b"NULL")
                continue
            one = getquoted(item, self._conn)
            if type(one) is not bytes:
                raise ValueError(f"only bytes values expected, got {_tp_name(type(one))}")
            if isinstance(item, list):
                # ARRAY[] cannot hold only NULLs ('{NULL}' can) and '{{}}' is invalid (ARRAY[ARRAY[]] is not)
                if one[:1] == b"A":
                    all_nulls = False
                elif one.split(b"\x00", 1)[0] == b"'{}'":
                    all_nulls = False
                    one = b"ARRAY[]"
            else:
                all_nulls = False
            quoted.append(one)
        if not all_nulls:
            return b"ARRAY[" + b",".join(quoted) + b"]"
        inner = [q[1:-1] if q[:1] == b"'" else q for q in quoted]
        return b"'{" + b",".join(inner) + b"}'"


class SQL_IN:
    """Adapt any iterable to an SQL quotable object."""

    def __init__(self, seq: Any) -> None:
        self._seq = seq
        self._conn: Any = None

    def prepare(self, conn: Any) -> None:
        self._conn = conn

    def getquoted(self) -> bytes:
        adapted = [adapt(item) for item in self._seq]
        if self._conn is not None:
            for one in adapted:
                if hasattr(one, "prepare"):
                    one.prepare(self._conn)
        return b"(" + b", ".join([one.getquoted() for one in adapted]) + b")"

    def __str__(self) -> str:
        return str(self.getquoted())


class NoneAdapter:
    """Adapt None to NULL.

    This adapter is not used normally as a fast path in mogrify uses NULL,
    but it makes easier to adapt composite types.
    """

    def __init__(self, obj: Any) -> None:
        pass

    def getquoted(self, _null: bytes = b"NULL") -> bytes:
        return _null


# ------------------------------------------------------------------------------------ date and time

_TIME, _DATE, _TIMESTAMP, _INTERVAL = range(4)


class _PyDateTime(_Adapter):
    """datetime(datetime, type) -> new datetime wrapper object"""

    __slots__ = ("_type",)

    def __init__(self, obj: Any, type: Any = -1) -> None:
        self._wrapped = obj
        self._type = operator.index(type)

    type = _ReadOnly("_type")

    def getquoted(self) -> bytes:
        """getquoted() -> wrapped object value as SQL date/time"""
        value = self._wrapped
        kind = self._type
        if kind == _INTERVAL:
            if not isinstance(value, _dt.timedelta):
                raise TypeError(f"can't adapt {_tp_name(type(value))} as an interval")
            return b"'%d days %d.%06d seconds'::interval" % (value.days, value.seconds, value.microseconds)
        if kind == _DATE:
            cast = b"date"
        elif kind in (_TIME, _TIMESTAMP):
            aware = value.tzinfo is not None
            if kind == _TIME:
                cast = b"timetz" if aware else b"time"
            else:
                cast = b"timestamptz" if aware else b"timestamp"
        else:
            raise SystemError(f"bad datetime wrapper type {kind}")
        iso = value.isoformat()
        if isinstance(iso, str):
            iso = iso.encode("utf-8")
        elif type(iso) is not bytes:
            raise TypeError(f"Expected bytes or unicode string, got {_tp_name(type(iso))} instead")
        return b"'" + iso.split(b"\x00", 1)[0] + b"'::" + cast


_PyDateTime.__name__ = _PyDateTime.__qualname__ = "datetime"


def _wrapper_maker(name: str, cls: type, kind: int) -> Callable[[Any], _PyDateTime]:
    def make(obj: Any, /) -> _PyDateTime:
        if not isinstance(obj, cls):
            raise TypeError(f"argument 1 must be {_tp_name(cls)}, not {_tp_name(type(obj))}")
        return _PyDateTime(obj, kind)

    make.__name__ = make.__qualname__ = name
    make.__module__ = _PSYCOPG
    make.__doc__ = f"{name}({_tp_name(cls)}) -> new wrapper"
    return make


DateFromPy = _wrapper_maker("DateFromPy", _dt.date, _DATE)
TimeFromPy = _wrapper_maker("TimeFromPy", _dt.time, _TIME)
TimestampFromPy = _wrapper_maker("TimestampFromPy", _dt.datetime, _TIMESTAMP)
IntervalFromPy = _wrapper_maker("IntervalFromPy", _dt.timedelta, _INTERVAL)


def _c_round(value: float) -> int:
    """C's ``round()``: halves away from zero."""
    return math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)


def _split_seconds(second: float) -> tuple[int, int]:
    micro = (second - math.floor(second)) * 1000000.0
    return math.floor(second), _c_round(micro)


def Date(year: Any, month: Any, day: Any, /) -> _PyDateTime:
    """Date(year, month, day) -> new date"""
    value = _dt.date(operator.index(year), operator.index(month), operator.index(day))
    return _PyDateTime(value, _DATE)


def Time(hour: Any, minute: Any, second: Any, tzinfo: Any = None, /) -> _PyDateTime:
    """Time(hour, minutes, seconds, tzinfo=None) -> new time"""
    whole, micro = _split_seconds(_as_double(second))
    value = _dt.time(operator.index(hour), operator.index(minute), whole, micro, tzinfo)
    return _PyDateTime(value, _TIME)


def Timestamp(
    year: Any, month: Any, day: Any, hour: Any = 0, minute: Any = 0, second: Any = 0.0, tzinfo: Any = None, /
) -> _PyDateTime:
    """Timestamp(year, month, day, hour, minutes, seconds, tzinfo=None) -> new timestamp"""
    whole, micro = _split_seconds(_as_double(second))
    value = _dt.datetime(
        operator.index(year),
        operator.index(month),
        operator.index(day),
        operator.index(hour),
        operator.index(minute),
        whole,
        micro,
        tzinfo,
    )
    return _PyDateTime(value, _TIMESTAMP)


def _local(ticks: Any) -> tuple[_time.struct_time, float]:
    seconds = _as_double(ticks)
    whole = math.floor(seconds)
    return _time.localtime(whole), seconds - whole


def DateFromTicks(ticks: Any, /) -> _PyDateTime:
    """DateFromTicks(ticks) -> new date"""
    tm, _ = _local(ticks)
    return Date(tm.tm_year, tm.tm_mon, tm.tm_mday)


def TimeFromTicks(ticks: Any, /) -> _PyDateTime:
    """TimeFromTicks(ticks) -> new time"""
    tm, fraction = _local(ticks)
    return Time(tm.tm_hour, tm.tm_min, tm.tm_sec + fraction)


def TimestampFromTicks(ticks: Any, /) -> _PyDateTime:
    """TimestampFromTicks(ticks) -> new timestamp"""
    tm, fraction = _local(ticks)
    wrapper = Timestamp(tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec + fraction)
    wrapper._wrapped = wrapper._wrapped.astimezone()
    return wrapper


for _func in (Date, Time, Timestamp, DateFromTicks, TimeFromTicks, TimestampFromTicks):
    _func.__module__ = _PSYCOPG
del _func

_cls: type
for _cls in (AsIs, Boolean, Int, Float, QuotedString, Binary, SQL_IN, NoneAdapter):
    _cls.__module__ = _EXTENSIONS
for _cls in (Decimal, List, _PyDateTime):
    _cls.__module__ = _PSYCOPG
del _cls
_C_TYPES = frozenset({AsIs, Boolean, Int, Float, Decimal, QuotedString, Binary, List, _PyDateTime})

# The adapters psycopg2 registers when it is imported, in its order (the Range adapters are added by the
# _range module; dict, uuid.UUID and ipaddress objects are not adaptable until register_* is called).
for _typ, _adapter in (
    (float, Float),
    (int, Int),
    (bool, Boolean),
    (str, QuotedString),
    (bytes, Binary),
    (bytearray, Binary),
    (memoryview, Binary),
    (list, List),
    (_dt.date, DateFromPy),
    (_dt.time, TimeFromPy),
    (_dt.datetime, TimestampFromPy),
    (_dt.timedelta, IntervalFromPy),
    (tuple, SQL_IN),
    (type(None), NoneAdapter),
    (_decimal.Decimal, Decimal),
):
    register_adapter(_typ, _adapter)
del _typ, _adapter


# ----------------------------------------------------------------------------------- quote_ident


def quote_ident(ident: Any, scope: Any) -> str:
    """quote_ident(str, conn_or_curs) -> str -- wrapper around PQescapeIdentifier

    :Parameters:
      * `str`: A bytes or unicode object
      * `conn_or_curs`: A connection or cursor, required"""
    conn = _context_connection(scope)
    if conn is None:
        raise TypeError("argument 2 must be a connection or a cursor")
    data = _ensure_bytes(ident)
    if not _alive(conn):
        raise InterfaceError("connection not valid")
    data = data.split(b"\x00", 1)[0]
    encoding = str(getattr(conn, "encoding", "UTF8"))
    family = _family(encoding)
    if family == _REFUSED:
        raise _refuse(encoding)
    _verify_identifier(data, family)
    quoted = b'"' + data.replace(b'"', b'""') + b'"'
    return quoted.decode(_conn_codec(conn), "replace")


quote_ident.__module__ = _PSYCOPG


# ----------------------------------------------------------------------------------- interpolation


def query_to_bytes(query: Any, conn: Any) -> bytes:
    """The query text psycopg2's ``execute``/``mogrify`` work on (``curs_validate_sql_basic``).

    Bytes as they are, text encoded with the connection's codec, a ``psycopg2.sql`` object through
    ``as_string(conn)``; an empty query is a ``ProgrammingError``.
    """
    if not query:
        raise ProgrammingError("can't execute an empty query")
    if type(query) is bytes:
        return query
    if type(query) is str:
        return _conn_encode(conn, query)
    if isinstance(query, bytes):
        return bytes(query)
    if isinstance(query, str):
        return _conn_encode(conn, query)
    from greenpsyco.fake_psycopg2.sql import Composable

    if isinstance(query, Composable):
        text: Any = query.as_string(conn)
        if isinstance(text, bytes):
            return bytes(text)
        if isinstance(text, str):
            return _conn_encode(conn, text)
        raise TypeError(f"as_string() should return a string: got {_tp_name(type(text))} instead")
    raise TypeError(f"argument 1 must be a string or unicode object: got {_tp_name(type(query))} instead")


def _has_sq_item(tp: type) -> bool:
    """Whether CPython gives the type a sequence ``sq_item`` slot (``PySequence_GetItem`` works)."""
    if not hasattr(tp, "__getitem__"):
        return False
    if tp.__flags__ & _HEAPTYPE and not tp.__flags__ & _IMMUTABLETYPE:
        return True  # a Python class with __getitem__ anywhere in its MRO gets the generic slot
    return not (issubclass(tp, Mapping) or tp in _MAPPING_ONLY)


_MAPPING_ONLY: frozenset[type] = frozenset({types.MappingProxyType, types.GenericAlias, re.Match})


def _sequence_item(var: Any, index: int) -> Any:
    """``PySequence_GetItem(var, index)``, with CPython's errors for non-sequences."""
    tp = type(var)
    if _has_sq_item(tp):
        return var[index]
    if hasattr(tp, "__getitem__"):
        raise TypeError(f"{_tp_name(tp)} is not a sequence")
    raise TypeError(f"'{_tp_name(tp)}' object does not support indexing")


def _quote_param(value: Any, conn: Any) -> Any:
    return b"NULL" if value is None else getquoted(value, conn)


def _mogrify(query: bytes, params: Any, conn: Any) -> Any:
    """psycopg2's ``_mogrify``: adapt the parameters the query refers to.

    Returns None when the query has no placeholder (it is then used untouched), a dict of quoted values
    for ``%(name)s`` placeholders, or a list of quoted values (``_MISSING`` where unused) for ``%s``.
    Like the C original, the scan stops at the first NUL byte.
    """
    end = query.find(b"\x00")
    if end < 0:
        end = len(query)
    quoted: Any = None
    kind = 0  # 1: mapping placeholders seen, 2: positional ones
    force = False
    index = 0
    i = 0
    while i < end:
        if query[i] != 0x25:
            i += 1
            continue
        i += 1
        nxt = query[i] if i < end else 0
        if nxt == 0x25:
            i += 1
            force = True
        elif nxt == 0x28:
            if kind == 2:
                raise ProgrammingError("argument formats can't be mixed")
            kind = 1
            close = i + 1
            while close < end and query[close] not in (0x29, 0x25):
                close += 1
            if close >= end or query[close] != 0x29:
                raise ProgrammingError("incomplete placeholder: '%(' without ')'")
            key = query[i + 1 : close].decode("utf-8")
            value = params[key]
            if quoted is None:
                quoted = {}
            if key not in quoted:
                quoted[key] = _quote_param(value, conn)
            i = close + 1
        else:
            if kind == 1:
                raise ProgrammingError("argument formats can't be mixed")
            kind = 2
            value = _sequence_item(params, index)
            if quoted is None:
                try:
                    size = len(params)
                except Exception:
                    raise SystemError("Objects/tupleobject.c:36: bad argument to internal function") from None
                quoted = [_MISSING] * size
            if index >= len(quoted):
                raise SystemError("tuple assignment index out of range")
            quoted[index] = _quote_param(value, conn)
            index += 1
    if force and quoted is None:
        quoted = []
    return quoted


def _unsupported(char: int, position: int) -> Exception:
    if char >= 0x80:  # psycopg2 formats a negative (signed) char here
        return OverflowError("character argument not in range(0x110000)")
    return ValueError(f"unsupported format character '{chr(char)}' (0x{char:x}) at index {position}")


def _bytes_format(query: bytes, args: Any, method: str = "mogrify") -> bytes:
    """psycopg2's ``Bytes_Format``: ``%s``, ``%(name)s`` and ``%%`` over already-quoted bytes."""
    mapping = isinstance(args, dict)
    current = args
    arglen, argidx = (-1, -2) if mapping else (len(args), 0)
    out = bytearray()
    size = len(query)
    i = 0
    while i < size:
        percent = query.find(b"%", i)
        if percent < 0:
            out += query[i:]
            break
        out += query[i:percent]
        i = percent + 1
        if i < size and query[i] == 0x28:
            if not mapping:
                raise TypeError("format requires a mapping")
            i += 1
            start = i
            depth = 1
            while depth > 0 and i < size:
                if query[i] == 0x29:
                    depth -= 1
                elif query[i] == 0x28:
                    depth += 1
                i += 1
            if depth > 0:
                raise ValueError("incomplete format key")
            current = args[query[start : i - 1].decode("utf-8")]
            arglen, argidx = -1, -2
        if i >= size:
            raise ValueError("incomplete format")
        char = query[i]
        i += 1
        if char == 0x25:
            out += b"%"
            continue
        if char != 0x73:
            raise _unsupported(char, i - 1)
        if argidx >= arglen:
            raise TypeError("not enough arguments for format string")
        argidx += 1
        value = current if arglen < 0 else current[argidx - 1]
        if value is _MISSING:
            # psycopg2's C code returns NULL without an exception; CPython names the cursor method.
            raise SystemError(
                f"<method '{method}' of 'psycopg2.extensions.cursor' objects> returned NULL without "
                "setting an exception"
            )
        if type(value) is not bytes:
            raise ValueError(f"only bytes values expected, got {_tp_name(type(value))}")
        out += value
        if mapping and argidx < arglen:
            raise TypeError("not all arguments converted during string formatting")
    if argidx < arglen and not mapping:
        raise TypeError("not all arguments converted during string formatting")
    return bytes(out)


def interpolate(
    query: bytes | str, params: Any, conn: Any, *, cursor: Any = None, method: str = "mogrify"
) -> bytes:
    """Merge ``params`` into ``query`` as psycopg2's ``mogrify``/``execute`` do (``_mogrify`` + format).

    ``query`` is bytes (a ``str`` is encoded with the connection's codec first). ``params`` is a sequence
    for ``%s`` or a mapping for ``%(name)s`` placeholders, judged the way psycopg2 judges it; ``%%`` is a
    literal percent. ``params=None`` means no ``%`` processing at all (the query is returned untouched):
    callers normally skip the call then. A query without any placeholder is also returned untouched, even
    with parameters. Errors are psycopg2's, class and message; a ``ProgrammingError`` gets ``cursor``.
    """
    if isinstance(query, str):
        query = _conn_encode(conn, query)
    elif not isinstance(query, bytes):
        raise TypeError(f"argument 1 must be a string or unicode object: got {_tp_name(type(query))} instead")
    if params is None:
        return query
    try:
        merged = _fast_interpolate(query, params, conn)
        if merged is not None:
            return merged
        quoted = _mogrify(query, params, conn)
        if quoted is None:
            return query
        try:
            return _bytes_format(query, quoted, method)
        except TypeError as exc:
            if str(exc) == "not enough arguments for format string":
                raise ProgrammingError(str(exc)) from None
            raise
    except ProgrammingError as exc:
        # psycopg2 names the cursor in the errors of its own query parsing, not in an adapter's.
        if cursor is not None and exc.cursor is None and str(exc) in _CURSOR_ERRORS:
            exc.cursor = cursor
        raise


_CURSOR_ERRORS = frozenset(
    (
        "argument formats can't be mixed",
        "incomplete placeholder: '%(' without ')'",
        "not enough arguments for format string",
    )
)


# ------------------------------------------------------------------------ interpolation, fast path


def _quoting(conn: Any) -> tuple[bool, int, bool, str, str, bool]:
    """:func:`_literal_settings`, the codec, and whether a literal is just the text with its quotes
    doubled (UTF-8 or a single-byte encoding, standard_conforming_strings on, no ``E''``); kept by a
    live connection that offers ``_quoting`` (it forgets them when a ParameterStatus arrives or it
    closes)."""
    settings: tuple[bool, int, bool, str, str, bool] | None = getattr(conn, "_quoting", None)
    if settings is None or not _alive(conn):
        equote, family, std_strings, encoding = _literal_settings(conn)
        plain = not equote and std_strings and family in (_UTF8, _SINGLE_BYTE)
        settings = (equote, family, std_strings, encoding, _conn_codec(conn), plain)
        if hasattr(conn, "_quoting") and _alive(conn):
            conn._quoting = settings
    return settings


def _fast_literal(value: Any, kind: type, settings: Any) -> bytes:
    """What the default adapter of ``kind`` (int, float, bool, str exactly) gives ``value``, directly."""
    if kind is int:
        return b"%d" % value if value >= 0 else b" %d" % value
    if kind is str:
        return _escape_with(settings, value.encode(settings[4]))
    if kind is bool:
        return b"true" if value else b"false"
    if value != value:  # a float from here on
        return b"'NaN'::float"
    if value in (math.inf, -math.inf):
        return b"'Infinity'::float" if value > 0 else b"'-Infinity'::float"
    return _minus_space(repr(value))


_FAST_ADAPTERS: dict[type, tuple[tuple[type, type], Any]] = {
    kind: ((kind, ISQLQuote), adapter)
    for kind, adapter in ((int, Int), (str, QuotedString), (bool, Boolean), (float, Float))
}


def _fast_interpolate(query: bytes, params: Any, conn: Any) -> bytes | None:
    """:func:`interpolate` for a cached, well-formed template and a plain tuple, list or dict.

    None when the general path must run (nothing has been adapted then). Values whose type still has
    its default adapter (int, float, bool, str, None) are quoted directly, which is what that adapter
    would give; every other value goes through :func:`getquoted`, in psycopg2's order, each key of a
    mapping once, so errors and adapter calls are psycopg2's.
    """
    template = _template.lookup(query)
    if template is None:
        return None
    chunks, keys = template
    kind = type(params)
    if keys is None:
        if (kind is not tuple and kind is not list) or len(params) != len(chunks) - 1:
            return None
        values = params
    else:
        if kind is not dict:
            return None
        try:
            values = [params[key] for key in keys]
        except KeyError:
            return None
    settings = None
    seen: dict[str, Any] = {}
    parts = [chunks[0]]
    append = parts.append
    foreign = False  # a custom adapter's result is among the parts: check they are all bytes
    lookup = adapters.get
    for index, value in enumerate(values):
        if keys is not None:
            key = keys[index]
            if key in seen:
                append(seen[key])
                append(chunks[index + 1])
                continue
        kind = type(value)
        fast = _FAST_ADAPTERS.get(kind)
        if value is None:
            one: Any = b"NULL"
        elif fast is not None and lookup(fast[0]) is fast[1]:
            if kind is int:
                one = b"%d" % value if value >= 0 else b" %d" % value
            elif kind is str:
                if settings is None:
                    settings = _quoting(conn)
                data = value.encode(settings[4])
                if settings[5] and b"\x00" not in data:  # what _escape_string does then, in short
                    one = b"'" + data.replace(b"'", b"''") + b"'"
                else:
                    one = _escape_with(settings, data)
            else:
                one = _fast_literal(value, kind, settings)
        else:
            one = getquoted(value, conn)
            foreign = foreign or type(one) is not bytes
        append(one)
        append(chunks[index + 1])
        if keys is not None:
            seen[keys[index]] = one
    if foreign:
        for one in parts[1::2]:
            if type(one) is not bytes:
                raise ValueError(f"only bytes values expected, got {_tp_name(type(one))}")
    return b"".join(parts)
