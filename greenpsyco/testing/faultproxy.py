"""A fault-injecting TCP proxy on Twisted, for putting a broken network between a driver and its server.

Connections accepted by :class:`FaultProxy` are forwarded to the target, and the proxy's current
:class:`Fault` (taken when the connection is accepted) decides what goes wrong on the way:

- **drop** at a byte offset of one direction: the receiver gets exactly that many bytes of the stream,
  then both connections are closed (FIN, or RST with ``reset=True``);
- **stall**: accept and never answer (no upstream connection at all), or, with an offset, swallow
  everything of one direction after that many bytes while the connections stay open;
- **delay**: every chunk arrives ``delay`` seconds late (order kept);
- **one-byte writes**: every chunk is written one byte per reactor turn, with ``TCP_NODELAY``, so the
  receiver sees the stream in the smallest pieces TCP allows;
- **cut after the TLS handshake**: the TLS handshake that follows a PostgreSQL SSLRequest completes,
  and the connections are closed just before the client's first application-data record.

The offsets count raw bytes as they cross the proxy (TLS records, not plaintext). The proxy runs in the
reactor's thread; :class:`ThreadedFaultProxy` drives one from another thread while the reactor runs in
a thread of its own (as in the test suite's driver tests). asyncpg's ``TCPFuzzingProxy`` and psycopg 3's
``fix_proxy.py`` are the models; this one is in-process and knows the few PostgreSQL/TLS framing facts
the cut needs.
"""

from __future__ import annotations

import socket
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from twisted.internet import defer, protocol
from twisted.python.failure import Failure

T = TypeVar("T")

Direction = Literal["upstream", "downstream"]
"""``upstream`` is client to server, ``downstream`` server to client."""

SSL_REQUEST = struct.pack("!ii", 8, 80877103)
TLS_HEADER = 5
TLS_CHANGE_CIPHER_SPEC = 20
TLS_APPLICATION_DATA = 23


@dataclass(frozen=True)
class Fault:
    """What goes wrong on a connection; the default is nothing (a transparent proxy)."""

    drop_at: tuple[Direction, int] | None = None
    stall_at: tuple[Direction, int] | None = None
    stall_accept: bool = False
    delay: float = 0.0
    one_byte_writes: bool = False
    cut_after_tls_handshake: bool = False
    reset: bool = False

    @classmethod
    def drop(cls, direction: Direction, offset: int, *, reset: bool = False) -> Fault:
        """After ``offset`` bytes of ``direction``, close both connections (RST with ``reset``)."""
        if offset < 0:
            raise ValueError("the offset must be >= 0")
        return cls(drop_at=(direction, offset), reset=reset)

    @classmethod
    def stall(cls, direction: Direction | None = None, offset: int = 0) -> Fault:
        """Without arguments: accept and never answer. Else swallow ``direction`` after ``offset`` bytes."""
        if direction is None:
            return cls(stall_accept=True)
        return cls(stall_at=(direction, offset))

    @classmethod
    def delayed(cls, seconds: float) -> Fault:
        return cls(delay=seconds)

    @classmethod
    def split(cls) -> Fault:
        """Every packet, both ways, as one-byte writes."""
        return cls(one_byte_writes=True)

    @classmethod
    def tls_cut(cls) -> Fault:
        return cls(cut_after_tls_handshake=True)


@dataclass(frozen=True)
class _Close:
    """Queue marker: close both sides once everything queued before it is written."""

    reset: bool


@dataclass
class _Outgoing:
    """Bytes waiting to be written to one side, each chunk with the time it may go."""

    queue: deque[tuple[float, Any]] = field(default_factory=deque)
    timer: Any = None  # the IDelayedCall of the next write


