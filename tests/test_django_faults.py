"""Django over a broken network and across a server restart, with psycopg2 (the oracle) and with
greenpsyco in both modes: a request that meets the fault fails with the same OperationalError, Django's
``close_if_unusable_or_obsolete`` discards the broken connection, and the next request works.

The test project runs in child processes (tests/djangoproject/harness.py), the drivers side by side.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from greenpsyco.testing import TestServer, ThrowawayCluster
from tests.djangoproject.runner import Run, database, run_projects

LOST = (
    "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n"
    "\tbefore or while processing the request.\n"
)
FAILED = [500, "OperationalError", LOST]


@pytest.fixture(scope="module")
def server(pg_server: TestServer) -> TestServer:
    if pg_server.external:
        pytest.skip("needs the self-started cluster's address")
    return pg_server


@pytest.mark.parametrize("health_checks", [False, True], ids=["no-health-checks", "health-checks"])
def test_network_faults_between_and_during_requests(server: TestServer, health_checks: bool) -> None:
    """CONN_MAX_AGE=60: a persistent connection cut while idle, then during a request (pg_sleep), then a
    server that accepts and never answers (connect_timeout=2)."""
    db = database(server, CONN_MAX_AGE=60, CONN_HEALTH_CHECKS=health_checks)
    args = (str(server.host), str(server.port))
    theirs, blocking, cooperative = run_projects(
        [Run(driver, "network-faults", db, args) for driver in ("psycopg2", "blocking", "cooperative")]
    )
    expected: dict[str, Any] = {
        "first": [200, "first"],
        "again": [200, "same"],  # a persistent connection
        # without health checks the request that meets the dead connection fails, and Django drops it;
        # with them, the check at the request's first query finds it broken and reconnects
        "after idle cut": [200, "new"] if health_checks else FAILED,
        "next": [200, "same" if health_checks else "new"],
        "cut mid-request": FAILED,
        "after mid-request cut": [200, "new"],
        "after stall": [200, "new"],
    }
    for outcome in (theirs, blocking, cooperative):
        stalled = outcome.pop("stalled connect")
        assert stalled[:2] == [500, "OperationalError"]
        assert stalled[2].endswith("failed: timeout expired\n")
        assert 1.5 <= outcome.pop("stalled connect took") <= 3.5
    assert theirs == expected
    assert blocking == expected
    # A request greenlet's connections end with its request (the server closes them): each request
    # has a backend of its own, so a cut while idle is never seen by the next request.
    assert cooperative == {
        **expected,
        "again": [200, "new"],
        "after idle cut": [200, "new"],
        "next": [200, "new"],
    }


@pytest.fixture(scope="module")
def restartable() -> Iterator[ThrowawayCluster]:
    """A cluster of its own: restarting the session's cluster would break other tests' connections."""
    cluster = ThrowawayCluster(extensions=(), ssl=False)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.mark.parametrize("health_checks", [False, True], ids=["no-health-checks", "health-checks"])
def test_server_restarted_between_requests(restartable: ThrowawayCluster, health_checks: bool) -> None:
    """A request, a fast restart of the server (its sessions are terminated), two more requests, with a
    persistent connection (CONN_MAX_AGE=60: without health checks the first request after the restart
    fails, as with psycopg2, and Django discards the connection) and without (CONN_MAX_AGE=0); the
    cooperative mode with and without greenpsyco's pool (whose checkout health check replaces the
    connection the restart broke)."""
    db = database(restartable.server, CONN_MAX_AGE=60, CONN_HEALTH_CHECKS=health_checks)

    def restart(tag: str) -> None:
        assert tag == "restart"
        restartable.restart()

    fresh = {**db, "CONN_MAX_AGE": 0}  # Django's default: a connection per request
    theirs, blocking, cooperative, pooled, theirs_fresh, blocking_fresh = run_projects(
        [
            Run("psycopg2", "restart", db),
            Run("blocking", "restart", db),
            Run("cooperative", "restart", db),
            Run("cooperative", "restart", db, pool_size=2),
            Run("psycopg2", "restart", fresh),
            Run("blocking", "restart", fresh),
        ],
        on_pause=restart,
        pauses=1,
    )
    # without persistent connections, every request connects: the restart is not seen at all
    assert (
        theirs_fresh
        == blocking_fresh
        == {"before": [200, "first"], "after restart": [200, "new"], "next": [200, "new"]}
    )
    if health_checks:
        expected = {"before": [200, "first"], "after restart": [200, "new"], "next": [200, "same"]}
    else:
        expected = {"before": [200, "first"], "after restart": FAILED, "next": [200, "new"]}
    assert theirs == expected
    assert blocking == expected
    assert cooperative == {"before": [200, "first"], "after restart": [200, "new"], "next": [200, "new"]}
    assert pooled == {"before": [200, "first"], "after restart": [200, "new"], "next": [200, "same"]}
