"""psycopg2._json: the ``Json`` adapter and the json/jsonb typecasters."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from greenpsyco.fake_psycopg2._adapt import QuotedString
from greenpsyco.fake_psycopg2._typecast import new_array_type, new_type, register_type

JSON_OID = 114
JSONARRAY_OID = 199
JSONB_OID = 3802
JSONBARRAY_OID = 3807


class Json:
    """Adapt a Python object to a json literal (``json.dumps`` unless ``dumps`` is given)."""

    def __init__(self, adapted: Any, dumps: Callable[[Any], str] | None = None) -> None:
        self.adapted = adapted
        self._conn: Any = None
        self._dumps = dumps or json.dumps

    def __conform__(self, proto: Any) -> Any:
        from greenpsyco.fake_psycopg2._adapt import ISQLQuote

        if proto is ISQLQuote:
            return self
        return None

    def dumps(self, obj: Any) -> str:
        """Serialize ``obj``; subclasses override it to customise the serialization."""
        return self._dumps(obj)

    def prepare(self, conn: Any) -> None:
        self._conn = conn

    def getquoted(self) -> bytes:
        text = self.dumps(self.adapted)
        quoted = QuotedString(text)
        if self._conn is not None:
            quoted.prepare(self._conn)
        return bytes(quoted.getquoted())

    def __str__(self) -> str:
        return self.getquoted().decode("ascii", "replace")


def register_json(
    conn_or_curs: Any = None,
    globally: bool = False,
    loads: Callable[[str], Any] | None = None,
    oid: int | None = None,
    array_oid: int | None = None,
    name: str = "json",
) -> tuple[Any, Any]:
    """Typecast a json type (found by ``name`` on the connection unless ``oid`` is given) with ``loads``."""
    if oid is None:
        oid, array_oid = _get_json_oids(conn_or_curs, name)
    json_caster, array_caster = _create_json_typecasters(oid, array_oid, loads=loads, name=name.upper())
    scope = None if globally else conn_or_curs
    register_type(json_caster, scope)
    if array_caster is not None:
        register_type(array_caster, scope)
    return json_caster, array_caster


def register_default_json(
    conn_or_curs: Any = None, globally: bool = False, loads: Any = None
) -> tuple[Any, Any]:
    """Typecast the builtin json type (OID 114) and its array."""
    return register_json(
        conn_or_curs=conn_or_curs, globally=globally, loads=loads, oid=JSON_OID, array_oid=JSONARRAY_OID
    )


def register_default_jsonb(
    conn_or_curs: Any = None, globally: bool = False, loads: Any = None
) -> tuple[Any, Any]:
    """Typecast the builtin jsonb type (OID 3802) and its array."""
    return register_json(
        conn_or_curs=conn_or_curs,
        globally=globally,
        loads=loads,
        oid=JSONB_OID,
        array_oid=JSONBARRAY_OID,
        name="jsonb",
    )


def _create_json_typecasters(
    oid: int, array_oid: int | None, loads: Callable[[str], Any] | None = None, name: str = "JSON"
) -> tuple[Any, Any]:
    load = loads or json.loads

    def typecast_json(s: str | None, cur: Any) -> Any:
        if s is None:
            return None
        return load(s)

    json_caster = new_type((oid,), name, typecast_json)
    array_caster = (
        new_array_type((array_oid,), f"{name}ARRAY", json_caster) if array_oid is not None else None
    )
    return json_caster, array_caster


def _get_json_oids(conn_or_curs: Any, name: str = "json") -> tuple[int, int | None]:
    from greenpsyco.fake_psycopg2._exceptions import ProgrammingError
    from greenpsyco.fake_psycopg2.extras import _solve_conn_curs

    conn, curs = _solve_conn_curs(conn_or_curs)
    was_idle = conn.status == 1
    curs.execute("SELECT t.oid, typarray FROM pg_type t WHERE typname = %s;", (name,))
    row = curs.fetchone()
    if was_idle and not conn.autocommit:
        conn.rollback()
    if not row:
        raise ProgrammingError(f"{name} data type not found")
    return int(row[0]), (int(row[1]) if row[1] else None)


Json.__module__ = "psycopg2._json"
