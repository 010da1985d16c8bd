"""psycopg2.extras: dict/namedtuple cursors, logging connections, uuid/inet/hstore/composite/range/json
registration, and the batch helpers ``execute_batch``/``execute_values`` -- psycopg2 2.9's names and
behaviour on greenpsyco's connection and cursor.

The module keeps psycopg2's module-level names (including the imported helpers such as ``json``,
``namedtuple`` or ``psycopg2``) so that ``dir()`` and ``from psycopg2.extras import *`` give what they
give with psycopg2, and every class reports ``psycopg2.extras`` as its module.

Streaming replication is not implemented by greenpsyco: the replication classes exist so that imports
and ``isinstance`` checks work, and creating one raises ``NotSupportedError``.
"""

from __future__ import annotations

import json  # psycopg2.extras exposes it (through its _json)
import logging as _logging
import os as _os
import re as _re
import time as _time
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Any

import greenpsyco.fake_psycopg2 as psycopg2
from greenpsyco.fake_psycopg2 import extensions as _ext

# Re-exported, as psycopg2.extras does.
from greenpsyco.fake_psycopg2._ipaddress import register_ipaddress
from greenpsyco.fake_psycopg2._json import (
    Json,
    register_default_json,
    register_default_jsonb,
    register_json,
)
from greenpsyco.fake_psycopg2._psycopg import REPLICATION_LOGICAL, REPLICATION_PHYSICAL
from greenpsyco.fake_psycopg2._range import (
    DateRange,
    DateTimeRange,
    DateTimeTZRange,
    NumericRange,
    Range,
    RangeAdapter,
    RangeCaster,
    register_range,
)
from greenpsyco.fake_psycopg2.extensions import adapt as _A
from greenpsyco.fake_psycopg2.extensions import connection as _connection
from greenpsyco.fake_psycopg2.extensions import cursor as _cursor
from greenpsyco.fake_psycopg2.extensions import quote_ident

_MODULE = "psycopg2.extras"


def _base_rows(cur: Any) -> Iterator[Any]:
    """The rows the base cursor's own iteration gives, whatever the subclass overrides.

    psycopg2's C iteration calls its C ``fetchone`` directly (a subclass's Python ``fetchone`` is not
    involved) and a named cursor fetches ``itersize`` rows per round trip: the extras' generators
    build on that, so they must not go through the overridden fetch methods.
    """
    if cur.name is None:
        while True:
            row = _cursor.fetchone(cur)
            if row is None:
                return
            yield row
    rows: Any = _cursor.__iter__(cur)
    if rows is cur:
        while True:
            try:
                row = _cursor.__next__(cur)
            except StopIteration:
                return
            yield row
    yield from rows


# ------------------------------------------------------------------------------ dict-like cursors


class DictCursorBase(_cursor):
    """Common base of the cursors that return rows built by a ``row_factory`` (dict-like rows).

    The factory is given as the ``row_factory`` keyword; the column index of a result is built once,
    lazily, by the subclass's ``_build_index()`` around the first fetch after an execute.
    """

    _query_executed: bool
    _prefetch: bool
    # Provided by the subclasses (declared only: DictCursorBase itself has none, as in psycopg2).
    _build_index: Callable[[], None]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "row_factory" not in kwargs:
            raise NotImplementedError("DictCursorBase can't be instantiated without a row factory.")
        row_factory = kwargs.pop("row_factory")
        super().__init__(*args, **kwargs)
        self._query_executed = False
        self._prefetch = False
        self.row_factory = row_factory

    def fetchone(self) -> Any:
        if self._prefetch:
            row = super().fetchone()
        if self._query_executed:
            self._build_index()
        if not self._prefetch:
            row = super().fetchone()
        return row

    def fetchmany(self, size: int | None = None) -> list[Any]:
        if self._prefetch:
            rows = super().fetchmany(size)
        if self._query_executed:
            self._build_index()
        if not self._prefetch:
            rows = super().fetchmany(size)
        return rows

    def fetchall(self) -> list[Any]:
        if self._prefetch:
            rows = super().fetchall()
        if self._query_executed:
            self._build_index()
        if not self._prefetch:
            rows = super().fetchall()
        return rows

    def __iter__(self) -> Iterator[Any]:
        try:
            if self._prefetch:
                rows = _base_rows(self)
                first = next(rows)
            if self._query_executed:
                self._build_index()
            if not self._prefetch:
                rows = _base_rows(self)
                first = next(rows)
            yield first
            while True:
                yield next(rows)
        except StopIteration:
            return


class DictConnection(_connection):
    """A connection whose cursors are ``DictCursor`` unless another factory is given."""

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cursor_factory", self.cursor_factory or DictCursor)
        return super().cursor(*args, **kwargs)


