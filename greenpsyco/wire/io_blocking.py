"""The blocking driver: runs the operation generators on a plain socket (TCP or Unix).

Used wherever no hub greenlet runs the reactor: manage.py, tests, other threads, forked children.
Ctrl-C during an operation sends a CancelRequest and lets the operation finish (the server answers with
the query-cancelled error, which is what the caller sees), so no query keeps running on the server.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import ssl
import struct
import threading
import time
from collections.abc import Generator, Mapping
from typing import Any, TypeVar

from greenpsyco.wire import messages as m
from greenpsyco.wire import ops, tls
from greenpsyco.wire.auth import AuthRequirements
from greenpsyco.wire.conninfo import ConnectParams, HostAttempt, parse_require_auth, resolve
from greenpsyco.wire.errors import (
    TLS_EOF_MESSAGE,
    TLS_RESET_MESSAGE,
    ConnectionFailure,
    ConnectionLost,
    InterfaceMisuse,
    ProtocolViolation,
    ServerError,
)
from greenpsyco.wire.messages import NotificationResponse, cancel_request, terminate
from greenpsyco.wire.protocol import ClientState

T = TypeVar("T")

RECV_SIZE = 1 << 16
_LENGTH = struct.Struct("!i").pack
CANCEL_TIMEOUT = 10.0


def auth_requirements(values: dict[str, str] | Any) -> AuthRequirements:
    """The client's authentication demands from resolved connection options."""
    text = values.get("require_auth", "") or ""
    methods, negated = parse_require_auth(text) if text else (frozenset(), False)
    return AuthRequirements(methods, negated, text, values.get("channel_binding", "prefer") or "prefer")


def apply_keepalives(sock: socket.socket, options: dict[str, str]) -> None:
    """libpq's TCP options on a connected socket: keepalives (on unless ``keepalives=0``) with their idle
    time, interval and count, and ``tcp_user_timeout`` (ms) -- what bounds a peer that died silently."""
    if options.get("keepalives", "1") != "0":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for key, option in (
            ("keepalives_idle", getattr(socket, "TCP_KEEPIDLE", None)),
            ("keepalives_interval", getattr(socket, "TCP_KEEPINTVL", None)),
            ("keepalives_count", getattr(socket, "TCP_KEEPCNT", None)),
        ):
            if options.get(key) and option is not None:
                sock.setsockopt(socket.IPPROTO_TCP, option, int(options[key]))
    user_timeout = getattr(socket, "TCP_USER_TIMEOUT", None)
    if options.get("tcp_user_timeout") and user_timeout is not None:
        sock.setsockopt(socket.IPPROTO_TCP, user_timeout, int(options["tcp_user_timeout"]))


def io_failure(exc: OSError, *, tls: bool, reading: bool) -> ConnectionLost:
    """What libpq 17 reports when a read or write on an established connection fails, as a
    :class:`ConnectionLost` with its words.

    A reset is "server closed the connection unexpectedly" (twice over TLS, where both libpq's socket
    and TLS layers report it); a TLS stream that ends without the server's close_notify is
    "SSL SYSCALL error: EOF detected" (the stream ending with it reads as end of data instead).
    Python's ssl module reports a reset after the handshake as an EOF as well (SSLEOFError: OpenSSL's
    alert about the EOF already drew the peer's reset), so over TLS a reset reads as that EOF here.
    """
    reset = exc.errno in (errno.ECONNRESET, errno.EPIPE)
    if not tls:
        if reset:
            return ConnectionLost(ops.LOST_MESSAGE)
        action = "receive data from" if reading else "send data to"
        return ConnectionLost(f"could not {action} server: {_strerror(exc)}")
    if reset:
        return ConnectionLost(TLS_RESET_MESSAGE)
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)) or (
        isinstance(exc, ssl.SSLSyscallError) and not exc.errno
    ):
        return ConnectionLost(TLS_EOF_MESSAGE)
    if isinstance(exc, ssl.SSLError):
        return ConnectionLost(f"SSL error: {exc.reason or exc.strerror or exc}")
    return ConnectionLost(f"SSL SYSCALL error: {_strerror(exc)}")


def _strerror(exc: OSError) -> str:
    return exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc))


def _unix_address(path: str) -> str:
    return "\0" + path[1:] if path.startswith("@") else path


class _Deadline:
    def __init__(self, timeout: float | None) -> None:
        self.at = None if timeout is None else time.monotonic() + timeout

    def remaining(self) -> float | None:
        if self.at is None:
            return None
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError("timeout expired")
        return left


