"""Green mode: the whole run, and each parallel worker, inside a request greenlet of a running hub.

The runner's main process runs ``runtests.py`` in :func:`run_in_hub`. Django's ``--parallel`` forks its
workers (as on Linux by default, and as for the psycopg2 baseline); :class:`GreenDiscoverRunner` builds
the pool with :class:`GreenForkProcess` workers: each forked worker forgets its parent's hub and reactor
(greenpsyco's at-fork hook), installs a fresh reactor (:func:`greenpsyco.hub.install_fresh_reactor`:
the parent's epoll instance, waker and sockets are shared across ``fork()`` and never touched), carries
the serialized test databases over to its greenlet's connections, and runs its whole multiprocessing
loop -- Django's worker initializer (test database clones) and every test -- in :func:`run_in_hub` of
its own. Every query thus takes the cooperative path; each worker prints its
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

from django.test.runner import _run_subsuite

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


class GreenForkProcess(multiprocessing.context.ForkProcess):
    """A forked pool worker whose whole life (initializer, every task) is a request greenlet of a hub
    of its own, on a fresh reactor."""

    def run(self) -> None:
        from django.db import connections

        from greenpsyco import hub

        # Django's connections are greenlet-local under greenpsyco: the worker's new request greenlet
        # gets fresh DatabaseWrapper objects, so what a forked worker inherits on the parent's -- the
        # serialized test databases (``serialized_rollback``) -- is carried over by hand, as Django's
        # spawn path passes it to its workers. (The settings dicts are shared and need no copy.)
        inherited = {
            alias: connections[alias]._test_serialized_contents
            for alias in connections
            if getattr(connections[alias], "_test_serialized_contents", None) is not None
        }
        hub.install_fresh_reactor()
        run_in_hub(lambda: self._run_in_greenlet(inherited))

    def _run_in_greenlet(self, inherited: dict[str, Any]) -> None:
        from django.db import connections

        for alias, contents in inherited.items():
            connections[alias]._test_serialized_contents = contents
        report_mode("worker")
        multiprocessing.context.ForkProcess.run(self)


class GreenForkContext(multiprocessing.context.ForkContext):
    """The ``fork`` start method, with :class:`GreenForkProcess` workers."""

    Process = GreenForkProcess


GREEN_CONTEXT = GreenForkContext()


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

    run_subsuite = run_green_subsuite

    def run(self, result: Any) -> Any:
        if multiprocessing.get_start_method() != "fork":
            raise RuntimeError(
                "green mode's workers are forked: multiprocessing's start method must be 'fork'"
            )
        with mock.patch.object(multiprocessing, "Pool", GREEN_CONTEXT.Pool):
            return super().run(result)


class GreenDiscoverRunner(SuiteDiscoverRunner):
    """Django's test runner whose (forked) parallel workers run inside hubs of their own."""

    parallel_test_suite = GreenParallelTestSuite
