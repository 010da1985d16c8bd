"""Every protocol operation, written once, as a generator that yields what it waits for.

An operation never touches a socket. It yields:

- ``bytes``: send these, then resume me with ``None``;
- :data:`READ`: resume me with the next bytes received (``b""`` at end of stream);
- :class:`StartTLS`: upgrade this connection to TLS, then resume me with ``None``;
- :data:`PEER_CERTIFICATE`: resume me with the server's certificate (DER), or ``None`` without TLS;
- :class:`OpenConnection`: close the current connection, open one to this host, resume me with the
  peer's address as text; raise ``OSError`` (or ``TimeoutError``) into me if that fails.

A driver decides how to wait (a blocking socket, or Twisted's reactor) and nothing else, so both drivers
run byte-for-byte the same sequences and a bug shows in both (the design of psycopg 3's generators.py).
"""

from __future__ import annotations

import errno
import os
import struct
from collections import deque
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from greenpsyco.wire import messages as m
from greenpsyco.wire.auth import Authenticator, AuthRequirements
from greenpsyco.wire.conninfo import ConnectParams, HostAttempt
from greenpsyco.wire.errors import LOST_MESSAGE as LOST_MESSAGE  # re-exported: drivers use ops' name
from greenpsyco.wire.errors import (
    ConnectionFailure,
    ConnectionLost,
    CopyWithoutSource,
    ProtocolViolation,
    ServerError,
    TLSHandshakeFailure,
    server_error,
)
from greenpsyco.wire.protocol import ASYNC_CODES, ClientState
from greenpsyco.wire.tls import TLSSettings


class _Read:
    __slots__ = ()

    def __repr__(self) -> str:
        return "READ"


class _PeerCertificate:
    __slots__ = ()

    def __repr__(self) -> str:
        return "PEER_CERTIFICATE"


_DATA_ROW: Final = ord("D")
_ROW_DESCRIPTION: Final = ord("T")
_COMMAND_COMPLETE: Final = ord("C")
_READY_FOR_QUERY: Final = ord("Z")

READ: Final = _Read()
PEER_CERTIFICATE: Final = _PeerCertificate()


@dataclass(frozen=True)
class StartTLS:
    """Upgrade the current connection to TLS (after the server's ``S``) and verify the server."""

    settings: TLSSettings
    host: str
    hostaddr: str | None


@dataclass(frozen=True)
class OpenConnection:
    """Open a new connection to one host; the timeout bounds everything until the next request of
    this kind or the end of the operation (libpq's per-host ``connect_timeout``)."""

    attempt: HostAttempt
    timeout: float | None
    keepalives: dict[str, str] = field(default_factory=dict)


Request: TypeAlias = bytes | _Read | _PeerCertificate | StartTLS | OpenConnection


def connection_lost(error: ServerError | None = None) -> ConnectionLost:
    """The end-of-stream error, led by what the server said before closing (libpq's wording)."""
    if error is None:
        return ConnectionLost(LOST_MESSAGE)
    return ConnectionLost(error.libpq_message() + LOST_MESSAGE, error)


def _next_message(state: ClientState) -> Generator[Request, bytes | str | None, m.BackendMessage]:
    while True:
        message = state.next_message()
        if message is not None:
            return message
        data = yield READ
        if not data:
            raise ConnectionLost(LOST_MESSAGE)
        assert isinstance(data, bytes)
        state.receive(data)


# ---------------------------------------------------------------------------------------------------
# Queries


@dataclass(slots=True)
class QueryResult:
    """One statement's outcome: rows (raw column bytes) with their description, and the command tag.

    ``description`` is None for statements that return no rows; ``empty_query`` marks an empty string.
    """

    description: tuple[m.FieldDescription, ...] | None = None
    rows: list[tuple[bytes | None, ...]] = field(default_factory=list)
    command_tag: str | None = None
    empty_query: bool = False
    copy: m.CopyResponse | None = None
    suspended: bool = False


CopySource = Iterable[bytes]
CopySink = Callable[[bytes], object]


