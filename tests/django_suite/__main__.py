"""Command line: ``python -m tests.django_suite {run,compare,ci}``.

``run``      one configuration (``--driver greenpsyco|psycopg2``, ``--mode blocking|green``) on the given
             labels (``ci`` for the driver-sensitive set, nothing for the whole suite); writes
             ``<out>/<config>.json`` and the logs.
``compare``  a baseline JSON against one or more greenpsyco JSONs; exit 1 on a regression.
``ci``       psycopg2, greenpsyco blocking and greenpsyco green on one throw-away cluster, then
             ``compare``: what ``.ci/run`` calls.

The server is a self-started throw-away cluster, or the one ``GREENPSYCO_TEST_DSN`` / ``PG*`` name.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from greenpsyco.testing import TestServer, ThrowawayCluster, external_server_from_env
from tests.django_suite.compare import Comparison, compare, known_differences
from tests.django_suite.drivers import DRIVERS, MODES
from tests.django_suite.labels import CI_LABELS
from tests.django_suite.outcomes import BROKEN, PASSING, STATUSES, failure_reports
from tests.django_suite.runner import (
    BASELINE,
    BLOCKING,
    GREEN,
    REPO_ROOT,
    Config,
    load_record,
    run_config,
    summary_line,
)
from tests.django_suite.source import django_tests_dir

DEFAULT_OUT = REPO_ROOT / "build" / "django_suite"
REPORT_LIMIT = 30  # regressions shown with their traceback
LOG_TAIL = 30  # lines of a broken run's stderr shown


@contextlib.contextmanager
def test_server() -> Iterator[TestServer]:
    """The server named by the environment, or a throw-away cluster (no TLS: both drivers on plain TCP)."""
    external = external_server_from_env()
    if external is not None:
        yield external
        return
    with ThrowawayCluster(ssl=False) as server:
        yield server


def _labels(given: list[str]) -> list[str]:
    return list(CI_LABELS) if given == ["ci"] else given


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--parallel", type=int, default=2, help="runtests.py --parallel (default 2)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"results directory ({DEFAULT_OUT})")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per run (default 3600)")
    parser.add_argument("labels", nargs="*", help="test labels; 'ci' for the CI set; none: the whole suite")


def _run(configs: list[Config], options: argparse.Namespace) -> list[dict[str, Any]]:
    tests_dir = django_tests_dir()
    labels = _labels(options.labels)
    records = []
    with test_server() as server:
        for config in configs:
            print(f"== {config.name}: {' '.join(labels) or 'the whole suite'}", flush=True)
            record = run_config(
                config,
                server,
                tests_dir,
                options.out,
                labels=labels,
                parallel=options.parallel,
                timeout=options.timeout,
            )
            print(summary_line(record), flush=True)
            for problem in record["problems"]:
                print(f"  problem: {problem}", flush=True)
            if record["problems"]:
                tail = Path(record["log"]).read_text(errors="replace").splitlines()[-LOG_TAIL:]
                print("  last lines of its stderr:\n    " + "\n    ".join(tail), flush=True)
            records.append(record)
    return records


def report(baseline: dict[str, Any], candidate: dict[str, Any]) -> Comparison:
    """Print the comparison of ``candidate`` with ``baseline``; return it."""
    result = compare(baseline["outcomes"], candidate["outcomes"], known_differences(candidate["mode"]))
    name = candidate["config"]
    print(
        f"== {name} against {baseline['config']}: {len(result.regressions)} regressions, "
        f"{len(result.known)} known differences, {len(result.newly_passing)} newly passing, "
        f"{len(result.broken_in_both)} failing in both"
    )
    reports = {}
    log = Path(candidate.get("log", ""))
    if result.regressions and log.is_file():
        reports = failure_reports(log.read_text(errors="replace"))
    for index, change in enumerate(result.regressions):
        print(f"  REGRESSION {change.test}: {change.baseline} with psycopg2, {change.candidate} here")
        if index < REPORT_LIMIT and change.test in reports:
            print("    " + reports[change.test].replace("\n", "\n    "))
    for change in result.known:
        print(f"  known difference {change.test}: {change.baseline} -> {change.candidate}")
    for change in result.newly_passing:
        print(f"  newly passing {change.test}: {change.baseline} -> {change.candidate}")
    for change in result.broken_in_both:
        print(f"  failing in both {change.test}: {change.baseline} / {change.candidate}")
    for problem in candidate["problems"]:
        print(f"  problem: {problem}")
    return result


def _verdict(baseline: dict[str, Any], candidates: list[dict[str, Any]]) -> int:
    failed = bool(baseline["problems"])
    for problem in baseline["problems"]:
        print(f"baseline problem: {problem}")
    for candidate in candidates:
        result = report(baseline, candidate)
        failed |= not result.ok or bool(candidate["problems"])
    totals = {status: sum(c["counts"][status] for c in candidates) for status in STATUSES}
    passed = sum(totals[status] for status in PASSING)
    broken = sum(totals[status] for status in BROKEN)
    skipped = totals["skipped"]
    print(f"django_suite: {passed} passed, {broken} failed, {skipped} skipped")
    print("django_suite: " + ("REGRESSIONS against psycopg2 (see above)" if failed else "no regression"))
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.django_suite", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run one configuration")
    run.add_argument("--driver", choices=DRIVERS, default="greenpsyco")
    run.add_argument("--mode", choices=MODES, default="blocking")
    _add_run_options(run)
    ci = commands.add_parser("ci", help="psycopg2 baseline, greenpsyco blocking and green, compared")
    _add_run_options(ci)
    comparing = commands.add_parser("compare", help="compare JSON records with a baseline's")
    comparing.add_argument("baseline", type=Path)
    comparing.add_argument("candidates", type=Path, nargs="+")
    options = parser.parse_args(argv)

    if options.command == "compare":
        return _verdict(load_record(options.baseline), [load_record(p) for p in options.candidates])
    if options.command == "run":
        if options.driver == "psycopg2" and options.mode == "green":
            parser.error("the psycopg2 baseline runs in blocking mode only")
        (record,) = _run([Config(options.driver, options.mode)], options)
        return 1 if record["problems"] else 0
    baseline, *candidates = _run([BASELINE, BLOCKING, GREEN], options)
    return _verdict(baseline, candidates)


if __name__ == "__main__":
    sys.exit(main())
