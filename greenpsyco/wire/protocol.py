"""The client side of a protocol 3.0 session, sans-I/O: bytes in, messages out, state kept.

:class:`ClientState` frames and decodes what the server sends and keeps what outlives any one
operation: the transaction status, the server parameters (live: ``standard_conforming_strings`` and
``client_encoding`` may change mid-session), the backend key for CancelRequest, and the notices and
notifications that arrive between or inside operations. Asynchronous messages (ParameterStatus,
NoticeResponse, NotificationResponse) are absorbed here and never reach an operation.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Final

from greenpsyco.wire import messages as m
from greenpsyco.wire.encodings import python_codec
from greenpsyco.wire.errors import ProtocolViolation
from greenpsyco.wire.framing import Framer

IDLE: Final = "I"
IN_TRANSACTION: Final = "T"
IN_ERROR: Final = "E"

_DATA_ROW: Final = ord("D")
ASYNC_CODES: Final = frozenset(b"SNA")  # ParameterStatus, NoticeResponse, NotificationResponse
NOTICE_QUEUE_LIMIT: Final = 1000
NOTIFICATION_QUEUE_LIMIT: Final = 100000
DESCRIPTION_CACHE_SIZE: Final = 256

Notice = dict[str, str]


class ClientState:
    """What the client knows about its session, fed with the bytes the server sends."""

    def __init__(self) -> None:
        self.framer = Framer()
        self.encoding = "utf-8"
        self.transaction_status = IDLE
        self.parameters: dict[str, str] = {}
        self.backend_pid: int | None = None
        self.backend_secret: int | None = None
        self.notices: deque[Notice] = deque(maxlen=NOTICE_QUEUE_LIMIT)
        self.notifications: deque[m.NotificationResponse] = deque(maxlen=NOTIFICATION_QUEUE_LIMIT)
        self.on_notice: Callable[[Notice], None] | None = None
        self.on_notification: Callable[[m.NotificationResponse], None] | None = None
        self.on_parameter: Callable[[str, str], None] | None = None
        self._descriptions: dict[bytes, tuple[m.FieldDescription, ...]] = {}
        self.command_tags: dict[bytes, str] = {}  # CommandComplete bodies decoded lately

    # -- input --------------------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        self.framer.feed(data)

    def next_frame(self) -> tuple[int, bytes] | None:
        """The next synchronous message undecoded, as ``(type, body)``; None until more bytes arrive.

        The hot path of queries decodes DataRow, RowDescription, CommandComplete and ReadyForQuery
        itself; asynchronous messages are absorbed here on the way.
        """
        next_frame = self.framer.next_frame
        while True:
            frame = next_frame()
            if frame is None or frame[0] not in ASYNC_CODES:
                return frame
            self.absorb_frame(*frame)

    def absorb_frame(self, code: int, body: bytes) -> None:
        """Take in an asynchronous message (ParameterStatus, NoticeResponse, NotificationResponse)."""
        self._absorb(m.decode(code, body, self.encoding))

    def next_message(self) -> m.BackendMessage | None:
        """The next synchronous message, decoded, or None until more bytes arrive."""
        frame = self.next_frame()
        if frame is None:
            return None
        code, body = frame
        if code == _DATA_ROW:
            return m.DataRow(m.decode_data_row(body))
        message = m.decode(code, body, self.encoding)
        if isinstance(message, m.ReadyForQuery):
            self.transaction_status = message.status
        elif isinstance(message, m.BackendKeyData):
            self.backend_pid, self.backend_secret = message.process_id, message.secret_key
        return message

    def row_description(self, body: bytes) -> tuple[m.FieldDescription, ...]:
        """Decode a RowDescription, remembering recent ones: a repeated query repeats its body."""
        fields = self._descriptions.get(body)
        if fields is None:
            fields = m.decode_row_description(body, self.encoding)
            if len(self._descriptions) >= DESCRIPTION_CACHE_SIZE:
                self._descriptions.clear()
            self._descriptions[body] = fields
        return fields

    def command_tag(self, body: bytes) -> str:
        """Decode a CommandComplete's tag, remembering recent ones in :attr:`command_tags`."""
        tag = m.decode_command_tag(body, self.encoding)
        if len(self.command_tags) >= DESCRIPTION_CACHE_SIZE:
            self.command_tags.clear()
        self.command_tags[body] = tag
        return tag

    def _absorb(self, message: m.BackendMessage) -> None:
        if isinstance(message, m.ParameterStatus):
            self.set_parameter(message.name, message.value)
        elif isinstance(message, m.NoticeResponse):
            notice = dict(message.fields)
            if self.on_notice is not None:
                self.on_notice(notice)
            else:
                self.notices.append(notice)
        elif isinstance(message, m.NotificationResponse):
            if self.on_notification is not None:
                self.on_notification(message)
            else:
                self.notifications.append(message)

    def set_parameter(self, name: str, value: str) -> None:
        if name == "client_encoding":
            self._descriptions.clear()  # column names decode differently now
            self.command_tags.clear()
            try:
                self.encoding = python_codec(value)
            except LookupError as exc:
                raise ProtocolViolation(f"server switched to unsupported client_encoding {value!r}") from exc
        self.parameters[name] = value
        if self.on_parameter is not None:
            self.on_parameter(name, value)

    # -- derived facts ------------------------------------------------------------------------

    @property
    def standard_conforming_strings(self) -> bool:
        """Live: a ``SET standard_conforming_strings`` mid-session is reported and seen here."""
        return self.parameters.get("standard_conforming_strings", "on") == "on"

    @property
    def server_version(self) -> int:
        """``server_version`` as libpq's PQserverVersion integer (150018 for 15.18, 90624 for 9.6.24)."""
        return parse_server_version(self.parameters.get("server_version", ""))


def parse_server_version(text: str) -> int:
    """libpq's rule: ``major*10000 + minor`` from 10 on, ``major*10000 + minor*100 + patch`` before."""
    digits = ""
    parts: list[int] = []
    for ch in text + " ":
        if ch.isdigit():
            digits += ch
            continue
        if digits:
            parts.append(int(digits))
            digits = ""
        if ch != ".":
            break
    if not parts:
        return 0
    if parts[0] >= 10:
        return parts[0] * 10000 + (parts[1] if len(parts) > 1 else 0)
    while len(parts) < 3:
        parts.append(0)
    return parts[0] * 10000 + parts[1] * 100 + parts[2]