def simple_query(
    state: ClientState,
    sql: bytes,
    copy_source: CopySource | None = None,
    copy_sink: CopySink | None = None,
) -> Generator[Request, bytes | str | None, list[QueryResult]]:
    """Query: one string, maybe several statements; every result up to ReadyForQuery.

    An ErrorResponse is raised (as :class:`ServerError`) only after ReadyForQuery, so the connection is
    in sync and usable afterwards. COPY statements stream from ``copy_source`` / into ``copy_sink``.
    """
    yield m.query(sql)
    results, failure = yield from read_results(state, copy_source, copy_sink)
    if failure is not None:
        raise failure
    return results


def read_results(
    state: ClientState,
    copy_source: CopySource | None = None,
    copy_sink: CopySink | None = None,
    start: tuple[list[QueryResult], QueryResult | None] | None = None,
) -> Generator[Request, bytes | str | None, tuple[list[QueryResult], BaseException | None]]:
    """The results of one Query message, up to its ReadyForQuery, and what failed (or None).

    The failure is the server's first error, or what went wrong on our side of a COPY (which wins: the
    server's error then only reports the CopyFail). Only a lost connection is raised here. ``start``
    is what :func:`quick_results` read of the response before it stopped.
    """
    decode: m.RowDecoder | None = None  # set while a result's rows arrive
    if start is None:
        results: list[QueryResult] = []
        current = QueryResult()
    else:
        results, started = start
        current = QueryResult() if started is None else started
        if current.description is not None:
            decode = m.row_decoder(len(current.description))
    rows = current.rows
    fresh = True  # `current` has seen nothing yet (or only its RowDescription): no need to replace it
    error: ServerError | None = None
    pending: BaseException | None = None
    framer = state.framer
    next_frame = framer.next_frame
    take_rows = framer.take_rows
    decode_row = m.decode_data_row
    ready_statuses = m.READY_STATUSES
    while True:
        if decode is not None:
            take_rows(decode, rows.append)
        frame = next_frame()
        if frame is None:
            data = yield READ
            if not data:
                raise connection_lost(error)
            assert isinstance(data, bytes)
            state.receive(data)
            continue
        code, body = frame
        if code in ASYNC_CODES:
            state.absorb_frame(code, body)
            continue
        if code == _DATA_ROW:
            rows.append(decode_row(body))
            continue
        decode = None
        if code == _READY_FOR_QUERY:
            status = ready_statuses.get(body)
            state.transaction_status = m.decode_ready_status(body) if status is None else status
            return results, pending if pending is not None else error
        if not fresh:
            current = QueryResult()
            rows = current.rows
            fresh = True
        if code == _ROW_DESCRIPTION:
            current.description = fields = state.row_description(body)
            decode = m.row_decoder(len(fields))
        elif code == _COMMAND_COMPLETE:
            current.command_tag = m.decode_command_tag(body, state.encoding)
            results.append(current)
            fresh = False
        else:
            message = m.decode(code, body, state.encoding)
            if isinstance(message, m.ErrorResponse):
                error = server_error(message.fields)
                fresh = False  # whatever `current` held belongs to the failed statement
            elif isinstance(message, m.EmptyQueryResponse):
                current.empty_query = True
                results.append(current)
                fresh = False
            elif isinstance(message, m.CopyResponse):
                current.copy = message
                if message.kind == "in":
                    pending = yield from _copy_in(copy_source)
                elif message.kind == "out":
                    outcome = yield from _copy_out(state, copy_sink)
                    if isinstance(outcome, ServerError):
                        error = outcome
                    elif outcome is not None:
                        pending = outcome
                else:
                    raise ProtocolViolation("CopyBothResponse outside replication")
            else:
                raise ProtocolViolation(f"unexpected {type(message).__name__} in a simple query")


def query_results(
    state: ClientState, results: list[QueryResult] | None = None, current: QueryResult | None = None
) -> Generator[Request, bytes | str | None, list[QueryResult]]:
    """:func:`simple_query` after its Query message was sent, from what is buffered; ``results`` and
    ``current`` are what :func:`quick_results` already read of the response."""
    results, failure = yield from read_results(
        state, start=(results, current) if results is not None else None
    )
    if failure is not None:
        raise failure
    return results


_LENGTH_AT = struct.Struct("!i").unpack_from
_SHORT_LIMIT: Final = 30000 + 4  # framing's limit for a message type that is always short, with the length


