"""The blocking driver against the real server: auth, TLS, cancel, COPY, NOTIFY, failures."""

from __future__ import annotations

import os
import signal
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
from greenpsyco.wire.io_blocking import BlockingConnection
from greenpsyco.wire.ops import simple_query

CLEAN_ENV = {"HOME": "/nonexistent"}


def connect(server: TestServer, role: str | None = None, **options: str | int) -> BlockingConnection:
    return BlockingConnection.connect(server.dsn(role, **options), environ=CLEAN_ENV)


def scalar(conn: BlockingConnection, sql: str) -> bytes | None:
    [result] = conn.execute(sql)
    return result.rows[0][0]


@pytest.mark.parametrize("method", AUTH_METHODS)
@pytest.mark.parametrize("unix", [False, True], ids=["tcp", "unix"])
def test_every_auth_method(own_server: TestServer, method: str, unix: bool) -> None:
    with connect(own_server, method, sslmode="disable", unix=unix) as conn:
        assert scalar(conn, "SELECT current_user") == own_server.roles[method].name.encode()
        assert conn.state.transaction_status == "I"
        assert conn.state.backend_pid is not None


@pytest.mark.parametrize("method", ["password", "md5", "scram-sha-256"])
def test_wrong_password_gives_the_servers_message(own_server: TestServer, method: str) -> None:
    role = own_server.roles[method]
    with pytest.raises(ConnectionFailure) as info:
        connect(own_server, method, password="wrong", sslmode="disable")
    assert f'FATAL:  password authentication failed for user "{role.name}"' in str(info.value)
    assert f'connection to server at "127.0.0.1", port {own_server.port} failed: ' in str(info.value)


def test_parameters_and_server_version_are_tracked(pg_server: TestServer) -> None:
    with BlockingConnection.connect(pg_server.dsn(), environ=CLEAN_ENV) as conn:
        params = conn.state.parameters
        for name in (
            "server_version",
            "client_encoding",
            "standard_conforming_strings",
            "TimeZone",
            "integer_datetimes",
        ):
            assert name in params
        assert conn.state.server_version >= 120000
        conn.execute("SET standard_conforming_strings = off")
        assert not conn.state.standard_conforming_strings
        conn.execute("SET TimeZone = 'Europe/Paris'")
        assert params["TimeZone"] == "Europe/Paris"


def test_transaction_status_follows_the_server(pg_server: TestServer) -> None:
    with BlockingConnection.connect(pg_server.dsn(), environ=CLEAN_ENV) as conn:
        conn.execute("BEGIN")
        assert conn.state.transaction_status == "T"
        with pytest.raises(ServerError) as info:
            conn.execute("SELECT 1/0")
        assert info.value.sqlstate == "22012"
        assert conn.state.transaction_status == "E"
        conn.execute("ROLLBACK")
        assert conn.state.transaction_status == "I"


def test_several_result_sets_and_empty_query(pg_server: TestServer) -> None:
    with BlockingConnection.connect(pg_server.dsn(), environ=CLEAN_ENV) as conn:
        results = conn.execute("SELECT 1; SELECT 'a', NULL; ")
        assert [r.rows for r in results] == [[(b"1",)], [(b"a", None)]]
        [empty] = conn.execute("")
        assert empty.empty_query


def test_extended_query_with_server_side_parameters(pg_server: TestServer) -> None:
    from greenpsyco.wire.ops import extended_query

    with BlockingConnection.connect(pg_server.dsn(), environ=CLEAN_ENV) as conn:
        result = conn.run(extended_query(conn.state, b"SELECT $1::int + 1, $2::text", [b"41", None]))
        assert result.rows == [(b"42", None)]


