"""A broken network under the cooperative mode: the fake psycopg2 in request greenlets, the fault proxy
in the same hub's reactor, psycopg2 (the oracle) in a thread of the same process. Every case must end
as it does for psycopg2; a server gone silent mid-query is bounded by the request's own timeout.

The cases are those of ``tests/test_faults.py`` (blocking mode), run by
:func:`tests.faults.cooperative_report` in one child process (the reactor runs once per process).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from greenpsyco.green import DRAIN_TIMEOUT
from greenpsyco.testing import TestServer
from tests.faults import EXPECTED_ROWS, differences

ROOT = Path(__file__).resolve().parent.parent
LOST = (
    "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n"
    "\tbefore or while processing the request.\n"
)


@pytest.fixture(scope="module")
def report(pg_server: TestServer) -> dict[str, Any]:
    if pg_server.external:
        pytest.skip("needs the self-started cluster's address")
    code = "from tests.faults import cooperative_main; cooperative_main()"
    argv = [
        sys.executable,
        "-c",
        code,
        str(pg_server.host),
        str(pg_server.port),
        "tls" if pg_server.ssl else "plain",
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def as_tuples(cases: list[list[Any]]) -> list[tuple[str, Any, Any]]:
    def tupled(value: Any) -> Any:
        return tuple(tupled(v) for v in value) if isinstance(value, list) else value

    return [(name, tupled(theirs), tupled(ours)) for name, theirs, ours in cases]


def test_every_fault_ends_as_it_does_for_psycopg2(report: dict[str, Any]) -> None:
    cases = as_tuples(report["cases"])
    assert len(cases) > 150
    assert not differences(cases), "\n".join(differences(cases))
    for name, _, ours in cases:
        if ours[0] == "ok":
            assert ours == ("ok", tuple(EXPECTED_ROWS)), name  # never wrong data
        else:
            assert ours[1] == "OperationalError", name
            assert ours[3] in (None, 2), name
    clean = [ours for name, _, ours in cases if name.split()[0] in ("clean", "one-byte-writes", "delayed")]
    assert clean
    assert all(ours[0] == "ok" for ours in clean)


def test_a_reset_over_tls_mid_query_reads_as_libpq_says(
    report: dict[str, Any], pg_server: TestServer
) -> None:
    """The one text the blocking driver cannot match (Python's ssl reports the reset as an EOF)."""
    if not pg_server.ssl:
        pytest.skip("the server binaries have no TLS support")
    [(_, theirs, ours)] = [
        case for case in as_tuples(report["cases"]) if case[0] == "cut mid-query require rst"
    ]
    assert ours == theirs == ("query", "OperationalError", LOST + LOST, 2)


def test_stalls_and_delays_end_with_connect_timeout(report: dict[str, Any]) -> None:
    for kind in ("stall", "delay"):
        expected = [
            "connect",
            "OperationalError",
            f'connection to server at "127.0.0.1", port {report["timeout_ports"][kind]} failed: '
            "timeout expired\n",
            None,
        ]
        for client in ("psycopg2", "greenpsyco"):
            outcome, elapsed = report["timeouts"][f"{kind} {client}"]
            assert outcome == expected, (kind, client)
            assert 1.9 < elapsed < 3.5, (kind, client, elapsed)


def test_a_server_silent_mid_query_is_bounded_by_the_request(report: dict[str, Any]) -> None:
    """psycopg2 waits forever for a live but silent server. A request greenlet killed by its timeout
    cancels the query on the server and gives up the drain after DRAIN_TIMEOUT: the connection is then
    broken (closed == 2 with libpq's text), no query is left running, and the hub never stopped serving
    the other greenlets."""
    stalled = report["stalled_query"]
    assert DRAIN_TIMEOUT - 0.5 < stalled["kill_took"] < DRAIN_TIMEOUT + 1.5
    assert stalled["ticks_during"] > DRAIN_TIMEOUT / 0.05 * 0.5  # a ticker kept running all along
    assert stalled["after"] == ["OperationalError", LOST]
    assert stalled["closed_after"] == 2
    assert stalled["still_running"] == 0