class DictCursor(DictCursorBase):
    """A cursor whose rows are ``DictRow``: lists that can also be indexed by column name."""

    index: OrderedDict[str, int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["row_factory"] = DictRow
        super().__init__(*args, **kwargs)
        self._prefetch = True

    def execute(self, query: Any, vars: Any = None) -> Any:
        self.index = OrderedDict()
        self._query_executed = True
        return super().execute(query, vars)

    def callproc(self, procname: Any, vars: Any = None) -> Any:
        self.index = OrderedDict()
        self._query_executed = True
        return super().callproc(procname, vars)

    def _build_index(self) -> None:
        if self._query_executed and self.description:
            for position, column in enumerate(self.description):
                self.index[column[0]] = position
            self._query_executed = False


class DictRow(list[Any]):
    """A row of a ``DictCursor``: a list, also indexed by column name (``row['id']``).

    The name -> position map is the cursor's, shared by all the rows of one result.
    """

    __slots__ = ("_index",)

    _index: OrderedDict[Any, int]

    def __init__(self, cursor: Any) -> None:
        self._index = cursor.index
        self[:] = [None] * len(cursor.description)

    def __getitem__(self, x: Any) -> Any:
        if not isinstance(x, int | slice):
            x = self._index[x]
        return super().__getitem__(x)

    def __setitem__(self, x: Any, v: Any) -> None:
        if not isinstance(x, int | slice):
            x = self._index[x]
        super().__setitem__(x, v)

    def items(self) -> Iterator[tuple[Any, Any]]:
        """(name, value) pairs in column order."""
        item = super().__getitem__
        return ((name, item(self._index[name])) for name in self._index)

    def keys(self) -> Iterator[Any]:
        """The column names, in column order."""
        return iter(self._index)

    def values(self) -> Iterator[Any]:
        """The values, in column order."""
        item = super().__getitem__
        return (item(self._index[name]) for name in self._index)

    def get(self, x: Any, default: Any = None) -> Any:
        """The value of column (or position) ``x``, or ``default`` when there is none."""
        try:
            return self[x]
        except Exception:
            return default

    def copy(self) -> OrderedDict[Any, Any]:  # type: ignore[override]
        """The row as a new ``OrderedDict`` of name -> value."""
        return OrderedDict(self.items())

    def __contains__(self, x: object) -> bool:
        return x in self._index

    def __reduce__(self) -> Any:
        # Spelled out as psycopg2 does (its issue #1073): the list reduction plus the state below.
        return super().__reduce__()

    def __getstate__(self) -> tuple[list[Any], OrderedDict[Any, int]]:
        return self[:], self._index.copy()

    def __setstate__(self, data: tuple[list[Any], OrderedDict[Any, int]]) -> None:
        self[:] = data[0]
        self._index = data[1]


class RealDictConnection(_connection):
    """A connection whose cursors are ``RealDictCursor`` unless another factory is given."""

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cursor_factory", self.cursor_factory or RealDictCursor)
        return super().cursor(*args, **kwargs)


class RealDictCursor(DictCursorBase):
    """A cursor whose rows are ``RealDictRow``: real dicts keyed by column name (no access by position)."""

    column_mapping: list[Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["row_factory"] = RealDictRow
        super().__init__(*args, **kwargs)

    def execute(self, query: Any, vars: Any = None) -> Any:
        self.column_mapping = []
        self._query_executed = True
        return super().execute(query, vars)

    def callproc(self, procname: Any, vars: Any = None) -> Any:
        self.column_mapping = []
        self._query_executed = True
        return super().callproc(procname, vars)

    def _build_index(self) -> None:
        if self._query_executed and self.description:
            self.column_mapping = [column[0] for column in self.description]
            self._query_executed = False


class RealDictRow(OrderedDict[Any, Any]):
    """A row of a ``RealDictCursor``: an ordered dict of column name -> value.

    Made from a cursor, it is filled by position while the row is built: until the last column arrives
    the key ``RealDictRow`` (the class itself) holds the cursor's column names, so no extra attribute is
    needed and the finished row is a plain mapping (pickles and compares as one).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cursor: Any = None
        if args and isinstance(args[0], _cursor):
            cursor, args = args[0], args[1:]
        super().__init__(*args, **kwargs)
        if cursor is not None:
            if cursor.description and not cursor.column_mapping:  # a named cursor's first rows
                cursor._build_index()
            self[RealDictRow] = cursor.column_mapping

    def __setitem__(self, key: Any, value: Any) -> None:
        if RealDictRow in self:
            names = self[RealDictRow]
            super().__setitem__(names[key], value)
            if key == len(names) - 1:
                del self[RealDictRow]
            return
        super().__setitem__(key, value)


# ------------------------------------------------------------------------------- namedtuple cursor


class NamedTupleConnection(_connection):
    """A connection whose cursors are ``NamedTupleCursor`` unless another factory is given."""

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cursor_factory", self.cursor_factory or NamedTupleCursor)
        return super().cursor(*args, **kwargs)


class NamedTupleCursor(_cursor):
    """A cursor whose rows are namedtuples (class ``Record``) with one field per column.

    Column names that are not identifiers are cleaned: ASCII punctuation becomes ``_`` and a name
    starting with ``_`` or a digit gets an ``f`` prefix. The classes are cached by column names.
    """

    Record: Any = None
    MAX_CACHE = 1024
    _cached_make_nt: Any

    def execute(self, query: Any, vars: Any = None) -> Any:
        self.Record = None
        return super().execute(query, vars)

    def executemany(self, query: Any, vars: Any) -> Any:
        self.Record = None
        return super().executemany(query, vars)

    def callproc(self, procname: Any, vars: Any = None) -> Any:
        self.Record = None
        return super().callproc(procname, vars)

    def _record(self) -> Any:
        """The namedtuple class of the current result (made on first use)."""
        record = self.Record
        if record is None:
            record = self.Record = self._make_nt()
        return record

    def fetchone(self) -> Any:
        row = super().fetchone()
        if row is None:
            return None
        return self._record()._make(row)

    def fetchmany(self, size: int | None = None) -> list[Any]:
        rows = super().fetchmany(size)
        return list(map(self._record()._make, rows))

    def fetchall(self) -> list[Any]:
        rows = super().fetchall()
        return list(map(self._record()._make, rows))

    def __iter__(self) -> Iterator[Any]:
        rows = _base_rows(self)
        try:
            first = next(rows)
        except StopIteration:
            return
        make = self._record()._make
        yield make(first)
        for row in rows:
            yield make(row)

    def _make_nt(self) -> Any:
        key = tuple(column[0] for column in self.description) if self.description else ()
        return self._cached_make_nt(key)

    @classmethod
    def _do_make_nt(cls, key: tuple[str, ...]) -> Any:
        fields = []
        for name in key:
            name = _re_clean.sub("_", name)
            # A field can start neither with a digit (not an identifier) nor with "_" (namedtuple's).
            if name[0] == "_" or "0" <= name[0] <= "9":
                name = "f" + name
            fields.append(name)
        return namedtuple("Record", fields, module=_MODULE)


@lru_cache(512)
def _cached_make_nt(cls: Any, key: tuple[str, ...]) -> Any:
    """The Record class for column names ``key`` (module-level and cached, as in psycopg2)."""
    return cls._do_make_nt(key)


# A module-level cache, reachable (and replaceable) as the class's, as psycopg2 exposes it.
NamedTupleCursor._cached_make_nt = classmethod(_cached_make_nt)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ logging connections


class LoggingConnection(_connection):
    """A connection that logs every query of its cursors to a file or a ``logging`` logger.

    Call ``initialize(logobj)`` before making cursors; override ``filter()`` to change or drop messages.
    """

    log: Callable[[Any, Any], None]
    _logobj: Any

    def initialize(self, logobj: Any) -> None:
        """Log to ``logobj``: a ``logging.Logger``/``LoggerAdapter`` (at DEBUG) or a writable file."""
        self._logobj = logobj
        if _logging and isinstance(logobj, _logging.Logger | _logging.LoggerAdapter):
            self.log = self._logtologger
        else:
            self.log = self._logtofile

    def filter(self, msg: Any, curs: Any) -> Any:
        """The message to log for ``msg`` (the query) run by ``curs``; a false value logs nothing."""
        return msg

    def _logtofile(self, msg: Any, curs: Any) -> None:
        msg = self.filter(msg, curs)
        if msg:
            if isinstance(msg, bytes):
                msg = msg.decode(_ext.encodings[self.encoding], "replace")
            self._logobj.write(msg + _os.linesep)

    def _logtologger(self, msg: Any, curs: Any) -> None:
        msg = self.filter(msg, curs)
        if msg:
            self._logobj.debug(msg)

    def _check(self) -> None:
        if not hasattr(self, "_logobj"):
            raise self.ProgrammingError("LoggingConnection object has not been initialize()d")

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        self._check()
        kwargs.setdefault("cursor_factory", self.cursor_factory or LoggingCursor)
        return super().cursor(*args, **kwargs)


class LoggingCursor(_cursor):
    """A cursor that logs each query it runs (even a failing one) through its ``LoggingConnection``."""

    def execute(self, query: Any, vars: Any = None) -> Any:
        try:
            return super().execute(query, vars)
        finally:
            self.connection.log(self.query, self)

    def callproc(self, procname: Any, vars: Any = None) -> Any:
        try:
            return super().callproc(procname, vars)
        finally:
            self.connection.log(self.query, self)


class MinTimeLoggingConnection(LoggingConnection):
    """A ``LoggingConnection`` logging only the queries slower than ``mintime`` milliseconds, with
    their execution time."""

    _mintime: float

    def initialize(self, logobj: Any, mintime: float = 0) -> None:
        """Log to ``logobj`` the queries that took more than ``mintime`` ms."""
        LoggingConnection.initialize(self, logobj)
        self._mintime = mintime

    def filter(self, msg: Any, curs: Any) -> Any:
        elapsed = (_time.time() - curs.timestamp) * 1000
        if elapsed > self._mintime:
            if isinstance(msg, bytes):
                msg = msg.decode(_ext.encodings[self.encoding], "replace")
            return f"{msg}{_os.linesep}  (execution time: {elapsed} ms)"
        return None

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cursor_factory", self.cursor_factory or MinTimeLoggingCursor)
        return LoggingConnection.cursor(self, *args, **kwargs)


class MinTimeLoggingCursor(LoggingCursor):
    """The cursor of ``MinTimeLoggingConnection``: it notes when each query starts."""

    timestamp: float

    def execute(self, query: Any, vars: Any = None) -> Any:
        self.timestamp = _time.time()
        return LoggingCursor.execute(self, query, vars)

    def callproc(self, procname: Any, vars: Any = None) -> Any:
        self.timestamp = _time.time()
        return LoggingCursor.callproc(self, procname, vars)


# ------------------------------------------------------------------------------------- replication

_NO_REPLICATION = (
    "streaming replication is not supported by greenpsyco: {} cannot be used "
    "(use the real psycopg2, on a dedicated connection, for replication)"
)


class _replicationConnection(_connection):
    """psycopg2.extensions.ReplicationConnection: not available on greenpsyco."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise psycopg2.NotSupportedError(_NO_REPLICATION.format(type(self).__name__))


class _replicationCursor(_cursor):
    """psycopg2.extensions.ReplicationCursor: not available on greenpsyco."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise psycopg2.NotSupportedError(_NO_REPLICATION.format(type(self).__name__))

    def _unsupported(self, *args: Any, **kwargs: Any) -> Any:
        raise psycopg2.NotSupportedError(_NO_REPLICATION.format(type(self).__name__))

    start_replication_expert = _unsupported
    consume_stream = _unsupported
    read_message = _unsupported
    send_feedback = _unsupported


class ReplicationMessage:
    """psycopg2.extensions.ReplicationMessage: not available on greenpsyco."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise psycopg2.NotSupportedError(_NO_REPLICATION.format("ReplicationMessage"))


class LogicalReplicationConnection(_replicationConnection):
    """A logical replication connection: not available on greenpsyco (NotSupportedError)."""


class PhysicalReplicationConnection(_replicationConnection):
    """A physical replication connection: not available on greenpsyco (NotSupportedError)."""


class StopReplication(Exception):
    """Raised by a ``consume_stream()`` callback to stop it; not an error (not a ``psycopg2.Error``)."""


class ReplicationCursor(_replicationCursor):
    """A replication cursor: not available on greenpsyco (NotSupportedError)."""

    create_replication_slot = _replicationCursor._unsupported
    drop_replication_slot = _replicationCursor._unsupported
    start_replication = _replicationCursor._unsupported

    def fileno(self) -> int:
        """The connection's socket (replication cursors can be given to select())."""
        return int(self.connection.fileno())


_replicationConnection.__name__ = _replicationConnection.__qualname__ = "ReplicationConnection"
_replicationCursor.__name__ = _replicationCursor.__qualname__ = "ReplicationCursor"
_replicationConnection.__module__ = "psycopg2.extensions"
_replicationCursor.__module__ = "psycopg2.extensions"
ReplicationMessage.__module__ = "psycopg2.extensions"


# ------------------------------------------------------------------------------------------------ uuid


class UUID_adapter:
    """Adapts a ``uuid.UUID`` to ``'...'::uuid``."""

    def __init__(self, uuid: Any) -> None:
        self._uuid = uuid

    def __conform__(self, proto: Any) -> Any:
        if proto is _ext.ISQLQuote:
            return self
        return None

    def getquoted(self) -> bytes:
        return f"'{self._uuid}'::uuid".encode()

    def __str__(self) -> str:
        return f"'{self._uuid}'::uuid"


def _cast_uuid(data: Any, cursor: Any) -> Any:
    import uuid

    return (data and uuid.UUID(data)) or None


def register_uuid(oids: Any = None, conn_or_curs: Any = None) -> Any:
    """Cast uuid (and uuid[]) to ``uuid.UUID`` on ``conn_or_curs`` (globally for None) and adapt
    ``uuid.UUID`` globally. ``oids`` is the uuid OID, or (uuid OID, array OID); the defaults are the
    builtin ones. The typecaster is also left as ``extensions.UUID`` (and ``UUIDARRAY``)."""
    import uuid

    if not oids:
        oid, array_oid = 2950, 2951
    elif isinstance(oids, list | tuple):
        oid, array_oid = oids
    else:
        oid, array_oid = oids, 2951
    caster = _ext.new_type((oid,), "UUID", _cast_uuid)
    array_caster = _ext.new_array_type((array_oid,), "UUID[]", caster)
    _ext.UUID = caster  # type: ignore[attr-defined]
    _ext.UUIDARRAY = array_caster  # type: ignore[attr-defined]
    _ext.register_type(caster, conn_or_curs)
    _ext.register_type(array_caster, conn_or_curs)
    _ext.register_adapter(uuid.UUID, UUID_adapter)
    return caster


# ------------------------------------------------------------------------------------------------ inet


class Inet:
    """Wraps a string to send it as an inet literal (``'...'::inet``), the string itself quoted safely.

    The address is not validated: the server does that.
    """

    _conn: Any

    def __init__(self, addr: Any) -> None:
        self.addr = addr

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.addr!r})"

    def prepare(self, conn: Any) -> None:
        self._conn = conn

    def getquoted(self) -> bytes:
        adapted = _A(self.addr)
        if hasattr(adapted, "prepare"):
            adapted.prepare(self._conn)
        quoted: bytes = adapted.getquoted()
        return quoted + b"::inet"

    def __conform__(self, proto: Any) -> Any:
        if proto is _ext.ISQLQuote:
            return self
        return None

    def __str__(self) -> str:
        return str(self.addr)