class _TlsWatch:
    """Follows the TLS records after an SSLRequest to find where the handshake ends.

    The cut goes before the client's first application-data record. In TLS 1.3 the client's Finished
    is itself an (encrypted) application-data record; TLS 1.3 is recognised by the server sending
    application-data records before the client sends any.
    """

    def __init__(self) -> None:
        self.active: bool | None = None  # None until the first 8 client bytes decide
        self.head = b""
        self.server_answered = False
        self.server_sent_data = False
        self.client_data_records = 0
        self._pending = {"upstream": b"", "downstream": b""}
        self._left = {"upstream": 0, "downstream": 0}

    def cut_offset(self, direction: Direction, data: bytes) -> int | None:
        """Where in ``data`` (if anywhere) the connection must be cut."""
        pos = 0
        if direction == "upstream" and self.active is None:
            need = 8 - len(self.head)
            self.head += data[:need]
            pos = min(need, len(data))
            if len(self.head) < 8:
                return None
            self.active = self.head == SSL_REQUEST
        if not self.active:
            return None
        if direction == "downstream" and not self.server_answered:
            if not data:
                return None
            self.server_answered = True
            if data[:1] != b"S":
                self.active = False
                return None
            pos = 1
        return self._records(direction, data, pos)

    def _records(self, direction: Direction, data: bytes, pos: int) -> int | None:
        while pos < len(data):
            left = self._left[direction]
            if left:
                step = min(left, len(data) - pos)
                self._left[direction] -= step
                pos += step
                continue
            header = self._pending[direction] + data[pos : pos + TLS_HEADER - len(self._pending[direction])]
            start = pos - len(self._pending[direction])
            pos += TLS_HEADER - len(self._pending[direction])
            if len(header) < TLS_HEADER:
                self._pending[direction] = header
                return None
            self._pending[direction] = b""
            kind = header[0]
            (length,) = struct.unpack("!H", header[3:5])
            if kind == TLS_APPLICATION_DATA:
                if direction == "downstream":
                    self.server_sent_data = True
                else:
                    self.client_data_records += 1
                    handshake_records = 1 if self.server_sent_data else 0
                    if self.client_data_records > handshake_records:
                        return max(start, 0)
            self._left[direction] = length
        return None


