"""The throw-away cluster itself: roles per auth method, TLS, extensions, and nothing left behind.

The real psycopg2 (libpq) is the client here: it is the oracle the rest of the suite compares against.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg2
import psycopg2.extensions
import pytest

from greenpsyco.testing import (
    AUTH_METHODS,
    PostgresNotFound,
    TestServer,
    ThrowawayCluster,
    external_server_from_env,
    find_binaries,
)
from greenpsyco.testing import binaries as binaries_module
from greenpsyco.testing.cluster import DIR_PREFIX, OWNER_FILE, remove_stale_clusters
from greenpsyco.wire.conninfo import make_conninfo


def query_one(dsn: str, sql: str) -> tuple[object, ...]:
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            row = cur.fetchone()
            assert row is not None
            return tuple(row)
    finally:
        conn.close()


@pytest.mark.parametrize("method", AUTH_METHODS)
@pytest.mark.parametrize("unix", [False, True], ids=["tcp", "unix"])
def test_each_auth_role_logs_in(own_server: TestServer, method: str, unix: bool) -> None:
    role = own_server.roles[method]
    dsn = own_server.dsn(method, unix=unix, sslmode="disable")
    assert query_one(dsn, "SELECT current_user, inet_server_port()") == (
        role.name,
        None if unix else own_server.port,
    )


@pytest.mark.parametrize("method", ["password", "md5", "scram-sha-256"])
def test_wrong_password_is_refused_with_the_servers_message(own_server: TestServer, method: str) -> None:
    role = own_server.roles[method]
    with pytest.raises(psycopg2.OperationalError) as info:
        psycopg2.connect(own_server.dsn(method, password="wrong", sslmode="disable"))
    assert f'password authentication failed for user "{role.name}"' in str(info.value)


def test_hba_and_stored_verifiers_match_each_method(own_server: TestServer) -> None:
    conn = psycopg2.connect(own_server.dsn())
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT user_name[1], auth_method FROM pg_hba_file_rules"
                " WHERE type = 'host' AND address = '127.0.0.1'"
            )
            hba = dict(cur.fetchall())
            cur.execute("SELECT rolname, left(rolpassword, 6) FROM pg_authid WHERE rolname ~ '^gp_'")
            verifiers = dict(cur.fetchall())
    finally:
        conn.close()
    for method, role in own_server.roles.items():
        assert hba[role.name] == method
    assert verifiers["gp_trust"] is None
    assert verifiers["gp_md5"] == "md5" + verifiers["gp_md5"][3:]
    assert verifiers["gp_scram"] == "SCRAM-"


def test_tls_is_on_when_the_binaries_support_it(own_server: TestServer) -> None:
    if find_binaries().origin == "pgserver":
        assert not own_server.ssl  # pgserver's bundled build has no TLS library
        return
    assert own_server.ssl
    assert own_server.ca_file is not None
    dsn = own_server.dsn(sslmode="verify-full", sslrootcert=str(own_server.ca_file), host="localhost")
    assert query_one(dsn, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == (True,)


def test_verify_full_rejects_a_certificate_for_another_host(own_server: TestServer) -> None:
    if not own_server.ssl:
        pytest.skip("the server binaries have no TLS support")
    dsn = own_server.dsn(
        sslmode="verify-full",
        sslrootcert=str(own_server.ca_file),
        host="wrong.invalid",
        hostaddr="127.0.0.1",
    )
    with pytest.raises(psycopg2.OperationalError, match="does not match host name"):
        psycopg2.connect(dsn)


def test_tls_only_role_and_client_certificate_role(own_server: TestServer) -> None:
    if not own_server.ssl:
        pytest.skip("the server binaries have no TLS support")
    role = own_server.tls_only_role
    assert role is not None
    assert role.password is not None
    base = own_server.dsn(user=role.name, password=role.password)
    with pytest.raises(psycopg2.OperationalError, match=r"no pg_hba\.conf entry"):
        psycopg2.connect(base + " sslmode=disable")
    assert query_one(base + " sslmode=require", "SELECT current_user") == (role.name,)

    assert own_server.cert_role
    assert own_server.client_cert
    assert own_server.client_key
    cert_dsn = own_server.dsn(
        user=own_server.cert_role,
        sslmode="verify-ca",
        sslrootcert=str(own_server.ca_file),
        sslcert=str(own_server.client_cert),
        sslkey=str(own_server.client_key),
    )
    assert query_one(cert_dsn, "SELECT current_user") == (own_server.cert_role,)


def test_django_extensions_are_in_template1(own_server: TestServer) -> None:
    wanted = {"hstore", "citext", "unaccent", "pg_trgm", "btree_gist", "btree_gin"}
    if find_binaries().origin == "pgserver":
        pytest.skip("pgserver's bundled build ships no contrib extensions")
    assert set(own_server.extensions) == wanted
    installed = query_one(
        own_server.dsn(dbname="template1"), "SELECT array_agg(extname::text) FROM pg_extension"
    )[0]
    assert isinstance(installed, list)
    assert wanted <= set(installed)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for our purposes once reaped by its parent.
    state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    return state != "Z"


def test_stop_leaves_no_process_and_no_directory() -> None:
    cluster = ThrowawayCluster(extensions=())
    server = cluster.start()
    pid, directory = cluster.pid, cluster.directory
    assert pid is not None
    assert directory is not None
    assert query_one(server.dsn(), "SELECT 1") == (1,)
    cluster.stop()
    assert not directory.exists()
    assert not _process_exists(pid)
    cluster.stop()  # idempotent


def test_a_failing_test_body_still_tears_down() -> None:
    cluster = ThrowawayCluster(extensions=())
    seen: list[tuple[int | None, Path | None]] = []

    def failing_body() -> None:
        with cluster:
            seen.append((cluster.pid, cluster.directory))
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        failing_body()
    [(pid, directory)] = seen
    assert pid is not None
    assert directory is not None
    assert not directory.exists()
    assert not _process_exists(pid)


def test_a_killed_owner_takes_its_server_along_and_the_next_run_sweeps_its_directory() -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from greenpsyco.testing import ThrowawayCluster
        cluster = ThrowawayCluster(extensions=())
        cluster.start()
        print(cluster.pid, cluster.directory, flush=True)
        time.sleep(60)
        """
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    pid_text, directory_text = owner.stdout.readline().split()
    postmaster, directory = int(pid_text), Path(directory_text)
    assert _process_exists(postmaster)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    deadline = time.monotonic() + 10
    while _process_exists(postmaster) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _process_exists(postmaster)
    assert directory.exists()
    assert directory in remove_stale_clusters()
    assert not directory.exists()


