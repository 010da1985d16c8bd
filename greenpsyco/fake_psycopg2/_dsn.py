"""psycopg2's DSN helpers (``parse_dsn``, ``make_dsn``) on greenpsyco's libpq-compatible parser."""

from __future__ import annotations

import re
from typing import Any

from greenpsyco.fake_psycopg2._exceptions import ProgrammingError
from greenpsyco.wire.conninfo import make_conninfo, parse_conninfo
from greenpsyco.wire.errors import ConninfoError


def parse_dsn(dsn: str | bytes) -> dict[str, str]:
    """The keywords of a connection string or URI, as ``psycopg2.extensions.parse_dsn``."""
    if isinstance(dsn, bytes):
        dsn = dsn.decode("utf-8")
    if not isinstance(dsn, str):
        raise TypeError("dsn must be a string")
    if "\x00" in dsn:
        raise ValueError("embedded null character")  # what psycopg2's C string conversion says
    try:
        return parse_conninfo(dsn)
    except ConninfoError as error:
        raise ProgrammingError(f"invalid dsn: {error}\n") from None


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


_MEMO_LIMIT = 128
_PLAIN = (str, int, type(None))  # argument types whose str() cannot change: safe to remember by value
_made: dict[tuple[Any, ...], str] = {}
_checked: dict[str, str] = {}


def make_dsn_memo(dsn: str | None, kwargs: dict[str, Any]) -> str:
    """``make_dsn(dsn, **kwargs)``, remembered for plain arguments (connect() gets the same ones each time).

    Only str/int/None arguments are remembered, keyed with their types (``1``, ``True`` and ``"1"``
    are different keys), so the result is the one ``make_dsn`` would give; errors are not remembered.
    """
    if (dsn is not None and type(dsn) is not str) or any(type(v) not in _PLAIN for v in kwargs.values()):
        return make_dsn(dsn, **kwargs)
    key = (dsn, *[(k, type(v), v) for k, v in kwargs.items()])
    made = _made.get(key)
    if made is None:
        made = make_dsn(dsn, **kwargs)
        if len(_made) >= _MEMO_LIMIT:
            _made.clear()
        _made[key] = made
    return made


def shown_dsn(dsn: str) -> str:
    """``obscure_password(dsn)``, remembered for DSNs :func:`check_dsn` accepted."""
    shown = _checked.get(dsn) if type(dsn) is str else None
    return obscure_password(dsn) if shown is None else shown


def check_dsn(dsn: str) -> None:
    """Raise ``parse_dsn``'s error for an invalid DSN; valid ones are remembered (with :func:`shown_dsn`)."""
    if type(dsn) is str and dsn in _checked:
        return
    parse_dsn(dsn)
    if type(dsn) is str:
        if len(_checked) >= _MEMO_LIMIT:
            _checked.clear()
        _checked[dsn] = obscure_password(dsn)


# libpq 17's keyword order (PQconndefaults): psycopg2 rebuilds an obscured DSN in this order.
LIBPQ_KEYWORD_ORDER = (
    "service", "user", "password", "passfile", "channel_binding", "connect_timeout", "dbname", "host",
    "hostaddr", "port", "client_encoding", "options", "application_name", "fallback_application_name",
    "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout", "sslmode",
    "sslnegotiation", "sslcompression", "sslcert", "sslkey", "sslcertmode", "sslpassword", "sslrootcert",
    "sslcrl", "sslcrldir", "sslsni", "requirepeer", "require_auth", "ssl_min_protocol_version",
    "ssl_max_protocol_version", "gssencmode", "krbsrvname", "gsslib", "gssdelegation", "replication",
    "target_session_attrs", "load_balance_hosts",
)  # fmt: skip
_RANK = {keyword: rank for rank, keyword in enumerate(LIBPQ_KEYWORD_ORDER)}


def obscure_password(dsn: str) -> str:
    """What ``connection.dsn`` shows: unchanged without a password, else (as psycopg2 does) the
    parsed options in libpq's keyword order with the password replaced by ``xxx``."""
    try:
        params = parse_conninfo(dsn)
    except ConninfoError:
        return dsn
    if "password" not in params:
        return dsn
    params["password"] = "xxx"
    ordered = sorted(params.items(), key=lambda item: _RANK.get(item[0], len(_RANK)))
    return " ".join(f"{key}={_param_escape(value)}" for key, value in ordered)


_ESCAPE = re.compile(r"([\\'])")
_SPACE = re.compile(r"\s")


def _param_escape(s: str, re_escape: re.Pattern[str] = _ESCAPE, re_space: re.Pattern[str] = _SPACE) -> str:
    """Quote a connection-string value the way libpq reads it (psycopg2.extensions._param_escape)."""
    if not s:
        return "''"
    s = re_escape.sub(r"\\\1", s)
    if re_space.search(s):
        s = "'" + s + "'"
    return s
