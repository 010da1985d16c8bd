"""libpq's multi-host failover across a primary and a streaming replica (two local clusters, the replica
made with pg_basebackup), with psycopg2 and greenpsyco in both modes: ``target_session_attrs`` picks
the same server; when the primary goes away a read-write connection fails the same way; once the
replica is promoted, the same DSN reaches it -- from a plain connection and from the Django project.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest

import greenpsyco.fake_psycopg2 as fake
from greenpsyco.testing import ThrowawayCluster
from greenpsyco.testing.replication import StandbyCluster
from greenpsyco.wire.errors import WireError
from greenpsyco.wire.io_twisted import TwistedConnection
from tests.djangoproject.runner import Run, run_projects
from tests.wire.drivers import CLEAN_ENV, ensure_reactor, in_reactor

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ["any", "read-write", "read-only", "primary", "standby", "prefer-standby"]


@pytest.fixture(scope="module")
def clusters() -> Iterator[tuple[ThrowawayCluster, StandbyCluster]]:
    primary = ThrowawayCluster(extensions=(), ssl=False)
    primary.start()
    standby = StandbyCluster(primary)
    try:
        standby.start()
        yield primary, standby
    finally:
        standby.stop()
        primary.stop()


def multi_host(primary: ThrowawayCluster, standby: StandbyCluster, target: str) -> str:
    """The standby first: only target_session_attrs sends a writer to the primary."""
    return (
        f"host=127.0.0.1,127.0.0.1 port={standby.server.port},{primary.server.port} user=postgres "
        f"dbname=postgres sslmode=disable connect_timeout=5 target_session_attrs={target}"
    )


def where(module: Any, dsn: str) -> Any:
    """The port and recovery state of the server the DSN led to, or the connection error."""
    try:
        conn = module.connect(dsn)
    except Exception as exc:
        return [type(exc).__name__, str(exc)]
    try:
        cur = conn.cursor()
        cur.execute("SELECT inet_server_port(), pg_is_in_recovery()")
        return list(cur.fetchone())
    finally:
        conn.close()


def twisted_where(dsn: str) -> Any:
    """The same with the Twisted driver (the reactor in a thread of this process)."""
    ensure_reactor()
    try:
        conn = in_reactor(functools.partial(TwistedConnection.connect, dsn, environ=CLEAN_ENV))
    except WireError as exc:
        return ["wire", str(exc)]
    try:
        [result] = in_reactor(conn.execute, "SELECT inet_server_port(), pg_is_in_recovery()")
        port, recovery = result.rows[0]
        return [int(port or b"0"), recovery == b"t"]
    finally:
        in_reactor(conn.close)


def cooperative_where(dsns: list[str]) -> list[Any]:
    code = (
        "import json, sys\n"
        "import greenpsyco.fake_psycopg2 as fake\n"
        "from greenpsyco import hub\n"
        "from tests.test_failover import where\n"
        "print(json.dumps(hub.run(lambda: [where(fake, d) for d in json.loads(sys.argv[1])])))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(dsns)], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_target_session_attrs_pick_the_same_server(clusters: tuple[ThrowawayCluster, StandbyCluster]) -> None:
    primary, standby = clusters
    dsns = [multi_host(primary, standby, target) for target in TARGETS]
    theirs = [where(psycopg2, dsn) for dsn in dsns]
    assert [row[0] for row in theirs] == [
        standby.server.port,  # any: the first host
        primary.server.port,  # read-write
        standby.server.port,  # read-only
        primary.server.port,  # primary
        standby.server.port,  # standby
        standby.server.port,  # prefer-standby
    ]
    assert [where(fake, dsn) for dsn in dsns] == theirs
    assert cooperative_where(dsns) == theirs
    assert [twisted_where(dsn) for dsn in dsns] == theirs


def test_failover_to_a_promoted_replica(clusters: tuple[ThrowawayCluster, StandbyCluster]) -> None:
    """The Django project writes through the multi-host DSN (CONN_MAX_AGE with health checks, as a
    production setting would) while the primary is stopped, then the replica promoted; between the two,
    plain connections are compared too, and a session opened on the standby before the promotion sees
    ``in_hot_standby`` turn off (a ParameterStatus the server reports)."""
    primary, standby = clusters
    primary.psql("CREATE TABLE IF NOT EXISTS gp_failover (n int); INSERT INTO gp_failover VALUES (1)")
    standby.wait_for_replay()
    read_write = multi_host(primary, standby, "read-write")
    db = {
        "NAME": "postgres",
        "USER": "postgres",
        "HOST": "127.0.0.1,127.0.0.1",
        "PORT": f"{standby.server.port},{primary.server.port}",
        "OPTIONS": {"sslmode": "disable", "target_session_attrs": "read-write", "connect_timeout": 5},
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
    watchers: dict[str, Any] = {}
    seen: dict[str, Any] = {}

    def topology_changes(tag: str) -> None:
        if tag == "primary-down":
            for name, module in (("psycopg2", psycopg2), ("greenpsyco", fake)):
                watcher = watchers[name] = module.connect(multi_host(primary, standby, "read-only"))
                seen[f"{name} hot standby before"] = watcher.get_parameter_status("in_hot_standby")
            primary.halt()
            seen["down"] = [where(psycopg2, read_write), where(fake, read_write), twisted_where(read_write)]
        else:
            standby.promote()
            seen["promoted"] = [
                where(psycopg2, read_write),
                where(fake, read_write),
                twisted_where(read_write),
            ]
            for name, watcher in watchers.items():
                cur = watcher.cursor()
                cur.execute("SELECT count(*) FROM gp_failover")  # reads what the old primary wrote
                seen[f"{name} rows"] = cur.fetchone()[0]
                seen[f"{name} hot standby after"] = watcher.get_parameter_status("in_hot_standby")
                watcher.close()

    theirs, blocking, cooperative = run_projects(
        [Run(driver, "failover", db) for driver in ("psycopg2", "blocking", "cooperative")],
        on_pause=topology_changes,
        pauses=2,
    )
    down = seen["down"]
    assert (
        down[0]
        == down[1]
        == [
            "OperationalError",
            f'connection to server at "127.0.0.1", port {standby.server.port} failed: session is read-only\n'
            f'connection to server at "127.0.0.1", port {primary.server.port} failed: Connection refused\n'
            "\tIs the server running on that host and accepting TCP/IP connections?\n",
        ]
    )
    assert down[2][0] == "wire"
    assert down[2][1] == down[0][1].rstrip("\n")
    assert seen["promoted"] == [[standby.server.port, False]] * 3
    for name in ("psycopg2", "greenpsyco"):
        assert seen[f"{name} hot standby before"] == "on"
        assert seen[f"{name} rows"] == 1
        assert seen[f"{name} hot standby after"] == "off"

    wrote = [200, json.dumps({"wrote": True, "port": primary.server.port})]
    assert theirs["before"] == wrote
    assert theirs["primary down"][:2] == [500, "OperationalError"]
    assert theirs["primary down"][2] == down[0][1]
    promoted = [200, json.dumps({"wrote": True, "port": standby.server.port})]
    assert theirs["promoted"] == theirs["again"] == promoted
    assert blocking == theirs
    assert cooperative == theirs
