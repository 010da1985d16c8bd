"""A scripted, possibly hostile, PostgreSQL server for tests: it plays the server's side of the startup
(SSLRequest, optionally a TLS handshake with a chosen certificate), then runs a script per connection
that sends whatever bytes the test wants -- well-formed or absurd -- and records everything the client
sent, so a test can check what a client disclosed (a password) before it gave up.

It runs in a thread with blocking sockets, so any client can use it: psycopg2 (libpq, the oracle),
greenpsyco in blocking mode, or in cooperative mode from another process.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

SSL_REQUEST_CODE = 80877103
GSSENC_REQUEST_CODE = 80877104
PROTOCOL_3 = 196608
READ_TIMEOUT = 10.0


class ClientGone(Exception):
    """The client closed the connection (or sent nothing in time) while the script wanted more."""


@dataclass
class Session:
    """One client connection, as the script sees it."""

    sock: socket.socket
    received: bytearray = field(default_factory=bytearray)
    ssl_requested: bool = False
    tls: bool = False
    startup: dict[str, str] = field(default_factory=dict)

    def read_exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            try:
                chunk = self.sock.recv(size - len(data))
            except (OSError, TimeoutError) as exc:
                raise ClientGone(str(exc)) from exc
            if not chunk:
                raise ClientGone("the client closed the connection")
            data += chunk
        self.received += data
        return data

    def read_message(self) -> tuple[bytes, bytes]:
        """The client's next typed message: (type byte, body)."""
        header = self.read_exactly(5)
        (length,) = struct.unpack("!i", header[1:])
        return header[:1], self.read_exactly(length - 4)

    def send(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(data)

    def drain(self, timeout: float = 1.0) -> None:
        """Record what the client still sends, until it closes or ``timeout`` passes in silence."""
        self.sock.settimeout(timeout)
        with contextlib.suppress(OSError):
            while chunk := self.sock.recv(65536):
                self.received += chunk


Script = Callable[[Session], None]


class FakeServer:
    """Listens on 127.0.0.1; each connection runs ``script`` after the server's part of the startup.

    ``ssl_answer`` is the byte answered to an SSLRequest (``b"S"`` then a TLS handshake with
    ``tls_context``, ``b"N"`` to go on in plain text) followed by ``after_ssl_answer`` -- bytes a hostile
    server injects before the handshake (CVE-2021-23222). The StartupMessage is read before the script
    runs; its parameters are in :attr:`Session.startup`.
    """

    def __init__(
        self,
        script: Script,
        *,
        ssl_answer: bytes = b"N",
        tls_context: ssl.SSLContext | None = None,
        after_ssl_answer: bytes = b"",
    ) -> None:
        self.script = script
        self.ssl_answer = ssl_answer
        self.tls_context = tls_context
        self.after_ssl_answer = after_ssl_answer
        self.sessions: list[Session] = []
        self.errors: list[BaseException] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="fake-postgres")
        self._thread.start()

    def _serve(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stopped.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(sock,), daemon=True).start()

    def _handle(self, sock: socket.socket) -> None:
        sock.settimeout(READ_TIMEOUT)
        session = Session(sock)
        self.sessions.append(session)
        try:
            self._startup(session)
            self.script(session)
        except ClientGone:
            pass
        except Exception as exc:  # a broken script must fail the test, not vanish in a thread
            self.errors.append(exc)
        finally:
            with contextlib.suppress(OSError):
                session.sock.close()

    def _startup(self, session: Session) -> None:
        while True:
            (length,) = struct.unpack("!i", session.read_exactly(4))
            body = session.read_exactly(length - 4)
            (code,) = struct.unpack("!i", body[:4])
            if code in (SSL_REQUEST_CODE, GSSENC_REQUEST_CODE):
                session.ssl_requested = session.ssl_requested or code == SSL_REQUEST_CODE
                answer = self.ssl_answer if code == SSL_REQUEST_CODE else b"N"
                session.send(answer + self.after_ssl_answer)
                if answer == b"S" and code == SSL_REQUEST_CODE:
                    if self.tls_context is None:
                        raise ClientGone("answered S without a TLS context: the test ends here")
                    try:
                        session.sock = self.tls_context.wrap_socket(session.sock, server_side=True)
                    except (ssl.SSLError, OSError) as exc:
                        raise ClientGone(f"TLS handshake failed: {exc}") from exc
                    session.tls = True
                continue
            if code != PROTOCOL_3:
                raise ClientGone(f"unexpected startup code {code}")
            items = body[4:].split(b"\x00")
            session.startup = {
                items[i].decode(errors="replace"): items[i + 1].decode(errors="replace")
                for i in range(0, len(items) - 1, 2)
                if items[i]
            }
            return

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()
        self._thread.join(5)
        for session in self.sessions:
            with contextlib.suppress(OSError):
                session.sock.close()

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        if self.errors and exc is None:
            raise self.errors[0]


__all__ = ["ClientGone", "FakeServer", "Script", "Session"]
