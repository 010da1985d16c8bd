"""Connection behaviour, differential: every scenario runs on psycopg2 and on greenpsyco."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import greenpsyco.fake_psycopg2 as fake_psycopg2
from greenpsyco.testing import TestServer
from tests.fake_psycopg2.differential import compare, outcome


@pytest.fixture
def dsn(pg_server: TestServer) -> str:
    return pg_server.dsn()


def test_connection_attributes(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        seen = [
            type(conn).__module__, type(conn).__name__, conn.closed, conn.status, conn.autocommit,
            conn.isolation_level, conn.readonly, conn.deferrable, conn.encoding, conn.protocol_version,
            conn.server_version > 0, conn.cursor_factory, conn.get_transaction_status(),
            conn.get_parameter_status("standard_conforming_strings"), conn.get_parameter_status("nope"),
            conn.notices, conn.notifies, conn.async_, conn.string_types, conn.get_backend_pid() > 0,
            conn.info.dbname, conn.info.user, conn.info.port > 0, conn.info.server_version > 0,
            conn.info.protocol_version, conn.info.transaction_status, conn.info.backend_pid > 0,
            conn.info.parameter_status("DateStyle"), type(conn.info).__name__,
        ]  # fmt: skip
        conn.close()
        seen += [
            conn.closed,
            outcome(conn.cursor),
            outcome(conn.commit),
            outcome(conn.rollback),
            conn.close(),
        ]
        seen += [outcome(lambda: conn.get_parameter_status("TimeZone")), conn.info.server_version]
        return seen

    compare(scenario, dsn)


def test_lazy_begin_commit_rollback_and_status(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        cur = conn.cursor()
        seen = [(conn.status, conn.get_transaction_status())]
        cur.execute("SELECT 1")
        seen.append((conn.status, conn.get_transaction_status()))
        conn.rollback()
        seen.append((conn.status, conn.get_transaction_status()))
        cur.execute("CREATE TEMP TABLE t (a int)")
        cur.execute("INSERT INTO t VALUES (1)")
        conn.commit()
        cur.execute("INSERT INTO t VALUES (2)")
        conn.rollback()
        cur.execute("SELECT count(*) FROM t")
        seen.append(cur.fetchone())
        seen.append(outcome(lambda: cur.execute("SELECT 1/0")))
        seen.append((conn.status, conn.get_transaction_status()))
        seen.append(outcome(lambda: cur.execute("SELECT 1")))
        conn.rollback()
        cur.execute("COMMIT")
        seen.append((conn.status, conn.get_transaction_status(), list(conn.notices)))
        conn.close()
        return seen

    compare(scenario, dsn)


def test_session_characteristics(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        ext = pg.extensions
        conn = pg.connect(dsn)
        cur = conn.cursor()
        seen: list[Any] = []
        conn.autocommit = True
        seen.append((conn.autocommit, conn.isolation_level))
        conn.isolation_level = ext.ISOLATION_LEVEL_SERIALIZABLE
        seen.append(conn.isolation_level)
        conn.autocommit = False
        cur.execute("SHOW transaction_isolation")
        seen.append(cur.fetchone())
        seen.append(outcome(lambda: setattr(conn, "autocommit", True)))
        conn.rollback()
        conn.isolation_level = None
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True, deferrable=False, autocommit=False)
        seen.append((conn.isolation_level, conn.readonly, conn.deferrable, conn.autocommit))
        cur.execute("SHOW transaction_isolation")
        seen.append(cur.fetchone())
        cur.execute("SHOW transaction_read_only")
        seen.append(cur.fetchone())
        conn.rollback()
        seen.append(outcome(lambda: setattr(conn, "isolation_level", 7)))
        seen.append(outcome(lambda: conn.set_session(isolation_level="nope")))
        conn.set_isolation_level(ext.ISOLATION_LEVEL_AUTOCOMMIT)
        seen.append((conn.autocommit, conn.isolation_level))
        conn.set_session(readonly="default", deferrable="default", isolation_level="default")
        seen.append((conn.readonly, conn.deferrable, conn.isolation_level))
        conn.close()
        return seen

    compare(scenario, dsn)


def test_context_manager_commits_or_rolls_back_and_stays_open(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("CREATE TEMP TABLE ctx (a int)")
        with conn:
            cur.execute("INSERT INTO ctx VALUES (1)")
        try:
            with conn:
                cur.execute("INSERT INTO ctx VALUES (2)")
                raise ZeroDivisionError
        except ZeroDivisionError:
            pass
        cur.execute("SELECT array_agg(a) FROM ctx")
        seen = [cur.fetchone(), conn.closed, conn.autocommit]
        conn.close()
        return seen

    compare(scenario, dsn)


def test_connect_errors(dsn: str, pg_server: TestServer) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        return [
            outcome(lambda: pg.connect(dsn + " foo_bar=1")),
            outcome(lambda: pg.connect(dsn + " dbname=nope_db")),
            outcome(lambda: pg.connect(dsn + " port=1")),
            outcome(lambda: pg.connect("host=127.0.0.1 port=1 user=x sslmode=disable", connect_timeout=3)),
            outcome(lambda: pg.extensions.parse_dsn("postgresql://u:p@h:5433/db?sslmode=disable")),
            outcome(lambda: pg.extensions.parse_dsn("dbname=x sslmode=require")),
            outcome(lambda: pg.extensions.parse_dsn("nope")),
            outcome(lambda: pg.extensions.make_dsn("dbname=x", sslmode="require", user=None)),
            outcome(lambda: pg.extensions.make_dsn(database="db", password="it's")),
            outcome(lambda: pg.extensions.make_dsn()),
        ]

    compare(scenario, dsn)


def test_dsn_hides_the_password(own_server: TestServer) -> None:
    dsn = own_server.dsn("scram-sha-256", sslmode="disable")

    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        seen = [conn.dsn, "pw-scram" in repr(conn), "password" in conn.get_dsn_parameters()]
        conn.close()
        return seen

    compare(scenario, dsn)


def test_password_from_the_environment_and_pgpass_is_read_on_every_connect(
    own_server: TestServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same DSN and keyword arguments each time (as Django's): a changed PGPASSWORD or password
    # file is seen by the next connect(), as libpq reads them on every connection.
    params = own_server.params("scram-sha-256", sslmode="disable")
    del params["password"]
    passfile = tmp_path / "pgpass"
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(passfile))

    def write_passfile(password: str) -> None:
        passfile.write_text(f"*:*:*:*:{password}\n")
        passfile.chmod(0o600)

    def scenario(pg: Any, dsn: str) -> list[Any]:
        def attempt() -> Any:
            try:
                conn = pg.connect(dsn, **params)
            except pg.OperationalError as error:
                # (libpq adds a hint naming the password file, which greenpsyco does not yet.)
                if "password authentication failed" in str(error):
                    return "rejected"
                return "no password" if "no password supplied" in str(error) else str(error)
            conn.close()
            return "connected"

        seen = []
        for password in ("pw-scram", "wrong", "pw-scram"):
            monkeypatch.setenv("PGPASSWORD", password)
            seen.append(attempt())
        monkeypatch.delenv("PGPASSWORD")
        for password in ("pw-scram", "wrong!", "pw-scram"):  # the same size, then another size
            write_passfile(password)
            seen.append(attempt())
        passfile.unlink()
        seen.append(attempt())
        return seen

    compare(scenario, "")
    assert scenario(fake_psycopg2, "") == ["connected", "rejected", "connected"] * 2 + ["no password"]


def test_notices_and_notifies(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("DO $$ BEGIN RAISE NOTICE 'hello %', 42; RAISE WARNING 'careful'; END $$")
        cur.execute("LISTEN ch")
        cur.execute("NOTIFY ch, 'payload'")
        other = pg.connect(dsn)
        other.autocommit = True
        other.cursor().execute("NOTIFY ch, 'from other'")
        time.sleep(0.2)
        conn.poll()
        seen = [
            list(conn.notices),
            [(n.channel, n.payload, type(n).__name__) for n in conn.notifies],
            conn.notifies[0] == (conn.get_backend_pid(), "ch"),
        ]
        for _ in range(60):
            cur.execute("DO $$ BEGIN RAISE NOTICE 'n'; END $$")
        seen.append(len(conn.notices))
        other.close()
        conn.close()
        return seen

    compare(scenario, dsn)


def test_cancel_from_another_thread(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        cur = conn.cursor()
        timer = threading.Timer(0.3, conn.cancel)
        timer.start()
        started = time.monotonic()
        seen = [outcome(lambda: cur.execute("SELECT pg_sleep(10)")), time.monotonic() - started < 3]
        timer.join()
        conn.rollback()
        cur.execute("SELECT 1")
        seen += [cur.fetchone(), conn.cancel()]
        conn.close()
        return seen

    compare(scenario, dsn)


def test_terminated_backend_marks_the_connection_broken(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        killer = pg.connect(dsn)
        killer.autocommit = True
        killer.cursor().execute("SELECT pg_terminate_backend(%s)", (conn.get_backend_pid(),))
        time.sleep(0.2)
        cur = conn.cursor()
        seen = [outcome(lambda: cur.execute("SELECT 1")), conn.closed, outcome(conn.rollback)]
        conn.close()
        seen.append(conn.closed)
        killer.close()
        return seen

    compare(scenario, dsn)


def test_reset_and_tpc(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        cur = conn.cursor()
        cur.execute("SET application_name = 'changed'")
        conn.reset()
        cur.execute("SHOW application_name")
        seen: list[Any] = [cur.fetchone(), conn.status]
        conn.rollback()
        xid = conn.xid(42, "gtrid", "bqual")
        seen.append((xid.format_id, xid.gtrid, xid.bqual, repr(xid)))
        conn.tpc_begin(xid)
        cur.execute("SELECT 1")
        seen.append(outcome(conn.commit))
        seen.append(outcome(conn.tpc_prepare))
        seen.append(conn.status)
        seen.append(outcome(conn.tpc_rollback))
        seen.append(conn.status)
        conn.close()
        return seen

    compare(scenario, dsn)


def encrypted_with_connection(pg: Any, dsn: str) -> list[Any]:
    conn = pg.connect(dsn)
    ext = pg.extensions
    seen = [
        ext.encrypt_password("secret", "bob", conn).split("$")[0],
        ext.encrypt_password("secret", "bob", conn, "scram-sha-256").split(":")[0],
        outcome(lambda: ext.encrypt_password("secret", "bob", conn, "nope")),
    ]
    conn.close()
    return seen


def test_encrypt_password(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        ext = pg.extensions
        return [
            ext.encrypt_password("secret", "bob", algorithm="md5"),
            outcome(lambda: ext.encrypt_password("secret", "bob", algorithm="scram-sha-256")),
            outcome(lambda: ext.encrypt_password("secret", "bob", algorithm="nope")),
            encrypted_with_connection(pg, dsn),
        ]

    compare(scenario, dsn)


def test_dsn_parameters_and_fileno(dsn: str) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn, application_name="gp")
        # Known difference: libpq built with GSSAPI reports gssencmode=prefer; greenpsyco has no GSSAPI.
        params = {key: value for key, value in conn.get_dsn_parameters().items() if key != "gssencmode"}
        seen = [
            params,
            list(params) == [k for k in conn.info.dsn_parameters if k != "gssencmode"],
            conn.fileno() > 2,
        ]
        seen.append(conn.fileno() == conn.info.socket)
        conn.close()
        seen.append(outcome(conn.fileno))
        return seen

    compare(scenario, dsn)


def test_large_objects(dsn: str, tmp_path: Any) -> None:
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        lob = conn.lobject()
        seen: list[Any] = [lob.mode, lob.closed, lob.oid > 0]
        seen += [lob.write(b"hello world"), lob.tell(), lob.seek(6), lob.read(), lob.tell()]
        lob.truncate(5)
        lob.seek(0)
        seen += [lob.read()]
        lob.close()
        seen += [lob.closed, outcome(lob.read)]
        text = conn.lobject(lob.oid, "rt")
        seen += [text.mode, text.read()]
        text.unlink()
        seen += [text.closed]
        conn.commit()
        conn.autocommit = True
        seen += [outcome(conn.lobject)]
        conn.close()
        return seen

    compare(scenario, dsn)


def test_one_connection_shared_by_threads_is_serialised(dsn: str) -> None:
    # Under --green the connection is opened in a request greenlet (cooperative) and the threads use it
    # through the hub's reactor lock (greenpsyco.green), while the hub's thread blocks in join().
    def scenario(pg: Any, dsn: str) -> list[Any]:
        conn = pg.connect(dsn)
        conn.autocommit = True
        results: list[Any] = []

        def work(n: int) -> None:
            cur = conn.cursor()
            for _ in range(20):
                cur.execute("SELECT %s::int, pg_sleep(0.001)", (n,))
                results.append(cur.fetchone()[0] == n)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        conn.close()
        return [len(results), all(results)]

    compare(scenario, dsn)
