"""Protocol 3.0 messages: encoders for every frontend message, decoders for every backend message.

Pure functions over bytes. Encoders bound every length before anything is sent (a length that wraps
around is a protocol injection: Npgsql CVE-2024-32655, pgx CVE-2024-27304). Decoders treat the server as
hostile: every length, count and terminator is checked, and any malformation is a
:class:`~greenpsyco.wire.errors.ProtocolViolation`, never an ``IndexError`` or ``struct.error``.
Text fields (names, error messages) are decoded with the connection's client encoding, passed in.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

from greenpsyco.wire.errors import MessageTooLong, ProtocolViolation

PROTOCOL_VERSION: Final = 196608  # 3.0
SSL_REQUEST_CODE: Final = 80877103
GSSENC_REQUEST_CODE: Final = 80877104
CANCEL_REQUEST_CODE: Final = 80877102

# The largest message body PostgreSQL itself can build or accept (MaxAllocSize - 1 minus the length).
MAX_MESSAGE_BODY: Final = 0x3FFFFFFF - 4

_I = struct.Struct("!i")
_II = struct.Struct("!ii")
_H = struct.Struct("!h")
_IH = struct.Struct("!ih")
_CI = struct.Struct("!ci")

# ---------------------------------------------------------------------------------------------------
# Frontend messages


def _frame(code: bytes, body: bytes) -> bytes:
    if len(body) > MAX_MESSAGE_BODY:
        raise MessageTooLong(
            f"message of {len(body)} bytes exceeds PostgreSQL's limit of {MAX_MESSAGE_BODY} bytes"
        )
    return _CI.pack(code, len(body) + 4) + body


def _cstring(value: bytes) -> bytes:
    if b"\x00" in value:
        raise ValueError("a protocol string cannot contain NUL (0x00) bytes")
    return value + b"\x00"


def startup_message(parameters: Mapping[str, str], encoding: str = "utf-8") -> bytes:
    """StartupMessage: protocol 3.0 and the session parameters (user, database, options, ...)."""
    body = _I.pack(PROTOCOL_VERSION)
    body += b"".join(
        _cstring(name.encode(encoding)) + _cstring(value.encode(encoding))
        for name, value in parameters.items()
    )
    body += b"\x00"
    return _I.pack(len(body) + 4) + body


def ssl_request() -> bytes:
    return _II.pack(8, SSL_REQUEST_CODE)


def gssenc_request() -> bytes:
    return _II.pack(8, GSSENC_REQUEST_CODE)


def cancel_request(process_id: int, secret_key: int) -> bytes:
    return struct.pack("!iiii", 16, CANCEL_REQUEST_CODE, process_id, secret_key)


def query(sql: bytes) -> bytes:
    """Query (simple protocol): one string that may hold several statements."""
    if b"\x00" in sql:
        raise ValueError("a protocol string cannot contain NUL (0x00) bytes")
    if len(sql) + 1 > MAX_MESSAGE_BODY:
        raise MessageTooLong(
            f"message of {len(sql) + 1} bytes exceeds PostgreSQL's limit of {MAX_MESSAGE_BODY} bytes"
        )
    return b"Q" + _I.pack(len(sql) + 5) + sql + b"\x00"


def parse(statement: bytes, sql: bytes, param_oids: Sequence[int] = ()) -> bytes:
    if len(param_oids) > 65535:
        raise MessageTooLong(f"{len(param_oids)} parameters exceed the protocol's limit of 65535")
    return _frame(
        b"P",
        _cstring(statement)
        + _cstring(sql)
        + _H.pack(len(param_oids))
        + b"".join(struct.pack("!I", oid) for oid in param_oids),
    )


def bind(
    portal: bytes,
    statement: bytes,
    values: Sequence[bytes | None],
    param_formats: Sequence[int] = (),
    result_formats: Sequence[int] = (),
) -> bytes:
    """Bind: parameter values (None is SQL NULL) in text (0) or binary (1) format."""
    if len(values) > 65535:
        raise MessageTooLong(f"{len(values)} parameters exceed the protocol's limit of 65535")
    parts = [
        _cstring(portal),
        _cstring(statement),
        _H.pack(len(param_formats)),
        *(_H.pack(fmt) for fmt in param_formats),
        _H.pack(len(values)),
    ]
    for value in values:
        if value is None:
            parts.append(_I.pack(-1))
        else:
            if len(value) > MAX_MESSAGE_BODY:
                raise MessageTooLong(f"a parameter of {len(value)} bytes exceeds PostgreSQL's limit")
            parts.append(_I.pack(len(value)))
            parts.append(value)
    parts.append(_H.pack(len(result_formats)))
    parts.extend(_H.pack(fmt) for fmt in result_formats)
    return _frame(b"B", b"".join(parts))


def describe(kind: bytes, name: bytes) -> bytes:
    """Describe a statement (``b"S"``) or a portal (``b"P"``)."""
    if kind not in (b"S", b"P"):
        raise ValueError("describe kind must be b'S' or b'P'")
    return _frame(b"D", kind + _cstring(name))


def execute(portal: bytes, max_rows: int = 0) -> bytes:
    return _frame(b"E", _cstring(portal) + _I.pack(max_rows))


def close(kind: bytes, name: bytes) -> bytes:
    if kind not in (b"S", b"P"):
        raise ValueError("close kind must be b'S' or b'P'")
    return _frame(b"C", kind + _cstring(name))


def sync() -> bytes:
    return b"S\x00\x00\x00\x04"


def flush() -> bytes:
    return b"H\x00\x00\x00\x04"


def terminate() -> bytes:
    return b"X\x00\x00\x00\x04"


def password_message(password: bytes) -> bytes:
    """PasswordMessage: a cleartext or MD5 password (NUL-terminated)."""
    return _frame(b"p", _cstring(password))


def sasl_initial_response(mechanism: str, data: bytes | None) -> bytes:
    body = _cstring(mechanism.encode("ascii"))
    body += _I.pack(-1) if data is None else _I.pack(len(data)) + data
    return _frame(b"p", body)


def sasl_response(data: bytes) -> bytes:
    return _frame(b"p", data)


def gss_response(data: bytes) -> bytes:
    return _frame(b"p", data)


def copy_data(data: bytes) -> bytes:
    return _frame(b"d", data)


def copy_done() -> bytes:
    return b"c\x00\x00\x00\x04"


def copy_fail(reason: bytes) -> bytes:
    return _frame(b"f", _cstring(reason))


def function_call(
    function_oid: int,
    arguments: Sequence[bytes | None],
    arg_formats: Sequence[int] = (),
    result_format: int = 0,
) -> bytes:
    """FunctionCall (legacy fast-path interface, still part of protocol 3.0)."""
    parts = [struct.pack("!I", function_oid), _H.pack(len(arg_formats))]
    parts.extend(_H.pack(fmt) for fmt in arg_formats)
    parts.append(_H.pack(len(arguments)))
    for value in arguments:
        parts.append(_I.pack(-1) if value is None else _I.pack(len(value)) + value)
    parts.append(_H.pack(result_format))
    return _frame(b"F", b"".join(parts))


# ---------------------------------------------------------------------------------------------------
# Backend messages


class BackendMessage:
    """Base of decoded backend messages."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class AuthenticationRequest(BackendMessage):
    """Any ``R`` message: ``code`` 0 is AuthenticationOk; ``data`` holds salt, SASL data or mechanisms."""

    code: int
    data: bytes = b""
    mechanisms: tuple[str, ...] = ()


