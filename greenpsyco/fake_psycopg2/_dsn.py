"""psycopg2's DSN helpers (``parse_dsn``, ``make_dsn``) on greenpsyco's libpq-compatible parser."""

from __future__ import annotations

import re
from typing import Any

from greenpsyco.fake_psycopg2._exceptions import ProgrammingError
from greenpsyco.wire.conninfo import make_conninfo, parse_conninfo
from greenpsyco.wire.errors import ConninfoError

_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")


def parse_dsn(dsn: str | bytes) -> dict[str, str]:
    """The keywords of a connection string or URI, as ``psycopg2.extensions.parse_dsn``."""
    if isinstance(dsn, bytes):
        dsn = dsn.decode("utf-8")
    if not isinstance(dsn, str):
        raise TypeError("dsn must be a string")
    try:
        return parse_conninfo(dsn)
    except ConninfoError as error:
        raise ProgrammingError(f"invalid dsn: {error}") from None


def make_dsn(dsn: str | None = None, **kwargs: Any) -> str:
    """Merge keyword arguments into a DSN, as ``psycopg2.extensions.make_dsn``."""
    if dsn is None and not kwargs:
        return ""
    if not kwargs:
        assert dsn is not None
        parse_dsn(dsn)  # validates, and raises psycopg2's error
        return dsn
    if "database" in kwargs:
        if "dbname" in kwargs:
            raise TypeError("you can't specify both 'database' and 'dbname' arguments")
        kwargs["dbname"] = kwargs.pop("database")
    kwargs = {key: value for key, value in kwargs.items() if value is not None}
    params = parse_dsn(dsn) if dsn else {}
    params.update({key: str(value) for key, value in kwargs.items()})
    result = make_conninfo(params)
    parse_dsn(result)
    return result


def obscure_password(dsn: str) -> str:
    """The DSN with its password replaced by ``xxx`` (what ``connection.dsn`` shows)."""
    if "password" not in dsn:
        return dsn
    if dsn.startswith(("postgresql://", "postgres://")):
        try:
            params = parse_conninfo(dsn)
        except ConninfoError:
            return dsn
        if "password" in params:
            params["password"] = "xxx"
            return make_conninfo(params)
        return dsn
    return _PASSWORD.sub(lambda match: match.group(1) + "xxx", dsn)
