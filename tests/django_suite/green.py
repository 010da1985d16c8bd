"""Green mode: the whole run, and each parallel worker, inside a request greenlet of a running hub.

The runner's main process runs ``runtests.py`` in :func:`run_in_hub`. Django's ``--parallel`` normally
forks its workers, but a forked child cannot use its parent's reactor (the hub's at-fork rule), so in
green mode the workers are *spawned* (``multiprocessing`` start method ``spawn``, which Django's runner
supports as on macOS) by :class:`GreenDiscoverRunner`, and each spawned worker runs its whole
multiprocessing loop -- Django's worker initializer (test database clones) and every test -- in
:func:`run_in_hub` of its own. Every query thus takes the cooperative path; each worker prints its
:func:`greenpsyco.mode` on stderr (``greenpsyco-suite: worker ...``) for the runner to verify.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar
from unittest import mock

from django.db import connections
from django.test.runner import _init_worker, _run_subsuite

from tests.django_suite.testrunner import SuiteDiscoverRunner, SuiteParallelTestSuite

T = TypeVar("T")

MODE_LINE = "greenpsyco-suite: {role} pid={pid} mode={mode}"


def run_in_hub(fn: Callable[[], T]) -> T:
    """Run ``fn()`` in a request greenlet of a new hub in this thread; return its result.

    Like :func:`greenpsyco.hub.run`, but without Twisted's signal handlers: ``multiprocessing`` stops
    a pool's workers with SIGTERM, and Python's default action must handle it even while the worker
    blocks (the reactor does not run then).
    """
    from greenpsyco import hub

    started = hub.start_hub()
    task = started.spawn(fn)
    task.deferred.addBoth(lambda _: started.stop())
    started.run_forever(install_signal_handlers=False)
    return task.result()


def report_mode(role: str) -> str:
    """Print which I/O mode database calls made here take (``role`` names this process); return it."""
    import greenpsyco

    mode = str(greenpsyco.mode())
    print(MODE_LINE.format(role=role, pid=os.getpid(), mode=mode), file=sys.stderr, flush=True)
    return mode


class GreenSpawnProcess(multiprocessing.context.SpawnProcess):
    """A spawned pool worker whose whole life (initializer, every task) is a request greenlet."""

    def run(self) -> None:
        run_in_hub(self._run_in_greenlet)

    def _run_in_greenlet(self) -> None:
        report_mode("worker")
        multiprocessing.context.SpawnProcess.run(self)


class GreenSpawnContext(multiprocessing.context.SpawnContext):
    """The ``spawn`` start method, with :class:`GreenSpawnProcess` workers."""

    Process = GreenSpawnProcess


GREEN_CONTEXT = GreenSpawnContext()


def init_green_worker(
    counter: Any,
    initial_settings: Any = None,
    serialized_contents: Any = None,
    process_setup: Any = None,
    process_setup_args: Any = None,
    debug_mode: Any = None,
    used_aliases: Any = None,
) -> None:
    """Django's worker initializer, plus what it leaves out for a spawned worker on PostgreSQL.

    The parent marks the tests a backend's ``django_test_skips`` / ``django_test_expected_failures``
    name (``mark_expected_failures_and_skips()`` in ``create_test_db``) on the classes it imported; a
    forked worker inherits them, a spawned one imports the modules afresh and must mark them again
    (Django's SQLite backend does this in its own ``setup_worker_connection``; PostgreSQL's does not).
    """
    _init_worker(
        counter,
        initial_settings,
        serialized_contents,
        process_setup,
        process_setup_args,
        debug_mode,
        used_aliases,
    )
    for alias in used_aliases if used_aliases is not None else connections:
        connections[alias].creation.mark_expected_failures_and_skips()


def run_green_subsuite(args: Any) -> Any:
    """Django's ``_run_subsuite``; an exception escaping it is printed here before multiprocessing
    tries to pickle it back to the parent (which fails for many, hiding the cause)."""
    try:
        return _run_subsuite(args)
    except BaseException:
        traceback.print_exc()
        raise


class GreenParallelTestSuite(SuiteParallelTestSuite):
    """Django's parallel suite, with its worker pool built in :data:`GREEN_CONTEXT`."""

    init_worker = init_green_worker
    run_subsuite = run_green_subsuite

    def run(self, result: Any) -> Any:
        if multiprocessing.get_start_method() != "spawn":
            raise RuntimeError("green mode needs multiprocessing's 'spawn' start method (see bootstrap)")
        with mock.patch.object(multiprocessing, "Pool", GREEN_CONTEXT.Pool):
            return super().run(result)


class GreenDiscoverRunner(SuiteDiscoverRunner):
    """Django's test runner whose parallel workers run inside hubs of their own."""

    parallel_test_suite = GreenParallelTestSuite
