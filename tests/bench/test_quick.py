"""The benchmark's plumbing, run in its quick mode: one command writes the results file, tables, plots.

It runs in a subprocess (the benchmark starts greenpsyco's hub, which a process can start only once) and
asserts what was written, never how fast anything was.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_writes_results(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--suite", "driver", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads((tmp_path / "results.json").read_text())
    section = data["suites"]["driver"]
    assert section["config"]["quick"] is True
    placement = section["config"]["placement"]  # the default, "apart" (bench.driver.pinning)
    if len(os.sched_getaffinity(0)) >= 2:
        assert "benchmark process pinned to CPU" in placement
        assert "the server (postmaster and every backend) to CPU" in placement
    else:
        assert placement.startswith("no CPU pinning")
    assert {"date", "machine", "versions", "postgresql"} <= set(section["environment"])
    seen = {(row["measure"], row["transport"], row["client"]) for row in section["results"]}
    for measure in ("select1", "params", "fetch", "executemany", "connect", "copy_out", "copy_in"):
        for transport in ("tcp", "unix"):
            for client in ("psycopg2", "greenpsyco", "greenpsyco coop"):
                assert (measure, transport, client) in seen
    for row in section["results"]:
        assert row["rate"] > 0
        assert row["samples"]
    assert section["targets"]
    markdown = (tmp_path / "results.md").read_text()
    assert "## Driver benchmark" in markdown
    assert f"Placement: {placement}." in markdown
    assert "| tcp |" in markdown
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "driver_rate_ratios.png").stat().st_size > 0
        assert (tmp_path / "driver_cpu_ratios.png").stat().st_size > 0


def test_replayed_socket_micro_benchmark_runs() -> None:
    """bench.driver.replay replays each recorded answer and checks it reads what the real one read."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.driver.replay", "--rounds", "1", "--count", "200", "--fetch-rows", "9"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["select1", "params", "fetch"]


def test_placement_tool_runs_in_both_modes() -> None:
    """bench.driver.placement prints one row per placement; with --cooperative it compares greenpsyco's
    blocking and cooperative modes (with and without the short dispatch path)."""
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("bench.driver.placement needs two CPUs")
    for extra, columns in (([], 2), (["--cooperative"], 3)):
        done = subprocess.run(
            [sys.executable, "-m", "bench.driver.placement", "--rounds", "1", "--count", "50", *extra],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "---" not in line]
        _header, *placements = rows
        assert [row.split(" | ")[0] for row in placements] == [
            "| same CPU",
            "| different CPUs",
            "| the scheduler's choice",
        ]
        # placement, one cell per client, one ratio cell per client after the first
        assert all(row.count(" | ") == 2 * columns - 1 for row in rows)
        assert all(row.count("/s, ") == columns for row in placements)
