"""``psycopg2.extensions.connection`` on greenpsyco's wire driver.

Transactions work as psycopg2's do: a ``BEGIN`` (with the session's isolation level, read-only and
deferrable options when they differ from the defaults) is sent lazily before the first statement of a
transaction; in autocommit mode the session characteristics become ``SET default_transaction_*``.
One connection may be used from several threads: operations are serialised by a lock (which a request
greenlet waits for cooperatively, see ``_ConnectionLock``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from greenpsyco import hub
from greenpsyco.fake_psycopg2 import _exceptions as exc
from greenpsyco.fake_psycopg2._adapt import note_parameter_status
from greenpsyco.fake_psycopg2._dsn import LIBPQ_KEYWORD_ORDER, check_dsn, parse_dsn, shown_dsn
from greenpsyco.fake_psycopg2._objects import Notify, Xid
from greenpsyco.wire import ops
from greenpsyco.wire.conninfo import resolve_cached
from greenpsyco.wire.encodings import normalize_name
from greenpsyco.wire.errors import ConnectionLost, WireError
from greenpsyco.wire.io_blocking import BlockingConnection
from greenpsyco.wire.messages import NotificationResponse

if TYPE_CHECKING:
    from greenpsyco.green import GreenConnection

T = TypeVar("T")

ISOLATION_LEVEL_AUTOCOMMIT = 0
ISOLATION_LEVEL_READ_UNCOMMITTED = 4
ISOLATION_LEVEL_READ_COMMITTED = 1
ISOLATION_LEVEL_REPEATABLE_READ = 2
ISOLATION_LEVEL_SERIALIZABLE = 3
ISOLATION_LEVEL_DEFAULT = None

STATUS_SETUP = 0
STATUS_READY = 1
STATUS_BEGIN = 2
STATUS_PREPARED = 5
STATUS_IN_TRANSACTION = STATUS_BEGIN

TRANSACTION_STATUS_IDLE = 0
TRANSACTION_STATUS_ACTIVE = 1
TRANSACTION_STATUS_INTRANS = 2
TRANSACTION_STATUS_INERROR = 3
TRANSACTION_STATUS_UNKNOWN = 4

NOTICES_LIMIT = 50

_SERVER_ISOLATION = {
    ISOLATION_LEVEL_READ_COMMITTED: "READ COMMITTED",
    ISOLATION_LEVEL_REPEATABLE_READ: "REPEATABLE READ",
    ISOLATION_LEVEL_SERIALIZABLE: "SERIALIZABLE",
    ISOLATION_LEVEL_READ_UNCOMMITTED: "READ UNCOMMITTED",
}
_ISOLATION_NAMES = {name: level for level, name in _SERVER_ISOLATION.items()}
_TX_STATUS = {"I": TRANSACTION_STATUS_IDLE, "T": TRANSACTION_STATUS_INTRANS, "E": TRANSACTION_STATUS_INERROR}

_UNSET: Any = object()


def _isolation_value(value: Any) -> int | None:
    """psycopg2's reading of an isolation level given as int, name or None/'DEFAULT'."""
    if value is None:
        return None
    if isinstance(value, str):
        if value.upper() == "DEFAULT":
            return None
        try:
            return _ISOLATION_NAMES[value.upper()]
        except KeyError:
            raise ValueError(f"bad value for isolation_level: '{value}'") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("isolation_level must be an integer or a string")
    if not 1 <= value <= 4:
        raise ValueError("isolation_level must be between 1 and 4")
    return value


def _state_value(value: Any, name: str) -> bool | None:
    """psycopg2's reading of readonly/deferrable: True, False, None or 'default'."""
    if value is None:
        return None
    if isinstance(value, str):
        if value.lower() == "default":
            return None
        raise ValueError(f"the only string accepted for {name} is 'default'")
    return bool(value)