AUTH_OK: Final = 0
AUTH_KERBEROS_V5: Final = 2
AUTH_CLEARTEXT_PASSWORD: Final = 3
AUTH_MD5_PASSWORD: Final = 5
AUTH_GSS: Final = 7
AUTH_GSS_CONTINUE: Final = 8
AUTH_SSPI: Final = 9
AUTH_SASL: Final = 10
AUTH_SASL_CONTINUE: Final = 11
AUTH_SASL_FINAL: Final = 12


@dataclass(frozen=True, slots=True)
class BackendKeyData(BackendMessage):
    process_id: int
    secret_key: int


@dataclass(frozen=True, slots=True)
class ParameterStatus(BackendMessage):
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class ReadyForQuery(BackendMessage):
    """``status`` is the transaction status: ``I`` idle, ``T`` in a transaction, ``E`` failed one."""

    status: str


class FieldDescription(NamedTuple):
    """One column of a RowDescription (a tuple: built once per column of every result, so cheap)."""

    name: str
    table_oid: int
    column_number: int
    type_oid: int
    type_size: int
    type_modifier: int
    format: int


@dataclass(frozen=True, slots=True)
class RowDescription(BackendMessage):
    fields: tuple[FieldDescription, ...]


@dataclass(frozen=True, slots=True)
class DataRow(BackendMessage):
    """Column values as raw bytes (``None`` is SQL NULL), in the format RowDescription announced."""

    values: tuple[bytes | None, ...]


