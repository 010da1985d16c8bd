"""The throw-away PgBouncer itself: transaction pooling in front of the test cluster, nothing left."""

from __future__ import annotations

import psycopg2
import pytest

from greenpsyco.testing import ThrowawayCluster
from greenpsyco.testing.pgbouncer import PgBouncer, PgBouncerNotFound


def test_pgbouncer_pools_transactions_and_leaves_nothing_behind(pg_cluster: ThrowawayCluster | None) -> None:
    if pg_cluster is None:
        pytest.skip("needs the self-started cluster")
    try:
        bouncer = PgBouncer(pg_cluster.server)
    except PgBouncerNotFound as exc:
        pytest.skip(str(exc))
    with bouncer as server:
        assert server.port == bouncer.port != pg_cluster.server.port
        conn = psycopg2.connect(server.dsn(sslmode="disable"))
        cur = conn.cursor()
        cur.execute("SELECT inet_server_port()")
        assert cur.fetchone() == (pg_cluster.server.port,)  # the server, through PgBouncer
        conn.close()
        admin = psycopg2.connect(server.dsn(dbname="pgbouncer", sslmode="disable"))
        admin.autocommit = True
        cur = admin.cursor()
        cur.execute("SHOW CONFIG")
        settings = {row[0]: row[1] for row in cur.fetchall()}
        admin.close()
        assert settings["pool_mode"] == "transaction"
        directory = bouncer.directory
        assert directory is not None
    assert not directory.exists()
