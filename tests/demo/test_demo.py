"""``greenpsyco demo``: embedded PostgreSQL (pgserver), the demo project, a load run, nothing left behind."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

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
    pgserver = pytest.importorskip("pgserver")
    bindir = str(Path(pgserver.__file__).parent / "pginstall" / "bin")
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