class _Session:
    """One proxied connection: the accepted client side, the upstream side, the fault applied."""

    def __init__(self, proxy: FaultProxy, fault: Fault) -> None:
        self.proxy = proxy
        self.fault = fault
        self.client: protocol.Protocol | None = None
        self.server: protocol.Protocol | None = None
        self.counts: dict[Direction, int] = {"upstream": 0, "downstream": 0}
        self.swallowing: dict[Direction, bool] = {"upstream": False, "downstream": False}
        self.early: list[bytes] = []  # client bytes that came before the upstream connection
        self.out: dict[Direction, _Outgoing] = {"upstream": _Outgoing(), "downstream": _Outgoing()}
        self.tls = _TlsWatch() if fault.cut_after_tls_handshake else None
        self.closing = False
        self.closed = False
        self.transcript: dict[Direction, bytearray] | None = None
        if proxy.record:
            self.transcript = {"upstream": bytearray(), "downstream": bytearray()}
            proxy.transcripts.append(self.transcript)

    # -- events -----------------------------------------------------------------------------------

    def client_connected(self, client: protocol.Protocol) -> None:
        self.client = client
        _nodelay(client)
        if self.fault.stall_accept:
            return
        host, port = self.proxy.target
        self.proxy.reactor.connectTCP(host, port, _UpstreamFactory(self), timeout=10)

    def upstream_failed(self) -> None:
        self.close(reset=True)

    def server_connected(self, server: protocol.Protocol) -> None:
        if self.closing:
            _transport(server).abortConnection()
            return
        self.server = server
        _nodelay(server)
        early, self.early = self.early, []
        for data in early:
            self.forward("upstream", data)

    def received(self, direction: Direction, data: bytes) -> None:
        if self.closing:
            return
        if direction == "upstream" and self.server is None:
            if not self.fault.stall_accept:
                self.early.append(data)
            return
        self.forward(direction, data)

    def forward(self, direction: Direction, data: bytes) -> None:
        """Apply the fault to ``data`` going in ``direction`` and queue what passes."""
        if self.swallowing[direction] or self.closing:
            return
        allowed = len(data)
        action: str | None = None
        done = self.counts[direction]
        if self.fault.drop_at is not None and self.fault.drop_at[0] == direction:
            limit = self.fault.drop_at[1] - done
            if limit < allowed:
                allowed, action = max(limit, 0), "drop"
        if self.fault.stall_at is not None and self.fault.stall_at[0] == direction:
            limit = self.fault.stall_at[1] - done
            if limit < allowed:
                allowed, action = max(limit, 0), "stall"
        if self.tls is not None:
            cut = self.tls.cut_offset(direction, data)
            if cut is not None and cut <= allowed:
                allowed, action = cut, "drop"
        if allowed:
            self.counts[direction] += allowed
            self.proxy.bytes[direction] += allowed
            if self.transcript is not None:
                self.transcript[direction] += data[:allowed]
            self._queue(direction, data[:allowed])
        if action == "drop":
            self.closing = True
            self._queue(direction, _Close(reset=self.fault.reset))
        elif action == "stall":
            self.swallowing[direction] = True

    def lost(self) -> None:
        """One side went away: the other side is closed once what was queued for it is written."""
        if self.closed or self.closing:
            return
        self.closing = True
        for direction in self.out:
            self._queue(direction, _Close(reset=False))

    # -- writing ---------------------------------------------------------------------------------

    def _queue(self, direction: Direction, item: Any) -> None:
        outgoing = self.out[direction]
        outgoing.queue.append((time.monotonic() + self.fault.delay, item))
        if outgoing.timer is None:
            self._pump(direction)

    def _pump(self, direction: Direction) -> None:
        outgoing = self.out[direction]
        outgoing.timer = None
        now = time.monotonic()
        while outgoing.queue and not self.closed:
            due, item = outgoing.queue[0]
            if due > now:
                outgoing.timer = self.proxy.reactor.callLater(due - now, self._pump, direction)
                return
            if isinstance(item, _Close):
                outgoing.queue.clear()
                self.close(reset=item.reset)
                return
            target = self.server if direction == "upstream" else self.client
            if target is None:
                return
            if self.fault.one_byte_writes and len(item) > 1:
                _transport(target).write(item[:1])
                outgoing.queue[0] = (due, item[1:])
                outgoing.timer = self.proxy.reactor.callLater(0, self._pump, direction)
                return
            outgoing.queue.popleft()
            _transport(target).write(item)

    def close(self, *, reset: bool = False) -> None:
        """Close both sides; with ``reset``, abortively (the peer sees ECONNRESET, not EOF)."""
        if self.closed:
            return
        self.closed = self.closing = True
        for outgoing in self.out.values():
            if outgoing.timer is not None and outgoing.timer.active():
                outgoing.timer.cancel()
            outgoing.timer = None
            outgoing.queue.clear()
        for side in (self.client, self.server):
            if side is None or side.transport is None:
                continue
            transport = _transport(side)
            if reset and transport.connected:
                # Flush what was written, then close with a zero linger and no shutdown() first: the
                # kernel answers with RST. (Twisted documents _shouldShutdown on its TCP connections.)
                transport.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                transport._shouldShutdown = False
            transport.loseConnection()
        self.proxy.sessions.discard(self)


def _transport(side: protocol.Protocol) -> Any:
    return side.transport


def _nodelay(side: protocol.Protocol) -> None:
    transport = _transport(side)
    if hasattr(transport, "setTcpNoDelay"):
        transport.setTcpNoDelay(True)


class _Downstream(protocol.Protocol):
    """The accepted connection from the client."""

    def __init__(self, session: _Session) -> None:
        self.session = session

    def connectionMade(self) -> None:
        self.session.client_connected(self)

    def dataReceived(self, data: bytes) -> None:
        self.session.received("upstream", data)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.session.lost()