def test_a_live_owners_directory_is_not_swept(pg_cluster: ThrowawayCluster | None) -> None:
    if pg_cluster is None:
        pytest.skip("no self-started cluster in this session")
    assert pg_cluster.directory is not None
    assert pg_cluster.directory.name.startswith(DIR_PREFIX)
    assert (pg_cluster.directory / OWNER_FILE).read_text() == str(os.getpid())
    remove_stale_clusters()
    assert pg_cluster.directory.exists()


def test_missing_binaries_give_one_message_that_says_how_to_get_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(binaries_module, "_candidates", list)
    with pytest.raises(PostgresNotFound) as info:
        find_binaries()
    message = str(info.value)
    assert "apt-get install postgresql" in message
    assert "pip install pgserver" in message
    assert "GREENPSYCO_TEST_DSN" in message


def test_an_incomplete_explicit_bindir_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GREENPSYCO_PG_BINDIR", str(tmp_path))
    with pytest.raises(PostgresNotFound, match="GREENPSYCO_PG_BINDIR"):
        find_binaries()


def test_environment_names_an_external_server() -> None:
    assert external_server_from_env({}) is None
    assert external_server_from_env({"PGUSER": "x", "PGPASSWORD": "y"}) is None
    by_dsn = external_server_from_env({"GREENPSYCO_TEST_DSN": "host=db port=5433"})
    assert by_dsn is not None
    assert by_dsn.external
    assert by_dsn.dsn(application_name="t") == "host=db port=5433 application_name=t"
    by_env = external_server_from_env({"PGHOST": "db"})
    assert by_env is not None
    assert by_env.dsn() == ""
    with pytest.raises(RuntimeError, match="no provisioned 'md5' role"):
        by_env.dsn("md5")


def test_conninfo_values_are_quoted_as_libpq_reads_them(own_server: TestServer) -> None:
    params = {
        "dbname": "plain",
        "user": "two words",
        "options": "it's",
        "application_name": "back\\slash",
        "host": "",
    }
    rendered = make_conninfo(params)
    assert rendered == "dbname=plain user='two words' options=it\\'s application_name=back\\\\slash host=''"
    assert psycopg2.extensions.parse_dsn(rendered) == params  # libpq reads back every value
    dsn = own_server.dsn(application_name="it's a \\ test")
    assert query_one(dsn, "SELECT current_setting('application_name')") == ("it's a \\ test",)
