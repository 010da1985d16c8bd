"""Backend messages as a server would send them, for bytes-in/events-out tests of the client core."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence


def frame(code: bytes, body: bytes = b"") -> bytes:
    return code + struct.pack("!i", len(body) + 4) + body


def cstr(text: str) -> bytes:
    return text.encode() + b"\x00"


def auth(code: int, data: bytes = b"") -> bytes:
    return frame(b"R", struct.pack("!i", code) + data)


def auth_ok() -> bytes:
    return auth(0)


def auth_sasl(*mechanisms: str) -> bytes:
    return auth(10, b"".join(cstr(name) for name in mechanisms) + b"\x00")


def parameter_status(name: str, value: str) -> bytes:
    return frame(b"S", cstr(name) + cstr(value))


def backend_key(pid: int, key: int) -> bytes:
    return frame(b"K", struct.pack("!ii", pid, key))


def ready(status: str = "I") -> bytes:
    return frame(b"Z", status.encode())


def row_description(*columns: tuple[str, int]) -> bytes:
    body = struct.pack("!h", len(columns))
    for name, type_oid in columns:
        body += cstr(name) + struct.pack("!IhIhih", 0, 0, type_oid, -1, -1, 0)
    return frame(b"T", body)


def data_row(*values: bytes | None) -> bytes:
    body = struct.pack("!h", len(values))
    for value in values:
        body += struct.pack("!i", -1) if value is None else struct.pack("!i", len(value)) + value
    return frame(b"D", body)


def command_complete(tag: str) -> bytes:
    return frame(b"C", cstr(tag))


def error(fields: Iterable[tuple[str, str]] = (("S", "ERROR"), ("C", "42601"), ("M", "oops"))) -> bytes:
    return frame(b"E", b"".join(k.encode() + cstr(v) for k, v in fields) + b"\x00")


def notice(message: str) -> bytes:
    return frame(b"N", b"SNOTICE\x00C00000\x00M" + cstr(message) + b"\x00")


def notification(pid: int, channel: str, payload: str) -> bytes:
    return frame(b"A", struct.pack("!i", pid) + cstr(channel) + cstr(payload))


def copy_response(code: bytes, columns: Sequence[int] = (0,)) -> bytes:
    return frame(
        code, b"\x00" + struct.pack("!h", len(columns)) + b"".join(struct.pack("!h", c) for c in columns)
    )


def copy_data(data: bytes) -> bytes:
    return frame(b"d", data)


def copy_done() -> bytes:
    return frame(b"c")


def empty_query() -> bytes:
    return frame(b"I")
