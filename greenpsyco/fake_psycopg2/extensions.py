"""psycopg2.extensions: connection and cursor classes, adaptation and typecasting registries,
constants, DSN helpers — the same names and objects psycopg2 2.9 exposes."""

from __future__ import annotations

import re as _re

from greenpsyco.fake_psycopg2._adapt import SQL_IN, NoneAdapter, register_adapter
from greenpsyco.fake_psycopg2._connection import (
    ISOLATION_LEVEL_AUTOCOMMIT,
    ISOLATION_LEVEL_DEFAULT,
    ISOLATION_LEVEL_READ_COMMITTED,
    ISOLATION_LEVEL_READ_UNCOMMITTED,
    ISOLATION_LEVEL_REPEATABLE_READ,
    ISOLATION_LEVEL_SERIALIZABLE,
    STATUS_BEGIN,
    STATUS_IN_TRANSACTION,
    STATUS_PREPARED,
    STATUS_READY,
    STATUS_SETUP,
    TRANSACTION_STATUS_ACTIVE,
    TRANSACTION_STATUS_IDLE,
    TRANSACTION_STATUS_INERROR,
    TRANSACTION_STATUS_INTRANS,
    TRANSACTION_STATUS_UNKNOWN,
)
from greenpsyco.fake_psycopg2._dsn import make_dsn
from greenpsyco.fake_psycopg2._psycopg import (
    BINARYARRAY,
    BOOLEAN,
    BOOLEANARRAY,
    BYTES,
    BYTESARRAY,
    DATE,
    DATEARRAY,
    DATETIMEARRAY,
    DECIMAL,
    DECIMALARRAY,
    FLOAT,
    FLOATARRAY,
    INTEGER,
    INTEGERARRAY,
    INTERVAL,
    INTERVALARRAY,
    LONGINTEGER,
    LONGINTEGERARRAY,
    PYDATE,
    PYDATEARRAY,
    PYDATETIME,
    PYDATETIMEARRAY,
    PYDATETIMETZ,
    PYDATETIMETZARRAY,
    PYINTERVAL,
    PYINTERVALARRAY,
    PYTIME,
    PYTIMEARRAY,
    ROWIDARRAY,
    STRINGARRAY,
    TIME,
    TIMEARRAY,
    UNICODE,
    UNICODEARRAY,
    AsIs,
    Binary,
    Boolean,
    Column,
    ConnectionInfo,
    DateFromPy,
    Diagnostics,
    Float,
    Int,
    IntervalFromPy,
    ISQLQuote,
    Notify,
    QueryCanceledError,
    QuotedString,
    TimeFromPy,
    TimestampFromPy,
    TransactionRollbackError,
    Xid,
    adapt,
    adapters,
    binary_types,
    connection,
    cursor,
    encodings,
    encrypt_password,
    get_wait_callback,
    libpq_version,
    lobject,
    new_array_type,
    new_type,
    parse_dsn,
    quote_ident,
    register_type,
    set_wait_callback,
    string_types,
)

STATUS_SYNC = 3  # unused, as in psycopg2
STATUS_ASYNC = 4  # unused, as in psycopg2

POLL_OK = 0
POLL_READ = 1
POLL_WRITE = 2
POLL_ERROR = 3

_ESCAPE = _re.compile(r"([\\'])")
_SPACE = _re.compile(r"\s")


def _param_escape(s: str, re_escape: _re.Pattern[str] = _ESCAPE, re_space: _re.Pattern[str] = _SPACE) -> str:
    """Quote a connection-string value the way libpq reads it (psycopg2's helper of the same name)."""
    if not s:
        return "''"
    s = re_escape.sub(r"\\\1", s)
    if re_space.search(s):
        s = "'" + s + "'"
    return s


from greenpsyco.fake_psycopg2._json import register_default_json, register_default_jsonb  # noqa: E402

JSON, JSONARRAY = register_default_json()
JSONB, JSONBARRAY = register_default_jsonb()
del register_default_json, register_default_jsonb

from greenpsyco.fake_psycopg2 import _range  # noqa: E402, F401 - registers the builtin range types

for _key, _value in list(encodings.items()):
    encodings[_key.replace("_", "").replace("-", "").upper()] = _value
del _key, _value

__all__ = [
    "BINARYARRAY",
    "BOOLEAN",
    "BOOLEANARRAY",
    "BYTES",
    "BYTESARRAY",
    "DATE",
    "DATEARRAY",
    "DATETIMEARRAY",
    "DECIMAL",
    "DECIMALARRAY",
    "FLOAT",
    "FLOATARRAY",
    "INTEGER",
    "INTEGERARRAY",
    "INTERVAL",
    "INTERVALARRAY",
    "ISOLATION_LEVEL_AUTOCOMMIT",
    "ISOLATION_LEVEL_DEFAULT",
    "ISOLATION_LEVEL_READ_COMMITTED",
    "ISOLATION_LEVEL_READ_UNCOMMITTED",
    "ISOLATION_LEVEL_REPEATABLE_READ",
    "ISOLATION_LEVEL_SERIALIZABLE",
    "JSON",
    "JSONARRAY",
    "JSONB",
    "JSONBARRAY",
    "LONGINTEGER",
    "LONGINTEGERARRAY",
    "POLL_ERROR",
    "POLL_OK",
    "POLL_READ",
    "POLL_WRITE",
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
    "ROWIDARRAY",
    "SQL_IN",
    "STATUS_ASYNC",
    "STATUS_BEGIN",
    "STATUS_IN_TRANSACTION",
    "STATUS_PREPARED",
    "STATUS_READY",
    "STATUS_SETUP",
    "STATUS_SYNC",
    "STRINGARRAY",
    "TIME",
    "TIMEARRAY",
    "TRANSACTION_STATUS_ACTIVE",
    "TRANSACTION_STATUS_IDLE",
    "TRANSACTION_STATUS_INERROR",
    "TRANSACTION_STATUS_INTRANS",
    "TRANSACTION_STATUS_UNKNOWN",
    "UNICODE",
    "UNICODEARRAY",
    "AsIs",
    "Binary",
    "Boolean",
    "Column",
    "ConnectionInfo",
    "DateFromPy",
    "Diagnostics",
    "Float",
    "ISQLQuote",
    "Int",
    "IntervalFromPy",
    "NoneAdapter",
    "Notify",
    "QueryCanceledError",
    "QuotedString",
    "TimeFromPy",
    "TimestampFromPy",
    "TransactionRollbackError",
    "Xid",
    "adapt",
    "adapters",
    "binary_types",
    "connection",
    "cursor",
    "encodings",
    "encrypt_password",
    "get_wait_callback",
    "libpq_version",
    "lobject",
    "make_dsn",
    "new_array_type",
    "new_type",
    "parse_dsn",
    "quote_ident",
    "register_adapter",
    "register_type",
    "set_wait_callback",
    "string_types",
]
