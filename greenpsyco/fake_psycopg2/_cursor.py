"""``psycopg2.extensions.cursor``: client-side and named (server-side) cursors.

A client-side cursor keeps the raw rows of the last statement and typecasts each row when it is
fetched, through the registries live at that moment (cursor -> connection -> global), as psycopg2
does. A named cursor is ``DECLARE … CURSOR`` on the server, read with ``FETCH FORWARD n``.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import timezone
from types import TracebackType
from typing import Any

from greenpsyco.fake_psycopg2 import _exceptions as exc
from greenpsyco.fake_psycopg2._adapt import interpolate, query_to_bytes
from greenpsyco.fake_psycopg2._connection import STATUS_READY
from greenpsyco.fake_psycopg2._executemany import executemany as _executemany
from greenpsyco.fake_psycopg2._objects import Column
from greenpsyco.fake_psycopg2._typecast import cast as _cast
from greenpsyco.fake_psycopg2._typecast import recent_row_caster, row_caster
from greenpsyco.wire import ops
from greenpsyco.wire.errors import CopyWithoutSource, InterfaceMisuse, ServerError, WireError
from greenpsyco.wire.messages import FieldDescription

NUMERIC_OID = 1700
DEFAULT_ITERSIZE = 2000


def _column(field: FieldDescription) -> Column:
    """psycopg2's description entry for one field (sizes as ``_pq_fetch_tuples`` computes them)."""
    modifier = field.type_modifier
    if modifier > 0:
        modifier -= 4
    precision = scale = None
    if field.type_size == -1:
        internal_size = modifier >> 16 if field.type_oid == NUMERIC_OID else modifier
    else:
        internal_size = field.type_size
    if field.type_oid == NUMERIC_OID:
        precision = (modifier >> 16) & 0xFFFF
        scale = modifier & 0xFFFF
    return Column(
        field.name,
        field.type_oid,
        None,
        internal_size,
        precision,
        scale,
        None,
        field.table_oid or None,
        field.column_number or None,
    )


DESCRIPTION_CACHE_SIZE = 256
# RowDescription fields (the wire caches one tuple per distinct message) -> (fields, Columns, OIDs).
# Keyed by id: the entry holds the fields tuple, so its id is not reused while the entry exists.
_descriptions: dict[int, tuple[tuple[FieldDescription, ...], tuple[Column, ...], list[int]]] = {}


def _describe(fields: tuple[FieldDescription, ...]) -> tuple[tuple[Column, ...], list[int]]:
    """``cursor.description`` and the column type OIDs of a result, made once per distinct shape.

    The Column objects are shared by the results of one shape (psycopg2's are read-only)."""
    entry = _descriptions.get(id(fields))
    if entry is None or entry[0] is not fields:
        if len(_descriptions) >= DESCRIPTION_CACHE_SIZE:
            _descriptions.clear()
        entry = (fields, tuple(_column(field) for field in fields), [field.type_oid for field in fields])
        _descriptions[id(fields)] = entry
    return entry[1], entry[2]