def _cast_inet(data: Any, cursor: Any) -> Any:
    return (data and Inet(data)) or None


def register_inet(oid: Any = None, conn_or_curs: Any = None) -> Any:
    """Cast inet (and inet[]) to ``Inet`` on ``conn_or_curs`` (globally for None). Deprecated, as in
    psycopg2 (a DeprecationWarning): ``register_ipaddress()`` is the useful one."""
    import warnings

    warnings.warn("the inet adapter is deprecated, it's not very useful", DeprecationWarning, stacklevel=1)
    if not oid:
        oid1, oid2 = 869, 1041
    elif isinstance(oid, list | tuple):
        oid1, oid2 = oid
    else:
        oid1, oid2 = oid, 1041
    caster = _ext.new_type((oid1,), "INET", _cast_inet)
    array_caster = _ext.new_array_type((oid2,), "INETARRAY", caster)
    _ext.INET = caster  # type: ignore[attr-defined]
    _ext.INETARRAY = array_caster  # type: ignore[attr-defined]
    _ext.register_type(caster, conn_or_curs)
    _ext.register_type(array_caster, conn_or_curs)
    return caster


# ------------------------------------------------------------------------------------------ waiting


def wait_select(conn: Any) -> None:
    """A wait callback (for ``extensions.set_wait_callback``) polling ``conn`` until it is ready.

    greenpsyco's connections are synchronous, so ``poll()`` answers POLL_OK at once and this returns;
    the select() loop is kept for objects that do report POLL_READ/POLL_WRITE. Ctrl-C cancels the query.
    """
    import select

    while True:
        try:
            state = conn.poll()
            if state == _ext.POLL_OK:
                break
            if state == _ext.POLL_READ:
                select.select([conn.fileno()], [], [])
            elif state == _ext.POLL_WRITE:
                select.select([], [conn.fileno()], [])
            else:
                raise conn.OperationalError(f"bad state from poll: {state}")
        except KeyboardInterrupt:
            conn.cancel()
            # the server then ends the query with an error, which ends the loop
            continue


