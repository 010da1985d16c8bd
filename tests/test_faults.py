"""A broken network between the fake psycopg2 (blocking mode) and the server, against psycopg2's own
behaviour through the same fault: every case must end the same way for both -- the same exception
class and libpq 17 text at the same phase, ``closed == 2`` after a loss -- or give the same rows.

Faults come from :mod:`greenpsyco.testing.faultproxy` (its reactor runs in a thread of this process).
The cooperative mode runs the same cases in ``tests/test_green_faults.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg2
import pytest

import greenpsyco.fake_psycopg2 as fake
from greenpsyco.testing import TestServer
from greenpsyco.testing.faultproxy import Fault, ThreadedFaultProxy
from tests.faults import EXPECTED_ROWS, SLOW_SQL, attempt, cut_points, differences, timed
from tests.wire.drivers import ensure_reactor

BOUND = 5.0  # connect_timeout of every case: none may take longer
LOST = (
    "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n"
    "\tbefore or while processing the request.\n"
)


@pytest.fixture(scope="module")
def server(pg_server: TestServer) -> TestServer:
    if pg_server.external:
        pytest.skip("needs the self-started cluster's address")
    return pg_server


@pytest.fixture(scope="module")
def proxy(server: TestServer) -> Iterator[ThreadedFaultProxy]:
    ensure_reactor()
    assert server.host is not None
    assert server.port is not None
    with ThreadedFaultProxy((server.host, server.port), record=True) as running:
        yield running


def dsn(
    server: TestServer, proxy: ThreadedFaultProxy, sslmode: str = "disable", timeout: float = BOUND
) -> str:
    return server.dsn(host="127.0.0.1", port=proxy.port, sslmode=sslmode, connect_timeout=int(timeout))


def both(target: str, **kwargs: object) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """psycopg2's outcome, then ours, each bounded by the connect timeout plus a second."""
    (theirs, their_time), (ours, our_time) = (
        timed(lambda: attempt(psycopg2, target, **kwargs)),  # type: ignore[arg-type]
        timed(lambda: attempt(fake, target, **kwargs)),  # type: ignore[arg-type]
    )
    assert their_time < BOUND + 1, their_time
    assert our_time < BOUND + 1, our_time
    return theirs, ours


@pytest.mark.parametrize(
    "fault", [Fault(), Fault.split(), Fault.delayed(0.02)], ids=["clean", "one-byte-writes", "delayed"]
)
@pytest.mark.parametrize("sslmode", ["disable", "require"])
def test_a_slow_or_fragmented_network_still_gives_the_right_rows(
    server: TestServer, proxy: ThreadedFaultProxy, fault: Fault, sslmode: str
) -> None:
    proxy.fault = fault
    theirs, ours = both(dsn(server, proxy, sslmode))
    assert theirs == ours == ("ok", EXPECTED_ROWS)


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_a_drop_at_any_message_boundary_ends_alike(
    server: TestServer, proxy: ThreadedFaultProxy, reset: bool
) -> None:
    """Every message boundary of a whole session (startup, query, rows, Terminate), a byte either side of
    it and the middle of every message, in both directions, closed (FIN) or reset (RST)."""
    target = dsn(server, proxy)
    proxy.fault = Fault()
    assert attempt(fake, target) == ("ok", EXPECTED_ROWS)
    points = cut_points(proxy.transcript())
    cases = []
    for direction, offsets in points.items():
        for offset in offsets:
            proxy.fault = Fault.drop(direction, offset, reset=reset)
            theirs, ours = both(target)
            if ours[0] == "ok":
                assert ours == ("ok", EXPECTED_ROWS)  # never wrong data
            else:
                assert ours[1] in ("OperationalError", "InterfaceError")
                assert ours[3] in (None, 2)  # failed at connect, or the connection is marked broken
            cases.append((f"{direction} {offset}", theirs, ours))
    assert len(cases) > 60
    assert not differences(cases), "\n".join(differences(cases))


