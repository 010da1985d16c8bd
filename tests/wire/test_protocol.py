"""Client state, bytes in / messages out: a transcript recorded from the real server gives the same
messages for any split; random bytes give messages, a wait for more, or ProtocolViolation only."""

from __future__ import annotations

import contextlib
import itertools
import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenpsyco.testing import TestServer
from greenpsyco.wire import messages as m
from greenpsyco.wire.errors import ProtocolViolation, ServerError
from greenpsyco.wire.protocol import ClientState, parse_server_version
from tests.wire import server_bytes as sb
from tests.wire.drivers import CLEAN_ENV


def messages_of(chunks: list[bytes]) -> tuple[list[m.BackendMessage], ClientState]:
    state = ClientState()
    out: list[m.BackendMessage] = []
    for chunk in chunks:
        state.receive(chunk)
        while (message := state.next_message()) is not None:
            out.append(message)
    return out, state


@pytest.fixture(scope="module")
def transcript(pg_server: TestServer) -> bytes:
    """Everything a real server sends for a trust startup and a few queries, recorded off the socket."""
    from greenpsyco.wire.io_blocking import BlockingConnection

    received: list[bytes] = []
    original_recv = socket.socket.recv

    def recording_recv(self: socket.socket, size: int, *args: int) -> bytes:
        data = original_recv(self, size, *args)
        received.append(data)
        return data

    socket.socket.recv = recording_recv  # type: ignore[method-assign]
    try:
        with BlockingConnection.connect(pg_server.dsn(sslmode="disable"), environ=CLEAN_ENV) as conn:
            conn.execute(
                "SELECT g, g::text, NULL FROM generate_series(1, 50) g;"
                "DO $$ BEGIN RAISE NOTICE 'note'; END $$; LISTEN c; NOTIFY c, 'x'; SET TimeZone = 'UTC'"
            )
            with contextlib.suppress(ServerError):
                conn.execute("SELECT 1/0")
    finally:
        socket.socket.recv = original_recv  # type: ignore[method-assign]
    return b"".join(received)


def test_recorded_transcript_decodes(transcript: bytes) -> None:
    messages, state = messages_of([transcript])
    kinds = [type(message).__name__ for message in messages]
    assert kinds[0] == "AuthenticationRequest"
    assert kinds.count("DataRow") == 50
    assert kinds.count("ErrorResponse") == 1
    assert kinds[-1] == "ReadyForQuery"
    assert [n["M"] for n in state.notices] == ["note"]
    assert [n.payload for n in state.notifications] == ["x"]
    assert state.parameters["TimeZone"] == "UTC"


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=100)
@given(data=st.data())
def test_any_split_of_a_recorded_transcript_gives_the_same_messages(
    transcript: bytes, data: st.DataObject
) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(transcript)), max_size=60)))
    points = [0, *cuts, len(transcript)]
    chunks = [transcript[a:b] for a, b in itertools.pairwise(points)]
    whole, whole_state = messages_of([transcript])
    split, split_state = messages_of(chunks)
    assert split == whole
    assert split_state.parameters == whole_state.parameters
    assert list(split_state.notifications) == list(whole_state.notifications)


def feed_all(data: bytes) -> Iterator[m.BackendMessage]:
    state = ClientState()
    state.receive(data)
    while (message := state.next_message()) is not None:
        yield message


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_random_bytes_give_messages_a_wait_or_protocol_violation(data: bytes) -> None:
    try:
        for _ in feed_all(data):
            pass
    except ProtocolViolation:
        pass


@settings(max_examples=300)
@given(st.integers(0, 400), st.binary(min_size=1, max_size=8))
def test_mutated_valid_streams_fail_only_with_protocol_violation(position: int, garbage: bytes) -> None:
    stream = b"".join(
        [sb.row_description(("a", 23), ("b", 25)), sb.data_row(b"1", None), sb.command_complete("SELECT 1"),
         sb.notification(1, "c", "p"), sb.parameter_status("client_encoding", "UTF8"), sb.ready()]
    )  # fmt: skip
    position %= len(stream)
    mutated = stream[:position] + garbage + stream[position + len(garbage) :]
    try:
        for _ in feed_all(mutated):
            pass
    except ProtocolViolation:
        pass


def test_unknown_client_encoding_is_a_protocol_violation() -> None:
    state = ClientState()
    state.receive(sb.parameter_status("client_encoding", "MULE_INTERNAL"))
    with pytest.raises(ProtocolViolation, match="unsupported client_encoding"):
        state.next_message()


@pytest.mark.parametrize(
    ("text", "number"),
    [("15.18", 150018), ("16.4 (Debian 16.4-1)", 160004), ("17beta1", 170000), ("9.6.24", 90624), ("", 0)],
)
def test_server_version_number(text: str, number: int) -> None:
    assert parse_server_version(text) == number