def open_socket(
    attempt: HostAttempt, timeout: float | None, options: dict[str, str]
) -> tuple[socket.socket, str]:
    """Connect to one host (each of its addresses in turn); return the socket and the peer address."""
    deadline = _Deadline(timeout)
    if attempt.unix_socket is not None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(deadline.remaining())
            sock.connect(_unix_address(attempt.unix_socket))
        except BaseException:
            sock.close()
            raise
        return sock, attempt.unix_socket
    host = attempt.hostaddr or attempt.host
    last_error: OSError = OSError("no address")
    for family, kind, proto, _, address in socket.getaddrinfo(host, attempt.port, type=socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(deadline.remaining())
            sock.connect(address)
        except TimeoutError:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            last_error = exc
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        apply_keepalives(sock, options)
        return sock, str(address[0])
    raise last_error


def send_cancel(
    address: tuple[int, Any], process_id: int, secret_key: int, timeout: float = CANCEL_TIMEOUT
) -> None:
    """CancelRequest on its own connection; returns once the server has closed it (request processed)."""
    family, target = address
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(target)
        sock.sendall(cancel_request(process_id, secret_key))
        while sock.recv(64):
            pass


class BlockingConnection:
    """A protocol session on a blocking socket.

    One operation at a time (a second thread entering while one runs gets :class:`InterfaceMisuse`);
    :meth:`cancel` may be called from any thread.
    """

    def __init__(self, sock: socket.socket, connected: ops.Connected, params: ConnectParams) -> None:
        self._sock: socket.socket | None = sock
        self.state: ClientState = connected.state
        self.attempt = connected.attempt
        self.params = params
        self._cancel_address = self._address_of(sock)
        self._busy = threading.Lock()
        self._runner = _Runner(sock, self._on_interrupt)
        self.tls = isinstance(sock, ssl.SSLSocket)
        self.broken = False

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def connect(
        cls, conninfo: str = "", *, environ: Mapping[str, str] | None = None, **kwargs: Any
    ) -> BlockingConnection:
        """Connect as libpq would with this conninfo and keywords (``environ`` replaces os.environ)."""
        params = resolve(conninfo, environ=environ, **kwargs)
        return cls.connect_params(params)

    @classmethod
    def connect_params(cls, params: ConnectParams) -> BlockingConnection:
        settings = tls.TLSSettings.from_params(params.values)
        requirements = auth_requirements(params.values)
        runner = _Runner(None)
        try:
            connected = runner.run(ops.connect(params, settings, requirements))
        except BaseException:
            runner.close()
            raise
        assert runner.sock is not None
        runner.sock.settimeout(None)
        return cls(runner.sock, connected, params)

    @staticmethod
    def _address_of(sock: socket.socket) -> tuple[int, Any]:
        """Where CancelRequests go: the same server address, on a connection of their own."""
        return sock.family, sock.getpeername()

    # -- operations ---------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._sock is None

    def fileno(self) -> int:
        """The socket's file descriptor (-1 once closed)."""
        return -1 if self._sock is None else self._sock.fileno()

    def run(self, op: Generator[ops.Request, bytes | str | None, T]) -> T:
        """Drive one operation to its end; Ctrl-C cancels the server-side query first."""
        if self._sock is None:
            raise InterfaceMisuse("connection already closed")
        if not self._busy.acquire(blocking=False):
            op.close()
            raise InterfaceMisuse("another operation is in progress on this connection")
        runner = self._runner
        try:
            return runner.run(op)
        except BaseException as exc:
            self._after_failure(exc, runner.clean)
            raise
        finally:
            self._busy.release()

    def _after_failure(self, exc: BaseException, clean: bool) -> None:
        """What an operation's failure means for the session (:meth:`run` and :meth:`query`): Ctrl-C
        before the session was back at ReadyForQuery, a lost connection or a protocol violation mark it
        broken; an OSError not from the session's own I/O (a cancel's, say) is raised as libpq words it.
        The caller re-raises ``exc`` when this returns."""
        if isinstance(exc, KeyboardInterrupt):
            if not clean:
                self._mark_broken()
        elif isinstance(exc, (ConnectionLost, OSError)):
            self._mark_broken()
            if isinstance(exc, OSError):
                raise io_failure(exc, tls=self.tls, reading=True) from exc
        elif isinstance(exc, ProtocolViolation):
            self._mark_broken()

    def query(self, sql: bytes) -> list[ops.QueryResult]:
        """``run(ops.simple_query(state, sql))``, the usual round trip fused.

        One ``sendall``, one ``recv`` that holds the whole usual response, parsed by
        :func:`ops.quick_results`: no generator. Anything else continues in :func:`ops.query_results`
        under the runner, from the bytes already received, with the same handling of failures and
        Ctrl-C as :meth:`run`.
        """
        runner = self._runner
        sock = runner.sock
        if self._sock is None or sock is None:
            raise InterfaceMisuse("connection already closed")
        if not self._busy.acquire(blocking=False):
            raise InterfaceMisuse("another operation is in progress on this connection")
        state = self.state
        try:
            if b"\x00" in sql or len(sql) >= m.MAX_MESSAGE_BODY:  # read live: tests lower the limit
                message = m.query(sql)  # which refuses it, before anything is sent
            else:
                message = b"Q" + _LENGTH(len(sql) + 5) + sql + b"\x00"
            runner.clean = False
            try:
                sock.sendall(message)
            except OSError as exc:
                raise io_failure(exc, tls=self.tls, reading=False) from None
            try:
                data = sock.recv(RECV_SIZE)
            except KeyboardInterrupt as exc:
                if runner._on_interrupt is None:
                    raise
                runner._on_interrupt()
                data = sock.recv(RECV_SIZE)  # the server answers the cancel on this stream
                if data:
                    state.receive(data)
                return runner.run(ops.query_results(state), exc)
            except OSError as exc:
                raise io_failure(exc, tls=self.tls, reading=True) from None
            if not data:
                if not state.framer.buffered:
                    raise ops.connection_lost()
                return runner.run(ops.query_results(state))
            framer = state.framer
            if framer._pos >= len(framer._buffer) and not framer._chunks:  # Framer.feed, in short
                framer._buffer = data
                framer._pos = 0
            else:
                framer.feed(data)
            results, current, done = ops.quick_results(state)
            if done:
                runner.clean = True
                return results
            return runner.run(ops.query_results(state, results, current))
        except BaseException as exc:
            self._after_failure(exc, runner.clean)
            raise
        finally:
            self._busy.release()

    def execute(self, sql: bytes | str) -> list[ops.QueryResult]:
        data = sql.encode(self.state.encoding) if isinstance(sql, str) else sql
        return self.query(data)

    def cancel(self, timeout: float = CANCEL_TIMEOUT) -> None:
        """Ask the server to cancel the running statement (safe from any thread)."""
        if self.state.backend_pid is None or self.state.backend_secret is None:
            raise InterfaceMisuse("the server sent no cancellation key")
        send_cancel(self._cancel_address, self.state.backend_pid, self.state.backend_secret, timeout)

    def _on_interrupt(self) -> None:
        self.cancel()

    def poll(self, timeout: float | None = 0.0) -> None:
        """Read what the server sent while idle (notifications, notices, parameter changes)."""
        sock = self._sock
        if sock is None:
            raise InterfaceMisuse("connection already closed")
        try:
            pending = isinstance(sock, ssl.SSLSocket) and sock.pending()
            if pending or select.select([sock], [], [], timeout)[0]:
                sock.settimeout(0.0)
                try:
                    while True:
                        try:
                            data = sock.recv(RECV_SIZE)
                        except (BlockingIOError, ssl.SSLWantReadError):
                            raise
                        except OSError as exc:
                            raise io_failure(exc, tls=isinstance(sock, ssl.SSLSocket), reading=True) from exc
                        if not data:
                            self._mark_broken()
                            ops.process_idle(self.state)
                            raise ConnectionLost(ops.LOST_MESSAGE)
                        self.state.receive(data)
                except (BlockingIOError, ssl.SSLWantReadError):
                    pass
                finally:
                    if self._sock is not None:
                        self._sock.settimeout(None)
            ops.process_idle(self.state)
        except ConnectionLost:
            self._mark_broken()
            raise

    def wait_notification(self, timeout: float | None = None) -> NotificationResponse | None:
        """The next NOTIFY for a LISTENed channel, waiting up to ``timeout`` seconds."""
        deadline = _Deadline(timeout)
        while not self.state.notifications:
            try:
                left = deadline.remaining()
            except TimeoutError:
                return None
            self.poll(left)
        return self.state.notifications.popleft()

    def close(self) -> None:
        """Send Terminate (best effort) and close the socket."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        try:
            if not self.broken:
                sock.sendall(terminate())
        except OSError:
            pass
        finally:
            sock.close()

    def _mark_broken(self) -> None:
        self.broken = True
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def __enter__(self) -> BlockingConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Runner:
    """Executes the requests of one operation generator on one socket."""

    def __init__(self, sock: socket.socket | None, on_interrupt: Any = None) -> None:
        self.sock = sock
        self._on_interrupt = on_interrupt
        self._deadline = _Deadline(None)
        self.clean = False

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def run(
        self, op: Generator[ops.Request, bytes | str | None, T], interrupted: KeyboardInterrupt | None = None
    ) -> T:
        """Perform the operation's requests until it returns.

        Failures of I/O are thrown into the operation (a connect moves on to the next host; a query
        lets them propagate). Ctrl-C while waiting for the server cancels the statement and keeps
        reading; it is re-raised once the operation has finished and the stream is in sync. Ctrl-C at
        any other point leaves the stream unusable: :attr:`clean` stays False. ``interrupted`` is a
        Ctrl-C that already cancelled the statement (in :meth:`query`).
        """
        answer: bytes | str | None = None
        failure: BaseException | None = None
        self.clean = False
        while True:
            try:
                request = op.throw(failure) if failure is not None else op.send(answer)
            except StopIteration as stop:
                self.clean = True
                if interrupted is not None:
                    raise interrupted from None
                return stop.value  # type: ignore[no-any-return]
            except ServerError as exc:
                self.clean = True  # raised after ReadyForQuery: the stream is in sync
                if interrupted is not None:
                    raise interrupted from exc
                raise
            failure = None
            answer = None
            try:
                sock = self.sock if self._deadline.at is None else None
                if sock is not None and request is ops.READ:  # the usual requests, in short
                    answer = sock.recv(RECV_SIZE)
                elif sock is not None and type(request) is bytes:
                    sock.sendall(request)
                else:
                    answer = self._perform(request)
            except KeyboardInterrupt as exc:
                if interrupted is not None or self._on_interrupt is None or request is not ops.READ:
                    op.close()
                    raise
                interrupted = exc
                self._on_interrupt()
                answer = self._perform(request)  # the server answers the cancel on this stream
            except ConnectionFailure as exc:
                failure = exc
            except OSError as exc:
                deadline = isinstance(exc, TimeoutError) and exc.errno is None  # connect_timeout's
                if (request is ops.READ or isinstance(request, bytes)) and not deadline:
                    tls_in_use = isinstance(self.sock, ssl.SSLSocket)
                    failure = io_failure(exc, tls=tls_in_use, reading=request is ops.READ)
                else:
                    failure = exc

    def _perform(self, request: ops.Request) -> bytes | str | None:
        if self._deadline.at is None and self.sock is not None:  # the common case, kept short
            if request is ops.READ:
                return self.sock.recv(RECV_SIZE)
            if type(request) is bytes:
                self.sock.sendall(request)
                return None
        if request is ops.READ:
            return self._recv()
        if isinstance(request, bytes):
            self._send(request)
            return None
        if isinstance(request, ops.OpenConnection):
            self.close()
            self._deadline = _Deadline(request.timeout)
            self.sock, peer = open_socket(request.attempt, request.timeout, request.keepalives)
            return peer
        if isinstance(request, ops.StartTLS):
            self._start_tls(request)
            return None
        if request is ops.PEER_CERTIFICATE:
            if isinstance(self.sock, ssl.SSLSocket):
                return tls.peer_certificate_der_stdlib(self.sock)
            return None
        raise AssertionError(f"unknown request {request!r}")

    def _recv(self) -> bytes:
        sock = self.sock
        assert sock is not None
        remaining = self._deadline.remaining()
        if remaining is not None:
            sock.settimeout(remaining)
        return sock.recv(RECV_SIZE)

    def _send(self, data: bytes) -> None:
        sock = self.sock
        assert sock is not None
        remaining = self._deadline.remaining()
        if remaining is not None:
            sock.settimeout(remaining)
        sock.sendall(data)

    def _start_tls(self, request: ops.StartTLS) -> None:
        sock, self.sock = self.sock, None  # stdlib_handshake closes it on failure
        assert sock is not None
        self.sock = tls.stdlib_handshake(sock, request.settings, request.host, request.hostaddr)