def quick_results(state: ClientState) -> tuple[list[QueryResult], QueryResult | None, bool]:
    """Read the usual response to a Query message from the receive buffer: ``(results, current, done)``.

    The usual response is RowDescription, DataRows, CommandComplete (for each statement), then
    ReadyForQuery: it is parsed here in one loop straight from the buffer, with no generator and no
    ``(type, body)`` tuple per message. It stops at the end of the buffered bytes or at the first
    message of any other kind (an error, a notice, a COPY, an empty query, one that framing would
    refuse), which stays buffered: ``done`` is then False, and :func:`query_results` goes on from
    there with ``results`` (the statements completed so far) and ``current`` (the one whose rows are
    arriving, or None). A malformed DataRow or CommandComplete raises :class:`ProtocolViolation`, as
    it would there.
    """
    framer = state.framer
    results: list[QueryResult] = []
    current: QueryResult | None = None
    if framer._chunks:
        return results, current, False
    buffer = framer._buffer
    pos = framer._pos
    size = len(buffer)
    longest = framer.max_body + 4
    tags = state.command_tags
    descriptions = state._descriptions
    while size - pos >= 5:
        code = buffer[pos]
        (length,) = _LENGTH_AT(buffer, pos + 1)
        end = pos + 1 + length
        if end > size or length < 4:
            break
        if code == _ROW_DESCRIPTION:
            if length > longest or current is not None:
                break
            body = buffer[pos + 5 : end]
            fields = descriptions.get(body)
            if fields is None:
                framer._pos = pos  # where a malformed message leaves the stream
                fields = state.row_description(body)
            current = QueryResult(fields)
            decode = _ROW_DECODERS.get(len(fields)) or m.row_decoder(len(fields))
            append = current.rows.append
            pos = end
            while size - pos >= 5 and buffer[pos] == 0x44:  # D: as Framer.take_rows
                (length,) = _LENGTH_AT(buffer, pos + 1)
                end = pos + 1 + length
                if end > size or length < 4 or length > longest:
                    break
                framer._pos = pos  # where a malformed row leaves the stream
                append(decode(buffer, pos + 5, end))
                pos = end
            continue
        if length > _SHORT_LIMIT:
            break
        if code == _COMMAND_COMPLETE:
            body = buffer[pos + 5 : end]
            tag = tags.get(body)
            if tag is None:
                framer._pos = pos
                tag = state.command_tag(body)
            if current is None:
                current = QueryResult()
            current.command_tag = tag
            results.append(current)
            current = None
        elif code == _READY_FOR_QUERY and current is None and length == 5:
            status = _READY_BYTES.get(buffer[pos + 5])
            if status is None:
                break
            framer._pos = end
            state.transaction_status = status
            return results, None, True
        else:
            break
        pos = end
    framer._pos = pos
    return results, current, False


_READY_BYTES: Final = {status[0]: text for status, text in m.READY_STATUSES.items()}
_ROW_DECODERS: Final = m._ROW_DECODERS


PIPELINE_BATCH_BYTES: Final = 64 * 1024
PIPELINE_BATCH_STATEMENTS: Final = 256
PACK_SEPARATOR: Final = b"\n;"  # the newline ends a trailing line comment before the semicolon


@dataclass(slots=True)
class PipelineOutcome:
    """What a :func:`pipeline` did: the command tag of each statement that ran, in order, up to the
    first failure (``failed_at`` is its index, ``failure`` the server's error or ours), and the
    exception the statement source raised, if it did (the statements before it ran)."""

    tags: list[str | None] = field(default_factory=list)
    failed_at: int | None = None
    failure: BaseException | None = None
    source_error: Exception | None = None


