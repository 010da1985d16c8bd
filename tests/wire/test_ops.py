"""Operation generators, bytes in / requests out: no socket, no server."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenpsyco.wire import messages as m
from greenpsyco.wire import ops
from greenpsyco.wire.auth import Authenticator, AuthRequirements
from greenpsyco.wire.errors import (
    ConnectionFailure,
    ConnectionLost,
    InterfaceMisuse,
    ProtocolViolation,
    QueryCanceled,
    ServerError,
)
from greenpsyco.wire.protocol import ClientState
from greenpsyco.wire.tls import TLSSettings
from tests.wire import server_bytes as sb


class Script:
    """Plays the server: answers READs from a list of chunks, records what the client sends."""

    def __init__(self, incoming: Iterable[bytes], peer_certificate: bytes | None = None) -> None:
        self.incoming: Iterator[bytes] = iter(incoming)
        self.sent: list[bytes] = []
        self.requests: list[Any] = []
        self.peer_certificate = peer_certificate

    def run(self, op: Generator[ops.Request, bytes | str | None, Any]) -> Any:
        answer: bytes | str | None = None
        while True:
            try:
                request = op.send(answer)
            except StopIteration as stop:
                return stop.value
            answer = None
            if request is ops.READ:
                answer = next(self.incoming, b"")
            elif isinstance(request, bytes):
                self.sent.append(request)
            elif request is ops.PEER_CERTIFICATE:
                answer = self.peer_certificate
            else:
                self.requests.append(request)


def query_response() -> list[bytes]:
    return [
        sb.row_description(("a", 23), ("b", 25)),
        sb.data_row(b"1", b"x"),
        sb.data_row(b"2", None),
        sb.command_complete("SELECT 2"),
        sb.ready("I"),
    ]


def test_simple_query_returns_rows_and_tag() -> None:
    state = ClientState()
    script = Script([b"".join(query_response())])
    [result] = script.run(ops.simple_query(state, b"SELECT a, b FROM t"))
    assert script.sent == [m.query(b"SELECT a, b FROM t")]
    assert [f.name for f in result.description] == ["a", "b"]
    assert result.rows == [(b"1", b"x"), (b"2", None)]
    assert result.command_tag == "SELECT 2"
    assert state.transaction_status == "I"


@settings(max_examples=60)
@given(st.lists(st.integers(min_value=1, max_value=20), min_size=1, max_size=30))
def test_simple_query_gives_the_same_result_for_any_split(sizes: list[int]) -> None:
    data = b"".join(query_response())
    chunks, pos = [], 0
    for size in sizes * 20:
        if pos >= len(data):
            break
        chunks.append(data[pos : pos + size])
        pos += size
    chunks.append(data[pos:])
    [result] = Script([c for c in chunks if c]).run(ops.simple_query(ClientState(), b"q"))
    assert result.rows == [(b"1", b"x"), (b"2", None)]


QUICK_RESPONSES = {
    "rows": query_response(),
    "statements": [
        sb.command_complete("BEGIN"),
        sb.row_description(("x", 23)),
        sb.data_row(b"7"),
        sb.command_complete("SELECT 1"),
        sb.row_description(("y", 25), ("z", 23)),
        sb.command_complete("SELECT 0"),
        sb.ready("T"),
    ],
    "notice between rows": [
        sb.row_description(("x", 23)),
        sb.data_row(b"1"),
        sb.notice("careful"),
        sb.data_row(b"2"),
        sb.command_complete("SELECT 2"),
        sb.parameter_status("TimeZone", "UTC"),
        sb.ready("I"),
    ],
    "empty query": [
        sb.command_complete("BEGIN"),
        sb.empty_query(),
        sb.command_complete("SET"),
        sb.ready("T"),
    ],
    "error after rows": [
        sb.row_description(("x", 23)),
        sb.data_row(b"1"),
        sb.error(),
        sb.ready("E"),
    ],
}


def _outcome(run: Any) -> Any:
    try:
        results = run()
    except ServerError as exc:
        return ("error", exc.sqlstate)
    return [(r.description, r.rows, r.command_tag, r.empty_query) for r in results]


@settings(max_examples=80)
@given(st.sampled_from(sorted(QUICK_RESPONSES)), st.integers(min_value=0, max_value=200))
def test_quick_results_then_query_results_read_what_simple_query_reads(name: str, split: int) -> None:
    """The blocking driver's fused round trip: quick_results reads what it can of the first bytes
    received, query_results the rest; the outcome and the session state are simple_query's."""
    data = b"".join(QUICK_RESPONSES[name])
    split = min(split, len(data))
    general = ClientState()
    expected = _outcome(lambda: Script([data]).run(ops.simple_query(general, b"q")))

    state = ClientState()
    notices: list[dict[str, str]] = []
    state.on_notice = notices.append

    def fused() -> list[ops.QueryResult]:
        state.receive(data[:split])
        results, current, done = ops.quick_results(state)
        if done:
            assert split == len(data)
            return results
        return Script([data[split:]] if split < len(data) else []).run(
            ops.query_results(state, results, current)
        )

    assert _outcome(fused) == expected
    assert state.transaction_status == general.transaction_status
    assert state.parameters == general.parameters
    assert notices == list(general.notices)
    assert state.framer.buffered == 0


