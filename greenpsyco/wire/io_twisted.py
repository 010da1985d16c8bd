"""The Twisted driver: runs the same operation generators on Twisted transports, results as Deferreds.

Every method here must be called in the reactor thread. An operation advances inside ``dataReceived``
(or the connect/TLS callbacks) until it asks to READ again; what arrives while no operation runs
(notifications, notices, parameter changes, a FATAL error before the server hangs up) is absorbed
into the session state.
"""

from __future__ import annotations

import os
import socket
import types
from collections.abc import Callable, Generator, Mapping
from typing import Any, TypeVar

from OpenSSL import SSL, crypto
from twisted.internet import defer, error, protocol
from twisted.internet import tcp as twisted_tcp
from twisted.internet.interfaces import IHandshakeListener, IPushProducer
from twisted.python.failure import Failure
from zope.interface import implementer

from greenpsyco.wire import fastpath, ops, tls
from greenpsyco.wire import messages as m
from greenpsyco.wire.conninfo import ConnectParams, HostAttempt, resolve
from greenpsyco.wire.errors import (
    TLS_EOF_MESSAGE,
    TLS_RESET_MESSAGE,
    ConnectionFailure,
    ConnectionLost,
    InterfaceMisuse,
    ProtocolViolation,
    TLSHandshakeFailure,
    WireError,
)
from greenpsyco.wire.io_blocking import apply_keepalives, auth_requirements
from greenpsyco.wire.messages import cancel_request, terminate
from greenpsyco.wire.protocol import ClientState

T = TypeVar("T")


def _default_reactor() -> Any:
    from twisted.internet import reactor

    return reactor


@implementer(IHandshakeListener)
class _Transport(protocol.Protocol):
    """Forwards one TCP/Unix connection's events to the :class:`_Pump` that owns it.

    Under TLS it also notes when the handshake completed and why the TCP connection underneath ended
    (Twisted's TLS layer reports a reset and a FIN without close_notify alike; libpq does not).
    """

    def __init__(self, pump: _Pump) -> None:
        self.pump = pump
        self.lost = False
        self.handshake_done = False
        self.tcp_reason: Failure | None = None
        self.fastpath: tuple[Any, int] | None = None  # (selectable, fd) registered with fastpath

    def handshakeCompleted(self) -> None:
        self.handshake_done = True

    def watch_tcp_end(self) -> None:
        """After ``startTLS``: record the reason the TCP layer gives the TLS layer when it ends."""
        tls_layer = getattr(self.transport, "protocol", None)
        original = getattr(tls_layer, "connectionLost", None)
        if tls_layer is None or original is None:
            return

        def connection_lost(reason: Failure) -> None:
            self.tcp_reason = reason
            original(reason)

        tls_layer.connectionLost = connection_lost

    @property
    def raw(self) -> Any:
        """The Twisted transport (TCP, Unix or TLS), untyped: zope interfaces defeat mypy here."""
        return self.transport

    def connectionMade(self) -> None:
        fd = fastpath.register(self.transport)
        self.fastpath = (self.transport, fd) if fd >= 0 else None
        self.pump.connection_made(self)

    def dataReceived(self, data: bytes) -> None:
        self.pump.data_received(self, data)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.lost = True
        if self.fastpath is not None:
            fastpath.unregister(*self.fastpath)
            self.fastpath = None
        self.pump.connection_lost(self, reason)


class _Factory(protocol.ClientFactory):
    def __init__(self, pump: _Pump, connected: defer.Deferred[_Transport]) -> None:
        self.pump = pump
        self.connected = connected

    def buildProtocol(self, addr: Any) -> _Transport:
        transport = _Transport(self.pump)
        self.pump.pending = transport
        return transport

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        if not self.connected.called:
            self.connected.errback(reason)


