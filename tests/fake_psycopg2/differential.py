"""Run one scenario with the real psycopg2 and with greenpsyco's, and compare what they observed.

A scenario is a function ``scenario(module, dsn) -> list`` that drives ``module`` (either driver) and
records observations: values, reprs, exception classes and messages. Anything that must differ
between two connections (backend pids, object addresses) is normalised by the scenario itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg2 as real_psycopg2

import greenpsyco.fake_psycopg2 as fake_psycopg2

Scenario = Callable[[Any, str], list[Any]]


def outcome(call: Callable[[], Any]) -> Any:
    """What a call did: its result, or ``(exception class name, module, message)``."""
    try:
        return call()
    except Exception as error:  # recording any failure is the point
        return ("raised", type(error).__module__, type(error).__name__, str(error))


def compare(scenario: Scenario, dsn: str) -> None:
    expected = scenario(real_psycopg2, dsn)
    actual = scenario(fake_psycopg2, dsn)
    assert len(actual) == len(expected)
    for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
        assert got == want, f"observation {index} differs: psycopg2 {want!r}, greenpsyco {got!r}"
