"""The fault-injecting proxy itself, between plain sockets and a small echo server: each fault does
exactly what it says (bytes delivered, how the connection ends, what never arrives)."""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from greenpsyco.testing.certs import CertificateAuthority
from greenpsyco.testing.faultproxy import SSL_REQUEST, Fault, ThreadedFaultProxy
from tests.wire.drivers import ensure_reactor


class EchoServer:
    """Echoes every connection's bytes back and records what it received and how many it accepted.

    With ``tls``, it first plays PostgreSQL's part of SSLRequest (answers ``S``) and echoes over TLS.
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.tls = tls
        self.accepted = 0
        self.received = bytearray()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    def _echo(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                if _recv_exactly(conn, 8) != SSL_REQUEST:
                    return
                conn.sendall(b"S")
                conn = self.tls.wrap_socket(conn, server_side=True)
            while data := conn.recv(65536):
                self.received += data
                conn.sendall(data)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.listener.close()


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def read_until_end(sock: socket.socket, timeout: float = 5.0) -> tuple[bytes, str]:
    """Everything received until the connection ends: (bytes, "eof" | "reset" | "timeout")."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        return data, "reset"
    except TimeoutError:
        return data, "timeout"
    return data, "eof"


@pytest.fixture(scope="module", autouse=True)
def _reactor() -> None:
    ensure_reactor()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


def through(proxy: ThreadedFaultProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=5)


PAYLOAD = bytes(range(256)) * 4


def test_without_a_fault_the_proxy_is_transparent(echo: EchoServer) -> None:
    with ThreadedFaultProxy(("127.0.0.1", echo.port), record=True) as proxy, through(proxy) as client:
        client.sendall(PAYLOAD)
        assert _recv_exactly(client, len(PAYLOAD)) == PAYLOAD
        client.shutdown(socket.SHUT_WR)
        assert read_until_end(client) == (b"", "eof")
        assert proxy.transcript() == {"upstream": PAYLOAD, "downstream": PAYLOAD}
        assert proxy.byte_count("upstream") == proxy.byte_count("downstream") == len(PAYLOAD)


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_drop_upstream_delivers_exactly_the_offset(echo: EchoServer, reset: bool) -> None:
    with (
        ThreadedFaultProxy(("127.0.0.1", echo.port), fault=Fault.drop("upstream", 300, reset=reset)) as proxy,
        through(proxy) as client,
    ):
        client.sendall(PAYLOAD)
        data, end = read_until_end(client)
        assert PAYLOAD[:300].startswith(data)  # at most the echo of what reached the server
        assert end == ("reset" if reset else "eof")
        time.sleep(0.1)
        assert bytes(echo.received) == PAYLOAD[:300]


@pytest.mark.parametrize("offset", [0, 1, 517])
def test_drop_downstream_delivers_exactly_the_offset(echo: EchoServer, offset: int) -> None:
    with (
        ThreadedFaultProxy(("127.0.0.1", echo.port), fault=Fault.drop("downstream", offset)) as proxy,
        through(proxy) as client,
    ):
        client.sendall(PAYLOAD)
        assert read_until_end(client) == (PAYLOAD[:offset], "eof")


def test_stall_accepts_and_never_answers(echo: EchoServer) -> None:
    with ThreadedFaultProxy(("127.0.0.1", echo.port), fault=Fault.stall()) as proxy, through(proxy) as client:
        client.sendall(PAYLOAD)
        assert read_until_end(client, timeout=0.3) == (b"", "timeout")
        assert echo.accepted == 0
        assert proxy.accepted == 1


def test_stall_after_an_offset_swallows_the_rest_and_keeps_the_connection(echo: EchoServer) -> None:
    with (
        ThreadedFaultProxy(("127.0.0.1", echo.port), fault=Fault.stall("downstream", 100)) as proxy,
        through(proxy) as client,
    ):
        client.sendall(PAYLOAD)
        assert read_until_end(client, timeout=0.3) == (PAYLOAD[:100], "timeout")
        client.sendall(b"more")  # still open
        time.sleep(0.1)
        assert bytes(echo.received) == PAYLOAD + b"more"


def test_delay_holds_every_chunk_and_keeps_the_order(echo: EchoServer) -> None:
    with (
        ThreadedFaultProxy(("127.0.0.1", echo.port), fault=Fault.delayed(0.2)) as proxy,
        through(proxy) as client,
    ):
        started = time.monotonic()
        for part in (PAYLOAD[:10], PAYLOAD[10:500], PAYLOAD[500:]):
            client.sendall(part)
        assert _recv_exactly(client, len(PAYLOAD)) == PAYLOAD
        assert time.monotonic() - started >= 0.4  # each way


def test_one_byte_writes_arrive_in_pieces(echo: EchoServer) -> None:
    with ThreadedFaultProxy(("127.0.0.1", echo.port), fault=Fault.split()) as proxy, through(proxy) as client:
        client.sendall(PAYLOAD)
        chunks = []
        received = 0
        while received < len(PAYLOAD):
            chunk = client.recv(65536)
            assert chunk
            chunks.append(chunk)
            received += len(chunk)
        assert b"".join(chunks) == PAYLOAD
        assert len(chunks) > 10  # one byte per reactor turn; a reader may still see a few together


def test_disconnect_all_ends_live_sessions(echo: EchoServer) -> None:
    with ThreadedFaultProxy(("127.0.0.1", echo.port)) as proxy, through(proxy) as client:
        client.sendall(b"x")
        assert _recv_exactly(client, 1) == b"x"
        proxy.disconnect_all(reset=True)
        assert read_until_end(client)[1] == "reset"


@pytest.fixture
def tls_echo(tmp_path: Path) -> Iterator[tuple[EchoServer, ssl.SSLContext]]:
    authority = CertificateAuthority(tmp_path)
    leaf = authority.issue("server", "localhost", dns_names=("localhost",))
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(leaf.cert, leaf.key)
    client_context = ssl.create_default_context(cafile=str(authority.files.cert))
    server = EchoServer(tls=server_context)
    yield server, client_context
    server.close()


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_cut_after_the_tls_handshake(
    tls_echo: tuple[EchoServer, ssl.SSLContext], version: ssl.TLSVersion
) -> None:
    """The handshake completes; the first application data never reaches the server."""
    server, context = tls_echo
    context.minimum_version = context.maximum_version = version
    with (
        ThreadedFaultProxy(("127.0.0.1", server.port), fault=Fault.tls_cut()) as proxy,
        through(proxy) as raw,
    ):
        raw.sendall(SSL_REQUEST)
        assert raw.recv(1) == b"S"
        with context.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False) as client:
            assert (
                client.version()
                == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
            )
            client.sendall(b"hello")
            with pytest.raises((ssl.SSLEOFError, ConnectionResetError)):
                client.recv(100)
    assert bytes(server.received) == b""


def test_the_tls_cut_leaves_plain_connections_alone(echo: EchoServer) -> None:
    with (
        ThreadedFaultProxy(("127.0.0.1", echo.port), fault=Fault.tls_cut()) as proxy,
        through(proxy) as client,
    ):
        message = struct.pack("!ii", 8, 1234) + PAYLOAD  # not an SSLRequest
        client.sendall(message)
        assert _recv_exactly(client, len(message)) == message