@dataclass(frozen=True, slots=True)
class CommandComplete(BackendMessage):
    tag: str


@dataclass(frozen=True, slots=True)
class EmptyQueryResponse(BackendMessage):
    pass


@dataclass(frozen=True, slots=True)
class ErrorResponse(BackendMessage):
    """Every field by its one-letter code (``C`` SQLSTATE, ``M`` message, ``D`` detail, ...)."""

    fields: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class NoticeResponse(BackendMessage):
    fields: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class NotificationResponse(BackendMessage):
    process_id: int
    channel: str
    payload: str


@dataclass(frozen=True, slots=True)
class ParseComplete(BackendMessage):
    pass


@dataclass(frozen=True, slots=True)
class BindComplete(BackendMessage):
    pass


@dataclass(frozen=True, slots=True)
class CloseComplete(BackendMessage):
    pass


@dataclass(frozen=True, slots=True)
class NoData(BackendMessage):
    pass


@dataclass(frozen=True, slots=True)
class PortalSuspended(BackendMessage):
    pass


@dataclass(frozen=True, slots=True)
class ParameterDescription(BackendMessage):
    type_oids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CopyResponse(BackendMessage):
    """CopyInResponse (``G``), CopyOutResponse (``H``) or CopyBothResponse (``W``)."""

    kind: str
    format: int
    column_formats: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CopyData(BackendMessage):
    data: bytes


@dataclass(frozen=True, slots=True)
class CopyDone(BackendMessage):
    pass


@dataclass(frozen=True, slots=True)
class NegotiateProtocolVersion(BackendMessage):
    newest_minor: int
    unrecognized_options: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FunctionCallResponse(BackendMessage):
    value: bytes | None


