"""From the wire layer's errors to the exceptions psycopg2 raises, with libpq's wording.

psycopg2 takes the class from the SQLSTATE (``psycopg/pqpath.c`` ``exception_from_sqlstate``), the text
from libpq (``PQresultErrorMessage``, default verbosity), keeps that text in ``pgerror`` and passes it to
the exception with its ``ERROR:  `` severity prefix stripped. Reproducing the text matters: tests and
applications match substrings of ``str(e)``, including the ``LINE n:`` and caret lines libpq draws under
the statement, so :func:`format_libpq_message` follows libpq's ``pqBuildErrorMessage3`` and
``reportErrorPosition`` (``fe-protocol3.c``) step by step.

Everything here is measured against psycopg2 2.9.13 (libpq 17) by ``tests/fake_psycopg2/test_errormap.py``.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from itertools import accumulate

from greenpsyco.fake_psycopg2._exceptions import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    TransactionRollbackError,
)
from greenpsyco.fake_psycopg2.errors import sqlstate_errors
from greenpsyco.wire.encodings import normalize_name, python_codec
from greenpsyco.wire.errors import (
    ConnectionFailure,
    ConnectionLost,
    ConninfoError,
    InterfaceMisuse,
    MessageTooLong,
    ProtocolViolation,
    ServerError,
    WireError,
)
from greenpsyco.wire.ops import LOST_MESSAGE

# libpq's text when the server hangs up mid-query. libpq 17 reports only this, even when the server sent
# a FATAL ErrorResponse first (pg_terminate_backend, shutdown, idle_session_timeout): that error was
# already "reported" in an earlier PGresult, which PQexec discards for the last one. So psycopg2 raises a
# plain OperationalError with pgcode None, and so do we.
CONNECTION_LOST_TEXT = LOST_MESSAGE + "\n"
# The same over TLS, where the server's orderly close (close_notify) is what libpq notices.
TLS_CONNECTION_LOST_TEXT = "SSL connection has been closed unexpectedly\n"

# -- exception class --------------------------------------------------------------------------------

# psycopg2's base class for a SQLSTATE it has no specific class for, by the code's first character and
# then its second (a first character alone decides for 5, F, H, P and X). Anything else: DatabaseError.
# (psycopg2 also maps 57014 to QueryCanceledError here; 57014 has its own class, QueryCanceled, first.)
_BASE_BY_CLASS: Mapping[str, Mapping[str, type[Error]] | type[Error]] = {
    "0": {"A": NotSupportedError},
    "2": {
        "0": ProgrammingError,
        "1": ProgrammingError,
        "2": DataError,
        "3": IntegrityError,
        "4": InternalError,
        "5": InternalError,
        "6": OperationalError,
        "7": OperationalError,
        "8": OperationalError,
        "B": InternalError,
        "D": InternalError,
        "F": InternalError,
    },
    "3": {
        "4": OperationalError,
        "8": InternalError,
        "9": InternalError,
        "B": InternalError,
        "D": ProgrammingError,
        "F": ProgrammingError,
    },
    "4": {"0": TransactionRollbackError, "2": ProgrammingError, "4": ProgrammingError},
    "5": OperationalError,
    "F": InternalError,
    "H": OperationalError,
    "P": InternalError,
    "X": InternalError,
}


def exception_class(sqlstate: str | None) -> type[Error]:
    """The class psycopg2 raises for an error with this SQLSTATE (None: no SQLSTATE at all).

    The SQLSTATE's own class from ``psycopg2.errors`` if there is one, else the DB-API base of its class
    (``ZZ999`` and the warning-like classes 01, 02, ... give DatabaseError). An error without SQLSTATE on
    a connection that is still good is a DatabaseError too.
    """
    if sqlstate is None:
        return DatabaseError
    specific = sqlstate_errors.get(sqlstate)
    if specific is not None:
        return specific
    by_first = _BASE_BY_CLASS.get(sqlstate[:1])
    if isinstance(by_first, Mapping):
        return by_first.get(sqlstate[1:2], DatabaseError)
    return by_first or DatabaseError


# -- libpq's message text -----------------------------------------------------------------------------

_DISPLAY_SIZE = 60  # reportErrorPosition: screen columns of the query line shown
_MIN_RIGHT_CUT = 10  # ... and how far from its right end the caret should stay

# Multibyte encodings other than UTF8 (pg_encoding_max_length > 1). In these, libpq counts a character
# whose first byte has the high bit set as two columns, except the single-width kana of EUC_JP (SS2
# prefix) and SJIS (lead bytes 0xA1-0xDF).
_EUC_JP = frozenset({"EUC_JP", "EUC_JIS_2004"})
_SJIS = frozenset({"SJIS", "SHIFT_JIS_2004"})
_LEGACY_MULTIBYTE = (
    frozenset({"EUC_KR", "EUC_CN", "EUC_TW", "BIG5", "GBK", "GB18030", "UHC", "JOHAB", "MULE_INTERNAL"})
    | _EUC_JP
    | _SJIS
)

_ATOI = re.compile(r"\s*([+-]?\d+)")
_LINE_END = re.compile(r"[\r\n]")


def _atoi(text: str) -> int:
    """C's ``atoi``: the leading integer of the text, 0 when there is none."""
    match = _ATOI.match(text)
    return int(match.group(1)) if match else 0


