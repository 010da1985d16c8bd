"""Session-wide fixtures: one throw-away PostgreSQL cluster (or the server named by the environment)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from greenpsyco.testing import (
    PostgresNotFound,
    TestServer,
    ThrowawayCluster,
    external_server_from_env,
)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[ThrowawayCluster | None]:
    """The cluster this session started, or None when the environment names an external server."""
    if external_server_from_env() is not None:
        yield None
        return
    try:
        cluster = ThrowawayCluster()
    except PostgresNotFound as exc:
        pytest.exit(str(exc), returncode=3)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def pg_server(pg_cluster: ThrowawayCluster | None) -> TestServer:
    """How to reach the test server: ``pg_server.dsn(role, **overrides)``."""
    if pg_cluster is None:
        external = external_server_from_env()
        assert external is not None
        return external
    return pg_cluster.server


@pytest.fixture
def own_server(pg_server: TestServer) -> TestServer:
    """The self-started cluster; tests needing its provisioned roles or TLS skip on an external one."""
    if pg_server.external:
        pytest.skip("needs the self-started cluster (roles, pg_hba.conf, TLS); an external server is in use")
    return pg_server
