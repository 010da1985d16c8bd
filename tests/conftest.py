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

pytest_plugins = ["tests.serving"]  # start_server: a server subprocess per test


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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--green",
        action="store_true",
        help="run every test inside a request greenlet of greenpsyco's hub (cooperative mode)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> object:
    """With --green, the whole test loop runs in a greenlet spawned by the hub, so every query the
    fake psycopg2 makes takes the cooperative path through the Twisted reactor."""
    if not session.config.getoption("--green"):
        return None
    from _pytest.main import pytest_runtestloop as default_loop

    from greenpsyco import hub

    hub.run(default_loop, session)
    return True