def _as_os_error(reason: Failure) -> OSError:
    value = reason.value
    if isinstance(value, OSError):
        return value
    if isinstance(value, error.ConnectionRefusedError):
        return ConnectionRefusedError(111, "Connection refused")
    if isinstance(value, error.TimeoutError):
        return TimeoutError("timeout expired")
    if isinstance(value, error.DNSLookupError):
        return OSError(f"could not translate host name to address: {value}")
    if isinstance(value, error.ConnectError):
        if isinstance(value.osError, OSError):
            return value.osError
        if isinstance(value.osError, int):
            return OSError(value.osError, os.strerror(value.osError))
    return OSError(str(value))


@implementer(IPushProducer)
class _Pump:
    """Advances one operation generator at a time over the connection's current transport.

    It is also the transport's push producer: when the transport's send buffer fills (a COPY FROM
    STDIN faster than the network), the operation stops being advanced until Twisted resumes it, so
    client memory stays bounded.
    """

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor
        self.transport: _Transport | None = None
        self.pending: _Transport | None = None
        self.state: ClientState | None = None
        self.op: Generator[ops.Request, bytes | str | None, Any] | None = None
        self.result: defer.Deferred[Any] | None = None
        self.notify: Callable[[Any, BaseException | None], object] | None = None
        self.direct: socket.socket | None = None  # the plain socket, written to directly when idle
        self.waiting_read = False
        self.deadline: Any = None  # an IDelayedCall
        self.peer: tuple[int, Any] | None = None
        self.broken = False
        self.on_broken: Callable[[BaseException], None] | None = None
        self.paused = False
        self.blocked_on_write = False
        self.inbox: list[bytes] = []  # bytes that arrived while the operation was not reading
        self.ended = False  # the current transport's stream has ended
        self.loss: BaseException | None = None  # why, when it was a TLS failure
        self.tls_settings: tls.TLSSettings | None = None
        self.tls_active = False
        self.socket_fd = -1
        self.idle_loss = ops.LOST_MESSAGE  # how the stream ended while no operation ran
        self.quick = False  # a query was sent and ``op`` (ops.query_results, not started) awaits its answer

    # -- IPushProducer: back-pressure from the transport ---------------------------------------

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        if self.blocked_on_write and self.op is not None:
            self.blocked_on_write = False
            self.advance(None)

    def stopProducing(self) -> None:
        self.paused = True

    # -- running operations ---------------------------------------------------------------------

    def start_direct(
        self,
        op: Generator[ops.Request, bytes | str | None, T],
        notify: Callable[[Any, BaseException | None], object],
    ) -> None:
        """Run ``op``; ``notify(result, None)`` or ``notify(None, error)`` when it ends (maybe at once).

        The lean form of :meth:`start` for the hub's request greenlets: no Deferred per operation.
        """
        if self.op is not None:
            op.close()
            notify(None, InterfaceMisuse("another operation is in progress on this connection"))
            return
        if self.broken:
            op.close()
            notify(None, ConnectionLost(self.idle_loss))
            return
        self.op = op
        self.notify = notify
        self.advance(None)

    def start_query(self, sql: bytes, notify: Callable[[Any, BaseException | None], object]) -> None:
        """:meth:`start_direct` of ``ops.simple_query(state, sql)``, with the usual answer read by
        :func:`ops.quick_results` when it arrives: no generator runs unless the answer is unusual."""
        transport = self.transport
        state = self.state
        if (
            self.op is not None
            or self.broken
            or transport is None
            or transport.lost
            or self.inbox
            or self.ended
            or state is None
        ):
            self.start_direct(ops.simple_query(state or ClientState(), sql), notify)
            return
        try:
            message = m.query(sql)
        except Exception as exc:
            notify(None, exc)
            return
        self.op = ops.query_results(state)
        self.notify = notify
        self.quick = True
        self.waiting_read = True
        self._write(transport.raw, message)

    def start(self, op: Generator[ops.Request, bytes | str | None, T]) -> defer.Deferred[T]:
        if self.op is not None:
            op.close()
            return defer.fail(InterfaceMisuse("another operation is in progress on this connection"))
        if self.broken:
            op.close()
            # What libpq says when the server went away while the session was idle.
            return defer.fail(ConnectionLost(self.idle_loss))
        self.op = op
        self.result = defer.Deferred()
        result = self.result
        self.advance(None)
        return result

    def advance(self, answer: bytes | str | None, failure: BaseException | None = None) -> None:
        """Feed the operation until it must wait (READ or a connection), or it finishes."""
        op = self.op
        assert op is not None
        if self.quick:  # the answer to a query sent by start_query
            self.quick = False
            try:
                if answer and failure is None:
                    state = self.state
                    assert state is not None
                    assert isinstance(answer, bytes)
                    state.receive(answer)
                    results, current, done = ops.quick_results(state)
                    if done:
                        self._finish(results, None)
                        return
                    op = self.op = ops.query_results(state, results, current)  # not started: sent None
                    answer = None
                else:
                    next(op)  # to its first READ, which gets ``answer`` or ``failure`` below
            except StopIteration as stop:
                self._finish(stop.value, None)
                return
            except BaseException as exc:
                self._finish(None, exc)
                return
        while True:
            try:
                request = op.throw(failure) if failure is not None else op.send(answer)
            except StopIteration as stop:
                self._finish(stop.value, None)
                return
            except BaseException as exc:  # the operation failed: report it, keep the reactor alive
                self._finish(None, exc)
                return
            failure = None
            answer = None
            if isinstance(request, bytes):
                if self.transport is None or self.transport.lost:
                    failure = ConnectionLost(ops.LOST_MESSAGE)
                else:
                    self._write(self.transport.raw, request)
                    if self.paused:
                        self.blocked_on_write = True
                        return
            elif request is ops.READ:
                if self.inbox:
                    answer = b"".join(self.inbox)
                    self.inbox.clear()
                    continue
                if self.ended:
                    if self.loss is not None:
                        failure = self.loss
                    else:
                        answer = b""
                    continue
                self.waiting_read = True
                return
            elif isinstance(request, ops.OpenConnection):
                self._open(request)
                return
            elif isinstance(request, ops.StartTLS):
                try:
                    creator = tls.twisted_creator(request.settings, request.host, request.hostaddr)
                    self.tls_settings = request.settings
                    self.tls_active = True
                    assert self.transport is not None
                    self.transport.raw.startTLS(creator)
                    self.transport.watch_tcp_end()
                except Exception as exc:
                    failure = exc
            elif request is ops.PEER_CERTIFICATE:
                answer = self._peer_certificate()
            else:  # pragma: no cover - every request kind is handled above
                failure = AssertionError(f"unknown request {request!r}")

    def _write(self, raw: Any, data: bytes) -> None:
        """Send at once what the socket takes when nothing is queued (a query is usually all of it);
        Twisted's buffered write would wait a reactor turn (and two epoll changes) to send it."""
        sock = self.direct
        if (
            sock is not None
            and not self.tls_active
            and not raw.dataBuffer
            and not raw._tempDataBuffer
            and raw.connected
            and not raw.disconnecting
        ):
            try:
                sent = sock.send(data)
            except OSError:  # EAGAIN, or an error Twisted reports when it writes the rest
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
        raw.write(data)

    def _finish(self, value: Any, failure: BaseException | None) -> None:
        notify, self.notify = self.notify, None
        self.quick = False
        result, self.result, self.op = self.result, None, None
        self.waiting_read = False
        self.blocked_on_write = False
        if self.deadline is not None and self.deadline.active():
            self.deadline.cancel()
        self.deadline = None
        if isinstance(failure, (ConnectionLost, ProtocolViolation, OSError)) and self.state is not None:
            self.mark_broken(failure)
        if notify is not None:
            notify(value, failure)
            return
        assert result is not None
        if failure is not None:
            result.errback(failure)
        else:
            result.callback(value)

    def abandon(self, exc: BaseException) -> None:
        """End the operation in flight (if any) with ``exc``: its transport is gone or given up on."""
        op = self.op
        if op is None:
            return
        op.close()
        self._finish(None, exc)

    def _peer_certificate(self) -> bytes | None:
        assert self.transport is not None
        transport = self.transport.raw
        getter = getattr(transport, "getPeerCertificate", None)
        certificate = getter() if getter is not None else None
        if certificate is None:
            return None
        return bytes(crypto.dump_certificate(crypto.FILETYPE_ASN1, certificate))

    # -- connections ----------------------------------------------------------------------------

    def _open(self, request: ops.OpenConnection) -> None:
        self._drop_transport()
        self.direct = None
        self.inbox.clear()
        self.ended = False
        self.loss = None
        self.tls_settings = None
        self.tls_active = False
        attempt: HostAttempt = request.attempt
        connected: defer.Deferred[_Transport] = defer.Deferred()
        factory = _Factory(self, connected)
        timeout = request.timeout if request.timeout is not None else 30
        if attempt.unix_socket is not None:
            path = attempt.unix_socket
            address: Any = "\0" + path[1:] if path.startswith("@") else path
            connector = self.reactor.connectUNIX(address, factory, timeout=timeout)
        else:
            connector = self.reactor.connectTCP(
                attempt.hostaddr or attempt.host, attempt.port, factory, timeout=timeout
            )
        if self.deadline is not None and self.deadline.active():
            self.deadline.cancel()
        self.deadline = None
        if request.timeout is not None:
            self.deadline = self.reactor.callLater(request.timeout, self._deadline_passed, connector)
        self._connecting = connected

        def on_connected(transport: _Transport) -> None:
            self.transport = transport
            peer = transport.raw.getPeer()
            host = getattr(peer, "host", None)
            if attempt.unix_socket is not None:
                self.peer = (socket.AF_UNIX, address)
            else:
                family = socket.AF_INET6 if host and ":" in host else socket.AF_INET
                self.peer = (family, (host, getattr(peer, "port", attempt.port)))
            tcp = transport.raw
            self.socket_fd = tcp.fileno() if hasattr(tcp, "fileno") else -1
            handle = tcp.getHandle() if hasattr(tcp, "getHandle") else None
            direct = isinstance(handle, socket.socket) and hasattr(tcp, "_tempDataBuffer")
            self.direct = handle if direct else None
            if direct and attempt.unix_socket is not None and isinstance(tcp, twisted_tcp.Connection):
                # PostgreSQL passes no file descriptors: a plain recv, not Twisted's recvmsg wrapper.
                setattr(tcp, "doRead", types.MethodType(twisted_tcp.Connection.doRead, tcp))  # noqa: B010
            if attempt.unix_socket is None and hasattr(tcp, "setTcpNoDelay"):
                tcp.setTcpNoDelay(True)
                if isinstance(handle, socket.socket):
                    apply_keepalives(handle, request.keepalives)  # as the blocking driver does
                elif request.keepalives.get("keepalives", "1") != "0":
                    tcp.setTcpKeepAlive(True)
            self.advance(host if attempt.unix_socket is None else attempt.unix_socket)

        def on_failed(reason: Failure) -> None:
            if self.op is not None:
                self.advance(None, _as_os_error(reason))

        connected.addCallbacks(on_connected, on_failed)

    def _deadline_passed(self, connector: Any) -> None:
        self.deadline = None
        transport, self.transport = self.transport, None
        connector.stopConnecting() if connector.state == "connecting" else None
        if transport is not None and not transport.lost:
            transport.pump = _Detached()  # type: ignore[assignment]
            transport.raw.abortConnection()
        if self.op is not None:
            self.waiting_read = False
            self.advance(None, TimeoutError("timeout expired"))

    def _drop_transport(self) -> None:
        transport, self.transport = self.transport, None
        if transport is not None and not transport.lost:
            transport.pump = _Detached()  # type: ignore[assignment]
            transport.raw.loseConnection()

    def connection_made(self, transport: _Transport) -> None:
        connected = getattr(self, "_connecting", None)
        if connected is not None and not connected.called:
            connected.callback(transport)

    def data_received(self, transport: _Transport, data: bytes) -> None:
        if transport is not self.transport:
            return
        if self.op is not None:
            if self.waiting_read:
                self.waiting_read = False
                self.advance(data)
            else:
                self.inbox.append(data)
            return
        if self.state is not None:
            self.state.receive(data)
            try:
                ops.process_idle(self.state)
            except WireError as exc:
                self.mark_broken(exc)

    def connection_lost(self, transport: _Transport, reason: Failure) -> None:
        if transport is not self.transport:
            return
        if self.op is None:
            if self.state is not None:
                loss = self._tls_loss(transport, reason)
                if isinstance(loss, ConnectionLost):
                    self.idle_loss = str(loss)
                self.mark_broken(ConnectionLost(self.idle_loss))
            return
        # The operation sees the end of the stream (b"") when it next reads: its own error then says
        # what the server said before closing, if anything.
        self.ended = True
        self.loss = self._tls_loss(transport, reason)
        if self.waiting_read or self.blocked_on_write:
            self.waiting_read = self.blocked_on_write = False
            if self.loss is not None:
                self.advance(None, self.loss)
            else:
                self.advance(b"")

    def _tls_loss(self, transport: _Transport, reason: Failure) -> BaseException | None:
        """Why a TLS connection ended, in libpq's words; None for a clean end (close_notify, or no TLS).

        A failed handshake or verification keeps its own message. Otherwise the handshake state and the
        TCP layer's reason tell a reset from a FIN that came without the server's close_notify.
        """
        value = reason.value
        if isinstance(value, ConnectionFailure):
            return value
        if self.tls_settings is None:
            return None
        if isinstance(value, SSL.Error):
            failure = tls.handshake_failure(value, self.tls_settings)
            return ConnectionLost(str(failure)) if transport.handshake_done else failure
        tcp = transport.tcp_reason
        reset = tcp is not None and not isinstance(tcp.value, error.ConnectionDone)
        if not transport.handshake_done:
            return tls.handshake_reset() if reset else TLSHandshakeFailure(TLS_EOF_MESSAGE)
        if isinstance(value, error.ConnectionDone):
            return None
        return ConnectionLost(TLS_RESET_MESSAGE if reset else TLS_EOF_MESSAGE)

    def mark_broken(self, exc: BaseException) -> None:
        if self.broken:
            return
        self.broken = True
        self._drop_transport()
        if self.on_broken is not None:
            self.on_broken(exc)


