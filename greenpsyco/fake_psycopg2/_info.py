"""``psycopg2.extensions.ConnectionInfo``: what libpq would say about a connection."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greenpsyco.green import GreenConnection
    from greenpsyco.wire.io_blocking import BlockingConnection

from greenpsyco.fake_psycopg2 import _exceptions as exc

_TX_STATUS = {"I": 0, "T": 2, "E": 3}


class ConnectionInfo:
    """Details of a connection (``connection.info``), read live from the session."""

    def __init__(self, connection: Any) -> None:
        self._conn = connection

    def _wire(self) -> BlockingConnection | GreenConnection | None:
        wire: BlockingConnection | GreenConnection | None = self._conn._wire
        if wire is None or self._conn.closed:
            return None
        return wire

    def _value(self, key: str) -> str | None:
        wire = self._wire()
        if wire is None:
            return None
        if key == "host":
            return str(wire.attempt.host or wire.attempt.hostaddr or "")
        if key == "port":
            return str(wire.attempt.port)
        if key == "password":
            return wire.attempt.password
        value = wire.params.values.get(key)
        if key == "dbname" and value is None:
            value = wire.params.startup.get("database")
        if key == "user" and value is None:
            value = wire.params.startup.get("user")
        return value

    @property
    def dbname(self) -> str | None:
        return self._value("dbname")

    @property
    def user(self) -> str | None:
        return self._value("user")

    @property
    def password(self) -> str | None:
        return self._value("password")

    @property
    def host(self) -> str | None:
        return self._value("host")

    @property
    def port(self) -> int | None:
        port = self._value("port")
        return int(port) if port else None

    @property
    def options(self) -> str | None:
        wire = self._wire()
        return None if wire is None else wire.params.values.get("options", "")

    @property
    def dsn_parameters(self) -> dict[str, str]:
        parameters: dict[str, str] = self._conn.get_dsn_parameters()
        return parameters

    @property
    def status(self) -> int:
        return 0 if self._wire() is not None else 1  # CONNECTION_OK / CONNECTION_BAD

    @property
    def transaction_status(self) -> int:
        wire = self._wire()
        return 4 if wire is None else _TX_STATUS.get(wire.state.transaction_status, 4)

    def parameter_status(self, name: str) -> str | None:
        wire = self._wire()
        return None if wire is None else wire.state.parameters.get(name)

    @property
    def protocol_version(self) -> int:
        return 3 if self._wire() is not None else 0

    @property
    def server_version(self) -> int:
        wire = self._wire()
        return 0 if wire is None else int(wire.state.server_version)

    @property
    def error_message(self) -> str | None:
        return None

    @property
    def socket(self) -> int:
        wire = self._wire()
        return -1 if wire is None else wire.fileno()

    @property
    def backend_pid(self) -> int:
        wire = self._wire()
        return 0 if wire is None else int(wire.state.backend_pid or 0)

    @property
    def needs_password(self) -> bool:
        return False

    @property
    def used_password(self) -> bool:
        wire = self._wire()
        return wire is not None and bool(wire.attempt.password)

    @property
    def ssl_in_use(self) -> bool:
        wire = self._wire()
        return wire is not None and wire.tls

    @property
    def ssl_attribute_names(self) -> list[str]:
        return ["library", "protocol", "key_bits", "cipher", "compression"]

    def ssl_attribute(self, name: str) -> str | None:
        wire = self._wire()
        sock = getattr(wire, "_sock", None)  # the blocking driver's socket; None in cooperative mode
        if not isinstance(sock, ssl.SSLSocket):
            return None
        cipher = sock.cipher()
        values = {
            "library": "OpenSSL",
            "protocol": sock.version(),
            "key_bits": str(cipher[2]) if cipher else None,
            "cipher": cipher[0] if cipher else None,
            "compression": "off",
        }
        return values.get(name)


ConnectionInfo.__module__ = "psycopg2.extensions"
__all__ = ["ConnectionInfo", "exc"]
