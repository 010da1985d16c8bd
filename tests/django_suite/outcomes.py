"""Per-test outcomes from the ``-v 2`` output of Django's ``runtests.py`` (unittest's text result).

unittest writes, per test, ``test_name (module.Class.test_name) ... ok`` (or ``FAIL``, ``ERROR``,
``skipped 'reason'``, ``expected failure``, ``unexpected success``). Variants handled here:

* a docstring's first line goes between the description and `` ... status``, on a line of its own;
* a failing (or skipped) subtest prints ``  test_name (module.Class.test_name) (params) ... FAIL``
  and its test then gets no line of its own: the test takes the worst status of its subtests;
* errors outside a test (``setUpClass (module.Class) ... ERROR``, ``setUpModule (module)``) are
  recorded under ``module.Class.setUpClass``;
* output of parallel workers can land between a description and its status: a status alone on a
  later line is given to the description still waiting for one.

The summary (``Ran N tests in Xs``, ``OK (skipped=3)`` / ``FAILED (failures=1, ...)``) is kept to
cross-check the count.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

OK = "ok"
SKIPPED = "skipped"
EXPECTED_FAILURE = "expected_failure"
FAIL = "fail"
ERROR = "error"
UNEXPECTED_SUCCESS = "unexpected_success"

STATUSES = (OK, SKIPPED, EXPECTED_FAILURE, FAIL, ERROR, UNEXPECTED_SUCCESS)
PASSING = frozenset({OK, EXPECTED_FAILURE})
BROKEN = frozenset({FAIL, ERROR, UNEXPECTED_SUCCESS})
_SEVERITY = {OK: 0, EXPECTED_FAILURE: 1, SKIPPED: 2, UNEXPECTED_SUCCESS: 3, FAIL: 4, ERROR: 5}
CLASS_LEVEL = frozenset({"setUpClass", "tearDownClass", "setUpModule", "tearDownModule"})

_STATUS = r"(?P<status>ok|FAIL|ERROR|expected failure|unexpected success|skipped(?: .*)?)"
_DESCRIPTION = r"^\s*(?P<name>\w+) \((?P<where>[\w.]+)\)(?P<sub> .*?)?"
_WITH_STATUS = re.compile(_DESCRIPTION + r" \.\.\. " + _STATUS + r"$")
_WAITING = re.compile(_DESCRIPTION + r" \.\.\.(?: .*)?$")  # status still to come (or never: subtests)
_BARE = re.compile(_DESCRIPTION + r"$")  # a docstring line follows
_DOC_WITH_STATUS = re.compile(r"^.* \.\.\. " + _STATUS + r"$")
_STATUS_ALONE = re.compile(r"^" + _STATUS + r"$")
_RAN = re.compile(r"^Ran (?P<count>\d+) tests? in (?P<seconds>[\d.]+)s$")
_RESULT = re.compile(r"^(?P<result>OK|FAILED)(?: \((?P<details>.*)\))?$")


def _normalize(status: str) -> str:
    if status.startswith("skipped"):
        return SKIPPED
    return {
        "ok": OK,
        "FAIL": FAIL,
        "ERROR": ERROR,
        "expected failure": EXPECTED_FAILURE,
        "unexpected success": UNEXPECTED_SUCCESS,
    }[status]


def test_id(name: str, where: str) -> str:
    """``module.Class.test_name`` for a test; ``module.Class.setUpClass`` for a class-level error."""
    if where == name or where.endswith("." + name):
        return where
    return f"{where}.{name}"


@dataclass
class ParsedRun:
    """What one run's output says: status per test id, and the summary lines."""

    outcomes: dict[str, str] = field(default_factory=dict)
    ran: int | None = None
    seconds: float | None = None
    result: str | None = None  # the closing line, e.g. "FAILED (failures=1, skipped=2)"

    def record(self, key: str, status: str) -> None:
        """Keep the worst status seen for ``key`` (a test with several failing subtests, say)."""
        previous = self.outcomes.get(key)
        if previous is None or _SEVERITY[status] > _SEVERITY[previous]:
            self.outcomes[key] = status

    def counts(self) -> dict[str, int]:
        """Tests per status, class-level errors included under ``error``."""
        counted = Counter(self.outcomes.values())
        return {status: counted.get(status, 0) for status in STATUSES}

    @property
    def tests(self) -> int:
        """Test ids parsed, not counting class- or module-level errors (unittest does not count them)."""
        return sum(1 for key in self.outcomes if key.rsplit(".", 1)[-1] not in CLASS_LEVEL)


def parse_output(text: bytes | str) -> ParsedRun:
    """Parse the ``-v 2`` output (stderr) of a run into per-test outcomes."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    run = ParsedRun()
    bare: str | None = None  # a description waiting for its docstring line
    waiting: str | None = None  # a description whose " ... status" was interrupted
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if match := _WITH_STATUS.match(line):
            run.record(test_id(match["name"], match["where"]), _normalize(match["status"]))
            bare = waiting = None
        elif match := _WAITING.match(line):
            waiting, bare = test_id(match["name"], match["where"]), None
        elif match := _BARE.match(line):
            bare, waiting = test_id(match["name"], match["where"]), None
        elif bare is not None and (match := _DOC_WITH_STATUS.match(line)):
            run.record(bare, _normalize(match["status"]))
            bare = None
        elif waiting is not None and (match := _STATUS_ALONE.match(line.strip())):
            run.record(waiting, _normalize(match["status"]))
            waiting = None
        elif match := _RAN.match(line):
            run.ran, run.seconds = int(match["count"]), float(match["seconds"])
        elif run.ran is not None and run.result is None and (match := _RESULT.match(line)):
            run.result = line
    return run


_SEPARATOR = "=" * 70
_CLOSING = "\n" + "-" * 70 + "\nRan "
_FAILURE_HEADER = re.compile(r"^(?P<kind>FAIL|ERROR|UNEXPECTED SUCCESS): (?P<description>.*)$")


def failure_reports(text: bytes | str) -> dict[str, str]:
    """The traceback block unittest printed for each failed test id (first block per id)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    reports: dict[str, str] = {}
    blocks = text.split(_SEPARATOR + "\n")
    for block in blocks[1:]:
        header, _, _ = block.partition("\n")
        match = _FAILURE_HEADER.match(header)
        if not match:
            continue
        described = _BARE.match(match["description"]) or _WAITING.match(match["description"])
        if not described:
            continue
        key = test_id(described["name"], described["where"])
        body = block.split(_CLOSING, 1)[0]
        reports.setdefault(key, body.rstrip())
    return reports
