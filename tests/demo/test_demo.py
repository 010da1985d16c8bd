"""``greenpsyco demo``: embedded PostgreSQL (pgserver), the demo project, a load run, nothing left behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from greenpsyco.testing.binaries import pgserver_bindir
from tests.server.httpclient import get

pytestmark = pytest.mark.slow


def _postgres_processes_of(bindir: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if command.startswith(bindir):
            found.append(command)
    return found


def test_demo_load_200_on_pgserver_completes_and_cleans_up(tmp_path: Path) -> None:
    pytest.importorskip("pgserver")
    bindir = str(pgserver_bindir())
    # No system PostgreSQL on the path: the demo must not need one.
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + ":/usr/bin:/bin")
    env.pop("GREENPSYCO_PG_BINDIR", None)
    result = subprocess.run(
        [sys.executable, "-m", "greenpsyco", "demo", "--load", "200", "--sleep", "0.3", "-b", "127.0.0.1:0"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert f"starting PostgreSQL (pgserver: {bindir})" in result.stderr
    assert re.search(r"greenpsyco demo is serving at http://127\.0\.0\.1:\d+/", result.stderr)
    assert "200 at once (200 ok, 0 failed)" in result.stdout
    assert re.search(r"PostgreSQL connections\s+\d+ at most \(pool size 50\)", result.stdout)
    assert re.search(r"one after another\s+60\.0 s", result.stdout)
    assert _postgres_processes_of(bindir) == []


def test_demo_serves_pages_and_ctrl_c_stops_postgres_too(tmp_path: Path) -> None:
    pytest.importorskip("pgserver")
    bindir = str(pgserver_bindir())
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "greenpsyco", "demo", "-b", "127.0.0.1:0", "--sleep", "0.1"],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        match = None
        while match is None and time.monotonic() < deadline and process.poll() is None:
            match = re.search(r"serving at http://127\.0\.0\.1:(\d+)/", log.read_text())
            time.sleep(0.1)
        assert match, log.read_text()
        port = int(match.group(1))
        assert _postgres_processes_of(bindir)
        slow = get(port, "/slow/")
        assert slow.status == 200
        assert json.loads(slow.body)["slept"] == 0.1
        visits = get(port, "/visits/")
        assert visits.status == 200
        assert b"1 visits" in visits.body
        assert b"2 visits" in get(port, "/visits/").body
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert _postgres_processes_of(bindir) == []