class _Detached:
    """Receives the events of a transport its pump has given up on."""

    def connection_made(self, transport: _Transport) -> None:
        pass

    def data_received(self, transport: _Transport, data: bytes) -> None:
        pass

    def connection_lost(self, transport: _Transport, reason: Failure) -> None:
        pass


class _CancelProtocol(protocol.Protocol):
    def __init__(self, message: bytes, done: defer.Deferred[None]) -> None:
        self.message = message
        self.done = done

    def connectionMade(self) -> None:
        self.transport.write(self.message)  # type: ignore[union-attr,call-arg,misc]

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        if not self.done.called:
            self.done.callback(None)


class TwistedConnection:
    """A protocol session driven by the Twisted reactor. Call everything from the reactor thread."""

    def __init__(self, pump: _Pump, connected: ops.Connected, params: ConnectParams) -> None:
        self._pump = pump
        self.state = connected.state
        self.attempt = connected.attempt
        self.params = params
        pump.state = connected.state
        if pump.transport is not None:
            pump.transport.raw.registerProducer(pump, True)

    @classmethod
    def connect(
        cls,
        conninfo: str = "",
        *,
        reactor: Any = None,
        environ: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> defer.Deferred[TwistedConnection]:
        """Connect as libpq would; the Deferred fires with the connection once it is ready for queries."""
        try:
            params = resolve(conninfo, environ=environ, **kwargs)
        except WireError as exc:
            return defer.fail(exc)
        return cls.connect_params(params, reactor=reactor)

    @classmethod
    def connect_params(
        cls, params: ConnectParams, *, reactor: Any = None
    ) -> defer.Deferred[TwistedConnection]:
        pump = _Pump(reactor or _default_reactor())
        try:
            settings = tls.TLSSettings.from_params(params.values)
            requirements = auth_requirements(params.values)
        except WireError as exc:
            return defer.fail(exc)

        def connected(outcome: ops.Connected) -> TwistedConnection:
            return cls(pump, outcome, params)

        def failed(reason: Failure) -> Failure:
            pump._drop_transport()
            return reason

        return pump.start(ops.connect(params, settings, requirements)).addCallbacks(connected, failed)

    @property
    def closed(self) -> bool:
        return self._pump.transport is None

    @property
    def broken(self) -> bool:
        return self._pump.broken

    @property
    def tls(self) -> bool:
        """Whether the session runs over TLS."""
        return self._pump.tls_active

    def fileno(self) -> int:
        """The socket's file descriptor (-1 once closed)."""
        return self._pump.socket_fd if self._pump.transport is not None else -1

    @property
    def busy(self) -> bool:
        return self._pump.op is not None

    def set_broken_callback(self, callback: Callable[[BaseException], None] | None) -> None:
        self._pump.on_broken = callback

    def run(self, op: Generator[ops.Request, bytes | str | None, T]) -> defer.Deferred[T]:
        if self._pump.transport is None and not self._pump.broken:
            op.close()
            return defer.fail(InterfaceMisuse("connection already closed"))
        return self._pump.start(op)

    def run_direct(
        self,
        op: Generator[ops.Request, bytes | str | None, Any],
        notify: Callable[[Any, BaseException | None], object],
    ) -> None:
        """:meth:`run` without a Deferred: ``notify(result, error)`` when ``op`` ends (maybe at once)."""
        if self._pump.transport is None and not self._pump.broken:
            op.close()
            notify(None, InterfaceMisuse("connection already closed"))
            return
        self._pump.start_direct(op, notify)

    def query_direct(self, sql: bytes, notify: Callable[[Any, BaseException | None], object]) -> None:
        """:meth:`run_direct` of ``ops.simple_query(state, sql)``, the usual answer read without a
        generator."""
        if self._pump.transport is None and not self._pump.broken:
            notify(None, InterfaceMisuse("connection already closed"))
            return
        self._pump.start_query(sql, notify)

    def execute(self, sql: bytes | str) -> defer.Deferred[list[ops.QueryResult]]:
        data = sql.encode(self.state.encoding) if isinstance(sql, str) else sql
        return self.run(ops.simple_query(self.state, data))

    def cancel(self) -> defer.Deferred[None]:
        """CancelRequest on a connection of its own; fires once the server has closed it."""
        pump = self._pump
        if pump.peer is None or self.state.backend_pid is None or self.state.backend_secret is None:
            return defer.fail(InterfaceMisuse("no cancellation key or peer address"))
        done: defer.Deferred[None] = defer.Deferred()
        message = cancel_request(self.state.backend_pid, self.state.backend_secret)
        factory = protocol.ClientFactory.forProtocol(lambda: _CancelProtocol(message, done))
        family, address = pump.peer
        if family == socket.AF_UNIX:
            pump.reactor.connectUNIX(address, factory, timeout=10)
        else:
            pump.reactor.connectTCP(address[0], address[1], factory, timeout=10)
        return done

    def close(self) -> None:
        """Send Terminate (best effort) and drop the transport; an operation still in flight (its caller
        gave up waiting) fails with the connection-lost error, so the next one is told the truth."""
        pump = self._pump
        transport = pump.transport
        if transport is not None and not transport.lost and not pump.broken and pump.op is None:
            transport.raw.write(terminate())
        pump._drop_transport()
        pump.broken = True
        pump.abandon(ConnectionLost(ops.LOST_MESSAGE))


__all__ = ["TwistedConnection"]