def test_quick_results_reads_nothing_but_the_usual_messages() -> None:
    state = ClientState()
    state.receive(sb.notice("first") + b"".join(query_response()))
    assert ops.quick_results(state) == ([], None, False)
    assert state.framer.buffered == len(sb.notice("first") + b"".join(query_response()))
    state = ClientState()
    state.receive(b"".join(query_response()))
    results, current, done = ops.quick_results(state)
    assert done
    assert current is None
    assert results[0].rows == [(b"1", b"x"), (b"2", None)]
    assert state.command_tags == {b"SELECT 2\x00": "SELECT 2"}


def test_quick_results_refuses_a_malformed_command_complete() -> None:
    state = ClientState()
    state.receive(sb.frame(b"C", b"SELECT\x001\x00") + sb.ready("I"))
    with pytest.raises(ProtocolViolation):
        ops.quick_results(state)


def test_several_statements_and_an_empty_query() -> None:
    incoming = [
        sb.command_complete("BEGIN"),
        sb.empty_query(),
        sb.row_description(("x", 23)),
        sb.data_row(b"7"),
        sb.command_complete("SELECT 1"),
        sb.ready("T"),
    ]
    state = ClientState()
    results = Script(incoming).run(ops.simple_query(state, b"BEGIN;;SELECT 7"))
    assert [(r.command_tag, r.empty_query, r.rows) for r in results] == [
        ("BEGIN", False, []),
        (None, True, []),
        ("SELECT 1", False, [(b"7",)]),
    ]
    assert state.transaction_status == "T"


def test_error_is_raised_after_ready_for_query_and_carries_every_field() -> None:
    fields = [
        ("S", "ERROR"),
        ("V", "ERROR"),
        ("C", "23505"),
        ("M", "duplicate key"),
        ("D", "Key (id)=(1)"),
        ("s", "public"),
        ("t", "t"),
        ("n", "t_pkey"),
        ("F", "nbtinsert.c"),
        ("L", "1"),
        ("R", "f"),
    ]
    state = ClientState()
    script = Script([sb.error(fields), sb.ready("E")])
    with pytest.raises(ServerError) as info:
        script.run(ops.simple_query(state, b"INSERT ..."))
    assert info.value.sqlstate == "23505"
    assert info.value.fields == dict(fields)
    assert state.transaction_status == "E"


def test_cancel_error_is_query_canceled() -> None:
    script = Script(
        [
            sb.error([("S", "ERROR"), ("C", "57014"), ("M", "canceling statement due to user request")]),
            sb.ready("I"),
        ]
    )
    with pytest.raises(QueryCanceled):
        script.run(ops.simple_query(ClientState(), b"SELECT pg_sleep(10)"))


def test_end_of_stream_is_connection_lost() -> None:
    with pytest.raises(ConnectionLost, match="server closed the connection unexpectedly"):
        Script([sb.row_description(("a", 23))]).run(ops.simple_query(ClientState(), b"q"))


def test_async_messages_are_absorbed_into_state() -> None:
    state = ClientState()
    incoming = [
        sb.notice("first"),
        sb.parameter_status("standard_conforming_strings", "off"),
        sb.notification(42, "jobs", "hello"),
        sb.command_complete("SET"),
        sb.ready("I"),
    ]
    Script(incoming).run(ops.simple_query(state, b"SET standard_conforming_strings = off"))
    assert [n["M"] for n in state.notices] == ["first"]
    assert not state.standard_conforming_strings
    assert [(n.process_id, n.channel, n.payload) for n in state.notifications] == [(42, "jobs", "hello")]


def test_client_encoding_change_is_live() -> None:
    state = ClientState()
    Script([sb.parameter_status("client_encoding", "LATIN1"), sb.command_complete("SET"), sb.ready()]).run(
        ops.simple_query(state, b"SET client_encoding = latin1")
    )
    assert state.encoding == "latin-1"


def test_copy_in_streams_the_source_then_done() -> None:
    script = Script([sb.copy_response(b"G", (0, 0)), sb.command_complete("COPY 2"), sb.ready()])
    [result] = script.run(
        ops.simple_query(ClientState(), b"COPY t FROM STDIN", copy_source=[b"1\ta\n", b"2\tb\n"])
    )
    assert script.sent[1:] == [m.copy_data(b"1\ta\n"), m.copy_data(b"2\tb\n"), m.copy_done()]
    assert result.command_tag == "COPY 2"
    assert result.copy == m.CopyResponse("in", 0, (0, 0))


