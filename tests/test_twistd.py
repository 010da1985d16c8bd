"""``twistd -n greenpsyco --wsgi ... --listen ...``: the Twisted plugin serves a Django page."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.server.httpclient import get
from tests.serving import free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent


def test_twistd_plugin_serves_a_django_page(start_server, monkeypatch: pytest.MonkeyPatch) -> None:
    twistd = shutil.which("twistd", path=os.path.dirname(sys.executable)) or shutil.which("twistd")
    assert twistd, "Twisted's twistd script is missing"
    # An editable install keeps twisted/plugins in the checkout: put it on the plugin path (a wheel
    # installs it into Twisted's own plugins directory).
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    port = free_port()
    server = start_server(
        command=[
            twistd,
            "-n",
            "--pidfile=",
            "greenpsyco",
            "--wsgi",
            "testproject.wsgi.application",
            "--listen",
            f"tcp:{port}:interface=127.0.0.1",
        ],
        ready=False,
    )
    server.port = port
    server.wait_for_output(rf"GreenSite starting on {port}")
    reply = get(port, "/sleep/?s=0.1")
    assert reply.status == 200
    assert reply.body.startswith(b"slept 0.1")
    assert reply.headers["server"] == "greenpsyco"


def test_wheel_puts_the_plugin_where_twisted_looks() -> None:
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    find = config["tool"]["setuptools"]["packages"]["find"]
    assert "twisted.plugins" in find["include"]
    assert find["namespaces"] is True
    assert not (REPO / "twisted" / "__init__.py").exists()  # it must not shadow Twisted itself
    assert not (REPO / "twisted" / "plugins" / "__init__.py").exists()
    assert (REPO / "twisted" / "plugins" / "greenpsyco_plugin.py").exists()
