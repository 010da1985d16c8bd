"""The Django test runner every suite run uses: Django's, except that one unpicklable error cannot abort it.

A parallel worker sends each test's outcome to the parent by pickling it. When a test fails with an
exception that cannot be pickled (an ``HTTPError`` holding its socket's file, say), Django's
``RemoteTestResult`` re-raises the pickling error and the whole run ends there, so every later test
would count as "did not run". Here such an error is replaced by :class:`UnpicklableError` carrying the
original traceback as text: the test is still reported as failed (or errored), with its traceback,
and the run goes on. Used for every configuration alike, the baseline included.
"""

from __future__ import annotations

import traceback
from types import TracebackType
from typing import Any

from django.test.runner import DiscoverRunner, ParallelTestSuite, RemoteTestResult, RemoteTestRunner

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class UnpicklableError(Exception):
    """Stands in for an exception that could not be sent from a worker; its message is the traceback."""


class PicklingRemoteTestResult(RemoteTestResult):
    def _picklable(self, err: ExcInfo) -> ExcInfo:
        try:
            self._confirm_picklable(err)
        except Exception as problem:
            text = "".join(traceback.format_exception(*err))
            stand_in = UnpicklableError(f"{err[0].__qualname__} could not be pickled ({problem!r}):\n{text}")
            return (UnpicklableError, stand_in, None)
        return err

    def addError(self, test: Any, err: ExcInfo) -> None:
        super().addError(test, self._picklable(err))

    def addFailure(self, test: Any, err: ExcInfo) -> None:
        super().addFailure(test, self._picklable(err))

    def addExpectedFailure(self, test: Any, err: ExcInfo) -> None:
        super().addExpectedFailure(test, self._picklable(err))

    def addSubTest(self, test: Any, subtest: Any, err: ExcInfo | None) -> None:
        super().addSubTest(test, subtest, None if err is None else self._picklable(err))


class PicklingRemoteTestRunner(RemoteTestRunner):
    resultclass = PicklingRemoteTestResult


class SuiteParallelTestSuite(ParallelTestSuite):
    runner_class = PicklingRemoteTestRunner


class SuiteDiscoverRunner(DiscoverRunner):
    parallel_test_suite = SuiteParallelTestSuite
