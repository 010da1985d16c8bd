"""Compare a greenpsyco run's outcomes with the psycopg2 baseline's.

A *regression* is a test that passed with psycopg2 (``ok`` or ``expected failure``) and did not with
greenpsyco -- failed, errored, was skipped or did not run -- or a failure greenpsyco has that psycopg2
did not report at all (a ``setUpClass`` error, say). *Newly passing* is the reverse. Tests listed in
``KNOWN_DIFFERENCES.md`` for the candidate's mode are reported apart and do not fail the comparison.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.django_suite.outcomes import BROKEN, PASSING

KNOWN_DIFFERENCES = Path(__file__).with_name("KNOWN_DIFFERENCES.md")
_KNOWN_LINE = re.compile(r"^\s*[-*] `(?P<test>[\w.]+)`")
_SECTION = re.compile(r"^#+\s*(?P<title>.*?)\s*$")
_SECTION_MODES = {
    "green mode": ("green",),
    "blocking mode": ("blocking",),
    "both modes": ("blocking", "green"),
}


def known_differences(mode: str, path: Path = KNOWN_DIFFERENCES) -> frozenset[str]:
    """Test ids listed for ``mode`` in the known-differences file.

    Bullets (`` - `module.Class.test`: cause``) count under the headings ``Green mode``,
    ``Blocking mode`` or ``Both modes``; bullets elsewhere are ignored.
    """
    if not path.exists():
        return frozenset()
    found: set[str] = set()
    modes: tuple[str, ...] = ()
    for line in path.read_text().splitlines():
        if heading := _SECTION.match(line):
            modes = _SECTION_MODES.get(heading["title"].lower(), ())
        elif mode in modes and (match := _KNOWN_LINE.match(line)):
            found.add(match["test"])
    return frozenset(found)


@dataclass(frozen=True)
class Change:
    test: str
    baseline: str | None  # None: the test did not run there
    candidate: str | None


@dataclass
class Comparison:
    regressions: list[Change] = field(default_factory=list)
    known: list[Change] = field(default_factory=list)
    newly_passing: list[Change] = field(default_factory=list)
    broken_in_both: list[Change] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.regressions


def compare(
    baseline: Mapping[str, str], candidate: Mapping[str, str], known: frozenset[str] = frozenset()
) -> Comparison:
    """Classify every test id of either run (see the module docstring)."""
    result = Comparison()
    for test in sorted(set(baseline) | set(candidate)):
        before, after = baseline.get(test), candidate.get(test)
        change = Change(test, before, after)
        worse = (before in PASSING and after not in PASSING) or (
            after in BROKEN and before not in BROKEN and before not in PASSING
        )
        if worse:
            (result.known if test in known else result.regressions).append(change)
        elif after in PASSING and before is not None and before not in PASSING:
            result.newly_passing.append(change)
        elif after in BROKEN and before in BROKEN:
            result.broken_in_both.append(change)
    return result