def _rows_affected(tag: str | None) -> int:
    """The row count libpq's PQcmdTuples reads from a command tag, or -1."""
    if not tag:
        return -1
    verb, _, rest = tag.partition(" ")
    if verb in ("INSERT",):
        count = rest.rpartition(" ")[2]
    elif verb in ("UPDATE", "DELETE", "SELECT", "MOVE", "FETCH", "COPY", "MERGE"):
        count = rest
    else:
        return -1
    return int(count) if count.isdigit() else -1


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class cursor:
    """A cursor, as ``psycopg2.extensions.cursor``."""

    def __init__(self, conn: Any, name: str | None = None) -> None:
        if conn.closed:
            raise exc.InterfaceError("connection already closed")
        self.connection = conn
        self.name = name
        self.arraysize = 1
        self.itersize = DEFAULT_ITERSIZE
        self.rowcount = -1
        self.rownumber = 0
        self.lastrowid = 0
        self.description: tuple[Column, ...] | None = None
        self.query: bytes | None = None
        self.statusmessage: str | None = None
        self.tzinfo_factory: Any = timezone
        self.row_factory: Any = None
        self.string_types: dict[int, Any] | None = None  # created by register_type(obj, cursor)
        self.binary_types: dict[int, Any] | None = None
        self.scrollable: bool | None = None
        self.withhold = False
        self.closed = False
        self.typecaster: Any = None
        self.pgresult_ptr = None
        self._rows: list[tuple[bytes | None, ...]] | None = None
        self._type_oids: list[int] = []
        self._caster: Callable[[Sequence[bytes | None]], tuple[Any, ...]] | None = None
        self._casts: Callable[[Sequence[bytes | None]], tuple[Any, ...]] | None = None
        self._named_executed = False
        self._mark = conn._mark

    # -- guards ---------------------------------------------------------------------------------

    def _check(self) -> Any:
        if self.closed:
            raise exc.InterfaceError("cursor already closed")
        if self.connection.closed:
            raise exc.InterfaceError("connection already closed")
        return self.connection

    # -- executing ------------------------------------------------------------------------------

    def mogrify(self, query: str | bytes, vars: Any = None) -> bytes:
        self._check()
        return self._merge(query, vars)

    def _query_bytes(self, query: Any) -> bytes:
        """The query text to work on (psycopg2's ``curs_validate_sql_basic``, which names the cursor)."""
        if type(query) is str and query:  # the usual case, in short
            return query.encode(self.connection._py_encoding)
        try:
            return query_to_bytes(query, self.connection)
        except exc.ProgrammingError as error:
            error.cursor = self
            raise

    def _merge(self, query: Any, params: Any) -> bytes:
        data = self._query_bytes(query)
        if params is None:
            return data
        return interpolate(data, params, self.connection, cursor=self)

    def execute(self, query: str | bytes, vars: Any = None) -> None:
        conn = self.connection
        if self.closed or conn.closed:
            conn = self._check()  # which raises
        lock = conn._lock._lock  # `with conn._lock:`, without its three Python-level calls
        if not lock.acquire(False):
            conn._lock.acquire()  # held elsewhere: wait (cooperatively in a request greenlet)
        try:
            if self.name is not None:
                self._declare(query, vars)
                return
            if type(query) is str and query:
                sql = query.encode(conn._codec or conn._py_encoding)
            else:
                sql = self._query_bytes(query)
            # Like psycopg2, the previous result and query are dropped before the parameters are adapted.
            self._rows = None
            self.query = None
            if vars is not None:
                sql = interpolate(sql, vars, conn, cursor=self, method="execute")
            self._execute(sql)
        finally:
            lock.release()

    def _execute(
        self, sql: bytes, *, copy_source: Iterable[bytes] | None = None, copy_sink: Any = None
    ) -> None:
        conn = self.connection
        if not sql or sql.isspace():
            raise exc.ProgrammingError("can't execute an empty query")
        self.query = sql
        # _reset_result(), inline
        self._rows = None
        self._type_oids = []
        self._caster = None
        self._casts = None
        self.description = None
        self.rowcount = -1
        self.rownumber = 0
        self.statusmessage = None
        self.lastrowid = 0
        if conn.status == STATUS_READY and (not conn._autocommit or conn._entered):
            conn._begin_if_needed()
        wire = conn._wire
        if conn.closed or wire is None:
            wire = conn._check_open()  # which raises
        conn._current_query = sql
        try:
            if copy_source is None and copy_sink is None:
                results = wire.query(sql)
            else:
                results = wire.run(
                    ops.simple_query(wire.state, sql, copy_source=copy_source, copy_sink=copy_sink)
                )
        except CopyWithoutSource:
            # COPY FROM STDIN through execute(): the wire layer failed the COPY to keep the stream in sync.
            raise exc.ProgrammingError(
                "can't execute COPY FROM: use the copy_from() method instead"
            ) from None
        except WireError as error:
            if isinstance(error, ServerError):
                self.statusmessage = ""  # psycopg2 reads the error result's (empty) command status
            # The statement text lets the error show libpq's "LINE n:" and caret lines.
            raise conn._error(error, sql.decode(conn._py_encoding, "replace"), self) from None
        except BaseException:
            # Interrupted (a killed greenlet, Ctrl-C): if the session could not be saved, say so now.
            if wire.broken:
                conn.closed = 2
            raise
        if not results:
            return
        result = results[-1]
        if result.copy is not None and copy_source is None and copy_sink is None:
            direction = "COPY FROM" if result.copy.kind == "in" else "COPY TO"
            method = "copy_from()" if result.copy.kind == "in" else "copy_to()"
            raise exc.ProgrammingError(f"can't execute {direction}: use the {method} method instead")
        self.statusmessage = result.command_tag
        fields = result.description
        if fields is not None:
            entry = _descriptions.get(id(fields))
            if entry is not None and entry[0] is fields:  # _describe(), in short
                self.description = entry[1]
                self._type_oids = type_oids = entry[2]
            else:
                self.description, type_oids = _describe(fields)
                self._type_oids = type_oids
            # psycopg2 picks the typecasters when the result arrives (a later register_type is not seen).
            codec = conn._codec or conn._py_encoding
            casts = None
            if self.string_types is None and type(conn.string_types) is dict and not conn.string_types:
                casts = recent_row_caster(type_oids, codec)
            self._casts = casts if casts is not None else row_caster(type_oids, self, codec)
            self._rows = rows = result.rows
            self.rowcount = len(rows)
        else:
            self.rowcount = _rows_affected(result.command_tag)

    def _reset_result(self) -> None:
        self._rows = None
        self._type_oids = []
        self._caster = None
        self._casts = None
        self.description = None
        self.rowcount = -1
        self.rownumber = 0
        self.statusmessage = None
        self.lastrowid = 0

    def executemany(self, query: str | bytes, vars_list: Iterable[Any]) -> None:
        _executemany(self, query, vars_list)

    def callproc(self, procname: str | bytes, parameters: Any = None) -> Any:
        conn = self._check()
        if self.name is not None:
            raise exc.ProgrammingError("can't call .callproc() on named cursors")
        if parameters is None:
            parameters = ()
        if isinstance(procname, bytes):
            procname = procname.decode(conn._py_encoding)
        # Like psycopg2, callproc runs its statement internally: a subclass's execute() is not called.
        if hasattr(parameters, "keys"):
            placeholders = ", ".join(f"{_quote_ident(str(key))}:=%({key})s" for key in parameters)
            sql = f"SELECT * FROM {procname}({placeholders})"
            cursor.execute(self, sql, dict(parameters))
            return None
        sql = f"SELECT * FROM {procname}({','.join(['%s'] * len(parameters))})"
        cursor.execute(self, sql, parameters)
        return parameters

    def setinputsizes(self, sizes: Any) -> None:
        self._check()

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        self._check()

    def nextset(self) -> None:
        self._check()
        raise exc.NotSupportedError("not supported by PostgreSQL")

    # -- named cursors --------------------------------------------------------------------------

    def _check_mark(self) -> None:
        """A named cursor WITHOUT HOLD dies with its transaction (psycopg2's EXC_IF_NO_MARK)."""
        if not self.withhold and self._mark != self.connection._mark:
            raise exc.ProgrammingError("named cursor isn't valid anymore")

    def _declare(self, query: str | bytes, params: Any) -> None:
        conn = self.connection
        if self._named_executed:
            raise exc.ProgrammingError("can't call .execute() on named cursors more than once")
        if conn.autocommit and not self.withhold:
            raise exc.ProgrammingError("can't use a named cursor outside of transactions")
        self._check_mark()
        body = self._merge(query, params)
        scroll = {None: "", True: "SCROLL ", False: "NO SCROLL "}[self.scrollable]
        hold = "WITH HOLD" if self.withhold else "WITHOUT HOLD"
        assert self.name is not None
        declare = f"DECLARE {_quote_ident(self.name)} {scroll}CURSOR {hold} FOR ".encode(conn._py_encoding)
        self._execute(declare + body)
        self._named_executed = True
        self._mark = conn._mark
        self.rowcount = -1
        self.rownumber = 0
        self.description = None

    def _fetch_named(self, how_many: str) -> list[Any]:
        conn = self._check()
        self._check_mark()
        # Like psycopg2, a FETCH is sent even before execute(): the server says the cursor is unknown.
        assert self.name is not None
        with conn._lock:
            sql = f"FETCH FORWARD {how_many} FROM {_quote_ident(self.name)}".encode(conn._py_encoding)
            saved = self.query
            self._execute(sql)
            self.query = saved
        rows = self._rows or []
        self._rows = None
        caster = self._row_caster()
        fetched = [caster(row) for row in rows]
        self.rownumber += len(fetched)
        self.rowcount = self.rownumber
        return fetched

    # -- fetching -------------------------------------------------------------------------------

    def _row_caster(self) -> Callable[[Sequence[bytes | None]], Any]:
        """The per-row conversion: the casters chosen when the result arrived, then row_factory."""
        cast = self._casts if self._casts is not None else row_caster(self._type_oids, self)
        factory = self.row_factory
        if factory is None:
            return cast

        def build(raw: Sequence[bytes | None]) -> Any:
            values = cast(raw)
            row = factory(self)
            for index, value in enumerate(values):
                row[index] = value
            return row

        return build

    def _ready_rows(self) -> list[tuple[bytes | None, ...]]:
        self._check()
        if self._rows is None:
            raise exc.ProgrammingError("no results to fetch")
        if self._caster is None:
            self._caster = self._row_caster()
        return self._rows

    def _limit(self, rows: list[tuple[bytes | None, ...]]) -> int:
        """How many rows psycopg2 would hand out: it counts them by ``rowcount``, which a failed
        ``executemany`` sets to -1 over a result it leaves in place (so none are)."""
        count: int = self.rowcount
        return count if count < len(rows) else len(rows)

    def fetchone(self) -> Any:
        if self.name is not None:
            fetched = self._fetch_named("1")
            return fetched[0] if fetched else None
        caster = self._caster
        rows = self._rows
        if caster is None or rows is None or self.closed or self.connection.closed:
            casts = self._casts
            if (
                caster is None
                and casts is not None
                and rows is not None
                and self.row_factory is None
                and not self.closed
                and not self.connection.closed
            ):
                caster = self._caster = casts  # the first fetch of a result: _ready_rows(), in short
            else:
                rows = self._ready_rows()
                caster = self._caster
                assert caster is not None
        number = self.rownumber
        if number >= self.rowcount or number >= len(rows):  # see _limit
            return None
        self.rownumber = number + 1
        return caster(rows[number])

    def fetchmany(self, size: int | None = None) -> list[Any]:
        if size is None:
            size = self.arraysize
        if self.name is not None:
            return self._fetch_named(str(size))
        rows = self._ready_rows()
        start = self.rownumber
        remaining = self._limit(rows) - start
        if size > remaining or size < 0:
            size = remaining
        if size <= 0:
            return []
        chunk = rows[start : start + size]
        self.rownumber = start + len(chunk)
        assert self._caster is not None
        return [self._caster(row) for row in chunk]

    def fetchall(self) -> list[Any]:
        if self.name is not None:
            return self._fetch_named("ALL")
        rows = self._ready_rows()
        limit = self._limit(rows)
        if limit <= self.rownumber:
            return []
        chunk = rows[self.rownumber : limit]
        self.rownumber = limit
        assert self._caster is not None
        return [self._caster(row) for row in chunk]

    def __iter__(self) -> Iterator[Any]:
        # The base fetch methods, not a subclass's: psycopg2's iteration is C code that doesn't call them.
        if self.name is None:
            while True:
                row = cursor.fetchone(self)
                if row is None:
                    return
                yield row
        while True:
            rows = self._fetch_named(str(self.itersize))
            if not rows:
                return
            yield from rows

    def __next__(self) -> Any:
        row = cursor.fetchone(self)
        if row is None:
            raise StopIteration
        return row

    def scroll(self, value: int, mode: str = "relative") -> None:
        conn = self._check()
        if mode not in ("relative", "absolute"):
            raise exc.ProgrammingError("scroll mode must be 'relative' or 'absolute'")
        if self.name is not None:
            assert self.name is not None
            target = f"{'RELATIVE' if mode == 'relative' else 'ABSOLUTE'} {value}"
            with conn._lock:
                saved = self.query
                self._execute(f"MOVE {target} FROM {_quote_ident(self.name)}".encode(conn._py_encoding))
                self.query = saved
            self.rownumber = self.rownumber + value if mode == "relative" else value
            self._rows = None
            return
        rows = self._ready_rows()
        position = self.rownumber + value if mode == "relative" else value
        if position < 0 or position >= len(rows):
            raise exc.ProgrammingError("scroll destination out of bounds")
        self.rownumber = position

    def cast(self, oid: int, s: str | bytes | None) -> Any:
        return _cast(oid, s, self)

    # -- COPY -----------------------------------------------------------------------------------

    def copy_from(
        self,
        file: Any,
        table: str,
        sep: str = "\t",
        null: str = "\\N",
        size: int = 8192,
        columns: Iterable[str] | None = None,
    ) -> None:
        conn = self._check()
        columns_sql = f"({','.join(_quote_ident(c) for c in columns)})" if columns else ""
        sql = (
            f"COPY {_quote_table(table)}{columns_sql} FROM stdin WITH DELIMITER AS "
            f"{_copy_literal(sep, conn)} NULL AS {_copy_literal(null, conn)}"
        )
        with conn._lock:
            self._execute(
                sql.encode(conn._py_encoding), copy_source=_read_chunks(file, size, conn._py_encoding)
            )

    def copy_to(
        self,
        file: Any,
        table: str,
        sep: str = "\t",
        null: str = "\\N",
        columns: Iterable[str] | None = None,
    ) -> None:
        conn = self._check()
        columns_sql = f"({','.join(_quote_ident(c) for c in columns)})" if columns else ""
        sql = (
            f"COPY {_quote_table(table)}{columns_sql} TO stdout WITH DELIMITER AS "
            f"{_copy_literal(sep, conn)} NULL AS {_copy_literal(null, conn)}"
        )
        with conn._lock:
            self._execute(sql.encode(conn._py_encoding), copy_sink=_writer(file, conn._py_encoding))

    def copy_expert(self, sql: Any, file: Any, size: int = 8192) -> None:
        conn = self._check()
        if hasattr(sql, "as_string"):
            sql = sql.as_string(self)
        data = sql.encode(conn._py_encoding) if isinstance(sql, str) else bytes(sql)
        with conn._lock:
            source = _read_chunks(file, size, conn._py_encoding) if hasattr(file, "read") else None
            sink = _writer(file, conn._py_encoding) if hasattr(file, "write") else None
            try:
                self._execute(data, copy_source=source or iter(()), copy_sink=sink or (lambda _: None))
            except InterfaceMisuse as error:  # pragma: no cover - guarded above
                raise exc.ProgrammingError(str(error)) from None

    # -- closing --------------------------------------------------------------------------------

    def close(self) -> None:
        if self.closed:
            return
        conn = self.connection
        if self.name is not None and self._named_executed and not conn.closed:
            with conn._lock:
                if conn._wire is not None and conn._wire.state.transaction_status != "E":
                    with contextlib.suppress(exc.Error):
                        conn._run(ops.simple_query(conn._state, f"CLOSE {_quote_ident(self.name)}".encode()))
        self.closed = True
        self._rows = None

    def __enter__(self) -> cursor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<cursor object at {id(self):#x}; closed: {int(self.closed)}>"


def _quote_table(table: str) -> str:
    """psycopg2 2.9 quotes the table name as one identifier (so ``schema.table`` needs copy_expert)."""
    return _quote_ident(table)


def _copy_literal(value: str, conn: Any) -> str:
    """A COPY option literal, quoted as a string parameter would be on this connection."""
    from greenpsyco.fake_psycopg2._adapt import QuotedString

    quoted = QuotedString(value)
    quoted.prepare(conn)
    return bytes(quoted.getquoted()).decode(conn._py_encoding)


def _read_chunks(file: Any, size: int, encoding: str) -> Iterator[bytes]:
    while True:
        chunk = file.read(size)
        if not chunk:
            return
        yield chunk.encode(encoding) if isinstance(chunk, str) else bytes(chunk)


def _writer(file: Any, encoding: str) -> Callable[[bytes], Any]:
    if isinstance(file, io.TextIOBase):
        return lambda data: file.write(data.decode(encoding))
    return lambda data: file.write(data)


cursor.__module__ = "psycopg2.extensions"
