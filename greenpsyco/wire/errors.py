"""The wire layer's own exceptions. fake_psycopg2 maps them onto psycopg2's classes.

The wire layer knows PostgreSQL, not DB-API: these say what went wrong on the protocol level and carry
everything the server said, so the mapping above loses nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

# libpq's text when the server hangs up (end of stream, or a reset without TLS).
LOST_MESSAGE: Final = (
    "server closed the connection unexpectedly\n"
    "\tThis probably means the server terminated abnormally\n"
    "\tbefore or while processing the request."
)
# How libpq 17 words the other ends of a stream (measured through a fault-injecting proxy against
# psycopg2 2.9.13, tests/test_faults.py). Over TLS the kind of end matters: the
# server's close_notify, a TCP FIN without it (a "ragged" EOF: a crashed backend, a cut network), or a
# reset. A reset is reported twice after the handshake: once by libpq's socket layer, once by its TLS
# layer.
TLS_CLOSED_MESSAGE: Final = "SSL connection has been closed unexpectedly"
TLS_EOF_MESSAGE: Final = "SSL SYSCALL error: EOF detected"
TLS_RESET_MESSAGE: Final = LOST_MESSAGE + "\n" + LOST_MESSAGE


class WireError(Exception):
    """Base of every error the wire layer raises."""


class ConninfoError(WireError):
    """Connection options that libpq would refuse; the message is libpq's own wording."""


class ConnectionFailure(WireError):
    """No connection could be established (every host tried, or authentication refused)."""

    def __init__(self, message: str, server_error: ServerError | None = None) -> None:
        super().__init__(message)
        self.server_error = server_error


class TLSHandshakeFailure(ConnectionFailure):
    """The TLS handshake itself failed (libpq's ``sslmode=prefer`` then retries without TLS; it does not
    after a loss before the server's answer to SSLRequest or once the handshake is done)."""


class ConnectionLost(WireError):
    """An established connection broke: the server closed it, the network failed, or a timeout hit.

    When the server said why before hanging up (a FATAL ErrorResponse, as after
    ``pg_terminate_backend`` or a shutdown), ``server_error`` carries it and the message starts with it.
    """

    def __init__(self, message: str, server_error: ServerError | None = None) -> None:
        super().__init__(message)
        self.server_error = server_error


class ProtocolViolation(WireError):
    """The server sent bytes that break protocol 3.0 (malformed, out of bounds or out of order).

    The connection is unusable afterwards: the stream cannot be trusted to be in sync.
    """


class MessageTooLong(WireError, ValueError):
    """An outgoing message would exceed the protocol's length limit; nothing was sent."""


class InterfaceMisuse(WireError):
    """The caller broke the driver's rules (e.g. a second operation while one is in flight)."""


class CopyWithoutSource(InterfaceMisuse):
    """The server started COPY FROM STDIN but the operation had no data to send; the COPY was failed."""


# Field codes of ErrorResponse / NoticeResponse (protocol-error-fields.html).
FIELD_NAMES: Mapping[str, str] = {
    "S": "severity",
    "V": "severity_nonlocalized",
    "C": "sqlstate",
    "M": "message_primary",
    "D": "message_detail",
    "H": "message_hint",
    "P": "statement_position",
    "p": "internal_position",
    "q": "internal_query",
    "W": "context",
    "s": "schema_name",
    "t": "table_name",
    "c": "column_name",
    "d": "datatype_name",
    "n": "constraint_name",
    "F": "source_file",
    "L": "source_line",
    "R": "source_function",
}


class ServerError(WireError):
    """An ErrorResponse from the server, with every field it carried (by one-letter code)."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = dict(fields)
        super().__init__(self.fields.get("M", "unknown server error"))

    @property
    def sqlstate(self) -> str | None:
        return self.fields.get("C")

    @property
    def severity(self) -> str | None:
        return self.fields.get("S")

    @property
    def message_primary(self) -> str | None:
        return self.fields.get("M")

    def libpq_message(self) -> str:
        """The text libpq's ``PQerrorMessage`` shows (default verbosity): what psycopg2 puts in pgerror."""
        lines = [f"{self.fields.get('S', 'ERROR')}:  {self.fields.get('M', '')}"]
        if "D" in self.fields:
            lines.append(f"DETAIL:  {self.fields['D']}")
        if "H" in self.fields:
            lines.append(f"HINT:  {self.fields['H']}")
        return "\n".join(lines) + "\n"


class QueryCanceled(ServerError):
    """The server cancelled the statement (SQLSTATE 57014): a CancelRequest or statement_timeout."""


def server_error(fields: Mapping[str, str]) -> ServerError:
    """The most specific :class:`ServerError` subclass for an ErrorResponse's fields."""
    if fields.get("C") == "57014":
        return QueryCanceled(fields)
    return ServerError(fields)
