"""psycopg2.extensions.Diagnostics: the fields of the server's error report, as attributes.

psycopg2 builds one from an exception (``Diagnostics(exc)``, or ``exc.diag``) and reads each attribute
live from the PGresult kept by the exception (``PQresultErrorField``). Ours reads the exception's
``_fields`` dict, keyed by the ErrorResponse field codes (``greenpsyco.wire.errors.FIELD_NAMES``). An
absent field, and every field of a hand-made or unpickled exception, reads as None.

As in psycopg2 the attributes are read-only, the object has no ``__dict__``, and it refuses to pickle.
"""

from __future__ import annotations

from typing import NoReturn, overload

from greenpsyco.fake_psycopg2._exceptions import Error

_TYPE_NAME = "psycopg2.extensions.Diagnostics"


class _Field:
    """One read-only attribute of :class:`Diagnostics`: the server field with this one-letter code."""

    __slots__ = ("code", "name")

    def __init__(self, code: str) -> None:
        self.code = code
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> _Field: ...
    @overload
    def __get__(self, instance: Diagnostics, owner: type | None = None) -> str | None: ...
    def __get__(self, instance: Diagnostics | None, owner: type | None = None) -> _Field | str | None:
        if instance is None:
            return self
        fields = getattr(instance._error, "_fields", None)
        return fields.get(self.code) if fields else None

    def __set__(self, instance: Diagnostics, value: object) -> NoReturn:
        raise AttributeError(f"attribute '{self.name}' of '{_TYPE_NAME}' objects is not writable")

    def __delete__(self, instance: Diagnostics) -> NoReturn:
        raise AttributeError(f"attribute '{self.name}' of '{_TYPE_NAME}' objects is not writable")


class Diagnostics:
    """Details from a database error report: ``Diagnostics(exc)`` or ``exc.diag``.

    Each attribute is the ErrorResponse field of the same name (PostgreSQL's ``PG_DIAG_*``), a str, or
    None when the server did not send it or the exception did not come from the server.
    """

    __slots__ = ("_error",)

    _error: Error

    def __init__(self, err: Error, /) -> None:
        checked: object = err
        if not isinstance(checked, Error):
            raise TypeError("The argument must be a psycopg2.Error")
        object.__setattr__(self, "_error", err)

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError(f"cannot pickle '{_TYPE_NAME}' object")

    severity = _Field("S")
    severity_nonlocalized = _Field("V")
    sqlstate = _Field("C")
    message_primary = _Field("M")
    message_detail = _Field("D")
    message_hint = _Field("H")
    statement_position = _Field("P")
    internal_position = _Field("p")
    internal_query = _Field("q")
    context = _Field("W")
    schema_name = _Field("s")
    table_name = _Field("t")
    column_name = _Field("c")
    datatype_name = _Field("d")
    constraint_name = _Field("n")
    source_file = _Field("F")
    source_line = _Field("L")
    source_function = _Field("R")


Diagnostics.__module__ = "psycopg2.extensions"
