"""Incremental framing of the backend byte stream into (type, body) messages.

Whatever way the bytes are split when they arrive, the same messages come out (tested with hypothesis).
Lengths are validated before anything is buffered for them: like libpq, a message type that is always
short may not announce more than 30,000 bytes (a sign the stream is out of sync), and no message may
exceed the 1 GiB PostgreSQL can produce.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, Final

from greenpsyco.wire.errors import ProtocolViolation
from greenpsyco.wire.messages import BACKEND_CODES, MAX_MESSAGE_BODY

# Types that may legitimately be long (libpq's VALID_LONG_MESSAGE_TYPE, plus CopyData both ways).
LONG_MESSAGE_TYPES: Final = frozenset(b"TDdVENAt")
SHORT_MESSAGE_LIMIT: Final = 30000

_LENGTH = struct.Struct("!i").unpack_from
_CHUNK_FROM = 1 << 18  # partial messages above this size are collected as a list of reads


class Framer:
    """A buffer that accepts bytes as they come and hands out complete messages.

    The usual case, a whole response in one read, is served by slicing the received ``bytes`` with no
    intermediate copy; only a partial message is carried over into the next feed.
    """

    __slots__ = ("_buffer", "_chunks", "_chunks_size", "_need", "_pos", "max_body")

    def __init__(self, max_body: int = MAX_MESSAGE_BODY) -> None:
        self._buffer = b""
        self._pos = 0
        self.max_body = max_body
        # A large message arriving piecemeal is collected here and joined once, not re-copied per read.
        self._chunks: list[bytes] = []
        self._chunks_size = 0
        self._need = 0

    def feed(self, data: bytes) -> None:
        if self._chunks:
            self._chunks.append(bytes(data))
            self._chunks_size += len(data)
            if self._chunks_size >= self._need:
                self._buffer = b"".join(self._chunks)
                self._chunks = []
                self._chunks_size = 0
        elif self._pos >= len(self._buffer):
            self._buffer = bytes(data)
        else:
            self._buffer = self._buffer[self._pos :] + data
        self._pos = 0

    @property
    def buffered(self) -> int:
        """Bytes received but not yet handed out."""
        return len(self._buffer) - self._pos + self._chunks_size

    def take_rows(
        self, decode: Callable[[bytes, int, int], tuple[bytes | None, ...]], append: Callable[[Any], object]
    ) -> None:
        """Decode the complete DataRow messages at the head of the buffer straight from it.

        The hot loop of a large fetch: no ``(type, body)`` tuple and no body copy per row. It stops at
        the first message that is not a complete, plausible DataRow, which :meth:`next_frame` then
        hands out (or rejects) as usual.
        """
        buffer, pos = self._buffer, self._pos
        size = len(buffer)
        longest = self.max_body + 4
        unpack = _LENGTH
        while size - pos >= 5 and buffer[pos] == 0x44:  # D
            (length,) = unpack(buffer, pos + 1)
            end = pos + 1 + length
            if end > size or length < 4 or length > longest:
                break
            append(decode(buffer, pos + 5, end))
            pos = end
        self._pos = pos

    def take_copy_data(self, sink: Callable[[bytes], object]) -> None:
        """Hand the complete CopyData messages at the head of the buffer to ``sink``, one call each.

        Each message is consumed before ``sink`` sees it, so an exception from ``sink`` leaves the
        stream at the next message. It stops where :meth:`next_frame` must take over.
        """
        buffer = self._buffer
        size = len(buffer)
        longest = self.max_body + 4
        unpack = _LENGTH
        while True:
            pos = self._pos
            if size - pos < 5 or buffer[pos] != 0x64:  # d
                return
            (length,) = unpack(buffer, pos + 1)
            end = pos + 1 + length
            if end > size or length < 4 or length > longest:
                return
            self._pos = end
            sink(buffer[pos + 5 : end])

    def next_frame(self) -> tuple[int, bytes] | None:
        """The next complete message as ``(type byte, body)``, or None until more bytes arrive."""
        buffer, pos = self._buffer, self._pos
        if len(buffer) - pos < 5:
            return None
        code = buffer[pos]
        (length,) = _LENGTH(buffer, pos + 1)
        if code not in BACKEND_CODES:
            raise ProtocolViolation(f"unknown backend message type {bytes([code])!r}")
        if length < 4:
            raise ProtocolViolation(f"message length {length} is below the minimum of 4")
        if length > SHORT_MESSAGE_LIMIT + 4:
            limit = self.max_body if code in LONG_MESSAGE_TYPES else SHORT_MESSAGE_LIMIT
            if length - 4 > limit:
                raise ProtocolViolation(
                    f"message {bytes([code])!r} announces {length - 4} bytes, over the limit of {limit}"
                )
        end = pos + 1 + length
        if len(buffer) < end:
            if end - pos > _CHUNK_FROM:
                self._chunks = [buffer[pos:]]
                self._chunks_size = len(buffer) - pos
                self._need = end - pos
                self._buffer = b""
                self._pos = 0
            return None
        self._pos = end
        return code, buffer[pos + 5 : end]