def _utf8_width(ch: str) -> int:
    """Screen columns of a character as libpq's ``pg_utf_dsplen`` counts them in reportErrorPosition.

    East Asian wide and fullwidth characters take two columns; libpq treats everything else as one,
    including the zero-width combining and format characters and the controls (``w <= 0`` -> 1).
    """
    if ord(ch) < 0x1100 or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 1
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _legacy_width(ch: str, name: str, codec: str | None) -> int:
    """Screen columns of a character in a multibyte encoding other than UTF8 (by its first byte)."""
    if ord(ch) < 0x80 or codec is None:
        return 1
    try:
        lead = ch.encode(codec)[0]
    except UnicodeEncodeError:
        return 1
    if lead < 0x80 or (name in _EUC_JP and lead == 0x8E) or (name in _SJIS and 0xA1 <= lead <= 0xDF):
        return 1
    return 2


def _columns(line: str, encoding: str) -> Sequence[int]:
    """Where each character of ``line`` starts on screen (one more entry: where the line ends).

    libpq counts one column per character in single-byte encodings and for ASCII text; multibyte
    encodings may make a character two columns wide.
    """
    name = normalize_name(encoding)
    if line.isascii() or (name != "UTF8" and name not in _LEGACY_MULTIBYTE):
        return range(len(line) + 1)
    if name == "UTF8":
        widths = [_utf8_width(ch) for ch in line]
    else:
        try:
            codec: str | None = python_codec(name)
        except LookupError:
            codec = None
        widths = [_legacy_width(ch, name, codec) for ch in line]
    return list(accumulate(widths, initial=0))


def _error_position(query: str, position: int, encoding: str) -> str:
    """libpq's ``reportErrorPosition``: the ``LINE n:`` line holding the 1-based character position
    ``position`` of ``query``, then a caret under it; "" when the position is outside the query.

    A line wider than 60 columns is cut to 60 around the caret, with ``...`` where text was cut. Tabs show
    as spaces; ``\\r``, ``\\n`` and ``\\r\\n`` each end one line. libpq walks the characters one by one;
    this finds the same line, cut and caret column with string searches and bisection, so that a huge
    one-line statement costs little.
    """
    loc = position - 1
    if loc < 0 or loc > len(query):
        return ""
    head = query[:loc]
    start = max(head.rfind("\r"), head.rfind("\n")) + 1
    line_number = 1 + head.count("\r") + head.count("\n") - head.count("\r\n")
    line_end = _LINE_END.search(query, loc)
    line = query[start : line_end.start() if line_end else len(query)]
    scr = _columns(line, encoding)
    at = loc - start
    first, last = 0, len(line)
    beg_trunc = end_trunc = False
    if scr[last] - scr[first] > _DISPLAY_SIZE:
        if scr[first] + _DISPLAY_SIZE >= scr[at] + _MIN_RIGHT_CUT:
            # cut on the right only: the last end that keeps the line within the display width
            last = bisect_right(scr, scr[first] + _DISPLAY_SIZE, 0, last + 1) - 1
            end_trunc = True
        else:
            # cut on the right a little after the caret, then on the left as much as needed
            cut = bisect_right(scr, scr[at] + _MIN_RIGHT_CUT, 0, last + 1) - 1
            end_trunc = cut != last
            last = cut
            cut = bisect_left(scr, scr[last] - _DISPLAY_SIZE, first, last + 1)
            beg_trunc = cut != first
            first = cut
    prefix = f"LINE {line_number}: " + ("..." if beg_trunc else "")
    text = line[first:last].replace("\t", " ")
    caret_column = len(prefix) + scr[at] - scr[first]
    return f"{prefix}{text}{'...' if end_trunc else ''}\n{' ' * caret_column}^\n"