class _ConnectionLock:
    """The lock that serialises a connection's operations between threads (psycopg2 has one too).

    A re-entrant lock of the thread; but a request greenlet of the hub (cooperative mode) that finds it
    held by another thread waits for it cooperatively, letting the hub run other greenlets meanwhile:
    blocking the hub's thread could deadlock, since the other thread's query may wait for a row lock
    that one of those greenlets holds (or, on a cooperative connection, for its turn at the reactor).
    Greenlets of the hub's thread share the thread's ownership, as before: two greenlets on one
    connection are refused by the wire connection, not serialised here.

    Call from: any thread, any greenlet (not the hub greenlet while another thread holds it: that
    blocks, as a reactor callback using the connection would anyway).
    """

    __slots__ = ("_lock",)

    WAIT_STEP = 0.001  # how often a waiting request greenlet tries again

    def __init__(self) -> None:
        self._lock = threading.RLock()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._lock.acquire(blocking=False):
            return True
        if not blocking:
            return False
        if hub.mode() != "cooperative":
            return self._lock.acquire(True, timeout)
        deadline = None if timeout < 0 else time.monotonic() + timeout
        while not self._lock.acquire(blocking=False):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            hub.sleep(self.WAIT_STEP)
        return True

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()


def notice_text(fields: dict[str, str], query: str | None, encoding: str) -> str:
    """A notice as psycopg2 stores it in ``connection.notices`` (libpq's formatted text)."""
    from greenpsyco.fake_psycopg2._errormap import format_libpq_message

    return format_libpq_message(fields, query, encoding=encoding, is_error=False)