class _Upstream(protocol.Protocol):
    """The proxy's connection to the target server."""

    def __init__(self, session: _Session) -> None:
        self.session = session

    def connectionMade(self) -> None:
        self.session.server_connected(self)

    def dataReceived(self, data: bytes) -> None:
        self.session.received("downstream", data)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.session.lost()


class _UpstreamFactory(protocol.ClientFactory):
    def __init__(self, session: _Session) -> None:
        self.session = session

    def buildProtocol(self, addr: Any) -> protocol.Protocol:
        return _Upstream(self.session)

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self.session.upstream_failed()


class _Factory(protocol.Factory):
    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy

    def buildProtocol(self, addr: Any) -> protocol.Protocol:
        session = _Session(self.proxy, self.proxy.fault)
        self.proxy.sessions.add(session)
        self.proxy.accepted += 1
        return _Downstream(session)


class FaultProxy:
    """A TCP proxy to ``target`` applying :attr:`fault` to each connection it accepts.

    Call from: the reactor's thread (see :class:`ThreadedFaultProxy` for other threads).
    """

    def __init__(
        self,
        target: tuple[str, int],
        *,
        reactor: Any = None,
        fault: Fault | None = None,
        record: bool = False,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.reactor = reactor
        self.target = target
        self.fault = fault or Fault()
        self.record = record
        self.transcripts: list[dict[Direction, bytearray]] = []  # with ``record``: what each session passed
        self.sessions: set[_Session] = set()
        self.accepted = 0
        self.bytes: dict[Direction, int] = {"upstream": 0, "downstream": 0}
        self._port: Any = None

    def start(self, host: str = "127.0.0.1") -> int:
        """Listen on a free port of ``host``; returns the port."""
        self._port = self.reactor.listenTCP(0, _Factory(self), interface=host)
        return int(self._port.getHost().port)

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the proxy is not started")
        return int(self._port.getHost().port)

    def disconnect_all(self, *, reset: bool = False) -> None:
        """Close every proxied connection now (a network failure under live sessions)."""
        for session in list(self.sessions):
            session.close(reset=reset)

    def stop(self) -> defer.Deferred[None]:
        """Stop listening and close every connection."""
        self.disconnect_all(reset=True)
        port, self._port = self._port, None
        if port is None:
            return defer.succeed(None)
        return defer.maybeDeferred(port.stopListening)


class ThreadedFaultProxy:
    """A :class:`FaultProxy` driven from a thread other than the reactor's (which must be running)."""

    def __init__(
        self,
        target: tuple[str, int],
        *,
        reactor: Any = None,
        fault: Fault | None = None,
        record: bool = False,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.reactor = reactor
        self.proxy = FaultProxy(target, reactor=reactor, fault=fault, record=record)
        self.port = self._call(self.proxy.start)

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        from twisted.internet import threads

        return threads.blockingCallFromThread(self.reactor, fn, *args)

    @property
    def fault(self) -> Fault:
        return self.proxy.fault

    @fault.setter
    def fault(self, fault: Fault) -> None:
        self._call(setattr, self.proxy, "fault", fault)

    @property
    def accepted(self) -> int:
        return self.proxy.accepted

    def byte_count(self, direction: Direction) -> int:
        """Bytes passed in ``direction`` so far, over every session."""
        return self.proxy.bytes[direction]

    def transcript(self, index: int = -1) -> dict[Direction, bytes]:
        """What one recorded session passed each way (the latest by default)."""
        return self._call(lambda: {k: bytes(v) for k, v in self.proxy.transcripts[index].items()})

    def disconnect_all(self, *, reset: bool = False) -> None:
        self._call(lambda: self.proxy.disconnect_all(reset=reset))

    def stop(self) -> None:
        self._call(self.proxy.stop)

    def __enter__(self) -> ThreadedFaultProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


__all__ = ["Direction", "Fault", "FaultProxy", "ThreadedFaultProxy"]