def pipeline(
    state: ClientState,
    statements: Iterable[bytes | None],
    on_done: Callable[[int], object] | None = None,
    pack: int = 1,
) -> Generator[Request, bytes | str | None, PipelineOutcome]:
    """Many simple queries sent in batches ahead of reading their results.

    Up to two batches are in flight: the server works on one while the next one travels. At the first
    statement that fails, nothing more is taken from ``statements`` or sent; the results of what was
    already sent are read (in a transaction block the server refuses them: it is aborted) and the
    outcome says which statement failed. A ``None`` in ``statements`` is a barrier: what follows is sent
    only once everything before it has completed (and nothing has failed). Results are kept as command
    tags only; rows are dropped. ``on_done(i)`` is called as statement ``i`` completes. A statement that
    runs COPY must be sent alone (between barriers): only a batch of one is read the general way.

    ``pack`` statements share one Query message (separated by ``\n;``), which costs the server much
    less than a message each. Each still gets its own CommandComplete, and PostgreSQL 13+ applies
    ``statement_timeout`` to each; but the server parses the whole message before running any of it,
    so a syntax error keeps the earlier statements of its message from running (in a transaction block
    they would be rolled back with it anyway). An error's position is made relative to its statement.
    """
    outcome = PipelineOutcome()
    source = iter(statements)
    in_flight: deque[list[list[bytes]]] = deque()  # batches sent: their messages' statements
    exhausted = barrier = False
    done = 0
    query = m.query
    while True:
        while not (exhausted or barrier or outcome.failure is not None) and len(in_flight) < 2:
            messages: list[list[bytes]] = []
            wire: list[bytes] = []
            group: list[bytes] = []
            count = size = 0
            while count < PIPELINE_BATCH_STATEMENTS and size < PIPELINE_BATCH_BYTES:
                try:
                    sql = next(source)
                except StopIteration:
                    exhausted = True
                    break
                except Exception as exc:
                    outcome.source_error = exc
                    exhausted = True
                    break
                if sql is None:
                    if count or in_flight:
                        barrier = True
                        break
                    continue
                alone = b"\x00" in sql or len(sql) > PIPELINE_BATCH_BYTES
                if alone and group:  # a statement m.query may refuse gets a message of its own
                    messages.append(group)
                    wire.append(query(PACK_SEPARATOR.join(group)))
                    group = []
                if alone:
                    try:
                        wire.append(query(sql))
                    except Exception as exc:  # nothing of it is sent; the statements before it run
                        outcome.source_error = exc
                        exhausted = True
                        break
                    messages.append([sql])
                    count += 1
                    size += len(sql)
                    continue
                group.append(sql)
                count += 1
                size += len(sql) + 2
                if len(group) >= pack:
                    messages.append(group)
                    wire.append(query(PACK_SEPARATOR.join(group)))
                    group = []
            if group:
                messages.append(group)
                wire.append(query(PACK_SEPARATOR.join(group)))
            if not messages:
                break
            yield b"".join(wire)
            in_flight.append(messages)
        if not in_flight:
            return outcome
        messages = in_flight.popleft()
        if len(messages) > 1 or len(messages[0]) > 1:
            done = yield from _read_tags(state, messages, done, outcome, on_done)
        else:
            results, failure = yield from read_results(state)
            if outcome.failure is None:
                if failure is not None:
                    outcome.failure = failure
                    outcome.failed_at = done
                else:
                    outcome.tags.append(results[-1].command_tag if results else None)
                    if on_done is not None:
                        on_done(done)
            done += 1
        if not in_flight:
            barrier = False


_EMPTY_QUERY: Final = ord("I")
_ERROR: Final = ord("E")


def _read_tags(
    state: ClientState,
    messages: list[list[bytes]],
    done: int,
    outcome: PipelineOutcome,
    on_done: Callable[[int], object] | None,
) -> Generator[Request, bytes | str | None, int]:
    """The results of pipelined Query messages, kept as each statement's command tag or the first
    error (what :func:`read_results` would give, without its per-result objects and rows)."""
    next_frame = state.framer.next_frame
    for statements in messages:
        executed = 0
        fields: dict[str, str] | None = None
        while True:
            frame = next_frame()
            if frame is None:
                data = yield READ
                if not data:
                    raise connection_lost(None if fields is None else server_error(fields))
                assert isinstance(data, bytes)
                state.receive(data)
                continue
            code, body = frame
            if code == _COMMAND_COMPLETE:
                tag = m.decode_command_tag(body, state.encoding)
                if outcome.failure is None and fields is None:
                    outcome.tags.append(tag)
                    if on_done is not None:
                        on_done(done + executed)
                executed += 1
            elif code == _READY_FOR_QUERY:
                state.transaction_status = m.decode_ready_status(body)
                break
            elif code in (_DATA_ROW, _ROW_DESCRIPTION, _EMPTY_QUERY):
                continue  # rows are dropped (and no statement of ours is empty)
            elif code in ASYNC_CODES:
                state.absorb_frame(code, body)
            elif code == _ERROR:
                message = m.decode(code, body, state.encoding)
                assert isinstance(message, m.ErrorResponse)
                if fields is None:
                    fields = dict(message.fields)
            else:
                raise ProtocolViolation(f"unexpected message {bytes([code])!r} in a pipelined query")
        if fields is not None and outcome.failure is None:
            index = _failed_statement(statements, executed, fields, state.encoding)
            outcome.failure = server_error(fields)
            outcome.failed_at = done + index
        done += len(statements)
    return done