class connection:
    """A connection to PostgreSQL, as ``psycopg2.extensions.connection``."""

    Warning = exc.Warning
    Error = exc.Error
    InterfaceError = exc.InterfaceError
    DatabaseError = exc.DatabaseError
    DataError = exc.DataError
    OperationalError = exc.OperationalError
    IntegrityError = exc.IntegrityError
    InternalError = exc.InternalError
    ProgrammingError = exc.ProgrammingError
    NotSupportedError = exc.NotSupportedError

    def __init__(self, dsn: str, async_: int = 0, **kwargs: Any) -> None:
        if kwargs.pop("async", 0) or async_:
            raise exc.NotSupportedError("asynchronous connections are not supported by greenpsyco")
        if kwargs:
            raise TypeError(f"connection() got an unexpected keyword argument '{next(iter(kwargs))}'")
        self._dsn = dsn
        self.dsn = shown_dsn(dsn)
        self.cursor_factory: Any = None
        self.notices: list[str] = []
        self.notifies: list[Notify] = []
        self.string_types: dict[int, Any] = {}
        self.binary_types: dict[int, Any] = {}
        self.async_ = 0
        self.closed = 0
        self.status = STATUS_SETUP
        self._autocommit = False
        self._isolation: int | None = None
        self._readonly: bool | None = None
        self._deferrable: bool | None = None
        self._lock = _ConnectionLock()
        self._tpc_xid: Xid | None = None
        self._entered = False
        self._wire: BlockingConnection | GreenConnection | None = None
        self._current_query: bytes | None = None  # the statement running, for notices' LINE display
        self._mark = 0  # counts transactions ended, as psycopg2's conn->mark
        self._encoding_cache = ("UTF8", "UTF8", "utf_8")
        self._pooled = False  # the wire connection came from greenpsyco.pooling: close() returns it
        self._quoting: tuple[Any, ...] | None = None  # _adapt's literal settings, until a parameter changes
        self._codec: str | None = None  # the Python codec of client_encoding, until a parameter changes
        self._open()

    # -- connecting -----------------------------------------------------------------------------

    def _open(self) -> None:
        try:
            check_dsn(self._dsn)
            params = resolve_cached(self._dsn)  # the same DSN and environment: the same parameters
            from greenpsyco import pooling

            if pooling.enabled():
                # A pooled session: reset when it was returned, so the setup below applies afresh.
                self._wire = pooling.acquire(params)
                self._pooled = True
            elif hub.mode() == "cooperative":
                from greenpsyco.green import GreenConnection

                self._wire = GreenConnection.connect_params(params)
            else:
                self._wire = BlockingConnection.connect_params(params)
        except WireError as error:
            raise self._error(error) from None
        state = self._wire.state
        state.on_notice = self._on_notice
        state.on_notification = self._on_notification
        state.on_parameter = self._on_parameter
        self._equote = not state.standard_conforming_strings
        for name, value in state.parameters.items():
            note_parameter_status(name, value)
        for fields in list(state.notices):
            self._on_notice(fields)
        state.notices.clear()
        if state.parameters.get("DateStyle", "ISO").split(",")[0].strip() != "ISO":
            self._command("SET DATESTYLE TO 'ISO'")
        self.status = STATUS_READY

    def _error(self, error: WireError, query: str | None = None, cursor: Any = None) -> exc.Error:
        from greenpsyco.fake_psycopg2._errormap import error_from_wire

        if isinstance(error, ConnectionLost) or (self._wire is not None and self._wire.broken):
            self.closed = 2
        wire = self._wire
        tls = wire is not None and wire.tls
        return error_from_wire(error, query, cursor, encoding=self.encoding, tls=tls)

    def _on_notice(self, fields: dict[str, str]) -> None:
        query = self._current_query
        text = None if query is None else query.decode(self._py_encoding, "replace")
        self.notices.append(notice_text(fields, text, self.encoding))
        if len(self.notices) > NOTICES_LIMIT:
            del self.notices[: len(self.notices) - NOTICES_LIMIT]

    def _on_parameter(self, name: str, value: str) -> None:
        note_parameter_status(name, value)
        self._quoting = None  # client_encoding or standard_conforming_strings may have changed
        self._codec = None

    def _on_notification(self, message: NotificationResponse) -> None:
        self.notifies.append(Notify(message.process_id, message.channel, message.payload))

    # -- the wire, guarded ----------------------------------------------------------------------

    def _check_open(self) -> BlockingConnection | GreenConnection:
        if self.closed or self._wire is None:
            raise exc.InterfaceError("connection already closed")
        return self._wire

    def _run(
        self, op: Generator[ops.Request, bytes | str | None, T], query: str | None = None, cursor: Any = None
    ) -> T:
        """Run one wire operation; wire errors become psycopg2 errors."""
        wire = self._check_open()
        try:
            return wire.run(op)
        except WireError as error:
            raise self._error(error, query, cursor) from None

    def _command(self, sql: str) -> None:
        wire = self._check_open()
        self._current_query = data = sql.encode(wire.state.encoding)
        self._run(ops.simple_query(wire.state, data), sql)

    def _begin_if_needed(self) -> None:
        """psycopg2's lazy BEGIN: before a statement outside autocommit when no transaction is open."""
        if self._autocommit and not self._entered:
            return
        if self.status != STATUS_READY:
            return
        parts = ["BEGIN"]
        if self._isolation is not None:
            parts.append("ISOLATION LEVEL " + _SERVER_ISOLATION[self._isolation])
        if self._readonly is not None:
            parts.append("READ ONLY" if self._readonly else "READ WRITE")
        if self._deferrable is not None:
            parts.append("DEFERRABLE" if self._deferrable else "NOT DEFERRABLE")
        self._command(" ".join(parts))
        self.status = STATUS_BEGIN

    @property
    def _state(self) -> Any:
        return self._check_open().state

    @property
    def _py_encoding(self) -> str:
        codec = self._codec
        if codec is None:
            codec = self._encodings()[1]
            if self._wire is not None:
                self._codec = codec
        return codec

    def _encodings(self) -> tuple[str, str]:
        """(PostgreSQL name, Python codec) of the live client_encoding, recomputed only when it changes."""
        wire = self._wire
        raw = "UTF8" if wire is None else wire.state.parameters.get("client_encoding", "UTF8")
        cached = self._encoding_cache
        if cached[0] != raw:
            from greenpsyco.fake_psycopg2._encodings import encodings

            name = normalize_name(raw)
            name = "UTF8" if name == "UNICODE" else name
            cached = self._encoding_cache = (raw, name, encodings.get(name, "utf_8"))
        return cached[1], cached[2]

    @property
    def _scs(self) -> bool:
        wire = self._wire
        return True if wire is None else wire.state.standard_conforming_strings

    # -- DB-API ---------------------------------------------------------------------------------

    def cursor(
        self,
        name: str | None = None,
        cursor_factory: Any = None,
        scrollable: bool | None = None,
        withhold: bool = False,
    ) -> Any:
        from greenpsyco.fake_psycopg2._cursor import cursor as default_cursor

        self._check_open()
        factory = cursor_factory or self.cursor_factory or default_cursor
        made = factory(self) if name is None else factory(self, name)
        if scrollable is not None or withhold:
            made.scrollable = scrollable
            made.withhold = withhold
        return made

    def commit(self) -> None:
        with self._lock:
            self._check_open()
            if self._tpc_xid is not None:
                raise exc.ProgrammingError("commit cannot be used during a two-phase transaction")
            if self.status == STATUS_BEGIN:
                self._end("COMMIT")

    def rollback(self) -> None:
        with self._lock:
            self._check_open()
            if self._tpc_xid is not None:
                raise exc.ProgrammingError("rollback cannot be used during a two-phase transaction")
            if self.status == STATUS_BEGIN:
                self._end("ROLLBACK")

    def _end(self, command: str) -> None:
        self._mark += 1  # named cursors of the ending transaction become invalid
        try:
            self._command(command)
        finally:
            self.status = STATUS_READY

    def close(self) -> None:
        """Close the connection; a pooled session goes back to its pool (reset) instead of ending."""
        with self._lock:
            wire, self._wire = self._wire, None
            self.closed = 1
            self._quoting = None
            self._codec = None
            if wire is None:
                return
            if self._pooled:
                from greenpsyco import pooling

                pooling.release(wire)
            else:
                wire.close()

    def __enter__(self) -> connection:
        self._check_open()
        self._entered = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.commit()
            elif not self.closed:
                self.rollback()
        finally:
            self._entered = False

    # -- session characteristics ----------------------------------------------------------------

    @property
    def autocommit(self) -> bool:
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        self._set_session(autocommit=bool(value))

    @property
    def isolation_level(self) -> int | None:
        return self._isolation

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        self._set_session(isolation=_isolation_value(value))

    @property
    def readonly(self) -> bool | None:
        return self._readonly

    @readonly.setter
    def readonly(self, value: Any) -> None:
        self._set_session(readonly=_state_value(value, "readonly"))

    @property
    def deferrable(self) -> bool | None:
        return self._deferrable

    @deferrable.setter
    def deferrable(self, value: Any) -> None:
        self._set_session(deferrable=_state_value(value, "deferrable"))

    def set_session(
        self,
        isolation_level: Any = _UNSET,
        readonly: Any = _UNSET,
        deferrable: Any = _UNSET,
        autocommit: Any = _UNSET,
    ) -> None:
        self._set_session(
            autocommit=_UNSET if autocommit is _UNSET else bool(autocommit),
            isolation=_UNSET if isolation_level is _UNSET else _isolation_value(isolation_level),
            readonly=_UNSET if readonly is _UNSET else _state_value(readonly, "readonly"),
            deferrable=_UNSET if deferrable is _UNSET else _state_value(deferrable, "deferrable"),
        )

    def _set_session(
        self,
        *,
        autocommit: Any = _UNSET,
        isolation: Any = _UNSET,
        readonly: Any = _UNSET,
        deferrable: Any = _UNSET,
    ) -> None:
        """psycopg2's conn_set_session: in autocommit the characteristics become session GUCs."""
        with self._lock:
            self._check_open()
            if self.status != STATUS_READY:
                raise exc.ProgrammingError("set_session cannot be used inside a transaction")
            new_autocommit = self._autocommit if autocommit is _UNSET else autocommit
            new_isolation = self._isolation if isolation is _UNSET else isolation
            new_readonly = self._readonly if readonly is _UNSET else readonly
            new_deferrable = self._deferrable if deferrable is _UNSET else deferrable
            if new_autocommit:
                if new_isolation != self._isolation:
                    self._set_guc(
                        "default_transaction_isolation",
                        None if new_isolation is None else _SERVER_ISOLATION[new_isolation],
                    )
                if new_readonly != self._readonly:
                    self._set_guc("default_transaction_read_only", _guc_state(new_readonly))
                if new_deferrable != self._deferrable:
                    self._set_guc("default_transaction_deferrable", _guc_state(new_deferrable))
            elif self._autocommit:
                if self._isolation is not None:
                    self._set_guc("default_transaction_isolation", None)
                if self._readonly is not None:
                    self._set_guc("default_transaction_read_only", None)
                if self._deferrable is not None:
                    self._set_guc("default_transaction_deferrable", None)
            self._autocommit = new_autocommit
            self._isolation = new_isolation
            self._readonly = new_readonly
            self._deferrable = new_deferrable

    def _set_guc(self, name: str, value: str | None) -> None:
        self._command(f"SET {name} TO DEFAULT" if value is None else f"SET {name} TO '{value}'")

    def set_isolation_level(self, level: int | None) -> None:
        """The pre-2.4 API: rolls back, then level 0 means autocommit."""
        if level is not None and not 0 <= level <= 4:
            raise ValueError("isolation level must be between 0 and 4")
        with self._lock:
            self._check_open()
            if self.status == STATUS_BEGIN:
                self._end("ROLLBACK")
            if level == ISOLATION_LEVEL_AUTOCOMMIT:
                self._set_session(autocommit=True)
            else:
                self._set_session(autocommit=False, isolation=level)

    def set_client_encoding(self, encoding: str) -> None:
        from greenpsyco.fake_psycopg2._encodings import encodings

        clean = normalize_name(encoding)
        if clean not in encodings and encoding not in encodings:
            raise exc.OperationalError(f'invalid value for parameter "client_encoding": "{encoding}"')
        with self._lock:
            self._check_open()
            if self.status == STATUS_BEGIN:
                self._end("ROLLBACK")
            self._command(f"SET client_encoding = '{encoding}'")

    # -- information ----------------------------------------------------------------------------

    @property
    def encoding(self) -> str:
        return self._encodings()[0]

    @property
    def server_version(self) -> int:
        return 0 if self._wire is None else self._wire.state.server_version

    @property
    def protocol_version(self) -> int:
        return 3

    def get_backend_pid(self) -> int:
        return int(self._state.backend_pid or 0)

    def get_parameter_status(self, name: str) -> str | None:
        return self._state.parameters.get(name)  # type: ignore[no-any-return]

    def get_transaction_status(self) -> int:
        if self._wire is None or self.closed:
            return TRANSACTION_STATUS_UNKNOWN
        if self._lock.acquire(blocking=False):
            self._lock.release()
            return _TX_STATUS.get(self._wire.state.transaction_status, TRANSACTION_STATUS_UNKNOWN)
        return TRANSACTION_STATUS_ACTIVE

    def get_dsn_parameters(self) -> dict[str, str]:
        """The effective connection options, as libpq's PQconninfo shows them (in its order), with
        the password, and keepalives unless it was asked for, left out as psycopg2 does."""
        wire = self._check_open()
        given = parse_dsn(self._dsn)
        values = wire.params.values
        shown = {}
        for key in LIBPQ_KEYWORD_ORDER:
            value = values.get(key)
            if value is None or key in ("password", "sslpassword", "service"):
                continue
            if key == "keepalives" and key not in given:
                continue
            shown[key] = value
        return shown

    @property
    def info(self) -> Any:
        from greenpsyco.fake_psycopg2._info import ConnectionInfo

        return ConnectionInfo(self)

    def fileno(self) -> int:
        fd = self._check_open().fileno()
        if fd < 0:
            raise exc.InterfaceError("connection already closed")
        return fd

    def isexecuting(self) -> bool:
        return False

    def get_native_connection(self) -> Any:
        raise exc.NotSupportedError("greenpsyco has no libpq connection to expose")

    @property
    def pgconn_ptr(self) -> None:
        return None

    # -- asynchronous notifications -------------------------------------------------------------

    def poll(self) -> int:
        """Read pending notifications and notices (psycopg2's use of poll() on a sync connection)."""
        with self._lock:
            wire = self._check_open()
            try:
                wire.poll(0.0)
            except WireError as error:
                raise self._error(error) from None
        return 0

    # -- cancel and reset -----------------------------------------------------------------------

    def cancel(self) -> None:
        """Cancel the statement running on this connection (from any thread)."""
        wire = self._check_open()
        try:
            wire.cancel()
        except (WireError, OSError) as error:
            raise exc.OperationalError(f"could not send cancel request: {error}") from None

    def reset(self) -> None:
        """psycopg2's reset: abort, ``RESET ALL``, default session authorization, default characteristics."""
        with self._lock:
            self._check_open()
            self._mark += 1
            self._command("ABORT")
            self._command("RESET ALL")
            self._command("SET SESSION AUTHORIZATION DEFAULT")
            self.status = STATUS_READY
            self._autocommit = False
            self._isolation = self._readonly = self._deferrable = None
            self._tpc_xid = None

    # -- two-phase commit -----------------------------------------------------------------------

    def xid(self, format_id: int, gtrid: str, bqual: str) -> Xid:
        return Xid(format_id, gtrid, bqual)

    def tpc_begin(self, xid: Xid | str) -> None:
        with self._lock:
            self._check_open()
            if self.status != STATUS_READY:
                raise exc.ProgrammingError("tpc_begin must be called outside a transaction")
            if self._autocommit:
                raise exc.ProgrammingError("tpc_begin can't be called in autocommit mode")
            self._tpc_xid = xid if isinstance(xid, Xid) else Xid.from_string(xid)
            self._begin_if_needed()

    def tpc_prepare(self) -> None:
        with self._lock:
            self._check_open()
            if self._tpc_xid is None:
                raise exc.ProgrammingError("prepare must be called inside a two-phase transaction")
            self._command(f"PREPARE TRANSACTION {_literal(self._tpc_xid.as_tid())}")
            self.status = STATUS_PREPARED

    def tpc_commit(self, xid: Xid | str | None = None) -> None:
        self._tpc_finish("COMMIT", xid)

    def tpc_rollback(self, xid: Xid | str | None = None) -> None:
        self._tpc_finish("ROLLBACK", xid)

    def _tpc_finish(self, verb: str, xid: Xid | str | None) -> None:
        with self._lock:
            self._check_open()
            if xid is not None:
                if self.status != STATUS_READY:
                    raise exc.ProgrammingError(
                        f"tpc_{verb.lower()} with a xid must be called outside a transaction"
                    )
                target = xid if isinstance(xid, Xid) else Xid.from_string(xid)
                self._command(f"{verb} PREPARED {_literal(target.as_tid())}")
                return
            if self._tpc_xid is None:
                raise exc.ProgrammingError(
                    f"tpc_{verb.lower()} must be called in a two-phase transaction or with a xid"
                )
            if self.status == STATUS_BEGIN:
                self._end(verb)
            elif self.status == STATUS_PREPARED:
                try:
                    self._command(f"{verb} PREPARED {_literal(self._tpc_xid.as_tid())}")
                finally:
                    self.status = STATUS_READY
            self._tpc_xid = None

    def tpc_recover(self) -> list[Xid]:
        with self._lock:
            self._check_open()
            was_idle = self.status == STATUS_READY
            cur = self.cursor()
            cur.execute("SELECT gid, prepared, owner, database FROM pg_prepared_xacts ORDER BY gid")
            found = []
            for gid, prepared, owner, database in cur.fetchall():
                xid = Xid.from_string(gid)
                xid.prepared, xid.owner, xid.database = prepared, owner, database
                found.append(xid)
            cur.close()
            if was_idle and not self._autocommit:
                self.rollback()
            return found

    # -- large objects --------------------------------------------------------------------------

    def lobject(
        self,
        oid: int = 0,
        mode: str = "",
        new_oid: int = 0,
        new_file: str | None = None,
        lobject_factory: Callable[..., Any] | None = None,
    ) -> Any:
        from greenpsyco.fake_psycopg2._lobject import lobject

        factory = lobject_factory or lobject
        return factory(self, oid, mode, new_oid, new_file)

    def __repr__(self) -> str:
        return f"<connection object at {id(self):#x}; dsn: '{self.dsn}', closed: {self.closed}>"

    def __del__(self) -> None:
        wire = getattr(self, "_wire", None)
        if wire is not None:
            with contextlib.suppress(Exception):  # best effort at garbage collection
                wire.close()


def _guc_state(value: bool | None) -> str | None:
    return None if value is None else ("on" if value else "off")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


connection.__module__ = "psycopg2.extensions"
