"""The comparison with the psycopg2 baseline, and the known-differences file's format."""

from __future__ import annotations

from pathlib import Path

from tests.django_suite.compare import KNOWN_DIFFERENCES, compare, known_differences

BASELINE = {
    "a.T.test_ok": "ok",
    "a.T.test_now_fails": "ok",
    "a.T.test_now_skipped": "ok",
    "a.T.test_gone": "expected_failure",
    "a.T.test_fixed": "fail",
    "a.T.test_root": "fail",
    "a.T.test_skip": "skipped",
    "a.T.test_known": "ok",
}
CANDIDATE = {
    "a.T.test_ok": "ok",
    "a.T.test_now_fails": "error",
    "a.T.test_now_skipped": "skipped",
    "a.T.test_fixed": "ok",
    "a.T.test_root": "fail",
    "a.T.test_skip": "skipped",
    "a.T.test_known": "fail",
    "b.C.setUpClass": "error",
}


def test_regressions_newly_passing_and_known() -> None:
    result = compare(BASELINE, CANDIDATE, frozenset({"a.T.test_known"}))
    assert [(c.test, c.baseline, c.candidate) for c in result.regressions] == [
        ("a.T.test_gone", "expected_failure", None),
        ("a.T.test_now_fails", "ok", "error"),
        ("a.T.test_now_skipped", "ok", "skipped"),
        ("b.C.setUpClass", None, "error"),
    ]
    assert [c.test for c in result.known] == ["a.T.test_known"]
    assert [c.test for c in result.newly_passing] == ["a.T.test_fixed"]
    assert [c.test for c in result.broken_in_both] == ["a.T.test_root"]
    assert not result.ok
    assert compare(BASELINE, BASELINE).ok


def test_known_differences_by_mode(tmp_path: Path) -> None:
    listing = tmp_path / "KNOWN.md"
    listing.write_text(
        "# Known\n- `not.under.a.mode`: ignored\n"
        "## Green mode\n- `g.T.test_x`: cause\n  more cause\n"
        "## Both modes\n* `b.T.test_y`: cause\n"
    )
    assert known_differences("green", listing) == {"g.T.test_x", "b.T.test_y"}
    assert known_differences("blocking", listing) == {"b.T.test_y"}


def test_the_repository_file_lists_test_ids() -> None:
    assert KNOWN_DIFFERENCES.exists()
    for mode in ("blocking", "green"):
        assert all(test.count(".") >= 3 for test in known_differences(mode))


def test_a_regression_counts_as_flaky_only_if_it_passed_when_re_run() -> None:
    from tests.django_suite.__main__ import _passed_on_rerun, _rerun_label

    rerun = {"a.T.test_x": "ok", "a.T.test_y": "fail", "b.C.test_1": "ok", "b.C.test_2": "skipped"}
    assert _passed_on_rerun("a.T.test_x", rerun)
    assert not _passed_on_rerun("a.T.test_y", rerun)
    assert not _passed_on_rerun("a.T.test_not_rerun", rerun)
    assert _passed_on_rerun("b.C.setUpClass", rerun)
    assert not _passed_on_rerun("c.D.setUpClass", rerun)
    assert _rerun_label("b.C.setUpClass") == "b.C"
    assert _rerun_label("a.T.test_x") == "a.T.test_x"
