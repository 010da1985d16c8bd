"""Parsing and opening ``--bind`` values."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from greenpsyco.server.binds import BindError, default_binds, open_listener, parse_bind, take_turns


@pytest.mark.parametrize(
    ("text", "kind", "host", "port"),
    [
        ("127.0.0.1:8000", "tcp", "127.0.0.1", 8000),
        ("localhost:80", "tcp", "localhost", 80),
        ("[::1]:8000", "tcp", "::1", 8000),
        (":8000", "tcp", "", 8000),
        ("8000", "tcp", "", 8000),
        ("tcp:8080", "tcp", "", 8080),
        ("tcp:8080:interface=127.0.0.1", "tcp", "127.0.0.1", 8080),
        ("tcp:port=8081:backlog=10", "tcp", "", 8081),
    ],
)
def test_tcp_spellings(text: str, kind: str, host: str, port: int) -> None:
    bind = parse_bind(text)
    assert (bind.kind, bind.host, bind.port) == (kind, host, port)


def test_unix_fd_ssl_and_endpoints() -> None:
    assert parse_bind("unix:/run/app.sock").path == "/run/app.sock"
    assert parse_bind("fd://3").fd == 3
    ssl = parse_bind(r"ssl:443:privateKey=/k.pem:certKey=/c\:x.pem")
    assert ssl.port == 443
    assert ssl.tls == {"privateKey": "/k.pem", "certKey": "/c:x.pem"}
    assert parse_bind("ssl:443:privateKey=/k.pem").tls == {"privateKey": "/k.pem", "certKey": "/k.pem"}
    endpoint = parse_bind("systemd:domain=INET:index=0")
    assert endpoint.kind == "endpoint"
    assert not endpoint.shareable


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty address"),
        ("127.0.0.1:http", "is not a port number"),
        ("127.0.0.1:70000", "is not a port number"),
        ("[::1]8000", "IPv6 address is written"),
        ("fd://x", "needs a file descriptor number"),
        ("unix:", "needs a socket path"),
        ("ssl:443", "needs privateKey"),
        ("tcp:1:2", "takes one port"),
        ("tcp:80:backlog=-1", "backlog must be a positive integer"),
        ("nonsense", "expected HOST:PORT"),
    ],
)
def test_bad_binds_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(BindError, match=message):
        parse_bind(text)


def test_default_bind_honours_port() -> None:
    assert default_binds({}) == ["127.0.0.1:8000"]
    assert default_binds({"PORT": "5000"}) == ["0.0.0.0:5000"]


def test_open_tcp_listener_is_non_blocking_and_inheritable() -> None:
    listener = open_listener(parse_bind("127.0.0.1:0"))
    try:
        assert listener.sock is not None
        assert listener.sock.getblocking() is False
        assert listener.sock.get_inheritable()
        assert listener.url().startswith("http://127.0.0.1:")
    finally:
        listener.close()
        listener.close()  # idempotent


def test_unix_listener_replaces_a_stale_socket_and_refuses_a_live_one(tmp_path: Path) -> None:
    path = tmp_path / "app.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens: a crashed server's leftover
    listener = open_listener(parse_bind(f"unix:{path}"))
    try:
        with pytest.raises(BindError, match="another server is listening on it"):
            open_listener(parse_bind(f"unix:{path}"))
    finally:
        listener.close()
    assert not path.exists()
    path.write_text("a regular file")
    with pytest.raises(BindError, match="exists and is not a socket"):
        open_listener(parse_bind(f"unix:{path}"))


def test_fd_listener_must_be_a_listening_socket() -> None:
    read_fd, write_fd = os.pipe()
    try:
        with pytest.raises(BindError, match="is not a socket"):
            open_listener(parse_bind(f"fd://{read_fd}"))
    finally:
        os.close(read_fd)
        os.close(write_fd)
    unconnected = socket.socket()
    try:
        with pytest.raises(BindError, match="not a listening socket"):
            open_listener(parse_bind(f"fd://{unconnected.fileno()}"))
    finally:
        unconnected.close()


@pytest.mark.parametrize("turns", [False, True])
def test_a_port_taking_turns_accepts_one_connection_per_wake_up(turns: bool) -> None:
    import time

    from twisted.internet import protocol, tcp
    from twisted.internet.selectreactor import SelectReactor

    accepted: list[object] = []

    class Count(protocol.Factory):
        def buildProtocol(self, addr: object) -> protocol.Protocol:
            accepted.append(addr)
            return protocol.Protocol()

    reactor = SelectReactor()  # not run: doRead() is called by hand, as the reactor would on readiness
    port = tcp.Port(0, Count(), interface="127.0.0.1", reactor=reactor)
    port.startListening()
    if turns:
        take_turns(port)
    clients = [socket.create_connection(("127.0.0.1", port.getHost().port)) for _ in range(3)]
    try:
        time.sleep(0.05)  # the kernel has completed the three handshakes: all wait in the backlog
        port.doRead()
        assert len(accepted) == (1 if turns else 3)
        port.doRead()
        port.doRead()
        assert len(accepted) == 3
    finally:
        for client in clients:
            client.close()
        port.connectionLost(None)  # type: ignore[arg-type]