@pytest.mark.parametrize(
    ("sslmode", "expect_tls"),
    [("disable", False), ("allow", False), ("prefer", True), ("require", True)],
)
def test_sslmodes(own_server: TestServer, sslmode: str, expect_tls: bool) -> None:
    if not own_server.ssl:
        pytest.skip("the server binaries have no TLS support")
    with connect(own_server, "scram-sha-256", sslmode=sslmode) as conn:
        assert scalar(conn, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == (
            b"t" if expect_tls else b"f"
        )


@pytest.mark.parametrize("sslmode", ["verify-ca", "verify-full"])
def test_verifying_sslmodes_with_the_ca(own_server: TestServer, sslmode: str) -> None:
    if not own_server.ssl:
        pytest.skip("the server binaries have no TLS support")
    with connect(
        own_server, "scram-sha-256", sslmode=sslmode, sslrootcert=str(own_server.ca_file), host="localhost"
    ) as conn:
        assert scalar(conn, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == b"t"


def test_verify_full_with_the_wrong_host_name_fails(own_server: TestServer) -> None:
    if not own_server.ssl:
        pytest.skip("the server binaries have no TLS support")
    with pytest.raises(ConnectionFailure, match="does not match host name"):
        connect(
            own_server,
            sslmode="verify-full",
            sslrootcert=str(own_server.ca_file),
            host="wrong.invalid",
            hostaddr="127.0.0.1",
        )


def test_allow_retries_with_tls_for_a_hostssl_only_role(own_server: TestServer) -> None:
    if not own_server.ssl:
        pytest.skip("the server binaries have no TLS support")
    role = own_server.tls_only_role
    assert role is not None
    with BlockingConnection.connect(
        own_server.dsn(user=role.name, password=str(role.password), sslmode="allow"), environ=CLEAN_ENV
    ) as conn:
        assert scalar(conn, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == b"t"


def test_scram_plus_channel_binding_over_tls(own_server: TestServer) -> None:
    if not own_server.ssl:
        pytest.skip("the server binaries have no TLS support")
    with connect(own_server, "scram-sha-256", sslmode="require", channel_binding="require") as conn:
        assert scalar(conn, "SELECT current_user") == b"gp_scram"
    with pytest.raises(ConnectionFailure, match="channel binding"):
        connect(own_server, "scram-sha-256", sslmode="disable", channel_binding="require")


def test_client_certificate_authentication(own_server: TestServer) -> None:
    if not own_server.ssl:
        pytest.skip("the server binaries have no TLS support")
    assert own_server.cert_role is not None
    with BlockingConnection.connect(
        own_server.dsn(
            user=own_server.cert_role,
            sslmode="verify-full",
            host="localhost",
            sslrootcert=str(own_server.ca_file),
            sslcert=str(own_server.client_cert),
            sslkey=str(own_server.client_key),
        ),
        environ=CLEAN_ENV,
    ) as conn:
        assert scalar(conn, "SELECT current_user") == own_server.cert_role.encode()


def test_require_auth_refuses_a_weaker_method(own_server: TestServer) -> None:
    with pytest.raises(
        ConnectionFailure, match='requirement "scram-sha-256" failed: server requested a cleartext'
    ):
        connect(own_server, "password", sslmode="disable", require_auth="scram-sha-256")


# -- cancel --------------------------------------------------------------------------------------


def test_cancel_from_another_thread_returns_quickly_and_the_connection_stays_usable(
    pg_server: TestServer,
) -> None:
    with BlockingConnection.connect(pg_server.dsn(), environ=CLEAN_ENV) as conn:
        timer = threading.Timer(0.3, conn.cancel)
        started = time.monotonic()
        timer.start()
        with pytest.raises(QueryCanceled, match="canceling statement due to user request"):
            conn.execute("SELECT pg_sleep(30)")
        assert time.monotonic() - started < 2
        assert scalar(conn, "SELECT 42") == b"42"


def test_ctrl_c_cancels_the_query_then_raises_keyboard_interrupt(pg_server: TestServer) -> None:
    with BlockingConnection.connect(pg_server.dsn(), environ=CLEAN_ENV) as conn:
        timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
        started = time.monotonic()
        timer.start()
        with pytest.raises(KeyboardInterrupt) as info:
            conn.execute("SELECT pg_sleep(30)")
        assert time.monotonic() - started < 2
        assert isinstance(info.value.__cause__, QueryCanceled)
        assert scalar(conn, "SELECT 1") == b"1"


def test_second_operation_while_one_runs_is_refused(pg_server: TestServer) -> None:
    with BlockingConnection.connect(pg_server.dsn(), environ=CLEAN_ENV) as conn:
        outcome: list[BaseException] = []

        def intruder() -> None:
            try:
                conn.execute("SELECT 1")
            except BaseException as exc:
                outcome.append(exc)

        timer = threading.Timer(0.2, intruder)
        timer.start()
        conn.execute("SELECT pg_sleep(0.6)")
        timer.join()
        assert isinstance(outcome[0], InterfaceMisuse)


# -- COPY ----------------------------------------------------------------------------------------

COPY_TOTAL = 200 * 1024 * 1024
LINE = b"x" * 1023 + b"\n"


@pytest.mark.slow
def test_copy_200_mb_in_and_out_with_bounded_memory(pg_server: TestServer) -> None:
    lines_per_chunk = 64
    chunks = COPY_TOTAL // (len(LINE) * lines_per_chunk)

    def source() -> Iterator[bytes]:
        block = LINE * lines_per_chunk
        for _ in range(chunks):
            yield block

    received = 0

    def sink(data: bytes) -> None:
        nonlocal received
        received += len(data)

    with BlockingConnection.connect(pg_server.dsn(), environ=CLEAN_ENV) as conn:
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
        assert received == rows * len(LINE) >= COPY_TOTAL - len(LINE) * lines_per_chunk
        assert peak_in < 8 * 1024 * 1024, peak_in
        assert peak_out < 8 * 1024 * 1024, peak_out


def test_copy_in_with_bad_data_raises_the_servers_error(pg_server: TestServer) -> None:
    with BlockingConnection.connect(pg_server.dsn(), environ=CLEAN_ENV) as conn:
        conn.execute("CREATE TEMP TABLE nums (n int)")
        with pytest.raises(ServerError) as info:
            conn.run(simple_query(conn.state, b"COPY nums FROM STDIN", copy_source=[b"1\n", b"two\n"]))
        assert info.value.sqlstate == "22P02"
        assert scalar(conn, "SELECT count(*) FROM nums") == b"0"


# -- NOTIFY --------------------------------------------------------------------------------------


def test_notify_between_and_during_queries(pg_server: TestServer) -> None:
    with (
        BlockingConnection.connect(pg_server.dsn(), environ=CLEAN_ENV) as listener,
        BlockingConnection.connect(pg_server.dsn(), environ=CLEAN_ENV) as sender,
    ):
        listener.execute("LISTEN jobs")
        sender.execute("NOTIFY jobs, 'between'")
        notification = listener.wait_notification(timeout=5)
        assert notification is not None
        assert (notification.channel, notification.payload) == ("jobs", "between")
        assert notification.process_id == sender.state.backend_pid

        threading.Timer(0.2, sender.execute, ("NOTIFY jobs, 'during'",)).start()
        listener.execute("SELECT pg_sleep(0.6)")
        assert [n.payload for n in listener.state.notifications] == ["during"]
        assert listener.wait_notification(timeout=0.1) is not None
        assert listener.wait_notification(timeout=0.1) is None


# -- failures ------------------------------------------------------------------------------------


def test_backend_terminated_mid_query_is_connection_lost(pg_server: TestServer) -> None:
    with (
        BlockingConnection.connect(pg_server.dsn(), environ=CLEAN_ENV) as victim,
        BlockingConnection.connect(pg_server.dsn(), environ=CLEAN_ENV) as killer,
    ):
        pid = victim.state.backend_pid
        threading.Timer(0.3, killer.execute, (f"SELECT pg_terminate_backend({pid})",)).start()
        with pytest.raises((ConnectionLost, ServerError)) as info:
            victim.execute("SELECT pg_sleep(10)")
        assert "terminating connection due to administrator command" in str(info.value)
        with pytest.raises((ConnectionLost, InterfaceMisuse)):
            victim.execute("SELECT 1")


def test_backend_terminated_while_idle_is_seen_on_next_use(pg_server: TestServer) -> None:
    with (
        BlockingConnection.connect(pg_server.dsn(), environ=CLEAN_ENV) as victim,
        BlockingConnection.connect(pg_server.dsn(), environ=CLEAN_ENV) as killer,
    ):
        killer.execute(f"SELECT pg_terminate_backend({victim.state.backend_pid})")
        time.sleep(0.2)
        with pytest.raises(ConnectionLost):
            victim.execute("SELECT 1")
        assert victim.broken


def test_server_stopped_mid_query_is_connection_lost() -> None:
    cluster = ThrowawayCluster(extensions=(), ssl=False)
    server = cluster.start()
    try:
        conn = BlockingConnection.connect(server.dsn(), environ=CLEAN_ENV)
        threading.Timer(0.3, cluster.stop).start()
        with pytest.raises((ConnectionLost, ServerError)) as info:
            conn.execute("SELECT pg_sleep(10)")
        assert "terminating connection" in str(info.value) or "closed the connection" in str(info.value)
    finally:
        cluster.stop()


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A TCP port that accepts connections (kernel backlog) but never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


def test_connect_timeout_against_a_silent_server(silent_listener: int) -> None:
    started = time.monotonic()
    with pytest.raises(ConnectionFailure, match="timeout expired"):
        BlockingConnection.connect(
            f"host=127.0.0.1 port={silent_listener} user=x connect_timeout=2 sslmode=disable",
            environ=CLEAN_ENV,
        )
    assert 1.9 < time.monotonic() - started < 4


def test_multi_host_with_the_first_down_connects_to_the_second(
    pg_server: TestServer, silent_listener: int
) -> None:
    if pg_server.external:
        pytest.skip("needs the self-started cluster's port")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    dsn = pg_server.dsn(host="127.0.0.1,127.0.0.1", port=f"{dead_port},{pg_server.port}")
    with BlockingConnection.connect(dsn, environ=CLEAN_ENV) as conn:
        assert conn.attempt.port == pg_server.port
    with pytest.raises(ConnectionFailure) as info:
        BlockingConnection.connect(f"host=127.0.0.1 port={dead_port} user=x", environ=CLEAN_ENV)
    assert "Connection refused" in str(info.value)
    assert "Is the server running on that host and accepting TCP/IP connections?" in str(info.value)


def test_target_session_attrs(pg_server: TestServer) -> None:
    with BlockingConnection.connect(
        pg_server.dsn(target_session_attrs="read-write"), environ=CLEAN_ENV
    ) as conn:
        assert scalar(conn, "SELECT 1") == b"1"
    with pytest.raises(ConnectionFailure, match="server is not in hot standby mode"):
        BlockingConnection.connect(pg_server.dsn(target_session_attrs="standby"), environ=CLEAN_ENV)
    with BlockingConnection.connect(
        pg_server.dsn(target_session_attrs="prefer-standby"), environ=CLEAN_ENV
    ) as conn:
        assert scalar(conn, "SELECT 1") == b"1"
    with pytest.raises(ConnectionFailure, match="session is not read-only"):
        BlockingConnection.connect(pg_server.dsn(target_session_attrs="read-only"), environ=CLEAN_ENV)
