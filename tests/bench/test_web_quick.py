"""The web benchmark's plumbing in its quick mode: servers start, wrk loads them, results are written.

Two servers (greenpsyco and one gunicorn peer), both views, one concurrency, one second each; it
asserts what was written (rows, tables, plots, the targets' shape), never how fast anything was.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None or importlib.util.find_spec("gunicorn") is None,
    reason="the web benchmark needs wrk (apt-get install wrk) and gunicorn (the bench extra)",
)


def test_quick_web_run_writes_results(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "bench", "--quick", "--suite", "web", "--out", str(tmp_path)]
    argv += ["--web-server", "greenpsyco-1x16", "--web-server", "sync-persistent", "--web-concurrency", "10"]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    section = json.loads((tmp_path / "results.json").read_text())["suites"]["web"]
    assert section["config"]["quick"] is True
    assert section["config"]["load_generator"].startswith("wrk")
    assert {"date", "machine", "versions", "postgresql"} <= set(section["environment"])
    seen = {(row["view"], row["server"], row["concurrency"]) for row in section["results"]}
    assert seen == {
        (view, server, 10)
        for view in ("pg_sleep", "trivial")
        for server in ("greenpsyco-1x16", "sync-persistent")
    }
    for row in section["results"]:
        assert row["failed"] == 0, section["raw"]
        assert row["requests"] > 0
        assert row["peak_sessions"] > 0
        assert row["peak_rss_mib"] > 0
        assert {"rate", "p50_ms", "p99_ms", "errors"} <= set(row)
    markdown = (tmp_path / "results.md").read_text()
    assert "## Web benchmark" in markdown
    assert "| 10 | greenpsyco 1w pool 16 |" in markdown
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "web_throughput.png").stat().st_size > 0
        assert (tmp_path / "web_p99.png").stat().st_size > 0