class _Reader:
    """Bounds-checked reads over one message body."""

    __slots__ = ("body", "encoding", "pos")

    def __init__(self, body: bytes, encoding: str) -> None:
        self.body = body
        self.pos = 0
        self.encoding = encoding

    def int32(self) -> int:
        if self.pos + 4 > len(self.body):
            raise ProtocolViolation("message ends inside an Int32")
        (value,) = _I.unpack_from(self.body, self.pos)
        self.pos += 4
        return int(value)

    def uint32(self) -> int:
        return self.int32() & 0xFFFFFFFF

    def int16(self) -> int:
        if self.pos + 2 > len(self.body):
            raise ProtocolViolation("message ends inside an Int16")
        (value,) = _H.unpack_from(self.body, self.pos)
        self.pos += 2
        return int(value)

    def count16(self, item_size: int) -> int:
        """A non-negative Int16 count whose items (at least ``item_size`` bytes each) fit the body."""
        count = self.int16()
        if count < 0 or count * item_size > len(self.body) - self.pos:
            raise ProtocolViolation(f"count {count} does not fit a {len(self.body)}-byte message")
        return count

    def byte(self) -> int:
        if self.pos >= len(self.body):
            raise ProtocolViolation("message ends before an expected byte")
        value = self.body[self.pos]
        self.pos += 1
        return value

    def raw_cstring(self) -> bytes:
        end = self.body.find(b"\x00", self.pos)
        if end < 0:
            raise ProtocolViolation("string without its NUL terminator")
        value = self.body[self.pos : end]
        self.pos = end + 1
        return value

    def cstring(self) -> str:
        return self.raw_cstring().decode(self.encoding, "replace")

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.body):
            raise ProtocolViolation(f"length {size} runs past the end of the message")
        value = self.body[self.pos : self.pos + size]
        self.pos += size
        return value

    def rest(self) -> bytes:
        value = self.body[self.pos :]
        self.pos = len(self.body)
        return value

    def end(self) -> None:
        if self.pos != len(self.body):
            raise ProtocolViolation(f"{len(self.body) - self.pos} unexpected bytes at the end of a message")


def _authentication(r: _Reader) -> AuthenticationRequest:
    code = r.int32()
    if code == AUTH_MD5_PASSWORD:
        salt = r.take(4)
        r.end()
        return AuthenticationRequest(code, salt)
    if code == AUTH_SASL:
        mechanisms = []
        while True:
            name = r.cstring()
            if not name:
                break
            mechanisms.append(name)
        r.end()
        return AuthenticationRequest(code, b"", tuple(mechanisms))
    if code in (AUTH_SASL_CONTINUE, AUTH_SASL_FINAL, AUTH_GSS_CONTINUE):
        return AuthenticationRequest(code, r.rest())
    r.end()
    return AuthenticationRequest(code)


def _fields(r: _Reader) -> dict[str, str]:
    fields: dict[str, str] = {}
    while True:
        code = r.byte()
        if code == 0:
            break
        fields[chr(code)] = r.cstring()
    r.end()
    return fields


_FIELD = struct.Struct("!IhIhih")


def decode_row_description(body: bytes, encoding: str) -> tuple[FieldDescription, ...]:
    """The columns of a RowDescription (hot: once per result set), bounds-checked."""
    size = len(body)
    if size < 2:
        raise ProtocolViolation("RowDescription shorter than its field count")
    count = (body[0] << 8) | body[1]
    if count & 0x8000 or count * 19 > size - 2:
        raise ProtocolViolation(f"RowDescription announces {count} fields in {size} bytes")
    fields = []
    pos = 2
    unpack = _FIELD.unpack_from
    for _ in range(count):
        end = body.find(b"\x00", pos)
        if end < 0 or end + 19 > size:
            raise ProtocolViolation("RowDescription field runs past the end of the message")
        name = body[pos:end].decode(encoding, "replace")
        pos = end + 19
        fields.append(FieldDescription(name, *unpack(body, end + 1)))
    if pos != size:
        raise ProtocolViolation(f"{size - pos} unexpected bytes at the end of a RowDescription")
    return tuple(fields)


def _row_description(r: _Reader) -> RowDescription:
    return RowDescription(decode_row_description(r.rest(), r.encoding))


def decode_command_tag(body: bytes, encoding: str) -> str:
    """The tag of a CommandComplete (hot: once per statement)."""
    if not body or body[-1] != 0 or body.find(b"\x00") != len(body) - 1:
        raise ProtocolViolation("malformed CommandComplete")
    return body[:-1].decode(encoding, "replace")


def decode_ready_status(body: bytes) -> str:
    """The transaction status byte of a ReadyForQuery (hot: once per operation)."""
    status = READY_STATUSES.get(body)
    if status is None:
        raise ProtocolViolation(f"malformed ReadyForQuery {body[:8]!r}")
    return status