def _failed_statement(statements: list[bytes], executed: int, fields: dict[str, str], codec: str) -> int:
    """Which statement of a packed message failed, with the error's position made relative to it.

    A runtime error follows the statements that completed; a syntax error (the message is parsed
    before anything runs) is located by its position."""
    if len(statements) == 1:
        return 0
    starts = []
    offset = 0
    for sql in statements:
        starts.append(offset)
        offset += len(sql.decode(codec, "replace")) + len(PACK_SEPARATOR)
    index = executed
    position = fields.get("P", "")
    if position.isdigit():
        where = int(position) - 1
        if executed == 0:
            index = max(0, sum(1 for start in starts if start <= where) - 1)
        index = min(index, len(statements) - 1)
        fields["P"] = str(int(position) - starts[index])
    return min(index, len(statements) - 1)


def _copy_in(source: CopySource | None) -> Generator[Request, bytes | str | None, BaseException | None]:
    """Stream COPY FROM STDIN data; a failing source becomes CopyFail and is re-raised after sync."""
    if source is None:
        yield m.copy_fail(b"COPY FROM STDIN needs a data source (use a COPY operation)")
        return CopyWithoutSource("COPY FROM STDIN needs a data source")
    try:
        for chunk in source:
            if chunk:
                yield m.copy_data(bytes(chunk))
    except Exception as exc:
        yield m.copy_fail(f"error reading COPY data: {type(exc).__name__}: {exc}".encode(errors="replace"))
        return exc
    yield m.copy_done()
    return None


def _copy_out(
    state: ClientState, sink: CopySink | None
) -> Generator[Request, bytes | str | None, BaseException | None]:
    """Hand each CopyData to ``sink`` as it arrives (bounded memory), up to CopyDone."""
    failure: BaseException | None = None
    take_copy_data = state.framer.take_copy_data
    while True:
        if sink is not None and failure is None:
            try:
                take_copy_data(sink)  # the usual CopyData messages, straight from the buffer
            except Exception as exc:
                failure = exc  # keep draining: the server finishes the COPY regardless
        message = yield from _next_message(state)
        if isinstance(message, m.CopyData):
            if sink is not None and failure is None:
                try:
                    sink(message.data)
                except Exception as exc:
                    failure = exc  # keep draining: the server finishes the COPY regardless
        elif isinstance(message, m.CopyDone):
            return failure
        elif isinstance(message, m.ErrorResponse):
            return server_error(message.fields)  # the error ends COPY; ReadyForQuery follows
        else:
            raise ProtocolViolation(f"unexpected {type(message).__name__} during COPY OUT")


def extended_query(
    state: ClientState,
    sql: bytes,
    values: list[bytes | None],
    param_oids: list[int] | None = None,
    param_formats: list[int] | None = None,
    result_formats: list[int] | None = None,
    max_rows: int = 0,
) -> Generator[Request, bytes | str | None, QueryResult]:
    """Parse/Bind/Describe/Execute/Sync with the unnamed statement and portal (server-side params)."""
    yield b"".join(
        (
            m.parse(b"", sql, param_oids or ()),
            m.bind(b"", b"", values, param_formats or (), result_formats or ()),
            m.describe(b"P", b""),
            m.execute(b"", max_rows),
            m.sync(),
        )
    )
    result = QueryResult()
    error: ServerError | None = None
    while True:
        message = yield from _next_message(state)
        if isinstance(message, m.DataRow):
            result.rows.append(message.values)
        elif isinstance(message, m.RowDescription):
            result.description = message.fields
        elif isinstance(message, m.CommandComplete):
            result.command_tag = message.tag
        elif isinstance(message, m.PortalSuspended):
            result.suspended = True
        elif isinstance(message, m.EmptyQueryResponse):
            result.empty_query = True
        elif isinstance(message, m.ErrorResponse):
            error = server_error(message.fields)
        elif isinstance(message, m.ReadyForQuery):
            if error is not None:
                raise error
            return result
        elif isinstance(message, (m.ParseComplete, m.BindComplete, m.NoData)):
            continue
        elif isinstance(message, m.CopyResponse):
            raise ProtocolViolation("COPY is not available through the extended query protocol here")
        else:
            raise ProtocolViolation(f"unexpected {type(message).__name__} in an extended query")


