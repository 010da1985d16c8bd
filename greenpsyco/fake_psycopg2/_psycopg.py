"""``psycopg2._psycopg``: in psycopg2 the C extension holding the core; here the same names, gathered.

Code outside psycopg2 sometimes imports from it directly (``from psycopg2._psycopg import ...``).
Names that only make sense for a C library (replication, wait callbacks' green mode) are provided
where they can behave correctly and omitted otherwise.
"""

from __future__ import annotations

from typing import Any

from greenpsyco.fake_psycopg2._adapt import (
    SQL_IN,
    AsIs,
    Binary,
    Boolean,
    Date,
    DateFromPy,
    DateFromTicks,
    Decimal,
    Float,
    Int,
    IntervalFromPy,
    ISQLQuote,
    List,
    NoneAdapter,
    QuotedString,
    Time,
    TimeFromPy,
    TimeFromTicks,
    Timestamp,
    TimestampFromPy,
    TimestampFromTicks,
    adapt,
    adapters,
    quote_ident,
)
from greenpsyco.fake_psycopg2._connection import connection
from greenpsyco.fake_psycopg2._cursor import cursor
from greenpsyco.fake_psycopg2._diagnostics import Diagnostics
from greenpsyco.fake_psycopg2._dsn import parse_dsn
from greenpsyco.fake_psycopg2._encodings import encodings
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
    QueryCanceledError,
    TransactionRollbackError,
    Warning,
)
from greenpsyco.fake_psycopg2._info import ConnectionInfo
from greenpsyco.fake_psycopg2._lobject import lobject
from greenpsyco.fake_psycopg2._objects import Column, Notify, Xid
from greenpsyco.fake_psycopg2._typecast import (
    BINARY,
    BINARYARRAY,
    BOOLEAN,
    BOOLEANARRAY,
    BYTES,
    BYTESARRAY,
    CIDRARRAY,
    DATE,
    DATEARRAY,
    DATETIME,
    DATETIMEARRAY,
    DATETIMETZ,
    DATETIMETZARRAY,
    DECIMAL,
    DECIMALARRAY,
    FLOAT,
    FLOATARRAY,
    INETARRAY,
    INTEGER,
    INTEGERARRAY,
    INTERVAL,
    INTERVALARRAY,
    LONGINTEGER,
    LONGINTEGERARRAY,
    MACADDRARRAY,
    NUMBER,
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
    ROWID,
    ROWIDARRAY,
    STRING,
    STRINGARRAY,
    TIME,
    TIMEARRAY,
    UNICODE,
    UNICODEARRAY,
    UNKNOWN,
    binary_types,
    new_array_type,
    new_type,
    register_type,
    string_types,
)
from greenpsyco.fake_psycopg2._typecast import Typecaster as type  # psycopg2._psycopg.type
from greenpsyco.fake_psycopg2.errors import sqlstate_errors

__version__ = "2.9.11 (dt dec pq3 ext lo64)"
__libpq_version__ = 170011
apilevel = "2.0"
threadsafety = 2
paramstyle = "pyformat"
REPLICATION_PHYSICAL = 12345678
REPLICATION_LOGICAL = 87654321


def libpq_version() -> int:
    """The libpq version greenpsyco's wire layer behaves as (libpq 17)."""
    return __libpq_version__


def _connect(dsn: str, connection_factory: Any = None, async_: Any = False, **kwargs: Any) -> Any:
    """Open a connection with ``connection_factory`` (default: ``connection``), as psycopg2's C helper."""
    if "async" in kwargs:
        async_ = kwargs.pop("async")
    if kwargs:
        raise TypeError(f"'{next(iter(kwargs))}' is an invalid keyword argument for this function")
    factory = connection if connection_factory is None else connection_factory
    if async_:
        return factory(dsn, int(bool(async_)))
    return factory(dsn)


_wait_callback: Any = None


def set_wait_callback(callback: Any) -> None:
    """Accepted for psycogreen and friends; greenpsyco waits cooperatively on its own, so the
    callback is stored (and returned by get_wait_callback) but never needed."""
    global _wait_callback
    _wait_callback = callback


def get_wait_callback() -> Any:
    return _wait_callback


def encrypt_password(password: str, user: str, scope: Any = None, algorithm: str | None = None) -> str:
    """The verifier PostgreSQL stores for a password, as libpq's PQencryptPasswordConn."""
    from greenpsyco.fake_psycopg2._passwords import encrypt_password as encrypt

    return encrypt(password, user, scope, algorithm)


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
    "REPLICATION_LOGICAL",
    "REPLICATION_PHYSICAL",
    "ROWID",
    "ROWIDARRAY",
    "SQL_IN",
    "STRING",
    "STRINGARRAY",
    "TIME",
    "TIMEARRAY",
    "UNICODE",
    "UNICODEARRAY",
    "UNKNOWN",
    "AsIs",
    "Binary",
    "Boolean",
    "Column",
    "ConnectionInfo",
    "DataError",
    "DatabaseError",
    "Date",
    "DateFromPy",
    "DateFromTicks",
    "Decimal",
    "Diagnostics",
    "Error",
    "Float",
    "ISQLQuote",
    "Int",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "IntervalFromPy",
    "List",
    "NoneAdapter",
    "NotSupportedError",
    "Notify",
    "OperationalError",
    "ProgrammingError",
    "QueryCanceledError",
    "QuotedString",
    "Time",
    "TimeFromPy",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromPy",
    "TimestampFromTicks",
    "TransactionRollbackError",
    "Warning",
    "Xid",
    "__libpq_version__",
    "__version__",
    "_connect",
    "adapt",
    "adapters",
    "apilevel",
    "binary_types",
    "connection",
    "cursor",
    "encodings",
    "encrypt_password",
    "get_wait_callback",
    "libpq_version",
    "lobject",
    "new_array_type",
    "new_type",
    "paramstyle",
    "parse_dsn",
    "quote_ident",
    "register_type",
    "set_wait_callback",
    "sqlstate_errors",
    "string_types",
    "threadsafety",
    "type",
]