def test_copy_in_source_failure_sends_copy_fail_and_reraises_after_sync() -> None:
    def source() -> Iterator[bytes]:
        yield b"1\n"
        raise OSError("disk on fire")

    script = Script(
        [
            sb.copy_response(b"G"),
            sb.error([("S", "ERROR"), ("C", "57014"), ("M", "COPY from stdin failed")]),
            sb.ready(),
        ]
    )
    with pytest.raises(OSError, match="disk on fire"):
        script.run(ops.simple_query(ClientState(), b"COPY t FROM STDIN", copy_source=source()))
    assert script.sent[-1].startswith(b"f")
    assert b"disk on fire" in script.sent[-1]


def test_copy_in_without_source_fails_the_copy() -> None:
    script = Script(
        [sb.copy_response(b"G"), sb.error([("S", "ERROR"), ("C", "57014"), ("M", "x")]), sb.ready()]
    )
    with pytest.raises(InterfaceMisuse):
        script.run(ops.simple_query(ClientState(), b"COPY t FROM STDIN"))


def test_copy_out_hands_chunks_to_the_sink() -> None:
    received: list[bytes] = []
    script = Script(
        [
            sb.copy_response(b"H"),
            sb.copy_data(b"1\n"),
            sb.copy_data(b"2\n"),
            sb.copy_done(),
            sb.command_complete("COPY 2"),
            sb.ready(),
        ]
    )
    [result] = script.run(ops.simple_query(ClientState(), b"COPY t TO STDOUT", copy_sink=received.append))
    assert received == [b"1\n", b"2\n"]
    assert result.command_tag == "COPY 2"


def test_copy_out_error_mid_stream_is_raised_after_sync() -> None:
    script = Script([sb.copy_response(b"H"), sb.copy_data(b"1\n"), sb.error(), sb.ready()])
    with pytest.raises(ServerError, match="oops"):
        script.run(ops.simple_query(ClientState(), b"COPY (...) TO STDOUT", copy_sink=lambda _: None))


def test_extended_query() -> None:
    incoming = [
        sb.frame(b"1"),
        sb.frame(b"2"),
        sb.row_description(("v", 23)),
        sb.data_row(b"5"),
        sb.command_complete("SELECT 1"),
        sb.ready(),
    ]
    script = Script(incoming)
    result = script.run(ops.extended_query(ClientState(), b"SELECT $1::int", [b"5"]))
    assert result.rows == [(b"5",)]
    assert script.sent == [
        m.parse(b"", b"SELECT $1::int")
        + m.bind(b"", b"", [b"5"])
        + m.describe(b"P", b"")
        + m.execute(b"", 0)
        + m.sync()
    ]


def test_process_idle_turns_fatal_into_connection_lost() -> None:
    state = ClientState()
    state.receive(sb.notification(1, "c", "p"))
    ops.process_idle(state)
    assert len(state.notifications) == 1
    state.receive(
        sb.error(
            [("S", "FATAL"), ("C", "57P01"), ("M", "terminating connection due to administrator command")]
        )
    )
    with pytest.raises(ConnectionLost, match="terminating connection due to administrator command"):
        ops.process_idle(state)


# -- startup ------------------------------------------------------------------------------------


def startup(
    incoming: list[bytes],
    *,
    password: str | None = "secret",
    requirements: AuthRequirements | None = None,
    tls: bool = False,
    tls_required: bool = False,
    peer_certificate: bytes | None = None,
) -> tuple[ClientState, Script]:
    state = ClientState()
    script = Script(incoming, peer_certificate)
    authenticator = Authenticator("bob", password, requirements or AuthRequirements())
    request = ops.StartTLS(TLSSettings(), "localhost", None) if tls else None
    script.run(ops.startup(state, {"user": "bob", "database": "db"}, authenticator, request, tls_required))
    return state, script


AFTER_AUTH = [sb.parameter_status("server_version", "15.18"), sb.backend_key(77, 88), sb.ready("I")]


def test_trust_startup_records_parameters_and_key() -> None:
    state, script = startup([sb.auth_ok(), *AFTER_AUTH])
    assert script.sent == [m.startup_message({"user": "bob", "database": "db"})]
    assert (state.backend_pid, state.backend_secret) == (77, 88)
    assert state.server_version == 150018


def test_md5_answer() -> None:
    _, script = startup([sb.auth(5, b"abcd"), sb.auth_ok(), *AFTER_AUTH])
    assert script.sent[1] == m.password_message(b"md5" + b"%s" % _md5_hex(_md5_hex(b"secretbob") + b"abcd"))


def _md5_hex(data: bytes) -> bytes:
    import hashlib

    return hashlib.md5(data).hexdigest().encode()