def format_libpq_message(
    fields: Mapping[str, str], query: str | None, *, encoding: str = "UTF8", is_error: bool = True
) -> str:
    """The text libpq builds from an ErrorResponse at default verbosity: what psycopg2 keeps in ``pgerror``.

    ``fields`` are the response's fields by one-letter code; ``query`` is the statement text sent, which
    the statement position (``P``, a 1-based character position) points into; ``encoding`` is the
    client encoding, which decides how wide multibyte characters are when the caret line is drawn.
    ``is_error=False`` formats a NoticeResponse, which libpq shows without its CONTEXT.

    The lines are: ``SEVERITY:  primary message``; the ``LINE n:``/caret display of the statement
    position, or of the internal position (``p``) in the internal query (``q``), e.g. a failing
    statement inside a PL/pgSQL function; then ``DETAIL:  ``, ``HINT:  ``, ``QUERY:  `` and
    ``CONTEXT:  ``. A position with no text to point into is appended as `` at character N``.
    """
    parts: list[str] = []
    severity = fields.get("S")
    if severity is not None:
        parts.append(f"{severity}:  ")
    parts.append(fields.get("M", ""))
    display_text: str | None = None
    display_position = 0
    statement_position = fields.get("P")
    internal_position = fields.get("p")
    if statement_position is not None:
        if query is not None:
            display_text = query
            display_position = _atoi(statement_position)
        else:
            parts.append(f" at character {statement_position}")
    elif internal_position is not None:
        display_text = fields.get("q")
        if display_text is not None:
            display_position = _atoi(internal_position)
        else:
            parts.append(f" at character {internal_position}")
    parts.append("\n")
    if display_text is not None and display_position > 0:
        parts.append(_error_position(display_text, display_position, encoding))
    for code, label in (("D", "DETAIL"), ("H", "HINT"), ("q", "QUERY")):
        if code in fields:
            parts.append(f"{label}:  {fields[code]}\n")
    if is_error and "W" in fields:
        parts.append(f"CONTEXT:  {fields['W']}\n")
    return "".join(parts)


def strip_severity(message: str) -> str:
    """psycopg2's ``strip_severity``: the message without a leading ``ERROR:  ``, ``FATAL:  `` or
    ``PANIC:  `` (only these, and only when something follows); this is ``str(exc)``."""
    if len(message) > 8 and message[:8] in ("ERROR:  ", "FATAL:  ", "PANIC:  "):
        return message[8:]
    return message


# -- exceptions ---------------------------------------------------------------------------------------


def _make(cls: type[Error], message: str, *, pgerror: str | None = None, cursor: object = None) -> Error:
    exc = cls(message)
    exc.pgerror = pgerror
    exc.cursor = cursor
    return exc


def error_from_server(
    error: ServerError, query: str | None, cursor: object = None, *, encoding: str = "UTF8"
) -> Error:
    """The exception psycopg2 raises for a server ErrorResponse to ``query`` run by ``cursor``.

    Its class comes from the SQLSTATE (:func:`exception_class`); ``pgerror`` is libpq's message,
    ``args == (str(exc),)`` the same without the severity prefix, ``pgcode`` the SQLSTATE, and the fields
    are kept for ``exc.diag``.
    """
    fields = error.fields
    # libpq's pqBuildErrorMessage3 for an ErrorResponse without any field (measured: tests/test_security.py)
    pgerror = (
        format_libpq_message(fields, query, encoding=encoding) if fields else "no error message available\n"
    )
    sqlstate = fields.get("C")
    exc = _make(exception_class(sqlstate), strip_severity(pgerror), pgerror=pgerror, cursor=cursor)
    exc.pgcode = sqlstate
    exc._fields = dict(fields)
    return exc


