"""Both drivers against the real server: the same behaviour tests run on the blocking socket driver
and on the Twisted driver (which share the operation generators)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator

import pytest

from greenpsyco.testing import AUTH_METHODS, TestServer, ThrowawayCluster
from greenpsyco.wire.errors import (
    ConnectionFailure,
    ConnectionLost,
    InterfaceMisuse,
    QueryCanceled,
    ServerError,
)
from greenpsyco.wire.ops import extended_query, simple_query
from tests.wire.drivers import BlockingFacade, TwistedFacade, connect

DRIVERS = ["blocking", "twisted"]


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def scalar(conn: BlockingFacade | TwistedFacade, sql: str) -> bytes | None:
    [result] = conn.execute(sql)
    return result.rows[0][0]


@pytest.mark.parametrize("method", AUTH_METHODS)
@pytest.mark.parametrize("unix", [False, True], ids=["tcp", "unix"])
def test_every_auth_method(driver: str, own_server: TestServer, method: str, unix: bool) -> None:
    with connect(driver, own_server.dsn(method, sslmode="disable", unix=unix)) as conn:
        assert scalar(conn, "SELECT current_user") == own_server.roles[method].name.encode()
        assert conn.state.transaction_status == "I"
        assert conn.state.backend_pid is not None


@pytest.mark.parametrize("method", ["password", "md5", "scram-sha-256"])
def test_wrong_password_gives_the_servers_message(driver: str, own_server: TestServer, method: str) -> None:
    role = own_server.roles[method]
    with pytest.raises(ConnectionFailure) as info:
        connect(driver, own_server.dsn(method, password="wrong", sslmode="disable"))
    assert f'FATAL:  password authentication failed for user "{role.name}"' in str(info.value)
    assert f'connection to server at "127.0.0.1", port {own_server.port} failed: ' in str(info.value)


def test_parameters_and_server_version_are_tracked(driver: str, pg_server: TestServer) -> None:
    with connect(driver, pg_server.dsn()) as conn:
        params = conn.state.parameters
        for name in ("server_version", "client_encoding", "standard_conforming_strings", "TimeZone"):
            assert name in params
        assert "integer_datetimes" in params
        assert conn.state.server_version >= 120000
        conn.execute("SET standard_conforming_strings = off")
        assert not conn.state.standard_conforming_strings
        conn.execute("SET TimeZone = 'Europe/Paris'")
        assert params["TimeZone"] == "Europe/Paris"


def test_transaction_status_and_errors_keep_the_connection_usable(driver: str, pg_server: TestServer) -> None:
    with connect(driver, pg_server.dsn()) as conn:
        conn.execute("BEGIN")
        assert conn.state.transaction_status == "T"
        with pytest.raises(ServerError) as info:
            conn.execute("SELECT 1/0")
        assert info.value.sqlstate == "22012"
        assert info.value.fields["M"] == "division by zero"
        assert conn.state.transaction_status == "E"
        conn.execute("ROLLBACK")
        assert conn.state.transaction_status == "I"
        assert scalar(conn, "SELECT 2") == b"2"


def test_several_result_sets_and_empty_query(driver: str, pg_server: TestServer) -> None:
    with connect(driver, pg_server.dsn()) as conn:
        results = conn.execute("SELECT 1; SELECT 'a', NULL; ")
        assert [r.rows for r in results] == [[(b"1",)], [(b"a", None)]]
        [empty] = conn.execute("")
        assert empty.empty_query


def test_extended_query_with_server_side_parameters(driver: str, pg_server: TestServer) -> None:
    with connect(driver, pg_server.dsn()) as conn:
        result = conn.run(extended_query(conn.state, b"SELECT $1::int + 1, $2::text", [b"41", None]))
        assert result.rows == [(b"42", None)]
        assert [f.type_oid for f in result.description or ()] == [23, 25]


def test_notices_are_collected(driver: str, pg_server: TestServer) -> None:
    with connect(driver, pg_server.dsn()) as conn:
        conn.execute("DO $$ BEGIN RAISE NOTICE 'hello %', 42; END $$")
        assert conn.state.notices[-1]["M"] == "hello 42"


# -- TLS -----------------------------------------------------------------------------------------


@pytest.fixture
def tls_server(own_server: TestServer) -> TestServer:
    if not own_server.ssl:
        pytest.skip("the server binaries have no TLS support")
    return own_server


SSL_IN_USE = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


@pytest.mark.parametrize(
    ("sslmode", "expect_tls"), [("disable", False), ("allow", False), ("prefer", True), ("require", True)]
)
def test_sslmodes(driver: str, tls_server: TestServer, sslmode: str, expect_tls: bool) -> None:
    with connect(driver, tls_server.dsn("scram-sha-256", sslmode=sslmode)) as conn:
        assert scalar(conn, SSL_IN_USE) == (b"t" if expect_tls else b"f")


@pytest.mark.parametrize("sslmode", ["verify-ca", "verify-full"])
def test_verifying_sslmodes_with_the_ca(driver: str, tls_server: TestServer, sslmode: str) -> None:
    dsn = tls_server.dsn(
        "scram-sha-256", sslmode=sslmode, sslrootcert=str(tls_server.ca_file), host="localhost"
    )
    with connect(driver, dsn) as conn:
        assert scalar(conn, SSL_IN_USE) == b"t"


def test_verify_full_with_the_wrong_host_name_fails(driver: str, tls_server: TestServer) -> None:
    dsn = tls_server.dsn(
        sslmode="verify-full", sslrootcert=str(tls_server.ca_file), host="wrong.invalid", hostaddr="127.0.0.1"
    )
    with pytest.raises(ConnectionFailure, match="does not match host name"):
        connect(driver, dsn)


def test_allow_retries_with_tls_for_a_hostssl_only_role(driver: str, tls_server: TestServer) -> None:
    role = tls_server.tls_only_role
    assert role is not None
    with connect(
        driver, tls_server.dsn(user=role.name, password=str(role.password), sslmode="allow")
    ) as conn:
        assert scalar(conn, SSL_IN_USE) == b"t"


def test_scram_plus_channel_binding_over_tls(driver: str, tls_server: TestServer) -> None:
    with connect(
        driver, tls_server.dsn("scram-sha-256", sslmode="require", channel_binding="require")
    ) as conn:
        assert scalar(conn, "SELECT current_user") == b"gp_scram"
    with pytest.raises(ConnectionFailure, match="channel binding"):
        connect(driver, tls_server.dsn("scram-sha-256", sslmode="disable", channel_binding="require"))


def test_client_certificate_authentication(driver: str, tls_server: TestServer) -> None:
    assert tls_server.cert_role is not None
    dsn = tls_server.dsn(
        user=tls_server.cert_role,
        sslmode="verify-full",
        host="localhost",
        sslrootcert=str(tls_server.ca_file),
        sslcert=str(tls_server.client_cert),
        sslkey=str(tls_server.client_key),
    )
    with connect(driver, dsn) as conn:
        assert scalar(conn, "SELECT current_user") == tls_server.cert_role.encode()


def test_require_auth_refuses_a_weaker_method(driver: str, own_server: TestServer) -> None:
    with pytest.raises(
        ConnectionFailure, match='requirement "scram-sha-256" failed: server requested a cleartext'
    ):
        connect(driver, own_server.dsn("password", sslmode="disable", require_auth="scram-sha-256"))


# -- cancel --------------------------------------------------------------------------------------


def test_cancel_returns_quickly_and_the_connection_stays_usable(driver: str, pg_server: TestServer) -> None:
    with connect(driver, pg_server.dsn()) as conn:
        timer = threading.Timer(0.3, conn.cancel)
        started = time.monotonic()
        timer.start()
        with pytest.raises(QueryCanceled, match="canceling statement due to user request"):
            conn.execute("SELECT pg_sleep(30)")
        assert time.monotonic() - started < 2
        timer.join()
        assert scalar(conn, "SELECT 42") == b"42"


# -- COPY ----------------------------------------------------------------------------------------

LINE = b"x" * 1023 + b"\n"


def copy_round_trip(conn: BlockingFacade | TwistedFacade, total: int) -> tuple[int, int, int]:
    """COPY ``total`` bytes in then out; returns (rows, bytes received, peak traced memory)."""
    lines_per_chunk = 64
    chunks = total // (len(LINE) * lines_per_chunk)

    def source() -> Iterator[bytes]:
        block = LINE * lines_per_chunk
        for _ in range(chunks):
            yield block

    received = 0

    def sink(data: bytes) -> None:
        nonlocal received
        received += len(data)

    conn.execute("CREATE TEMP TABLE big (line text)")
    tracemalloc.start()
    try:
        [copied_in] = conn.run(simple_query(conn.state, b"COPY big FROM STDIN", copy_source=source()))
        _, peak_in = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        [copied_out] = conn.run(simple_query(conn.state, b"COPY big TO STDOUT", copy_sink=sink))
        _, peak_out = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rows = chunks * lines_per_chunk
    assert copied_in.command_tag == f"COPY {rows}"
    assert copied_out.command_tag == f"COPY {rows}"
    return rows, received, max(peak_in, peak_out)


@pytest.mark.slow
def test_copy_200_mb_in_and_out_with_bounded_memory(driver: str, pg_server: TestServer) -> None:
    total = 200 * 1024 * 1024
    with connect(driver, pg_server.dsn()) as conn:
        rows, received, peak = copy_round_trip(conn, total)
    assert received == rows * len(LINE) > total - 64 * len(LINE)
    assert peak < 8 * 1024 * 1024, peak


def test_copy_in_with_bad_data_raises_the_servers_error(driver: str, pg_server: TestServer) -> None:
    with connect(driver, pg_server.dsn()) as conn:
        conn.execute("CREATE TEMP TABLE nums (n int)")
        with pytest.raises(ServerError) as info:
            conn.run(simple_query(conn.state, b"COPY nums FROM STDIN", copy_source=[b"1\n", b"two\n"]))
        assert info.value.sqlstate == "22P02"
        assert scalar(conn, "SELECT count(*) FROM nums") == b"0"


# -- NOTIFY --------------------------------------------------------------------------------------


def test_notify_between_and_during_queries(driver: str, pg_server: TestServer) -> None:
    with connect(driver, pg_server.dsn()) as listener, connect("blocking", pg_server.dsn()) as sender:
        listener.execute("LISTEN jobs")
        sender.execute("NOTIFY jobs, 'between'")
        notification = listener.wait_notification(timeout=5)
        assert notification is not None
        assert (notification.channel, notification.payload) == ("jobs", "between")
        assert notification.process_id == sender.state.backend_pid

        timer = threading.Timer(0.2, sender.execute, ("NOTIFY jobs, 'during'",))
        timer.start()
        listener.execute("SELECT pg_sleep(0.6)")
        timer.join()
        assert [n.payload for n in listener.state.notifications] == ["during"]
        assert listener.wait_notification(timeout=0.1) is not None
        assert listener.wait_notification(timeout=0.1) is None


# -- failures ------------------------------------------------------------------------------------


def test_backend_terminated_mid_query_is_connection_lost(driver: str, pg_server: TestServer) -> None:
    with connect(driver, pg_server.dsn()) as victim, connect("blocking", pg_server.dsn()) as killer:
        pid = victim.state.backend_pid
        timer = threading.Timer(0.3, killer.execute, (f"SELECT pg_terminate_backend({pid})",))
        timer.start()
        with pytest.raises(ConnectionLost) as info:
            victim.execute("SELECT pg_sleep(10)")
        timer.join()
        assert "FATAL:  terminating connection due to administrator command" in str(info.value)
        assert info.value.server_error is not None
        assert info.value.server_error.sqlstate == "57P01"
        assert victim.broken
        with pytest.raises((ConnectionLost, InterfaceMisuse)):
            victim.execute("SELECT 1")


def test_backend_terminated_while_idle_is_seen_on_next_use(driver: str, pg_server: TestServer) -> None:
    with connect(driver, pg_server.dsn()) as victim, connect("blocking", pg_server.dsn()) as killer:
        killer.execute(f"SELECT pg_terminate_backend({victim.state.backend_pid})")
        time.sleep(0.3)
        with pytest.raises((ConnectionLost, InterfaceMisuse)):
            victim.execute("SELECT 1")
        assert victim.broken


def test_server_stopped_mid_query_is_connection_lost(driver: str) -> None:
    cluster = ThrowawayCluster(extensions=(), ssl=False)
    server = cluster.start()
    try:
        conn = connect(driver, server.dsn())
        threading.Timer(0.3, cluster.stop).start()
        with pytest.raises(ConnectionLost) as info:
            conn.execute("SELECT pg_sleep(10)")
        assert "terminating connection due to administrator command" in str(info.value)
        assert "server closed the connection unexpectedly" in str(info.value)
    finally:
        cluster.stop()


@pytest.mark.parametrize("keepalives", ["1", "0"])
def test_libpqs_tcp_options_bound_a_silently_dead_peer(
    driver: str, pg_server: TestServer, keepalives: str
) -> None:
    """keepalives_idle/_interval/_count and tcp_user_timeout reach the socket in both drivers (the Twisted
    driver once set only SO_KEEPALIVE): they are what ends a session whose peer died without a word."""
    if pg_server.external:
        pytest.skip("needs a TCP address")
    options = {
        "keepalives_idle": 7,
        "keepalives_interval": 3,
        "keepalives_count": 4,
        "tcp_user_timeout": 4500,
    }
    with connect(driver, pg_server.dsn(sslmode="disable", keepalives=keepalives, **options)) as conn:
        fd = conn._conn.fileno()
        with socket.socket(fileno=os.dup(fd)) as sock:
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == int(keepalives)
            if keepalives == "1":
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 7
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 3
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 4
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 4500


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A TCP port that accepts connections (kernel backlog) but never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


def test_connect_timeout_against_a_silent_server(driver: str, silent_listener: int) -> None:
    started = time.monotonic()
    with pytest.raises(ConnectionFailure, match="timeout expired"):
        connect(driver, f"host=127.0.0.1 port={silent_listener} user=x connect_timeout=2 sslmode=disable")
    assert 1.9 < time.monotonic() - started < 4


@pytest.fixture
def dead_port() -> int:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        return int(closed.getsockname()[1])


def test_multi_host_with_the_first_down_connects_to_the_second(
    driver: str, own_server: TestServer, dead_port: int
) -> None:
    dsn = own_server.dsn(host="127.0.0.1,127.0.0.1", port=f"{dead_port},{own_server.port}")
    with connect(driver, dsn) as conn:
        assert conn.attempt.port == own_server.port


def test_refused_connection_message(driver: str, dead_port: int) -> None:
    with pytest.raises(ConnectionFailure) as info:
        connect(driver, f"host=127.0.0.1 port={dead_port} user=x")
    assert str(info.value) == (
        f'connection to server at "127.0.0.1", port {dead_port} failed: Connection refused\n'
        "\tIs the server running on that host and accepting TCP/IP connections?"
    )


def test_missing_unix_socket_message(driver: str, tmp_path: object) -> None:
    with pytest.raises(ConnectionFailure) as info:
        connect(driver, f"host={tmp_path} port=5999 user=x")
    assert (
        f'connection to server on socket "{tmp_path}/.s.PGSQL.5999" failed: No such file or directory'
        in str(info.value)
    )


def test_target_session_attrs(driver: str, pg_server: TestServer) -> None:
    with connect(driver, pg_server.dsn(target_session_attrs="read-write")) as conn:
        assert scalar(conn, "SELECT 1") == b"1"
    with pytest.raises(ConnectionFailure, match="server is not in hot standby mode"):
        connect(driver, pg_server.dsn(target_session_attrs="standby"))
    with connect(driver, pg_server.dsn(target_session_attrs="prefer-standby")) as conn:
        assert scalar(conn, "SELECT 1") == b"1"
    with pytest.raises(ConnectionFailure, match="session is not read-only"):
        connect(driver, pg_server.dsn(target_session_attrs="read-only"))


@pytest.fixture
def hostile_tls_server() -> Iterator[int]:
    """A server that answers SSLRequest with 'S' plus bytes that would be read as if they were
    encrypted (CVE-2021-23222): an AuthenticationOk in the same packet."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            with client:
                client.recv(8)
                client.sendall(b"S" + b"R\x00\x00\x00\x08\x00\x00\x00\x00")
                client.settimeout(2)
                with contextlib.suppress(OSError):
                    client.recv(1024)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join()
    listener.close()


def test_cve_2021_23222_bytes_injected_after_the_ssl_answer_fail_the_connection(
    driver: str, hostile_tls_server: int
) -> None:
    with pytest.raises(ConnectionFailure, match="received unencrypted data after SSL response"):
        connect(driver, f"host=127.0.0.1 port={hostile_tls_server} user=x sslmode=require")