def test_cleartext_answer_and_missing_password() -> None:
    _, script = startup([sb.auth(3), sb.auth_ok(), *AFTER_AUTH])
    assert script.sent[1] == m.password_message(b"secret")
    with pytest.raises(ConnectionFailure, match="fe_sendauth: no password supplied"):
        startup([sb.auth(3)], password=None)


def test_server_error_during_startup_is_raised() -> None:
    with pytest.raises(ServerError, match='password authentication failed for user "bob"'):
        startup(
            [
                sb.auth(3),
                sb.error(
                    [("S", "FATAL"), ("C", "28P01"), ("M", 'password authentication failed for user "bob"')]
                ),
            ]
        )


@pytest.mark.parametrize(
    ("require", "negated", "request_code", "reason"),
    [
        ("scram-sha-256", False, 3, "server requested a cleartext password"),
        ("scram-sha-256", False, 5, "server requested a hashed password"),
        ("!md5", True, 5, "server requested a hashed password"),
        ("password", False, 10, "server requested SASL authentication"),
    ],
)
def test_require_auth_refuses_other_methods(
    require: str, negated: bool, request_code: int, reason: str
) -> None:
    requirements = AuthRequirements(frozenset([require.lstrip("!")]), negated, require)
    data = b"abcd" if request_code == 5 else b"SCRAM-SHA-256\x00\x00" if request_code == 10 else b""
    with pytest.raises(
        ConnectionFailure, match=f'authentication method requirement "{require}" failed: {reason}'
    ):
        startup([sb.auth(request_code, data)], requirements=requirements)


def test_require_auth_without_none_refuses_trust() -> None:
    requirements = AuthRequirements(frozenset(["md5"]), False, "md5")
    with pytest.raises(ConnectionFailure, match="server did not complete authentication"):
        startup([sb.auth_ok(), *AFTER_AUTH], requirements=requirements)


def test_channel_binding_require_refuses_password_methods() -> None:
    requirements = AuthRequirements(channel_binding="require")
    with pytest.raises(ConnectionFailure, match="channel binding required but not supported"):
        startup([sb.auth(5, b"abcd")], requirements=requirements)
    # Without TLS, libpq refuses as SASL starts (measured: tests/test_security.py) ...
    with pytest.raises(ConnectionFailure, match="channel binding required, but SSL not in use"):
        startup([sb.auth_sasl("SCRAM-SHA-256")], requirements=requirements)
    # ... and over TLS, a server that offers no SCRAM-SHA-256-PLUS is refused.
    with pytest.raises(ConnectionFailure, match="channel binding is required"):
        startup([b"S", sb.auth_sasl("SCRAM-SHA-256")], requirements=requirements, tls=True)


def test_channel_binding_require_refuses_trust() -> None:
    requirements = AuthRequirements(channel_binding="require")
    with pytest.raises(ConnectionFailure, match="without channel binding"):
        startup([sb.auth_ok(), *AFTER_AUTH], requirements=requirements)


@pytest.mark.parametrize("code", [2, 7, 9])
def test_gss_sspi_kerberos_are_not_supported(code: int) -> None:
    with pytest.raises(ConnectionFailure, match="not supported by greenpsyco"):
        startup([sb.auth(code)])


def test_ssl_request_answer_n_continues_in_plain_text_unless_required() -> None:
    _, script = startup([b"N", sb.auth_ok(), *AFTER_AUTH], tls=True)
    assert script.sent[0] == m.ssl_request()
    assert script.requests == []
    with pytest.raises(ConnectionFailure, match="server does not support SSL, but SSL was required"):
        startup([b"N"], tls=True, tls_required=True)


def test_ssl_request_answer_s_asks_the_driver_for_tls() -> None:
    _, script = startup([b"S", sb.auth_ok(), *AFTER_AUTH], tls=True)
    assert script.sent[0] == m.ssl_request()
    assert isinstance(script.requests[0], ops.StartTLS)


def test_cve_2021_23222_bytes_after_s_are_refused() -> None:
    with pytest.raises(ProtocolViolation, match="unencrypted data after SSL response"):
        startup([b"S" + sb.auth_ok()], tls=True)


def test_unexpected_ssl_answer_is_a_protocol_violation() -> None:
    with pytest.raises(ProtocolViolation, match="invalid response to SSL negotiation"):
        startup([b"X"], tls=True)


def test_negotiate_protocol_version() -> None:
    nego = sb.frame(b"v", b"\x00\x00\x00\x02\x00\x00\x00\x00")
    startup([nego, sb.auth_ok(), *AFTER_AUTH])  # a newer server, nothing refused: fine
    with pytest.raises(ConnectionFailure, match=r"does not support the requested protocol options: _pq_\.x"):
        startup([sb.frame(b"v", b"\x00\x00\x00\x00\x00\x00\x00\x01_pq_.x\x00")])