TLS_FAULTS = {
    "ssl-answer-lost": Fault.drop("downstream", 0),
    "ssl-request-lost": Fault.drop("upstream", 0, reset=True),
    "client-hello-cut": Fault.drop("upstream", 20),
    "server-hello-cut": Fault.drop("downstream", 10),
    "server-hello-reset": Fault.drop("downstream", 10, reset=True),
    "after-handshake": Fault.tls_cut(),
}


@pytest.mark.parametrize("name", TLS_FAULTS)
@pytest.mark.parametrize("sslmode", ["require", "prefer"])
def test_tls_negotiation_faults_end_alike(
    server: TestServer, proxy: ThreadedFaultProxy, name: str, sslmode: str
) -> None:
    """Lost before the server's answer to SSLRequest, during the handshake (sslmode=prefer then retries
    in plain text), or just after it (no retry: libpq 17 does not downgrade there, nor do we)."""
    if not server.ssl:
        pytest.skip("the server binaries have no TLS support")
    proxy.fault = TLS_FAULTS[name]
    theirs, ours = both(dsn(server, proxy, sslmode))
    assert ours == theirs
    if name == "after-handshake":
        assert ours[:2] == ("connect", "OperationalError")
        assert ours[2].endswith("failed: SSL SYSCALL error: EOF detected\n")


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
@pytest.mark.parametrize("sslmode", ["disable", "require"])
def test_a_network_cut_under_a_running_query(
    server: TestServer, proxy: ThreadedFaultProxy, reset: bool, sslmode: str
) -> None:
    if sslmode == "require" and not server.ssl:
        pytest.skip("the server binaries have no TLS support")
    proxy.fault = Fault()

    def cut_soon() -> None:
        threading.Timer(0.3, proxy.disconnect_all, kwargs={"reset": reset}).start()

    theirs, ours = both(dsn(server, proxy, sslmode), sql=SLOW_SQL, during=cut_soon)
    assert theirs[0] == "query"
    if sslmode == "require" and reset:
        # libpq reports a reset over TLS twice (its socket layer, then its TLS layer). Python's ssl
        # module reports a reset after the handshake as an EOF (SSLEOFError), so the blocking driver
        # gives libpq's ragged-EOF text; the cooperative mode matches libpq (tests/test_green_faults.py).
        assert theirs == ("query", "OperationalError", LOST + LOST, 2)
        assert ours == ("query", "OperationalError", "SSL SYSCALL error: EOF detected\n", 2)
        return
    assert ours == theirs


def test_stalls_and_delays_end_with_connect_timeout(server: TestServer) -> None:
    """A server that accepts and never answers, or answers later than connect_timeout: libpq's
    "timeout expired" after the 2 s asked for, for both clients (run side by side to save time)."""
    assert server.host is not None
    assert server.port is not None
    with (
        ThreadedFaultProxy((server.host, server.port), fault=Fault.stall()) as stalled,
        ThreadedFaultProxy((server.host, server.port), fault=Fault.delayed(3.0)) as delayed,
    ):
        outcomes: dict[str, tuple[tuple[object, ...], float]] = {}

        def run(name: str, module: object, proxy: ThreadedFaultProxy) -> None:
            target = dsn(server, proxy, timeout=2)
            outcomes[name] = timed(lambda: attempt(module, target))

        threads = [
            threading.Thread(target=run, args=(f"{kind}-{label}", module, proxy))
            for kind, proxy in (("stall", stalled), ("delay", delayed))
            for label, module in (("psycopg2", psycopg2), ("greenpsyco", fake))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        for kind, proxy in (("stall", stalled), ("delay", delayed)):
            (theirs, their_time), (ours, our_time) = (
                outcomes[f"{kind}-psycopg2"],
                outcomes[f"{kind}-greenpsyco"],
            )
            assert (
                ours
                == theirs
                == (
                    "connect",
                    "OperationalError",
                    f'connection to server at "127.0.0.1", port {proxy.port} failed: timeout expired\n',
                    None,
                )
            )
            assert 1.9 < our_time < 3.5, our_time
            assert 1.9 < their_time < 3.5, their_time
