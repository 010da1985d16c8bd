"""psycopg2's DB-API exception hierarchy, with the attributes psycopg2 gives its errors.

``pgerror`` (libpq's full message, severity prefix included), ``pgcode`` (SQLSTATE), ``cursor`` (the
cursor that ran the statement) and ``diag`` (a ``Diagnostics`` over the server's error fields) are None
for an error built by hand, as in psycopg2. The SQLSTATE-specific classes live in ``errors``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class Warning(Exception):
    """Important warnings such as data truncation (DB-API)."""


Warning.__module__ = "psycopg2"


class Error(Exception):
    """Base of every psycopg2 error (DB-API)."""

    pgerror: str | None
    pgcode: str | None
    cursor: Any

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.pgerror = None
        self.pgcode = None
        self.cursor = None
        self._fields: Mapping[str, str] = {}

    @property
    def diag(self) -> Any:
        """The server's error fields (``Diagnostics``); every attribute None for a hand-made error."""
        from greenpsyco.fake_psycopg2._diagnostics import Diagnostics

        return Diagnostics(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self.args, {"pgerror": self.pgerror, "pgcode": self.pgcode})

    def __setstate__(self, state: dict[str, Any] | None) -> None:
        if not state:
            return
        self.pgerror = state.get("pgerror")
        self.pgcode = state.get("pgcode")


class InterfaceError(Error):
    """An error of the interface rather than the database (DB-API)."""


class DatabaseError(Error):
    """An error of the database (DB-API)."""


class DataError(DatabaseError):
    """A problem with the processed data: division by zero, value out of range (DB-API)."""


class OperationalError(DatabaseError):
    """An error in the database's operation, not necessarily under the programmer's control (DB-API)."""


class IntegrityError(DatabaseError):
    """The relational integrity of the database is affected (DB-API)."""


class InternalError(DatabaseError):
    """The database hit an internal error (DB-API)."""


class ProgrammingError(DatabaseError):
    """A programming error: wrong SQL, wrong number of parameters, missing table (DB-API)."""


class NotSupportedError(DatabaseError):
    """A method or database API the database does not support (DB-API)."""


class QueryCanceledError(OperationalError):
    """The statement was cancelled (SQLSTATE 57014): ``cancel()`` or ``statement_timeout``."""


class TransactionRollbackError(OperationalError):
    """The transaction was rolled back by the server (SQLSTATE class 40: deadlock, serialization)."""


for _cls in (
    Error,
    InterfaceError,
    DatabaseError,
    DataError,
    OperationalError,
    IntegrityError,
    InternalError,
    ProgrammingError,
    NotSupportedError,
):
    _cls.__module__ = "psycopg2"
for _cls in (QueryCanceledError, TransactionRollbackError):
    _cls.__module__ = "psycopg2.extensions"
del _cls
