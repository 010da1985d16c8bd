"""Throw-away PostgreSQL servers for greenpsyco's tests, benchmarks and demo.

Kept inside the package (like ``django.test``) so the test suite, ``bench/`` and the Django-suite runner
share one implementation of "start a private cluster, configure it, leave nothing behind".
"""

from greenpsyco.testing.binaries import PostgresBinaries, PostgresNotFound, find_binaries
from greenpsyco.testing.cluster import (
    AUTH_METHODS,
    Role,
    TestServer,
    ThrowawayCluster,
    external_server_from_env,
)

__all__ = [
    "AUTH_METHODS",
    "PostgresBinaries",
    "PostgresNotFound",
    "Role",
    "TestServer",
    "ThrowawayCluster",
    "external_server_from_env",
    "find_binaries",
]