def _solve_conn_curs(conn_or_curs: Any) -> tuple[Any, Any]:
    """The connection of a connection-or-cursor, and a new plain cursor on it (for catalog queries)."""
    if conn_or_curs is None:
        raise psycopg2.ProgrammingError("no connection or cursor provided")
    conn = conn_or_curs.connection if hasattr(conn_or_curs, "execute") else conn_or_curs
    curs = conn.cursor(cursor_factory=_cursor)
    return conn, curs


# --------------------------------------------------------------------------------------------- hstore

# One "key"=>"value" (or NULL) pair of the hstore text output, with the separator that follows it.
_HSTORE_STRING = r'"((?:[^"\\]|\\.)*)"'
_HSTORE_PAIR = _re.compile(_HSTORE_STRING + r"\s*=>\s*(?:NULL|" + _HSTORE_STRING + r")(?:\s*,\s*|$)")
_HSTORE_ESCAPE = _re.compile(r"\\(.)")


class HstoreAdapter:
    """Adapts a dict to an hstore: ``hstore(ARRAY[keys], ARRAY[values])``, or ``''::hstore`` when empty."""

    conn: Any

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def prepare(self, conn: Any) -> None:
        self.conn = conn
        if conn.info.server_version < 90000:  # no hstore(text[], text[]) before PostgreSQL 9.0
            self.getquoted = self._getquoted_8  # type: ignore[method-assign]

    def _getquoted_8(self) -> bytes:
        """``(k => v)||...``: the operator form that servers before 9.0 understand."""
        if not self.wrapped:
            return b"''::hstore"
        pairs = []
        for key, value in self.wrapped.items():
            adapted = _ext.adapt(key)
            adapted.prepare(self.conn)
            quoted_key = adapted.getquoted()
            if value is None:
                quoted_value = b"NULL"
            else:
                adapted = _ext.adapt(value)
                adapted.prepare(self.conn)
                quoted_value = adapted.getquoted()
            pairs.append(b"(" + quoted_key + b" => " + quoted_value + b")")
        return b"(" + b"||".join(pairs) + b")"

    def _getquoted_9(self) -> bytes:
        """``hstore(ARRAY[keys], ARRAY[values])``."""
        if not self.wrapped:
            return b"''::hstore"
        keys = _ext.adapt(list(self.wrapped.keys()))
        keys.prepare(self.conn)
        values = _ext.adapt(list(self.wrapped.values()))
        values.prepare(self.conn)
        quoted: bytes = b"hstore(" + keys.getquoted() + b", " + values.getquoted() + b")"
        return quoted

    getquoted = _getquoted_9

    @classmethod
    def parse(cls, s: Any, cur: Any, _bsdec: _re.Pattern[str] = _HSTORE_ESCAPE) -> Any:
        """The dict for the hstore text ``s`` (``"k"=>"v", "k2"=>NULL``, backslash-escaped strings)."""
        if s is None:
            return None
        result = {}
        start = 0
        for match in _HSTORE_PAIR.finditer(s):
            if match.start() != start:
                raise psycopg2.InterfaceError(f"error parsing hstore pair at char {start}")
            key = _bsdec.sub(r"\1", match.group(1))
            value = match.group(2)
            if value is not None:
                value = _bsdec.sub(r"\1", value)
            result[key] = value
            start = match.end()
        if start < len(s):
            raise psycopg2.InterfaceError(f"error parsing hstore: unparsed data after char {start}")
        return result

    @classmethod
    def parse_unicode(cls, s: Any, cur: Any) -> Any:
        """The Python 2 variant of ``parse`` (decodes ``s`` first): kept, as psycopg2 keeps it."""
        if s is None:
            return None
        s = s.decode(_ext.encodings[cur.connection.encoding])
        return cls.parse(s, cur)

    @classmethod
    def get_oids(cls, conn_or_curs: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """The OIDs of every hstore type in the database, and of their arrays."""
        conn, curs = _solve_conn_curs(conn_or_curs)
        status_before = conn.status
        typarray = "typarray" if conn.info.server_version >= 80300 else "NULL"
        curs.execute(
            f"SELECT t.oid, {typarray}\n"
            "FROM pg_type t JOIN pg_namespace ns\n"
            "    ON typnamespace = ns.oid\n"
            "WHERE typname = 'hstore';\n"
        )
        oids, array_oids = [], []
        for row in curs:
            oids.append(row[0])
            array_oids.append(row[1])
        if status_before != _ext.STATUS_IN_TRANSACTION and not conn.autocommit:
            conn.rollback()
        return tuple(oids), tuple(array_oids)


def register_hstore(
    conn_or_curs: Any, globally: bool = False, unicode: bool = False, oid: Any = None, array_oid: Any = None
) -> None:
    """Cast hstore values (and arrays) to dicts and adapt dicts to hstore.

    The OIDs are looked up on ``conn_or_curs`` unless ``oid`` is given (``ProgrammingError`` when the
    extension is not installed); the typecasters go on ``conn_or_curs`` or, with ``globally``,
    everywhere; the dict adapter is always global. ``unicode`` is a Python 2 leftover, ignored.
    """
    if oid is None:
        found = HstoreAdapter.get_oids(conn_or_curs)
        if found is None or not found[0]:
            raise psycopg2.ProgrammingError(
                "hstore type not found in the database. please install it from your 'contrib/hstore.sql' file"
            )
        oid, array_oid = found
    if isinstance(oid, int):
        oid = (oid,)
    if array_oid is not None:
        array_oid = (array_oid,) if isinstance(array_oid, int) else tuple([x for x in array_oid if x])

    scope = (not globally and conn_or_curs) or None
    caster = _ext.new_type(oid, "HSTORE", HstoreAdapter.parse)
    _ext.register_type(caster, scope)
    _ext.register_adapter(dict, HstoreAdapter)
    if array_oid:
        _ext.register_type(_ext.new_array_type(array_oid, "HSTOREARRAY", caster), scope)


# ------------------------------------------------------------------------------------------ composite

# One attribute of a composite's text output with the separator after it: empty (NULL), quoted (with
# doubled quotes and backslashes), or bare; the opening parenthesis is skipped before the first one.
_COMPOSITE_TOKEN = _re.compile(r'\(?([,)])|\(?"((?:[^"]|"")*)"[,)]|\(?([^",)]+)[,)]')


def _undouble(text: str) -> str:
    """Undo the server's doubling of ``"`` and ``\\`` inside a quoted value."""
    return text.replace('""', '"').replace("\\\\", "\\")


class CompositeCaster:
    """Casts a composite type's values to namedtuples (``type``), attribute by attribute with the
    casters of the attributes' types. Subclass and override ``make()`` to build something else.

    ``register_composite()`` makes one from the catalog; made directly, it needs the type's name, OID
    and ``(attribute name, type OID)`` pairs.
    """

    def __init__(self, name: str, oid: Any, attrs: Any, array_oid: Any = None, schema: Any = None) -> None:
        self.name = name
        self.schema = schema
        self.oid = oid
        self.array_oid = array_oid
        self.attnames = [attr[0] for attr in attrs]
        self.atttypes = [attr[1] for attr in attrs]
        self._create_type(name, self.attnames)
        self.typecaster = _ext.new_type((oid,), name, self.parse)
        self.array_typecaster = (
            _ext.new_array_type((array_oid,), f"{name}ARRAY", self.typecaster) if array_oid else None
        )

    def parse(self, s: Any, curs: Any) -> Any:
        """The Python value of the composite text ``s`` (None for NULL)."""
        if s is None:
            return None
        tokens = self.tokenize(s)
        if len(tokens) != len(self.atttypes):
            raise psycopg2.DataError(
                f"expecting {len(self.atttypes)} components for the type {self.name}, "
                f"{len(tokens)} found instead"
            )
        values = [curs.cast(oid, token) for oid, token in zip(self.atttypes, tokens, strict=False)]
        return self.make(values)

    def make(self, values: list[Any]) -> Any:
        """The object for the attributes' values, already cast (a ``type`` instance here)."""
        return self._ctor(values)

    @classmethod
    def tokenize(cls, s: str) -> list[str | None]:
        """The attributes of a composite's text, as strings (None for NULL)."""
        tokens: list[str | None] = []
        for match in _COMPOSITE_TOKEN.finditer(s):
            empty, quoted, bare = match.groups()
            if empty is not None:
                tokens.append(None)
            elif quoted is not None:
                tokens.append(_undouble(quoted))
            else:
                tokens.append(bare)
        return tokens

    def _create_type(self, name: str, attnames: list[str]) -> None:
        record: Any = namedtuple(_re_clean.sub("_", name), attnames, module=_MODULE)  # type: ignore[misc]
        self.type = record
        self._ctor = record._make

    @classmethod
    def _from_db(cls, name: str, conn_or_curs: Any) -> Any:
        """The caster for the type ``name`` read from the catalog; ProgrammingError if there is none.

        ``name`` is ``type`` (schema public) or ``schema.type``; failing that it is tried as a regtype
        (reached through search_path). The connection's transaction state is left as it was.
        """
        conn, curs = _solve_conn_curs(conn_or_curs)
        status_before = conn.status
        if "." in name:
            schema, tname = name.split(".", 1)
        else:
            schema, tname = "public", name
        typarray = "typarray" if conn.info.server_version >= 80300 else "NULL"

        curs.execute(
            f"SELECT t.oid, {typarray}, attname, atttypid\n"
            "FROM pg_type t\n"
            "JOIN pg_namespace ns ON typnamespace = ns.oid\n"
            "JOIN pg_attribute a ON attrelid = typrelid\n"
            "WHERE typname = %s AND nspname = %s\n"
            "    AND attnum > 0 AND NOT attisdropped\n"
            "ORDER BY attnum;\n",
            (tname, schema),
        )
        recs = curs.fetchall()

        if not recs:
            # Fallback for a type reached through search_path (psycopg2 #1487), used only when the
            # lookup by name and schema found nothing, inside a savepoint when in a transaction.
            savepoint = False
            try:
                if conn.status == _ext.STATUS_IN_TRANSACTION:
                    curs.execute("SAVEPOINT register_type")
                    savepoint = True
                curs.execute(
                    f"SELECT t.oid, {typarray}, attname, atttypid, typname, nspname\n"
                    "FROM pg_type t\n"
                    "JOIN pg_namespace ns ON typnamespace = ns.oid\n"
                    "JOIN pg_attribute a ON attrelid = typrelid\n"
                    "WHERE t.oid = %s::regtype\n"
                    "    AND attnum > 0 AND NOT attisdropped\n"
                    "ORDER BY attnum;\n",
                    (name,),
                )
            except psycopg2.ProgrammingError:
                pass
            else:
                recs = curs.fetchall()
                if recs:
                    tname, schema = recs[0][4], recs[0][5]
            finally:
                if savepoint:
                    curs.execute("ROLLBACK TO SAVEPOINT register_type")

        if status_before != _ext.STATUS_IN_TRANSACTION and not conn.autocommit:
            conn.rollback()

        if not recs:
            raise psycopg2.ProgrammingError(f"PostgreSQL type '{name}' not found")

        return cls(tname, recs[0][0], [(rec[2], rec[3]) for rec in recs], array_oid=recs[0][1], schema=schema)


def register_composite(name: str, conn_or_curs: Any, globally: bool = False, factory: Any = None) -> Any:
    """Cast the composite type ``name`` (looked up on ``conn_or_curs``) with ``factory`` (a
    ``CompositeCaster`` subclass; by default namedtuples), on ``conn_or_curs`` or, with ``globally``,
    everywhere. Returns the caster."""
    if factory is None:
        factory = CompositeCaster
    caster = factory._from_db(name, conn_or_curs)
    scope = (not globally and conn_or_curs) or None
    _ext.register_type(caster.typecaster, scope)
    if caster.array_typecaster is not None:
        _ext.register_type(caster.array_typecaster, scope)
    return caster


# -------------------------------------------------------------------------------------- batch helpers


def _paginate(seq: Iterable[Any], page_size: int) -> Iterator[list[Any]]:
    """The items of ``seq`` in lists of ``page_size`` (the last one shorter, never an empty last one)."""
    items = iter(seq)
    while True:
        page: list[Any] = []
        try:
            for _ in range(page_size):
                page.append(next(items))
        except StopIteration:
            if page:
                yield page
            return
        yield page


def execute_batch(cur: Any, sql: Any, argslist: Iterable[Any], page_size: int = 100) -> None:
    """Run ``sql`` once per parameter set, ``page_size`` statements (joined with ``;``) per round trip.

    ``cur.rowcount`` is then the last page's, not a total.
    """
    for page in _paginate(argslist, page_size=page_size):
        statements = [cur.mogrify(sql, args) for args in page]
        cur.execute(b";".join(statements))


def execute_values(
    cur: Any,
    sql: Any,
    argslist: Iterable[Any],
    template: Any = None,
    page_size: int = 100,
    fetch: bool = False,
) -> list[Any] | None:
    """Run ``sql``, whose single ``%s`` becomes a VALUES list of ``page_size`` parameter sets per statement.

    ``template`` is the snippet merged with each item (default ``(%s, %s, ...)`` sized on the first item
    of each page; use ``%(name)s`` placeholders for mappings). With ``fetch`` the rows of every page are
    returned (for ``RETURNING``). ``cur.rowcount`` is then the last page's, not a total.
    """
    from greenpsyco.fake_psycopg2.sql import Composable

    if isinstance(sql, Composable):
        sql = sql.as_string(cur)
    if not isinstance(sql, bytes):
        sql = sql.encode(_ext.encodings[cur.connection.encoding])
    pre, post = _split_sql(sql)

    result: list[Any] | None = [] if fetch else None
    for page in _paginate(argslist, page_size=page_size):
        if template is None:
            template = b"(" + b",".join([b"%s"] * len(page[0])) + b")"
        parts = pre[:]
        for args in page:
            parts.append(cur.mogrify(template, args))
            parts.append(b",")
        parts[-1:] = post
        cur.execute(b"".join(parts))
        if result is not None:
            result.extend(cur.fetchall())
    return result


_FORMAT_TOKEN = _re.compile(rb"(%.)")


def _split_sql(sql: bytes) -> tuple[list[bytes], list[bytes]]:
    """The query around its single ``%s``, as two lists of snippets, with ``%%`` already made ``%``.

    Any other ``%`` directive, a second ``%s`` or none at all is a ValueError.
    """
    pre: list[bytes] = []
    post: list[bytes] = []
    current = pre
    for token in _FORMAT_TOKEN.split(sql):
        if len(token) != 2 or token[:1] != b"%":
            current.append(token)
        elif token == b"%s":
            if current is not pre:
                raise ValueError("the query contains more than one '%s' placeholder")
            current = post
        elif token == b"%%":
            current.append(b"%")
        else:
            raise ValueError(f"unsupported format character: '{token[1:].decode('ascii', 'replace')}'")
    if current is pre:
        raise ValueError("the query doesn't contain any '%s' placeholder")
    return pre, post


# ASCII punctuation and space: the characters a namedtuple field or class name cannot have.
_re_clean = _re.compile("[" + _re.escape(" !\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~") + "]")


_obj: Any
for _obj in (
    DictCursorBase,
    DictConnection,
    DictCursor,
    DictRow,
    RealDictConnection,
    RealDictCursor,
    RealDictRow,
    NamedTupleConnection,
    NamedTupleCursor,
    LoggingConnection,
    LoggingCursor,
    MinTimeLoggingConnection,
    MinTimeLoggingCursor,
    LogicalReplicationConnection,
    PhysicalReplicationConnection,
    StopReplication,
    ReplicationCursor,
    UUID_adapter,
    Inet,
    HstoreAdapter,
    CompositeCaster,
    register_uuid,
    register_inet,
    wait_select,
    _solve_conn_curs,
    register_hstore,
    register_composite,
    _paginate,
    execute_batch,
    execute_values,
    _split_sql,
    _cached_make_nt,
):
    _obj.__module__ = _MODULE
del _obj

# psycopg2's module has no __all__: this lists its public names, so that a star import gives the same.
__all__ = [
    "REPLICATION_LOGICAL",
    "REPLICATION_PHYSICAL",
    "CompositeCaster",
    "DateRange",
    "DateTimeRange",
    "DateTimeTZRange",
    "DictConnection",
    "DictCursor",
    "DictCursorBase",
    "DictRow",
    "HstoreAdapter",
    "Inet",
    "Json",
    "LoggingConnection",
    "LoggingCursor",
    "LogicalReplicationConnection",
    "MinTimeLoggingConnection",
    "MinTimeLoggingCursor",
    "NamedTupleConnection",
    "NamedTupleCursor",
    "NumericRange",
    "OrderedDict",
    "PhysicalReplicationConnection",
    "Range",
    "RangeAdapter",
    "RangeCaster",
    "RealDictConnection",
    "RealDictCursor",
    "RealDictRow",
    "ReplicationCursor",
    "ReplicationMessage",
    "StopReplication",
    "UUID_adapter",
    "execute_batch",
    "execute_values",
    "json",
    "lru_cache",
    "namedtuple",
    "psycopg2",
    "quote_ident",
    "register_composite",
    "register_default_json",
    "register_default_jsonb",
    "register_hstore",
    "register_inet",
    "register_ipaddress",
    "register_json",
    "register_range",
    "register_uuid",
    "wait_select",
]
