"""The parent's side of the test project: start children (tests/djangoproject/harness.py) side by side,
answer their pauses, collect what each printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenpsyco.testing import TestServer

ROOT = Path(__file__).resolve().parent.parent.parent


def database(server: TestServer, **extra: Any) -> dict[str, Any]:
    """Django's DATABASES["default"] (ENGINE aside) for the test project."""
    return {
        "NAME": "postgres",
        "USER": "postgres",
        "HOST": server.host,
        "PORT": server.port,
        "OPTIONS": {"sslmode": "disable"},
        **extra,
    }


@dataclass
class Run:
    """One child process running one scenario of the test project with one driver."""

    driver: str
    scenario: str
    db: dict[str, Any]
    args: tuple[str, ...] = ()
    pool_size: int = 0
    env: dict[str, str] = field(default_factory=dict)


def run_projects(
    runs: list[Run], on_pause: Callable[[str], None] | None = None, pauses: int = 0
) -> list[dict[str, Any]]:
    """Run the children side by side. Each of them pauses ``pauses`` times, at the same tags: when all have
    paused, ``on_pause(tag)`` runs once in this thread (a cluster's postmaster gets Linux's parent-death
    signal when the thread that started it ends, so a restart must not happen in a worker thread), then
    all go on."""
    paused = threading.Semaphore(0)
    resumes = [threading.Event() for _ in range(pauses)]
    tags: list[list[str]] = [[] for _ in range(pauses)]
    counts = [0] * len(runs)

    def answer(index: int, tag: str) -> None:
        round_ = counts[index]
        counts[index] += 1
        tags[round_].append(tag)
        paused.release()
        assert resumes[round_].wait(120)

    with ThreadPoolExecutor(len(runs)) as pool:
        futures = [
            pool.submit(_run_project, run, lambda tag, i=index: answer(i, tag))
            for index, run in enumerate(runs)
        ]
        for round_ in range(pauses):
            for _ in runs:
                assert paused.acquire(timeout=120), [f.exception() for f in futures if f.done()]
            assert len(set(tags[round_])) == 1, tags[round_]
            if on_pause is not None:
                on_pause(tags[round_][0])
            resumes[round_].set()
        return [future.result() for future in futures]


def _run_project(run: Run, on_pause: Callable[[str], None]) -> dict[str, Any]:
    env = dict(os.environ, GP_DJANGO_DATABASE=json.dumps(run.db), GP_POOL_SIZE=str(run.pool_size), **run.env)
    code = "from tests.djangoproject.harness import main; main()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, run.driver, run.scenario, *run.args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert process.stdout is not None
    assert process.stdin is not None
    last = ""
    try:
        for line in process.stdout:
            if line.startswith("PAUSE "):
                on_pause(line.split()[1])
                process.stdin.write("go\n")
                process.stdin.flush()
            elif line.strip():
                last = line
        process.wait(120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.stderr is not None
    assert process.returncode == 0, f"{run.driver}: {process.stderr.read()[-4000:]}"
    return json.loads(last)  # type: ignore[no-any-return]
