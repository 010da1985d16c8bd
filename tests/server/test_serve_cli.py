"""``greenpsyco serve``: bad input gives one clear line and a non-zero exit; signals and recycling."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from greenpsyco.testing.certs import CertificateAuthority
from tests.server.httpclient import get, get_many
from tests.serving import HERE, free_port

pytestmark = pytest.mark.slow


def _serve(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(HERE))
    return subprocess.run(
        [sys.executable, "-m", "greenpsyco", "serve", *args],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("greenpsyco: error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_an_app_module_that_does_not_exist(tmp_path: Path) -> None:
    line = _one_error_line(_serve("no_such_project.wsgi", "-b", "127.0.0.1:0", "--no-patch"))
    assert "cannot import the application module 'no_such_project.wsgi'" in line
    assert "no module named 'no_such_project'" in line


def test_an_app_raising_at_import_names_the_exception_and_where() -> None:
    line = _one_error_line(_serve("testproject.broken_import", "-b", "127.0.0.1:0", "--no-patch", "-w", "3"))
    assert "RuntimeError: this module refuses to load" in line
    assert "broken_import.py, line 3" in line


def test_a_missing_callable() -> None:
    line = _one_error_line(_serve("testproject.plain:nothing_here", "-b", "127.0.0.1:0", "--no-patch"))
    assert "has no attribute 'nothing_here'" in line


def test_a_port_already_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _one_error_line(_serve("testproject.plain", "-b", f"127.0.0.1:{port}", "--no-patch"))
    assert line == f"greenpsyco: error: cannot listen on 127.0.0.1:{port}: address already in use"


def test_an_unreadable_certificate(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    line = _one_error_line(_serve("testproject.plain", "-b", f"ssl:0:privateKey={missing}", "--no-patch"))
    assert f"cannot read privateKey {missing}" in line


def test_a_certificate_that_is_not_pem(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    line = _one_error_line(_serve("testproject.plain", "-b", f"ssl:0:privateKey={junk}", "--no-patch"))
    assert "not usable PEM" in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-b", "127.0.0.1:99999"], "is not a port number"),
        (["--forwarded-allow-ips", "not-an-ip"], "'not-an-ip' is not an IP address"),
        (["-w", "0"], "--workers must be at least 1"),
        (["-w", "2", "-b", "systemd:domain=INET:index=0"], "each process would open for itself"),
    ],
)
def test_bad_options(args: list[str], expected: str) -> None:
    line = _one_error_line(_serve("testproject.plain", "--no-patch", *args))
    assert expected in line


def test_tls_bind_serves_https(start_server, tmp_path: Path) -> None:
    authority = CertificateAuthority(tmp_path)
    files = authority.issue("server", "localhost", dns_names=("localhost",))
    port = free_port()
    server = start_server(
        "testproject.plain",
        "--no-patch",
        "-b",
        f"ssl:{port}:privateKey={files.key}:certKey={files.cert}",
        bind=False,
    )
    context = ssl.create_default_context(cafile=str(authority.files.cert))
    with (
        socket.create_connection(("127.0.0.1", port)) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(b"GET /environ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    assert b'"wsgi.url_scheme": "https"' in data
    assert server.process.poll() is None


def test_max_requests_recycles_the_worker(start_server) -> None:
    server = start_server("testproject.plain", "--no-patch", "--max-requests", "5")
    replies = [get(server.port, "/hello") for _ in range(12)]
    assert all(reply.status == 200 for reply in replies)
    server.wait_for_output(r"served 5 requests \(--max-requests\)")
    server.wait_for_output(r"(?s)(Booting worker.*){3}")


def test_workers_recycled_one_by_one_lose_no_connection(start_server) -> None:
    """Two workers, each replaced every 20 requests (--max-requests), while new connections keep coming:
    the worker that drains and the one that boots never leave a connection waiting on a socket nobody
    accepts from (a per-worker SO_REUSEPORT socket did: a few connections in 600 were reset)."""
    server = start_server("testproject.plain", "--no-patch", "-w", "2", "--max-requests", "20")
    statuses = [get(server.port, "/hello").status for _ in range(300)]
    assert statuses == [200] * 300
    server.wait_for_output(r"(?s)(Booting worker.*){6}")


def test_sighup_replaces_the_workers_without_dropping_requests(start_server) -> None:
    server = start_server("testproject.plain", "--no-patch", "-w", "2")
    server.wait_for_output(r"(?s)(Booting worker.*){2}")
    before = set(server.worker_pids())
    server.signal(signal.SIGHUP)
    server.wait_for_output(r"(?s)(Booting worker.*){4}")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        alive = {pid for pid in before if _alive(pid)}
        if not alive:
            break
        assert all(reply.status == 200 for reply in get_many(server.port, ["/hello"] * 5))
        time.sleep(0.1)
    assert not {pid for pid in before if _alive(pid)}, "the old workers did not stop"
    assert get(server.port, "/hello").status == 200


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_sigint_stops_at_once_even_with_requests_running(start_server) -> None:
    server = start_server("testproject.plain", "--no-patch", "--graceful-timeout", "60")
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /sleep?30 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.5)
        started = time.monotonic()
        server.signal(signal.SIGINT)
        assert server.wait(20) == 0
    assert time.monotonic() - started < 15


def test_reload_restarts_the_worker_when_a_file_changes(start_server, tmp_path: Path, monkeypatch) -> None:
    module = tmp_path / "reloadable_app.py"
    module.write_text(_app_source("one"))
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{HERE}")
    server = start_server("reloadable_app", "--no-patch", "--reload", "--chdir", str(tmp_path))
    assert get(server.port, "/").body == b"version one"
    time.sleep(1.1)  # a different modification time
    module.write_text(_app_source("two"))
    server.wait_for_output(r"reloadable_app\.py changed: reloading")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if get(server.port, "/", timeout=5).body == b"version two":
                break
        except OSError:
            pass
        time.sleep(0.2)
    assert get(server.port, "/").body == b"version two"


def _app_source(version: str) -> str:
    return (
        "def application(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        f"    return [b'version {version}']\n"
    )
