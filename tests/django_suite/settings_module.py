"""Write the Django settings module a suite run uses: two databases on the test server, as Django's CI.

Django's CI runs its suite with ``default`` and ``other`` databases on one server; the rest copies
``tests/test_sqlite.py``. The first lines pick the driver the way a user would: ``greenpsyco.patch()``
for greenpsyco, nothing but hiding psycopg 3 for the psycopg2 baseline. ``TEST_RUNNER`` is Django's
runner made robust to unpicklable errors (:mod:`tests.django_suite.testrunner`), in green mode the one
whose parallel workers start their own hub (:mod:`tests.django_suite.green`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from greenpsyco.testing import TestServer
from tests.django_suite.drivers import Driver, Mode

DATABASE_NAMES = {"default": "django", "other": "django_other"}

_PREAMBLE: dict[Driver, str] = {
    "greenpsyco": "import greenpsyco\n\ngreenpsyco.patch()\n",
    "psycopg2": (
        "from tests.django_suite.drivers import use_real_psycopg2\n\nuse_real_psycopg2()  # never psycopg 3\n"
    ),
}

_BODY = """
DATABASES = {databases!r}
SECRET_KEY = "django_tests_secret_key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = False
"""

TEST_RUNNERS: dict[Mode, str] = {
    "blocking": "tests.django_suite.testrunner.SuiteDiscoverRunner",
    "green": "tests.django_suite.green.GreenDiscoverRunner",
}


def database_settings(server: TestServer) -> dict[str, dict[str, Any]]:
    """``DATABASES`` for the self-started cluster (TCP, superuser) or the server the environment names."""
    databases: dict[str, dict[str, Any]] = {}
    for alias, name in DATABASE_NAMES.items():
        entry: dict[str, Any] = {"ENGINE": "django.db.backends.postgresql", "NAME": name}
        if server.external:
            # PG* variables are read by the driver itself; a DSN goes in as libpq's "dsn" argument.
            entry["OPTIONS"] = {"dsn": server.external_dsn} if server.external_dsn else {}
        else:
            entry.update(USER=server.superuser, HOST=server.host, PORT=server.port)
            entry["OPTIONS"] = {"sslmode": "disable"}
        databases[alias] = entry
    return databases


def write_settings(directory: Path, server: TestServer, driver: Driver, mode: Mode) -> str:
    """Write the settings module into ``directory`` and return its (importable) module name."""
    name = f"greenpsyco_suite_settings_{driver}_{mode}"
    text = f'"""Written by tests/django_suite for a {driver} run in {mode} mode."""\n\n'
    text += _PREAMBLE[driver]
    text += _BODY.format(databases=database_settings(server))
    text += f"TEST_RUNNER = {TEST_RUNNERS[mode]!r}\n"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.py").write_text(text)
    return name