READY_STATUSES: Final = {b"I": "I", b"T": "T", b"E": "E"}


def decode_data_row(body: bytes) -> tuple[bytes | None, ...]:
    """The hot path of every fetch: column values of one DataRow, bounds-checked."""
    size = len(body)
    if size < 2:
        raise ProtocolViolation("DataRow shorter than its column count")
    count = (body[0] << 8) | body[1]
    if count & 0x8000 or count * 4 > size - 2:
        raise ProtocolViolation(f"DataRow announces {count} columns in {size} bytes")
    values: list[bytes | None] = []
    append = values.append
    pos = 2
    unpack = _I.unpack_from
    for _ in range(count):
        if pos + 4 > size:
            raise ProtocolViolation("DataRow ends inside a column length")
        (length,) = unpack(body, pos)
        pos += 4
        if length == -1:
            append(None)
            continue
        end = pos + length
        if length < 0 or end > size:
            raise ProtocolViolation(f"DataRow column length {length} runs past the message")
        append(body[pos:end])
        pos = end
    if pos != size:
        raise ProtocolViolation(f"{size - pos} unexpected bytes at the end of a DataRow")
    return tuple(values)


RowDecoder = Callable[[bytes, int, int], tuple[bytes | None, ...]]
_ROW_DECODERS: dict[int, RowDecoder] = {}
_UNROLL_LIMIT = 64


def row_decoder(count: int) -> RowDecoder:
    """A DataRow decoder for results of ``count`` columns, reading ``buffer[start:end]`` in place.

    It is straight-line code compiled once per column count (no loop, no intermediate list, no copy
    of the message body); a row of another column count goes to :func:`decode_data_row`. Bounds are
    checked as there: a negative length other than -1, a row that does not end exactly at ``end``, or
    a length field past the buffer is a :class:`ProtocolViolation`.
    """
    decoder = _ROW_DECODERS.get(count)
    if decoder is None:
        decoder = _ROW_DECODERS[count] = _compile_row_decoder(count)
    return decoder


def _compile_row_decoder(count: int) -> RowDecoder:
    if count > _UNROLL_LIMIT or count < 1:
        return lambda buffer, start, end: decode_data_row(buffer[start:end])
    lines = [
        "def decode(buffer, start, end):",
        f"    if end - start < 2 or buffer[start] != {count >> 8} or buffer[start + 1] != {count & 0xFF}:",
        "        return decode_data_row(buffer[start:end])",
        "    p = start + 2",
        "    try:",
    ]
    for i in range(count):
        lines += [
            "        (n,) = unpack(buffer, p)",
            "        p += 4",
            "        if n >= 0:",
            f"            v{i} = buffer[p : p + n]",
            "            p += n",
            "        elif n == -1:",
            f"            v{i} = None",
            "        else:",
            "            raise ProtocolViolation(f'DataRow column length {n} runs past the message')",
        ]
    values = ", ".join(f"v{i}" for i in range(count))
    lines += [
        "    except struct.error:",
        "        raise ProtocolViolation('DataRow ends inside a column length') from None",
        "    if p != end:",
        "        raise ProtocolViolation(f'DataRow of {end - start} bytes does not match its lengths')",
        f"    return ({values},)",
    ]
    namespace: dict[str, object] = {
        "unpack": _I.unpack_from,
        "struct": struct,
        "ProtocolViolation": ProtocolViolation,
        "decode_data_row": decode_data_row,
    }
    exec(compile("\n".join(lines), f"<row_decoder {count}>", "exec"), namespace)
    decoder: RowDecoder = namespace["decode"]  # type: ignore[assignment]
    return decoder


