"""Run Django's suite for one configuration (driver + mode) and record its outcomes as JSON.

The run is a child process (:mod:`tests.django_suite.bootstrap`, in Django's tests directory) with
its stderr -- where unittest writes -- and stdout kept in log files next to the JSON. The JSON holds
the per-test outcomes, the counts, the wall time and the checks of the driver and I/O mode the child
printed; ``problems`` lists what makes the run untrustworthy (wrong driver or mode, no summary).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenpsyco.testing import TestServer
from tests.django_suite.drivers import Driver, Mode
from tests.django_suite.outcomes import PASSING, parse_output
from tests.django_suite.settings_module import write_settings
from tests.django_suite.source import CHECK_APP, installed_django_version

REPO_ROOT = Path(__file__).resolve().parents[2]
_CHECK_LINE = re.compile(r"^greenpsyco-suite: driver=(?P<driver>\S+) database=(?P<database>\S+) ")
_MODE_LINE = re.compile(r"^greenpsyco-suite: (?P<role>main|worker) pid=(?P<pid>\d+) mode=(?P<mode>\w+)$")


@dataclass(frozen=True)
class Config:
    """One way of running the suite."""

    driver: Driver
    mode: Mode

    @property
    def name(self) -> str:
        return "psycopg2" if self.driver == "psycopg2" else f"greenpsyco-{self.mode}"


BASELINE = Config("psycopg2", "blocking")
BLOCKING = Config("greenpsyco", "blocking")
GREEN = Config("greenpsyco", "green")
CONFIGS = {config.name: config for config in (BASELINE, BLOCKING, GREEN)}


def _command(config: Config, tests_dir: Path, settings: str, parallel: int, labels: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "tests.django_suite.bootstrap",
        "--driver", config.driver, "--mode", config.mode,
        str(tests_dir / "runtests.py"), "--",
        "--settings", settings, "--parallel", str(parallel), "-v", "2", "--noinput",
        *labels,
    ]  # fmt: skip


def _environment(settings_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(settings_dir), str(REPO_ROOT), env.get("PYTHONPATH", "")])
    )
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run_child(command: list[str], cwd: Path, env: dict[str, str], log: Path, timeout: float) -> int:
    """Run the child in its own process group; on timeout end that group (and only it)."""
    with log.with_suffix(".stdout").open("wb") as out, log.with_suffix(".stderr").open("wb") as err:
        child = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True)
        try:
            return child.wait(timeout)
        except BaseException:
            for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, sig)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(grace)
                    break
            raise


def _mode_problems(config: Config, stderr: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Check the lines the child printed about its driver and each process's I/O mode."""
    problems = []
    checks = [m for line in stderr.splitlines() if (m := _CHECK_LINE.match(line))]
    if not checks:
        problems.append("the child never reported which driver Django's backend uses")
    elif checks[0]["driver"] != config.driver:
        problems.append(f"the child ran driver {checks[0]['driver']}, not {config.driver}")
    modes = [m.groupdict() for line in stderr.splitlines() if (m := _MODE_LINE.match(line))]
    if config.mode == "green":
        if not any(entry["role"] == "main" for entry in modes):
            problems.append("green mode: the main process did not report its I/O mode")
        problems += [
            f"green mode: {entry['role']} {entry['pid']} ran in {entry['mode']} mode, not cooperative"
            for entry in modes
            if entry["mode"] != "cooperative"
        ]
    return problems, modes


def run_config(
    config: Config,
    server: TestServer,
    tests_dir: Path,
    out_dir: Path,
    *,
    labels: list[str],
    parallel: int,
    timeout: float,
) -> dict[str, Any]:
    """Run the suite (``labels``, or all of it when empty) once; write and return the JSON record."""
    out_dir = out_dir.resolve()  # the child runs elsewhere
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = write_settings(out_dir / "settings", server, config.driver, config.mode)
    run_labels = [*labels, CHECK_APP] if labels and CHECK_APP not in labels else list(labels)
    log = out_dir / f"{config.name}.log"
    started = time.monotonic()
    exit_code = _run_child(
        _command(config, tests_dir, settings, parallel, run_labels),
        tests_dir,
        _environment(out_dir / "settings"),
        log,
        timeout,
    )
    seconds = time.monotonic() - started
    stderr = log.with_suffix(".stderr").read_text(errors="replace")
    parsed = parse_output(stderr)
    problems, modes = _mode_problems(config, stderr)
    if parsed.ran is None:
        problems.append(f"runtests.py printed no 'Ran N tests' line (exit code {exit_code})")
    elif parsed.tests < parsed.ran:
        # More is fine: Django's parallel runner reports a class whose setUpClass raised SkipTest as a
        # skip of one of its tests, which it never started (so "Ran N" does not count it).
        problems.append(f"parsed {parsed.tests} test outcomes, but runtests.py ran {parsed.ran}")
    record: dict[str, Any] = {
        "config": config.name,
        "driver": config.driver,
        "mode": config.mode,
        "django": installed_django_version(),
        "python": platform.python_version(),
        "parallel": parallel,
        "labels": labels,
        "exit_code": exit_code,
        "wall_seconds": round(seconds, 1),
        "django_seconds": parsed.seconds,
        "ran": parsed.ran,
        "result": parsed.result,
        "counts": parsed.counts(),
        "processes": modes,
        "problems": problems,
        "log": str(log.with_suffix(".stderr")),
        "outcomes": parsed.outcomes,
    }
    (out_dir / f"{config.name}.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return record


def load_record(path: Path) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(path.read_text())
    return record


def summary_line(record: dict[str, Any]) -> str:
    """``greenpsyco-green: 4000 tests, 3900 passed, 95 skipped, 0 failed, 0 errors; 120.3 s``."""
    counts = record["counts"]
    passed = sum(counts[status] for status in PASSING)
    return (
        f"{record['config']}: {record['ran']} tests, {passed} passed, {counts['skipped']} skipped, "
        f"{counts['fail']} failed, {counts['error']} errors, {counts['unexpected_success']} unexpected "
        f"successes; {record['wall_seconds']} s (exit code {record['exit_code']})"
    )