def process_idle(state: ClientState) -> None:
    """Absorb what arrived while no operation ran: notices, notifications, parameter changes.

    Anything else (typically a FATAL ErrorResponse before the server closes the connection, as with
    ``pg_terminate_backend``) means the session is over.
    """
    message = state.next_message()
    if message is None:
        return
    if isinstance(message, m.ErrorResponse):
        raise connection_lost(server_error(message.fields))
    raise ProtocolViolation(f"unexpected {type(message).__name__} while no query was running")


def terminate() -> Generator[Request, bytes | str | None, None]:
    yield m.terminate()


# ---------------------------------------------------------------------------------------------------
# Connecting


@dataclass(frozen=True)
class Connected:
    """The outcome of :func:`connect`: the session state and where it is connected."""

    state: ClientState
    attempt: HostAttempt
    peer: str


def _describe_target(attempt: HostAttempt, peer: str | None) -> str:
    if attempt.unix_socket is not None:
        return f'connection to server on socket "{attempt.unix_socket}" failed: '
    shown = attempt.host or attempt.hostaddr or ""
    address = attempt.hostaddr or peer
    if address and address != shown:
        return f'connection to server at "{shown}" ({address}), port {attempt.port} failed: '
    return f'connection to server at "{shown}", port {attempt.port} failed: '


def _os_error_text(exc: OSError, attempt: HostAttempt) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout expired"
    text = exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc)) or type(exc).__name__
    if exc.errno == errno.ECONNREFUSED or exc.errno == errno.ENOENT:
        if attempt.unix_socket is not None:
            text += "\n\tIs the server running locally and accepting connections on that socket?"
        else:
            text += "\n\tIs the server running on that host and accepting TCP/IP connections?"
    return text


class _RetryWithoutTLS(Exception):
    """sslmode=prefer: the TLS attempt failed in a way libpq answers by retrying in plain text."""


def startup(
    state: ClientState,
    parameters: dict[str, str],
    authenticator: Authenticator,
    tls: StartTLS | None,
    tls_required: bool,
) -> Generator[Request, bytes | str | None, None]:
    """One connection's start: optional TLS negotiation, StartupMessage, authentication, up to
    the first ReadyForQuery."""
    tls_active = False
    if tls is not None:
        yield m.ssl_request()
        answer = b""
        while not answer:
            data = yield READ
            if not data:
                raise ConnectionLost(LOST_MESSAGE)
            assert isinstance(data, bytes)
            answer = data
        if len(answer) > 1:
            # CVE-2021-23222: bytes sent after 'S' but before the handshake would be read as if they
            # came through TLS. Anything but exactly one byte is an attack or a broken server.
            raise ProtocolViolation("received unencrypted data after SSL response")
        if answer == b"S":
            yield tls
            tls_active = True
        elif answer == b"N":
            if tls_required:
                raise ConnectionFailure("server does not support SSL, but SSL was required")
        elif answer == b"E":
            raise ConnectionFailure("server does not support SSL (it answered the SSL request with an error)")
        else:
            raise ProtocolViolation(f"received invalid response to SSL negotiation: {answer[:1]!r}")
    yield m.startup_message(parameters)
    authenticator.tls_in_use = tls_active
    while True:
        message = yield from _next_message(state)
        if isinstance(message, m.AuthenticationRequest):
            if message.code == m.AUTH_SASL and tls_active:
                certificate = yield PEER_CERTIFICATE
                authenticator.peer_certificate = certificate if isinstance(certificate, bytes) else None
            answer_message = authenticator.respond(message)
            if answer_message is not None:
                yield answer_message
        elif isinstance(message, m.ErrorResponse):
            raise server_error(message.fields)
        elif isinstance(message, m.ReadyForQuery):
            return
        elif isinstance(message, m.BackendKeyData):
            continue
        elif isinstance(message, m.NegotiateProtocolVersion):
            # We ask for 3.0 and send no protocol options, so only options we never sent can be
            # refused here: a confused or hostile server.
            if message.unrecognized_options:
                raise ConnectionFailure(
                    "server does not support the requested protocol options: "
                    + ", ".join(message.unrecognized_options)
                )
        else:
            raise ProtocolViolation(f"unexpected {type(message).__name__} during startup")