def _copy_response(kind: str) -> Callable[[_Reader], CopyResponse]:
    def decode(r: _Reader) -> CopyResponse:
        fmt = r.byte()
        count = r.count16(2)
        formats = tuple(r.int16() for _ in range(count))
        r.end()
        if fmt not in (0, 1) or any(f not in (0, 1) for f in formats):
            raise ProtocolViolation(f"unknown COPY format in {kind} response")
        return CopyResponse(kind, fmt, formats)

    return decode


def _negotiate(r: _Reader) -> NegotiateProtocolVersion:
    minor = r.int32()
    count = r.int32()
    if count < 0 or count > len(r.body) - r.pos:
        raise ProtocolViolation(f"NegotiateProtocolVersion announces {count} options")
    options = tuple(r.cstring() for _ in range(count))
    r.end()
    return NegotiateProtocolVersion(minor, options)


def _function_call_response(r: _Reader) -> FunctionCallResponse:
    length = r.int32()
    value = None if length == -1 else r.take(length)
    r.end()
    return FunctionCallResponse(value)


def _empty(message: BackendMessage) -> Callable[[_Reader], BackendMessage]:
    def decode(r: _Reader) -> BackendMessage:
        r.end()
        return message

    return decode


def _backend_key(r: _Reader) -> BackendKeyData:
    pid, key = r.int32(), r.int32()
    r.end()
    return BackendKeyData(pid, key)


def _parameter_status(r: _Reader) -> ParameterStatus:
    name, value = r.cstring(), r.cstring()
    r.end()
    return ParameterStatus(name, value)


def _ready(r: _Reader) -> ReadyForQuery:
    return ReadyForQuery(decode_ready_status(r.rest()))


def _command_complete(r: _Reader) -> CommandComplete:
    return CommandComplete(decode_command_tag(r.rest(), r.encoding))


def _notification(r: _Reader) -> NotificationResponse:
    pid, channel, payload = r.int32(), r.cstring(), r.cstring()
    r.end()
    return NotificationResponse(pid, channel, payload)


def _parameter_description(r: _Reader) -> ParameterDescription:
    count = r.count16(4)
    oids = tuple(r.uint32() for _ in range(count))
    r.end()
    return ParameterDescription(oids)


_DECODERS: dict[int, Callable[[_Reader], BackendMessage]] = {
    ord("R"): _authentication,
    ord("K"): _backend_key,
    ord("S"): _parameter_status,
    ord("Z"): _ready,
    ord("T"): _row_description,
    ord("D"): lambda r: DataRow(decode_data_row(r.rest())),
    ord("C"): _command_complete,
    ord("I"): _empty(EmptyQueryResponse()),
    ord("E"): lambda r: ErrorResponse(_fields(r)),
    ord("N"): lambda r: NoticeResponse(_fields(r)),
    ord("A"): _notification,
    ord("1"): _empty(ParseComplete()),
    ord("2"): _empty(BindComplete()),
    ord("3"): _empty(CloseComplete()),
    ord("n"): _empty(NoData()),
    ord("s"): _empty(PortalSuspended()),
    ord("t"): _parameter_description,
    ord("G"): _copy_response("in"),
    ord("H"): _copy_response("out"),
    ord("W"): _copy_response("both"),
    ord("d"): lambda r: CopyData(r.rest()),
    ord("c"): _empty(CopyDone()),
    ord("v"): _negotiate,
    ord("V"): _function_call_response,
}

BACKEND_CODES: Final = frozenset(_DECODERS)


def decode(code: int, body: bytes, encoding: str = "utf-8") -> BackendMessage:
    """Decode one backend message body; a malformed or unknown message is a ProtocolViolation."""
    decoder = _DECODERS.get(code)
    if decoder is None:
        raise ProtocolViolation(f"unknown backend message type {bytes([code])!r}")
    try:
        return decoder(_Reader(body, encoding))
    except ProtocolViolation:
        raise
    except (ValueError, LookupError, struct.error) as exc:  # pragma: no cover - defence in depth
        raise ProtocolViolation(f"malformed {bytes([code])!r} message: {exc}") from exc
