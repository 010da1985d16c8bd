"""Fault cases shared by the blocking-mode tests (in the pytest process) and the cooperative-mode ones
(a child process running the hub): the session each case runs, where the byte offsets worth cutting
at are, and what a client did when the network failed under it.

A case is run with psycopg2 (libpq 17, the oracle) and with greenpsyco's psycopg2 through the same
:class:`~greenpsyco.testing.faultproxy.FaultProxy` fault, and the two outcomes must be equal: the same
exception class and libpq text at the same phase, ``closed == 2`` after a loss, or the same rows.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from typing import Any

from greenpsyco.testing.faultproxy import Direction

SQL = "SELECT g, repeat('x', 20) FROM generate_series(1, 3) g"
EXPECTED_ROWS = [(g, "x" * 20) for g in (1, 2, 3)]
SLOW_SQL = "SELECT pg_sleep(1.5)"  # long enough to cut the network under it

Outcome = tuple[Any, ...]


def attempt(
    module: Any,
    dsn: str,
    *,
    sql: str = SQL,
    during: Callable[[], object] | None = None,
    autocommit: bool = False,
) -> Outcome:
    """Connect, run ``sql``, fetch, close; what happened, as a comparable tuple.

    ``("ok", rows)`` or ``(phase, exception class name, message, connection.closed)``. ``during`` is
    called between connecting and executing (to arrange a cut while the query runs).
    """
    phase = "connect"
    conn: Any = None
    try:
        conn = module.connect(dsn)
        phase = "query"
        conn.autocommit = autocommit
        cur = conn.cursor()
        if during is not None:
            during()
        cur.execute(sql)
        rows = cur.fetchall()
        phase = "close"
        conn.close()
        return ("ok", [tuple(row) for row in rows])
    except Exception as exc:
        closed = conn.closed if conn is not None else None
        return (phase, type(exc).__name__, str(exc), closed)


def timed(call: Callable[[], Outcome]) -> tuple[Outcome, float]:
    started = time.monotonic()
    outcome = call()
    return outcome, time.monotonic() - started


def message_bounds(stream: bytes, *, startup: bool) -> list[int]:
    """The offsets where protocol messages start and end in a plain-text stream.

    ``startup``: the stream opens with an untyped StartupMessage (the client's side).
    """
    bounds = [0]
    pos = 0
    if startup and len(stream) >= 4:
        (length,) = struct.unpack_from("!i", stream, 0)
        pos = length
        bounds.append(pos)
    while pos + 5 <= len(stream):
        (length,) = struct.unpack_from("!i", stream, pos + 1)
        pos += 1 + length
        bounds.append(min(pos, len(stream)))
    return bounds


def cut_points(transcript: dict[Direction, bytes]) -> dict[Direction, list[int]]:
    """Offsets to drop at in each direction: every message boundary, one byte either side of it (inside
    a length word, inside a type byte's message), and the middle of every message."""
    points: dict[Direction, list[int]] = {}
    for direction, startup in (("upstream", True), ("downstream", False)):
        stream = transcript[direction]
        bounds = message_bounds(stream, startup=startup)
        chosen: set[int] = set()
        for index, bound in enumerate(bounds):
            chosen.update({bound - 1, bound, bound + 1})
            if index + 1 < len(bounds):
                chosen.add((bound + bounds[index + 1]) // 2)
        points[direction] = sorted(offset for offset in chosen if 0 <= offset <= len(stream))
    return points


def differences(
    cases: list[tuple[str, Outcome, Outcome]],
) -> list[str]:
    """Readable lines for the cases whose two outcomes differ (empty when all agree)."""
    return [
        f"{name}:\n  psycopg2:   {theirs!r}\n  greenpsyco: {ours!r}"
        for name, theirs, ours in cases
        if theirs != ours
    ]


# -- the cooperative mode: run in a child process whose hub runs the proxy and the clients ------------


def cooperative_report(host: str, port: int, tls: bool) -> dict[str, Any]:
    """Run every fault case with psycopg2 (in a reactor thread-pool thread) and with the fake psycopg2 in
    request greenlets of this process's hub, each through a :class:`FaultProxy` in the hub's reactor.

    Call from: a request greenlet (``hub.run(cooperative_report, ...)``). Returns what the parent test
    asserts on: the paired outcomes, timings, and what a stalled session did.
    """
    import psycopg2
    from twisted.internet import reactor, threads

    import greenpsyco.fake_psycopg2 as fake
    from greenpsyco import hub
    from greenpsyco.testing.faultproxy import Fault, FaultProxy

    proxy = FaultProxy((host, port), record=True)
    proxy_port = proxy.start()
    stalled_query = hub.spawn(_stalled_query, host, port)  # runs alongside everything below

    def dsn(sslmode: str = "disable", timeout: int = 5, through: int = proxy_port) -> str:
        return (
            f"host=127.0.0.1 port={through} user=postgres dbname=postgres sslmode={sslmode} "
            f"connect_timeout={timeout}"
        )

    def pair(name: str, target: str, **kwargs: Any) -> tuple[str, Outcome, Outcome]:
        theirs = hub.wait(threads.deferToThread(attempt, psycopg2, target, **kwargs))
        ours, elapsed = timed(lambda: attempt(fake, target, **kwargs))
        assert elapsed < 6, (name, elapsed)
        return (name, theirs, ours)

    report: dict[str, Any] = {"cases": []}
    cases: list[tuple[str, Outcome, Outcome]] = report["cases"]
    sslmodes = ["disable", "require"] if tls else ["disable"]
    for sslmode in sslmodes:
        for label, fault in (
            ("clean", Fault()),
            ("one-byte-writes", Fault.split()),
            ("delayed", Fault.delayed(0.02)),
        ):
            proxy.fault = fault
            cases.append(pair(f"{label} {sslmode}", dsn(sslmode)))

    proxy.fault = Fault()
    attempt(fake, dsn())
    points = cut_points({k: bytes(v) for k, v in proxy.transcripts[-1].items()})
    for reset in (False, True):
        for direction, offsets in points.items():
            for offset in offsets:
                proxy.fault = Fault.drop(direction, offset, reset=reset)
                cases.append(pair(f"drop {direction} {offset} {'rst' if reset else 'fin'}", dsn()))

    if tls:
        tls_faults = {
            "ssl-answer-lost": Fault.drop("downstream", 0),
            "ssl-request-lost": Fault.drop("upstream", 0, reset=True),
            "client-hello-cut": Fault.drop("upstream", 20),
            "server-hello-cut": Fault.drop("downstream", 10),
            "server-hello-reset": Fault.drop("downstream", 10, reset=True),
            "after-handshake": Fault.tls_cut(),
        }
        for sslmode in ("require", "prefer"):
            for name, fault in tls_faults.items():
                proxy.fault = fault
                cases.append(pair(f"{name} {sslmode}", dsn(sslmode)))

    proxy.fault = Fault()
    for sslmode in sslmodes:
        for reset in (False, True):

            def cut_soon(reset: bool = reset) -> None:
                reactor.callFromThread(reactor.callLater, 0.3, proxy.disconnect_all, reset=reset)

            name = f"cut mid-query {sslmode} {'rst' if reset else 'fin'}"
            cases.append(pair(name, dsn(sslmode), sql=SLOW_SQL, during=cut_soon))

    # Stalls and delays beyond connect_timeout: everything at once, psycopg2 in threads, ours in greenlets.
    stalled, delayed = (
        FaultProxy((host, port), fault=Fault.stall()),
        FaultProxy((host, port), fault=Fault.delayed(3)),
    )
    waits: dict[str, Any] = {}
    for label, slow in (("stall", stalled), ("delay", delayed)):
        target = dsn(timeout=2, through=slow.start())
        waits[f"{label} psycopg2"] = threads.deferToThread(
            timed, lambda target=target: attempt(psycopg2, target)
        )
        waits[f"{label} greenpsyco"] = hub.spawn(timed, lambda target=target: attempt(fake, target))
    report["timeouts"] = {
        name: hub.wait(waiting) if not isinstance(waiting, hub.GreenTask) else _joined(waiting)
        for name, waiting in waits.items()
    }
    report["timeout_ports"] = {"stall": stalled.port, "delay": delayed.port}
    hub.wait(stalled.stop())
    hub.wait(delayed.stop())

    report["stalled_query"] = _joined(stalled_query)
    hub.wait(proxy.stop())
    return report


def _joined(task: Any) -> Any:
    task.join()
    return task.result()


def _stalled_query(host: str, port: int) -> dict[str, Any]:
    """A session whose server goes silent mid-query (the proxy swallows every byte after the startup):
    psycopg2 would wait forever. The request greenlet is killed after 0.5 s (a request timeout): the query
    is cancelled on the server, the drain gives up after greenpsyco.green.DRAIN_TIMEOUT, the connection
    is closed == 2 on next use -- and the hub keeps serving other greenlets meanwhile."""
    import greenpsyco.fake_psycopg2 as fake
    from greenpsyco import hub
    from greenpsyco.testing.faultproxy import Fault, FaultProxy

    proxy = FaultProxy((host, port), record=True)
    target = f"host=127.0.0.1 port={proxy.start()} user=postgres dbname=postgres sslmode=disable"
    probe = fake.connect(target)
    probe.close()
    startup_bytes = len(proxy.transcripts[-1]["downstream"])
    proxy.fault = Fault.stall("downstream", startup_bytes)
    ticks = [0]
    holder: dict[str, Any] = {}

    def ticker() -> None:
        while True:
            hub.sleep(0.05)
            ticks[0] += 1

    def victim() -> None:
        conn = holder["conn"] = fake.connect(target)
        conn.cursor().execute("SELECT pg_sleep(30)")

    ticking = hub.spawn(ticker)
    task = hub.spawn(victim)
    hub.sleep(0.5)
    started = time.monotonic()
    task.kill()
    kill_took = time.monotonic() - started
    ticks_during = ticks[0]
    ticking.kill()
    conn = holder["conn"]
    closed_before = conn.closed
    try:
        conn.cursor().execute("SELECT 1")
        after: Outcome = ("ok",)
    except Exception as exc:
        after = (type(exc).__name__, str(exc))
    proxy.fault = Fault()
    direct = fake.connect(f"host={host} port={port} user=postgres dbname=postgres sslmode=disable")
    cur = direct.cursor()
    cur.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'"
    )
    (still_running,) = cur.fetchone()
    direct.close()
    hub.wait(proxy.stop())
    return {
        "kill_took": kill_took,
        "ticks_during": ticks_during,
        "closed_before": closed_before,
        "after": after,
        "closed_after": conn.closed,
        "still_running": still_running,
    }


def cooperative_main() -> None:
    """Child-process entry point: ``python -c "from tests.faults import cooperative_main; ..."``."""
    import json
    import sys

    from greenpsyco import hub

    host, port, tls = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "tls"
    print(json.dumps(hub.run(cooperative_report, host, port, tls)))
