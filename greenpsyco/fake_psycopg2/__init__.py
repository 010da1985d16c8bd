"""psycopg2's public face on greenpsyco's pure-Python wire driver.

``greenpsyco.patch()`` installs this package as ``psycopg2``; without it, it is importable as
``greenpsyco.fake_psycopg2`` and behaves the same.
"""

from __future__ import annotations

from typing import Any

from greenpsyco.fake_psycopg2 import _json, _range, errors  # noqa: F401 - psycopg2 exposes them
from greenpsyco.fake_psycopg2 import extensions as _ext
from greenpsyco.fake_psycopg2._dsn import make_dsn_memo
from greenpsyco.fake_psycopg2._psycopg import (
    BINARY,
    DATETIME,
    NUMBER,
    ROWID,
    STRING,
    Binary,
    DatabaseError,
    DataError,
    Date,
    DateFromTicks,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Time,
    TimeFromTicks,
    Timestamp,
    TimestampFromTicks,
    Warning,
    __libpq_version__,
    __version__,
    _connect,
    apilevel,
    paramstyle,
    threadsafety,
)

_ext.register_adapter(tuple, _ext.SQL_IN)
_ext.register_adapter(type(None), _ext.NoneAdapter)

from decimal import Decimal as _Decimal  # noqa: E402

from greenpsyco.fake_psycopg2._psycopg import Decimal as _DecimalAdapter  # noqa: E402

_ext.register_adapter(_Decimal, _DecimalAdapter)


def connect(
    dsn: str | None = None, connection_factory: Any = None, cursor_factory: Any = None, **kwargs: Any
) -> Any:
    """Open a connection, as ``psycopg2.connect``: a DSN or URI, keyword arguments, or both."""
    kwasync = {}
    if "async" in kwargs:
        kwasync["async_"] = kwargs.pop("async")
    if "async_" in kwargs:
        kwasync["async_"] = kwargs.pop("async_")
    dsn = make_dsn_memo(dsn, kwargs)
    conn = _connect(dsn, connection_factory=connection_factory, **kwasync)
    if cursor_factory is not None:
        conn.cursor_factory = cursor_factory
    return conn


__all__ = [
    "BINARY",
    "DATETIME",
    "NUMBER",
    "ROWID",
    "STRING",
    "Binary",
    "DataError",
    "DatabaseError",
    "Date",
    "DateFromTicks",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "Time",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromTicks",
    "Warning",
    "__libpq_version__",
    "__version__",
    "_connect",
    "apilevel",
    "connect",
    "paramstyle",
    "threadsafety",
]
