"""Security regressions, each named after the attack it prevents, through the psycopg2 API in both modes
and against psycopg2 (libpq 17) where the two must agree.

Hostile servers are :class:`greenpsyco.testing.fakeserver.FakeServer` scripts: they record what the
client sent, so a test can show that a password never left the client. Related lower-level tests: the
CVE-2021-23222 check in ``tests/wire/test_ops.py`` and ``tests/wire/test_drivers.py``, literal quoting
against psycopg2's in ``tests/fake_psycopg2/test_adapt.py`` (including psycopg2 #366 breaking out there),
outgoing length bounds in ``tests/wire/test_messages.py``, hostile headers in ``tests/wire/test_framing.py``.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg2
import pytest

import greenpsyco.fake_psycopg2 as fake
from greenpsyco.testing import TestServer
from greenpsyco.testing.certs import CertificateAuthority
from greenpsyco.testing.fakeserver import FakeServer, Session
from greenpsyco.testing.faultproxy import ThreadedFaultProxy
from greenpsyco.wire import messages
from tests.faults import Outcome, attempt
from tests.wire import server_bytes as sb
from tests.wire.drivers import ensure_reactor

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "s3cret-never-sent"

STARTUP_OK = b"".join(
    [
        sb.auth_ok(),
        sb.parameter_status("server_version", "15.18"),
        sb.parameter_status("client_encoding", "UTF8"),
        sb.parameter_status("standard_conforming_strings", "on"),
        sb.parameter_status("integer_datetimes", "on"),
        sb.parameter_status("DateStyle", "ISO, MDY"),
        sb.backend_key(1, 2),
        sb.ready("I"),
    ]
)


def answering(response: bytes) -> Callable[[Session], None]:
    """A server that completes the startup, then answers every query with ``response``."""

    def script(session: Session) -> None:
        session.send(STARTUP_OK)
        while True:
            kind, _ = session.read_message()
            if kind == b"X":
                return
            session.send(response)

    return script


def asking(request: bytes) -> Callable[[Session], None]:
    """A server that answers the startup with one authentication request, then listens."""

    def script(session: Session) -> None:
        session.send(request)
        session.drain()

    return script


def fake_dsn(server: FakeServer, **options: Any) -> str:
    params = {"host": "127.0.0.1", "port": server.port, "user": "u", "dbname": "d", "connect_timeout": 5}
    params.update({"sslmode": "disable", "password": PASSWORD, **options})
    return " ".join(f"{key}={value}" for key, value in params.items())


def normalized(outcome: Outcome, port: int) -> Outcome:
    return tuple(item.replace(str(port), "PORT") if isinstance(item, str) else item for item in outcome)


def cooperative(cases: list[tuple[str, str]]) -> list[Outcome]:
    """``attempt()`` each (dsn, sql) with the fake psycopg2 in a request greenlet of a child's hub."""
    code = (
        "import json, sys\n"
        "import greenpsyco.fake_psycopg2 as fake\n"
        "from greenpsyco import hub\n"
        "from tests.faults import attempt\n"
        "cases = json.loads(sys.argv[1])\n"
        "print(json.dumps(hub.run(lambda: [attempt(fake, d, sql=s, autocommit=True) for d, s in cases])))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(cases)], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return [_tupled(outcome) for outcome in json.loads(result.stdout.strip().splitlines()[-1])]  # noqa: RUF100


def _tupled(value: Any) -> Any:
    return tuple(_tupled(item) for item in value) if isinstance(value, list) else value


def three_ways(server: FakeServer, dsn: str, sql: str = "SELECT 1") -> tuple[Outcome, Outcome, Outcome]:
    """psycopg2's outcome, greenpsyco's in blocking mode, greenpsyco's in cooperative mode."""
    theirs = attempt(psycopg2, dsn, sql=sql, autocommit=True)
    ours = attempt(fake, dsn, sql=sql, autocommit=True)
    [green] = cooperative([(dsn, sql)])
    return tuple(normalized(as_json(o), server.port) for o in (theirs, ours, green))  # type: ignore[return-value]


def as_json(outcome: Outcome) -> Outcome:
    """The outcome as it crosses a process boundary (lists and tuples alike), for comparisons."""
    return _tupled(json.loads(json.dumps(outcome, default=str)))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority(tmp_path_factory.mktemp("ca"))


def server_context(authority: CertificateAuthority, name: str) -> ssl.SSLContext:
    leaf = authority.issue(name.replace(".", "-"), name, dns_names=(name,))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(leaf.cert, leaf.key)
    return context


# -- CVE-2021-23222: bytes injected after the server's 'S' -----------------------------------------


def test_cve_2021_23222_bytes_injected_after_the_ssl_answer_are_refused(
    authority: CertificateAuthority,
) -> None:
    """A man in the middle answers SSLRequest with 'S' and, in the same packet, a plain-text request for
    the password: libpq would once have read it as if it had come through TLS. The connection fails
    with libpq's words, in both modes, and the password is never sent."""
    injected = sb.auth(3)  # AuthenticationCleartextPassword
    with FakeServer(
        asking(b""),
        ssl_answer=b"S",
        after_ssl_answer=injected,
        tls_context=server_context(authority, "localhost"),
    ) as server:
        theirs, ours, green = three_ways(server, fake_dsn(server, sslmode="require"))
        assert (
            ours
            == green
            == theirs
            == (
                "connect",
                "OperationalError",
                'connection to server at "127.0.0.1", port PORT failed: '
                "received unencrypted data after SSL response\n",
                None,
            )
        )
        assert all(PASSWORD.encode() not in session.received for session in server.sessions)


# -- pgjdbc CVE-2024-1597: a negative number after a minus sign ---------------------------------------


NEGATIVES = [-1, -1.5, Decimal("-2.5"), -(2**70), Decimal("-1E+3")]


@pytest.mark.parametrize("number", NEGATIVES, ids=repr)
def test_pgjdbc_cve_2024_1597_a_negative_number_after_a_minus_cannot_start_a_comment(
    pg_server: TestServer, number: Any
) -> None:
    """``1-%s`` with -1 must not become ``1--1``, a comment that swallows the rest of the line, and the
    next parameter with it: the second value here would otherwise become SQL on the next line."""
    payload = "x'\n, current_user AS injected --"
    for module in (psycopg2, fake):
        conn = module.connect(pg_server.dsn())
        try:
            cur = conn.cursor()
            query = cur.mogrify("SELECT 1-%s, %s", (number, payload))
            assert b"--" not in query.split(b"\n")[0], query
            cur.execute("SELECT 1-%s, %s", (number, payload))
            assert [d[0] for d in cur.description] == ["?column?", "?column?"]
            assert cur.fetchall() == [(1 - number, payload)]
        finally:
            conn.close()


# -- psycopg2 #366: standard_conforming_strings flipped mid-session -----------------------------------


@pytest.mark.parametrize(("at_connect", "flipped_to"), [("off", "on"), ("on", "off")])
def test_psycopg2_366_a_flip_of_standard_conforming_strings_cannot_end_a_literal_early(
    pg_server: TestServer, at_connect: str, flipped_to: str
) -> None:
    """psycopg2 decides its quoting at connect; connected with the setting off, then SET on, a value
    ending in a backslash escapes its closing quote and the next value runs as SQL (psycopg2 #366,
    shown in tests/fake_psycopg2/test_adapt.py). greenpsyco follows the server's live ParameterStatus:
    the values come back as sent, in both modes."""
    dsn = pg_server.dsn(options=f"-c standard_conforming_strings={at_connect}")
    values = ("\\", ", current_user --", "it''s \\' E'x'")
    sql = f"SET standard_conforming_strings = {flipped_to}; SELECT %s, %s, %s"
    conn = fake.connect(dsn)
    try:
        cur = conn.cursor()
        cur.execute(f"SET standard_conforming_strings = {flipped_to}")
        cur.execute("SELECT %s, %s, %s", values)
        assert cur.fetchall() == [values]
    finally:
        conn.close()
    # The same in a request greenlet: the flip and the query on one connection.
    flip_then_query = fake.connect(dsn).cursor().mogrify("SELECT %s", ("x",))  # a cheap sanity check
    assert flip_then_query == b"SELECT 'x'" or flip_then_query == b"SELECT E'x'"
    code = (
        "import json, sys\n"
        "import greenpsyco.fake_psycopg2 as fake\n"
        "from greenpsyco import hub\n"
        "def main():\n"
        "    conn = fake.connect(sys.argv[1]); cur = conn.cursor()\n"
        f"    cur.execute({sql.split('; ')[0]!r})\n"
        "    cur.execute('SELECT %s, %s, %s', json.loads(sys.argv[2]))\n"
        "    return cur.fetchall()[0]\n"
        "print(json.dumps(hub.run(main)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, dsn, json.dumps(values)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert tuple(json.loads(result.stdout.strip().splitlines()[-1])) == values


# -- oversized messages ---------------------------------------------------------------------------


def test_an_oversized_message_is_refused_before_any_byte_of_it_is_sent(
    pg_server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A length that wraps around is a protocol injection (Npgsql CVE-2024-32655, pgx CVE-2024-27304):
    every outgoing length is bounded first. (The limit is lowered here: 1 GiB queries do not fit CI.)"""
    if pg_server.external:
        pytest.skip("needs the self-started cluster's address")
    assert pg_server.host is not None
    assert pg_server.port is not None
    ensure_reactor()
    with ThreadedFaultProxy((pg_server.host, pg_server.port), record=True) as proxy:
        conn = fake.connect(pg_server.dsn(host="127.0.0.1", port=proxy.port, sslmode="disable"))
        cur = conn.cursor()
        monkeypatch.setattr(messages, "MAX_MESSAGE_BODY", 1000)
        with pytest.raises(fake.OperationalError, match="exceeds PostgreSQL's limit of 1000 bytes"):
            cur.execute("SELECT %s", ("A" * 2000,))
        monkeypatch.undo()
        assert conn.closed == 0  # nothing was sent: the session is still in sync
        cur.execute("SELECT 42")
        assert cur.fetchone() == (42,)
        conn.close()
        assert b"AAAA" not in proxy.transcript()["upstream"]


def test_an_oversized_incoming_message_is_refused_before_it_is_buffered() -> None:
    """A server announcing a 2 GiB message: the client gives up at once (psycopg2 tries to allocate the
    buffer first), without growing its memory, and the connection is marked broken."""
    header = b"D" + (2**31 - 1).to_bytes(4, "big")
    with FakeServer(answering(sb.row_description(("a", 25)) + header + b"\x00\x01")) as server:
        dsn = fake_dsn(server)
        theirs = attempt(psycopg2, dsn, autocommit=True)
        assert theirs[:2] == ("query", "OperationalError")
        assert "lost synchronization with server" in theirs[2]
        tracemalloc.start()
        started = time.monotonic()
        try:
            ours = attempt(fake, dsn, autocommit=True)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert time.monotonic() - started < 2
        assert peak < 5 * 1024 * 1024, peak
        assert ours == (
            "query",
            "OperationalError",
            "message b'D' announces 2147483643 bytes, over the limit of 1073741819\n",
            2,
        )
        [green] = cooperative([(dsn, "SELECT 1")])
        assert green == as_json(ours)


# -- a hostile server: absurd lengths, counts and array dimensions ------------------------------------

# Protocol violations: libpq's texts differ case by case (and it keeps some connections open); greenpsyco
# treats the stream as out of sync and drops the connection -- the same class, closed == 2.
VIOLATIONS = {
    "data-row-announces-32767-columns": sb.row_description(("a", 25))
    + sb.frame(b"D", b"\x7f\xff")
    + sb.ready(),
    "row-description-announces-32767-fields": sb.frame(b"T", b"\x7f\xff" + b"a\x00" + b"\x00" * 18)
    + sb.ready(),
    "column-length-2-gib": sb.row_description(("a", 25))
    + sb.frame(b"D", b"\x00\x01\x7f\xff\xff\xff")
    + sb.ready(),
    "negative-column-length": sb.row_description(("a", 25))
    + sb.frame(b"D", b"\x00\x01\xff\xff\xff\xf0")
    + sb.ready(),
    "short-message-of-1-mib": sb.frame(b"Z", b"I" * (1 << 20)),
    "negotiate-2-billion-options": sb.frame(b"v", b"\x00\x00\x00\x00\x7f\xff\xff\xff") + sb.ready(),
    "unknown-message-type": sb.frame(b"\x01", b"x") + sb.ready(),
}


def test_a_hostile_server_with_absurd_lengths_and_counts_cannot_corrupt_or_hang_the_client() -> None:
    servers = {name: FakeServer(answering(response)) for name, response in VIOLATIONS.items()}
    try:
        dsns = {name: fake_dsn(server) for name, server in servers.items()}
        greens = dict(zip(dsns, cooperative([(dsn, "SELECT 1") for dsn in dsns.values()]), strict=True))
        for name, dsn in dsns.items():
            started = time.monotonic()
            ours = attempt(fake, dsn, autocommit=True)
            assert time.monotonic() - started < 2, name
            assert ours[0] == "query", name
            assert ours[1] == "OperationalError", name
            assert ours[3] == 2, name
            assert greens[name] == as_json(ours), name
            theirs = attempt(psycopg2, dsn, autocommit=True)
            assert theirs[0] == "query", name
            assert theirs[1] in ("OperationalError", "DatabaseError"), name  # libpq: no rows either
    finally:
        for server in servers.values():
            server.stop()


ARRAYS = {
    "bounds-up-to-2-billion": b"[1:2147483647]={1}",
    "negative-bounds": b"[-2147483648:-2147483648]={1}",
    "twenty-dimensions": b"{" * 20 + b"1" + b"}" * 20,
    "hundred-thousand-dimensions": b"{" * 100000 + b"}" * 100000,
    "seven-declared-dimensions": b"[1:1][1:1][1:1][1:1][1:1][1:1][1:1]={{{{{{{1}}}}}}}",
    "ragged": b"{{1,2},{3}}",
    "unterminated": b"{1,2",
    "unbalanced": b"{1,2}}}}",
    "empty-quotes": b'{"",""}',
}


def test_a_hostile_server_with_absurd_array_dimensions_gets_psycopg2s_answer() -> None:
    """Arrays are parsed from server text: hostile dimensions give what psycopg2 gives (values, or its
    DataError), never a crash, a recursion error or an allocation the size of the claimed bounds."""
    servers = {
        name: FakeServer(
            answering(
                sb.row_description(("a", 1007))
                + sb.data_row(text)
                + sb.command_complete("SELECT 1")
                + sb.ready()
            )
        )
        for name, text in ARRAYS.items()
    }
    try:
        dsns = {name: fake_dsn(server) for name, server in servers.items()}
        greens = dict(zip(dsns, cooperative([(dsn, "SELECT 1") for dsn in dsns.values()]), strict=True))
        for name, dsn in dsns.items():
            theirs = as_json(attempt(psycopg2, dsn, autocommit=True))
            assert as_json(attempt(fake, dsn, autocommit=True)) == theirs, name
            assert greens[name] == theirs, name
    finally:
        for server in servers.values():
            server.stop()


# -- authentication downgrades ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_bytes", "method"),
    [(sb.auth(3), "a cleartext password"), (sb.auth(5, b"salt"), "a hashed password")],
)
@pytest.mark.parametrize("sslmode", ["disable", "prefer"])
def test_require_auth_scram_never_sends_a_password_a_server_asks_for_otherwise(
    request_bytes: bytes, method: str, sslmode: str
) -> None:
    """A server (or a man in the middle) asking for the password in clear or as MD5 when the client
    requires SCRAM: refused with libpq's words, once (no plain-text retry under sslmode=prefer), and
    nothing derived from the password is sent."""
    with FakeServer(asking(request_bytes)) as server:
        theirs, ours, green = three_ways(
            server, fake_dsn(server, require_auth="scram-sha-256", sslmode=sslmode)
        )
        assert ours == green == theirs
        assert theirs[2] == (
            'connection to server at "127.0.0.1", port PORT failed: '
            f'authentication method requirement "scram-sha-256" failed: server requested {method}\n'
        )
        for session in server.sessions:
            assert PASSWORD.encode() not in session.received
            assert b"p" not in bytes(session.received[:1])  # no PasswordMessage at all
        assert len(server.sessions) == 3  # one attempt for each client, no retry


def test_channel_binding_require_refuses_a_server_without_tls() -> None:
    """``channel_binding=require`` against a server that has no TLS (it answers 'N') and offers SCRAM:
    refused before any SCRAM message is sent, in libpq's words."""
    with FakeServer(asking(sb.auth_sasl("SCRAM-SHA-256")), ssl_answer=b"N") as server:
        theirs, ours, green = three_ways(
            server, fake_dsn(server, channel_binding="require", sslmode="prefer")
        )
        assert ours == green == theirs
        assert theirs[2].endswith("failed: channel binding required, but SSL not in use\n")
        for session in server.sessions:
            assert session.ssl_requested
            assert b"SCRAM" not in session.received


@pytest.fixture
def other_host_server(authority: CertificateAuthority) -> Iterator[FakeServer]:
    with FakeServer(
        answering(b""), ssl_answer=b"S", tls_context=server_context(authority, "other.example")
    ) as server:
        yield server


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_verify_full_refuses_a_valid_certificate_for_another_host(
    other_host_server: FakeServer, authority: CertificateAuthority, host: str
) -> None:
    """A certificate signed by the trusted CA but issued to another host name: verify-full refuses it
    before the startup packet (user, database) is sent, as libpq does."""
    dsn = fake_dsn(other_host_server, host=host, sslmode="verify-full", sslrootcert=str(authority.files.cert))
    theirs, ours, green = three_ways(other_host_server, dsn)
    assert ours == green == theirs
    names = "" if host == "localhost" else " (and 1 other name)"  # an IP is also matched against the CN
    assert theirs[2].endswith(
        f'failed: server certificate for "other.example"{names} does not match host name "{host}"\n'
    )
    assert all(not session.startup for session in other_host_server.sessions)