# The messages of libpq's conninfo parser (PQconninfoParse). psycopg2.connect() meets these while it
# parses the DSN itself, and raises ProgrammingError("invalid dsn: ..."); the settings libpq checks
# later, while connecting (sslmode values, integers, service files, host/hostaddr counts), give an
# OperationalError with the bare message.
_PARSE_ERROR_PREFIXES = (
    "invalid connection option ",
    'missing "=" after ',
    "unterminated quoted string in connection info string",
    "invalid percent-encoded token: ",
    "forbidden value %00 in percent-encoded value: ",
    'end of string reached when looking for matching "]" in IPv6 host address in URI: ',
    "IPv6 host address may not be empty in URI: ",
    "unexpected character ",
    'extra key/value separator "=" in URI query parameter: ',
    'missing key/value separator "=" in URI query parameter: ',
    "invalid URI query parameter: ",
    "invalid URI propagated to internal parser routine: ",
    # not libpq's: psycopg2 fails earlier with ValueError('embedded null character'); see the caller.
    "connection info string contains a NUL character",
    "value of connection option ",
)


def _libpq_text(message: str) -> str:
    """libpq's messages end with a newline; the wire layer's do not."""
    return message if message.endswith("\n") else message + "\n"


def error_from_wire(
    exc: WireError,
    query: str | None = None,
    cursor: object = None,
    *,
    encoding: str = "UTF8",
    tls: bool = False,
) -> Error:
    """The exception psycopg2 raises where greenpsyco's wire layer raised ``exc``.

    - ServerError: :func:`error_from_server`.
    - ConnectionLost: OperationalError with libpq's "server closed the connection unexpectedly" text
      (``tls=True``, the connection is encrypted: "SSL connection has been closed unexpectedly") as
      message and ``pgerror``, pgcode None, whatever the server said before hanging up (libpq 17 drops
      it, see :data:`CONNECTION_LOST_TEXT`); a loss the wire layer describes otherwise (a reset over
      TLS, a TLS stream cut without close_notify) keeps its words.
    - ConnectionFailure: OperationalError with the libpq-style text and its final newline, no
      ``pgerror`` (psycopg2 raises it straight from ``PQerrorMessage`` at connect).
    - ConninfoError: ``ProgrammingError("invalid dsn: ...")`` for what libpq's conninfo parser rejects,
      OperationalError for the settings libpq checks while connecting.
    - ProtocolViolation: OperationalError, message and ``pgerror`` alike (libpq drops the connection).
    - MessageTooLong: OperationalError. psycopg2 sends an oversized query and the server hangs up, so it
      raises the connection-lost OperationalError; we refuse before sending, keep the connection, and
      say why.
    - InterfaceMisuse: InterfaceError for "connection already closed" (psycopg2's class and words for
      a closed connection), ProgrammingError otherwise.
    """
    message = str(exc)
    if isinstance(exc, ServerError):
        return error_from_server(exc, query, cursor, encoding=encoding)
    if isinstance(exc, ConnectionLost):
        clean_end = message == LOST_MESSAGE or message.startswith(LOST_MESSAGE + "\n(")  # + an OS detail
        if clean_end or (exc.server_error is not None and message.endswith(LOST_MESSAGE)):
            text = TLS_CONNECTION_LOST_TEXT if tls else CONNECTION_LOST_TEXT
        else:
            text = _libpq_text(message)
        return _make(OperationalError, text, pgerror=text, cursor=cursor)
    if isinstance(exc, ConnectionFailure):
        return _make(OperationalError, _libpq_text(message), cursor=cursor)
    if isinstance(exc, ConninfoError):
        if message.startswith(_PARSE_ERROR_PREFIXES):
            return _make(ProgrammingError, "invalid dsn: " + _libpq_text(message), cursor=cursor)
        return _make(OperationalError, _libpq_text(message), cursor=cursor)
    if isinstance(exc, (ProtocolViolation, MessageTooLong)):
        text = _libpq_text(message)
        return _make(OperationalError, text, pgerror=text, cursor=cursor)
    if isinstance(exc, InterfaceMisuse):
        cls: type[Error] = InterfaceError if message == "connection already closed" else ProgrammingError
        return _make(cls, message, cursor=cursor)
    return _make(OperationalError, _libpq_text(message), pgerror=_libpq_text(message), cursor=cursor)
