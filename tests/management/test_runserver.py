"""``manage.py runserver`` with ``greenpsyco`` in INSTALLED_APPS runs greenpsyco's server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from greenpsyco.testing import TestServer
from tests.server.httpclient import get
from tests.serving import HERE, free_port

pytestmark = pytest.mark.slow

MANAGE = str(HERE / "testproject" / "manage.py")


def _runserver(start_server, *extra: str):
    port = free_port()
    server = start_server(
        command=[sys.executable, MANAGE, "runserver", f"127.0.0.1:{port}", *extra], ready=False
    )
    server.port = port
    server.wait_for_output(rf"Starting development server at http://127.0.0.1:{port}/")
    return server


@pytest.mark.parametrize("reloader", [True, False], ids=["autoreload", "noreload"])
def test_runserver_serves_django_on_greenpsyco(start_server, reloader: bool) -> None:
    server = _runserver(start_server, *([] if reloader else ["--noreload"]))
    reply = get(server.port, "/hello/")
    assert reply.status == 200
    assert reply.body == b"hello from greenpsyco"
    assert reply.headers["server"] == "greenpsyco"
    assert get(server.port, "/sleep/?s=0.1").status == 200  # a query in a request greenlet


def test_runserver_serves_static_files_with_debug(start_server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENPSYCO_TEST_DEBUG", "1")
    server = _runserver(start_server, "--noreload")
    reply = get(server.port, "/static/hello.txt")
    assert reply.status == 200
    assert reply.body == b"static file served\n"


def test_runserver_reports_a_port_in_use(pg_server: TestServer) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
            env=dict(os.environ, PYTHONPATH=str(HERE), GREENPSYCO_TEST_SERVER_DSN=pg_server.dsn()),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert "Error: That port is already in use." in result.stderr


def test_check_errors_when_greenpsyco_comes_after_staticfiles(tmp_path) -> None:
    settings = tmp_path / "wrong_order_settings.py"
    settings.write_text(
        "from testproject.settings import *  # noqa\n"
        "INSTALLED_APPS = ['django.contrib.staticfiles', 'greenpsyco']\n"
    )
    result = subprocess.run(
        [sys.executable, MANAGE, "check"],
        env=dict(
            os.environ,
            PYTHONPATH=os.pathsep.join([str(tmp_path), str(HERE)]),
            DJANGO_SETTINGS_MODULE="wrong_order_settings",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "greenpsyco.E001" in result.stderr
    assert "must be listed before 'django.contrib.staticfiles'" in result.stderr