def _session_check(state: ClientState, target: str) -> Generator[Request, bytes | str | None, str | None]:
    """libpq's ``target_session_attrs`` test; returns the reason to reject this server, if any."""
    if target in ("any", "prefer-standby-any"):
        return None
    params = state.parameters
    if target in ("read-write", "read-only"):
        if "default_transaction_read_only" in params and "in_hot_standby" in params:
            read_only = params["default_transaction_read_only"] == "on" or params["in_hot_standby"] == "on"
        else:
            (result,) = yield from simple_query(state, b"SHOW transaction_read_only")
            read_only = result.rows[0][0] == b"on"
        if target == "read-write" and read_only:
            return "session is read-only"
        if target == "read-only" and not read_only:
            return "session is not read-only"
        return None
    if "in_hot_standby" in params:
        standby = params["in_hot_standby"] == "on"
    else:
        (result,) = yield from simple_query(state, b"SELECT pg_catalog.pg_is_in_recovery()")
        standby = result.rows[0][0] == b"t"
    if target == "primary" and standby:
        return "server is in hot standby mode"
    if target in ("standby", "prefer-standby") and not standby:
        return "server is not in hot standby mode"
    return None


def _tls_plan(settings: TLSSettings, attempt: HostAttempt) -> list[bool]:
    """The order of TLS tries for one host: libpq's prefer tries TLS then plain, allow the reverse."""
    if attempt.unix_socket is not None or settings.sslmode == "disable":
        return [False]
    if settings.sslmode == "allow":
        return [False, True]
    if settings.sslmode == "prefer":
        return [True, False]
    return [True]


def connect(
    params: ConnectParams,
    tls_settings: TLSSettings,
    requirements: AuthRequirements,
) -> Generator[Request, bytes | str | None, Connected]:
    """Try each host (and each TLS mode sslmode allows) until one session satisfies the target."""
    target = params.values.get("target_session_attrs", "any")
    passes = ["prefer-standby", "prefer-standby-any"] if target == "prefer-standby" else [target]
    failures: list[str] = []
    keepalives = {
        key: value
        for key, value in params.values.items()
        if key.startswith("keepalives") or key == "tcp_user_timeout"
    }
    for pass_target in passes:
        for attempt in params.attempts:
            for use_tls in _tls_plan(tls_settings, attempt):
                state = ClientState()
                peer: str | None = None
                try:
                    answer = yield OpenConnection(attempt, params.connect_timeout, keepalives)
                    peer = answer if isinstance(answer, str) else None
                    authenticator = Authenticator(
                        params.startup.get("user", ""), attempt.password, requirements
                    )
                    tls_request = StartTLS(tls_settings, attempt.host, attempt.hostaddr) if use_tls else None
                    yield from startup(
                        state, dict(params.startup), authenticator, tls_request, tls_settings.requires_tls
                    )
                    reason = yield from _session_check(state, pass_target)
                except OSError as exc:  # includes TimeoutError
                    failures.append(_describe_target(attempt, peer) + _os_error_text(exc, attempt))
                    break  # the host is unreachable: no point trying another TLS mode
                except ServerError as exc:
                    failures.append(_describe_target(attempt, peer) + exc.libpq_message().rstrip("\n"))
                    if tls_settings.sslmode == "allow" and not use_tls:
                        continue  # libpq retries with TLS (the server may want hostssl)
                    break
                except (ConnectionFailure, ConnectionLost, ProtocolViolation) as exc:
                    failures.append(_describe_target(attempt, peer) + str(exc))
                    if tls_settings.sslmode == "prefer" and use_tls and isinstance(exc, TLSHandshakeFailure):
                        # Only a failed handshake: a loss before the server's answer or after the
                        # handshake, or a refusal of ours (require_auth, channel_binding), ends this
                        # host as in libpq 17 -- a plain-text retry there would be a downgrade.
                        continue
                    break
                if reason is None:
                    return Connected(state, attempt, peer or "")
                failures.append(_describe_target(attempt, peer) + reason)
                yield m.terminate()
                break
    raise ConnectionFailure("\n".join(failures) if failures else "no host to connect to")
