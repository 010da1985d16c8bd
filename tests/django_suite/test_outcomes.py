"""The ``-v 2`` parser: bytes of unittest output in, per-test outcomes out."""

from __future__ import annotations

from tests.django_suite.outcomes import failure_reports, parse_output

OUTPUT = b"""\
Found 9 test(s).
Creating test database for alias 'default'...
System check identified no issues (17 silenced).
test_plain (backends.tests.BackendTests.test_plain) ... ok
test_doc (backends.tests.BackendTests.test_doc)
A docstring's first line ... ok
test_skip (backends.tests.BackendTests.test_skip) ... skipped 'Database has feature(s) x ... y'
test_fails (backends.tests.BackendTests.test_fails) ... FAIL
test_errs (backends.tests.BackendTests.test_errs) ... ERROR
test_xfail (backends.tests.BackendTests.test_xfail) ... expected failure
test_sub (queries.tests.SubTests.test_sub) ...
  test_sub (queries.tests.SubTests.test_sub) (value=1) ... FAIL
  test_sub (queries.tests.SubTests.test_sub) [msg] (value=2) ... ERROR
setUpClass (schema.tests.SchemaTests) ... ERROR
test_interrupted (backends.tests.BackendTests.test_interrupted) ... a worker's warning
ok

======================================================================
FAIL: test_fails (backends.tests.BackendTests.test_fails)
----------------------------------------------------------------------
Traceback (most recent call last):
AssertionError: 1 != 2

======================================================================
ERROR: setUpClass (schema.tests.SchemaTests)
----------------------------------------------------------------------
Traceback (most recent call last):
RuntimeError: boom

----------------------------------------------------------------------
Ran 9 tests in 1.234s

FAILED (failures=2, errors=3, skipped=1, expected failures=1)
"""


def test_outcomes_per_test() -> None:
    run = parse_output(OUTPUT)
    assert run.outcomes == {
        "backends.tests.BackendTests.test_plain": "ok",
        "backends.tests.BackendTests.test_doc": "ok",
        "backends.tests.BackendTests.test_skip": "skipped",
        "backends.tests.BackendTests.test_fails": "fail",
        "backends.tests.BackendTests.test_errs": "error",
        "backends.tests.BackendTests.test_xfail": "expected_failure",
        "queries.tests.SubTests.test_sub": "error",
        "schema.tests.SchemaTests.setUpClass": "error",
        "backends.tests.BackendTests.test_interrupted": "ok",
    }
    assert run.tests == 8
    assert run.ran == 9
    assert run.seconds == 1.234
    assert run.result == "FAILED (failures=2, errors=3, skipped=1, expected failures=1)"
    assert run.counts()["error"] == 3


def test_failure_reports_by_test_id() -> None:
    reports = failure_reports(OUTPUT)
    assert set(reports) == {
        "backends.tests.BackendTests.test_fails",
        "schema.tests.SchemaTests.setUpClass",
    }
    assert reports["schema.tests.SchemaTests.setUpClass"].endswith("RuntimeError: boom")


def test_ok_summary_and_no_tests() -> None:
    run = parse_output(b"Ran 0 tests in 0.000s\n\nOK\n")
    assert run.outcomes == {}
    assert run.ran == 0
    assert run.result == "OK"
