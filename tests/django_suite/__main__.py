"""Command line: ``python -m tests.django_suite {run,compare,ci}``.

``run``      one configuration (``--driver greenpsyco|psycopg2``, ``--mode blocking|green``) on the given
             labels (``ci`` for the driver-sensitive set, nothing for the whole suite); writes
             ``<out>/<config>.json`` and the logs.
``compare``  a baseline JSON against one or more greenpsyco JSONs; exit 1 on a regression.
``ci``       psycopg2, greenpsyco blocking and greenpsyco green on one throw-away cluster, each
             regression re-run once alone (passing then: reported as flaky), then ``compare``: what
             ``.ci/run`` calls.

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
from greenpsyco.testing.cluster import DJANGO_EXTENSIONS
from tests.django_suite.compare import compare, known_differences
from tests.django_suite.drivers import DRIVERS, MODES
from tests.django_suite.labels import CI_LABELS
from tests.django_suite.outcomes import BROKEN, CLASS_LEVEL, PASSING, STATUSES, failure_reports
from tests.django_suite.runner import (
    BASELINE,
    BLOCKING,
    CONFIGS,
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
RERUN_LIMIT = 100  # more regressions than this are not re-run: something is broken, not flaky
LOG_TAIL = 30  # lines of a broken run's stderr shown


@contextlib.contextmanager
def test_server() -> Iterator[TestServer]:
    """The server named by the environment, or a throw-away cluster (no TLS: both drivers on plain TCP)."""
    external = external_server_from_env()
    if external is not None:
        yield external
        return
    with ThrowawayCluster(ssl=False) as server:
        missing = sorted(set(DJANGO_EXTENSIONS) - set(server.extensions))
        print(
            f"== throw-away PostgreSQL cluster on {server.host}:{server.port}, extensions in template1: "
            f"{', '.join(server.extensions) or 'none'}"
            + (f" (missing: {', '.join(missing)}; postgres_tests needing them fail)" if missing else ""),
            flush=True,
        )
        yield server


def _labels(given: list[str]) -> list[str]:
    return list(CI_LABELS) if given == ["ci"] else given


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--parallel", type=int, default=2, help="runtests.py --parallel (default 2)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"results directory ({DEFAULT_OUT})")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per run (default 3600)")
    parser.add_argument("labels", nargs="*", help="test labels; 'ci' for the CI set; none: the whole suite")


def _run(configs: list[Config], options: argparse.Namespace, *, rerun: bool = False) -> list[dict[str, Any]]:
    """Run each configuration on one server; with ``rerun``, re-run each greenpsyco regression once."""
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
            _print_run(record)
            records.append(record)
        if rerun:
            baseline, *candidates = records
            for candidate in candidates:
                _rerun_regressions(baseline, candidate, server, tests_dir, options)
    return records


def _print_run(record: dict[str, Any]) -> None:
    print(summary_line(record), flush=True)
    for problem in record["problems"]:
        print(f"  problem: {problem}", flush=True)
    if record["problems"]:
        tail = Path(record["log"]).read_text(errors="replace").splitlines()[-LOG_TAIL:]
        print("  last lines of its stderr:\n    " + "\n    ".join(tail), flush=True)


def _rerun_label(test: str) -> str:
    """The runtests.py label that runs ``test`` again (its class or module for a class-level error)."""
    head, _, last = test.rpartition(".")
    return head if last in CLASS_LEVEL else test


def _rerun_regressions(
    baseline: dict[str, Any],
    candidate: dict[str, Any],
    server: TestServer,
    tests_dir: Path,
    options: argparse.Namespace,
) -> None:
    """Run the candidate's regressions once more, alone; their outcomes go in ``candidate["rerun"]``.

    A test that fails in the full run but passes on its own is reported as flaky, not as a
    regression: timing-sensitive tests on a busy 2-core machine must not fail CI at random. Order-
    dependent failures therefore show as flaky too; they stay listed in the report.
    """
    result = compare(baseline["outcomes"], candidate["outcomes"], known_differences(candidate["mode"]))
    labels = sorted({_rerun_label(change.test) for change in result.regressions})
    if not labels or len(labels) > RERUN_LIMIT:
        return
    config = CONFIGS[candidate["config"]]
    print(f"== {config.name}: re-running {len(labels)} regressed test(s) once", flush=True)
    record = run_config(
        config,
        server,
        tests_dir,
        options.out / "rerun",
        labels=labels,
        parallel=options.parallel,
        timeout=options.timeout,
    )
    _print_run(record)
    candidate["rerun"] = record["outcomes"] if not record["problems"] else {}


def _passed_on_rerun(test: str, rerun: dict[str, str]) -> bool:
    if test in rerun:
        return rerun[test] in PASSING
    head, _, last = test.rpartition(".")
    if last not in CLASS_LEVEL:
        return False
    mine = [status for key, status in rerun.items() if key.startswith(head + ".")]
    return bool(mine) and all(status in PASSING or status == "skipped" for status in mine)


def report(baseline: dict[str, Any], candidate: dict[str, Any]) -> bool:
    """Print the comparison of ``candidate`` with ``baseline``; return whether it has no regression."""
    result = compare(baseline["outcomes"], candidate["outcomes"], known_differences(candidate["mode"]))
    rerun: dict[str, str] = candidate.get("rerun", {})
    flaky = [change for change in result.regressions if _passed_on_rerun(change.test, rerun)]
    regressions = [change for change in result.regressions if change not in flaky]
    name = candidate["config"]
    print(
        f"== {name} against {baseline['config']}: {len(regressions)} regressions, {len(flaky)} flaky "
        f"(passed when re-run), {len(result.known)} known differences, {len(result.newly_passing)} newly "
        f"passing, {len(result.broken_in_both)} failing in both"
    )
    reports = {}
    log = Path(candidate.get("log", ""))
    if result.regressions and log.is_file():
        reports = failure_reports(log.read_text(errors="replace"))
    for index, change in enumerate(regressions):
        print(f"  REGRESSION {change.test}: {change.baseline} with psycopg2, {change.candidate} here")
        if index < REPORT_LIMIT and change.test in reports:
            print("    " + reports[change.test].replace("\n", "\n    "))
    for change in flaky:
        print(f"  flaky {change.test}: {change.baseline} with psycopg2, {change.candidate} here, then passed")
        if change.test in reports:
            print("    " + reports[change.test].replace("\n", "\n    "))
    for change in result.known:
        print(f"  known difference {change.test}: {change.baseline} -> {change.candidate}")
    for change in result.newly_passing:
        print(f"  newly passing {change.test}: {change.baseline} -> {change.candidate}")
    for change in result.broken_in_both:
        print(f"  failing in both {change.test}: {change.baseline} / {change.candidate}")
    for problem in candidate["problems"]:
        print(f"  problem: {problem}")
    return not regressions


def _verdict(baseline: dict[str, Any], candidates: list[dict[str, Any]]) -> int:
    failed = bool(baseline["problems"])
    for problem in baseline["problems"]:
        print(f"baseline problem: {problem}")
    for candidate in candidates:
        failed |= not report(baseline, candidate) or bool(candidate["problems"])
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
    ci.add_argument("--no-rerun", action="store_true", help="do not re-run regressed tests once")
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
    baseline, *candidates = _run([BASELINE, BLOCKING, GREEN], options, rerun=not options.no_rerun)
    return _verdict(baseline, candidates)


if __name__ == "__main__":
    sys.exit(main())
