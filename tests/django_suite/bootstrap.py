"""The process that runs Django's ``runtests.py`` for one configuration (started by the runner).

``python -m tests.django_suite.bootstrap --driver D --mode M -- runtests.py --settings S ...`` with the
Django tests directory as working directory. It imports the settings module first (which applies the
driver, as a user's settings.py does), refuses to go on unless Django's backend really runs on that
driver, then runs ``runtests.py`` as ``__main__``: directly in blocking mode, inside a request greenlet
of a hub in green mode (with forked, hub-running parallel workers: :mod:`tests.django_suite.green`).
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import os
import runpy
import sys

from tests.django_suite.drivers import DRIVERS, ENV_DRIVER, ENV_MODE, MODES, check_django_backend

CHECK_LINE = "greenpsyco-suite: driver={driver} database={module} version={version!r} is_psycopg3={psycopg3}"


def _settings_name(runtests_args: list[str]) -> str:
    for index, arg in enumerate(runtests_args):
        if arg.startswith("--settings="):
            return arg.split("=", 1)[1]
        if arg == "--settings" and index + 1 < len(runtests_args):
            return runtests_args[index + 1]
    raise SystemExit("bootstrap: runtests.py needs --settings")


def _run_runtests(script: str, args: list[str]) -> int:
    """Run runtests.py as __main__; its sys.exit() becomes the return value."""
    sys.argv = [script, *args]
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            return stop.code or 0
        print(stop.code, file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.django_suite.bootstrap")
    parser.add_argument("--driver", choices=DRIVERS, required=True)
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("runtests", help="path of runtests.py")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="runtests.py's arguments")
    options = parser.parse_args(argv)
    args = [arg for arg in options.args if arg != "--"] if options.args[:1] == ["--"] else options.args
    os.environ[ENV_DRIVER] = options.driver
    os.environ[ENV_MODE] = options.mode

    importlib.import_module(_settings_name(args))  # applies the driver, as a settings.py does
    check = check_django_backend()
    print(
        CHECK_LINE.format(
            driver=options.driver,
            module=check.database_module,
            version=check.version,
            psycopg3=check.is_psycopg3,
        ),
        file=sys.stderr,
    )
    problem = check.problem(options.driver)
    if problem is not None:
        print(f"greenpsyco-suite: refusing to run: {problem}", file=sys.stderr)
        return 2

    if options.mode == "blocking":
        return _run_runtests(options.runtests, args)

    from tests.django_suite.green import report_mode, run_in_hub

    multiprocessing.set_start_method("fork")  # each forked worker installs a fresh reactor (green.py)

    def in_greenlet() -> int:
        report_mode("main")
        return _run_runtests(options.runtests, args)

    return run_in_hub(in_greenlet)


if __name__ == "__main__":
    sys.exit(main())
