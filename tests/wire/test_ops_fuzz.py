"""Fuzzing the operations with backend streams: only the wire layer's own errors may escape.

The operations (startup with every authentication request, simple queries with rows, notices and errors,
COPY both ways, the extended protocol) are fed, byte for byte, what a real server sent (recorded through
the fault proxy), then that stream mutated, random well-framed message sequences, and random bytes.
Whatever comes, an operation returns or raises a :class:`~greenpsyco.wire.errors.WireError` (protocol
violation, connection lost, server error, connection failure) -- never ``IndexError``,
``struct.error``, ``UnicodeDecodeError``, ``KeyError``, a scramp exception -- and it ends when the
stream does (no operation asks to read past the end twice).

Example counts are bounded (see ``EXAMPLES``) so the suite stays fast in CI.
"""

from __future__ import annotations

import contextlib
import itertools
import struct
import subprocess
import sys
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenpsyco.testing import TestServer
from greenpsyco.testing.faultproxy import ThreadedFaultProxy
from greenpsyco.wire import messages as m
from greenpsyco.wire import ops
from greenpsyco.wire.auth import Authenticator, AuthRequirements
from greenpsyco.wire.errors import WireError
from greenpsyco.wire.io_blocking import BlockingConnection
from greenpsyco.wire.protocol import ClientState
from tests.wire import server_bytes as sb
from tests.wire.drivers import CLEAN_ENV, ensure_reactor

EXAMPLES = {"split": 100, "mutated": 800, "messages": 600, "random": 300, "scram": 300}


def fuzz(kind: str) -> settings:
    return settings(max_examples=EXAMPLES[kind], deadline=None, suppress_health_check=list(HealthCheck))


Op = Generator[ops.Request, bytes | str | None, Any]


class Hang(AssertionError):
    """The operation asked to read again after the stream had ended."""


def feed(op: Op, chunks: list[bytes]) -> Any:
    """Run ``op`` against ``chunks`` (then end of stream); its result, or the exception it raised."""
    incoming: Iterator[bytes] = iter(chunks)
    ended = 0
    answer: bytes | str | None = None
    while True:
        try:
            request = op.send(answer)
        except StopIteration as stop:
            return stop.value
        except WireError as exc:
            return exc
        answer = None
        if request is ops.READ:
            answer = next(incoming, b"")
            if not answer:
                ended += 1
                if ended > 1:
                    op.close()
                    raise Hang("read again after the end of the stream")
        elif request is ops.PEER_CERTIFICATE:
            answer = None


# -- the operations under test ----------------------------------------------------------------------

SIMPLE = (
    b"SELECT g, g::text, NULL FROM generate_series(1, 5) g; DO $$ BEGIN RAISE NOTICE 'n'; END $$; SELECT 1/0"
)
COPY_OUT = b"COPY (SELECT g, 'x' FROM generate_series(1, 20) g) TO STDOUT"
COPY_IN = b"COPY fuzz_in FROM STDIN"
EXTENDED = b"SELECT $1::int + 1, $2::text"


def simple(state: ClientState) -> Op:
    return ops.simple_query(state, SIMPLE)


def copy_out(state: ClientState) -> Op:
    return ops.simple_query(state, COPY_OUT, copy_sink=lambda data: None)


def copy_in(state: ClientState) -> Op:
    return ops.simple_query(state, COPY_IN, copy_source=[b"1\n", b"2\n"])


def extended(state: ClientState) -> Op:
    return ops.extended_query(state, EXTENDED, [b"41", None])


def startup_op(method: str) -> Callable[[ClientState], Op]:
    """A startup as the user of ``method`` (the password is given whatever the server asks)."""

    def make(state: ClientState) -> Op:
        authenticator = Authenticator("fuzz", "pw", AuthRequirements())
        return ops.startup(state, {"user": "fuzz", "database": "postgres"}, authenticator, None, False)

    return make


QUERIES: dict[str, Callable[[ClientState], Op]] = {
    "simple": simple,
    "copy-out": copy_out,
    "copy-in": copy_in,
    "extended": extended,
}


def ready_bounds(stream: bytes) -> list[int]:
    """Offsets just after each ReadyForQuery of a backend stream."""
    ends = []
    pos = 0
    while pos + 5 <= len(stream):
        (length,) = struct.unpack_from("!i", stream, pos + 1)
        if stream[pos : pos + 1] == b"Z":
            ends.append(pos + 1 + length)
        pos += 1 + length
    return ends


@pytest.fixture(scope="module")
def recorded(pg_server: TestServer) -> dict[str, bytes]:
    """What a real server sends for a trust startup and each operation above, recorded through a proxy."""
    if pg_server.external:
        pytest.skip("needs the self-started cluster's address")
    assert pg_server.host is not None
    assert pg_server.port is not None
    ensure_reactor()
    with ThreadedFaultProxy((pg_server.host, pg_server.port), record=True) as proxy:
        dsn = pg_server.dsn(host="127.0.0.1", port=proxy.port, sslmode="disable")
        with BlockingConnection.connect(dsn, environ=CLEAN_ENV) as conn:
            conn.execute("CREATE TEMP TABLE fuzz_in (n int)")
            for make in QUERIES.values():
                with contextlib.suppress(WireError):  # the recorded ErrorResponse
                    conn.run(make(conn.state))
        stream = proxy.transcript()["downstream"]
    bounds = ready_bounds(stream)
    assert len(bounds) == 2 + len(QUERIES)
    segments = [stream[a:b] for a, b in itertools.pairwise([0, *bounds])]
    names = ["startup", "create", *QUERIES]
    recorded = dict(zip(names, segments, strict=True))
    del recorded["create"]
    return recorded


def make_op(name: str) -> Callable[[ClientState], Op]:
    return startup_op("trust") if name == "startup" else QUERIES[name]


def whole(recorded: dict[str, bytes], name: str) -> Any:
    return feed(make_op(name)(ClientState()), [recorded[name]])


# -- properties -------------------------------------------------------------------------------------

NAMES = st.sampled_from(["startup", *QUERIES])


def comparable(outcome: Any) -> Any:
    if isinstance(outcome, BaseException):
        return (type(outcome).__name__, str(outcome))
    return outcome


@fuzz("split")
@given(name=NAMES, data=st.data())
def test_any_split_of_a_recorded_stream_gives_the_same_outcome(
    recorded: dict[str, bytes], name: str, data: st.DataObject
) -> None:
    stream = recorded[name]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=30)))
    chunks = [stream[a:b] for a, b in itertools.pairwise([0, *cuts, len(stream)]) if b > a]
    assert comparable(feed(make_op(name)(ClientState()), chunks)) == comparable(whole(recorded, name))


mutations = st.lists(
    st.tuples(
        st.sampled_from(["replace", "insert", "delete", "flip"]),
        st.integers(0, 10**6),
        st.binary(min_size=1, max_size=6),
    ),
    min_size=1,
    max_size=4,
)


def mutate(stream: bytes, edits: list[tuple[str, int, bytes]]) -> bytes:
    data = bytearray(stream)
    for kind, where, junk in edits:
        pos = where % (len(data) + 1)
        if kind == "replace":
            data[pos : pos + len(junk)] = junk
        elif kind == "insert":
            data[pos:pos] = junk
        elif kind == "delete":
            del data[pos : pos + len(junk)]
        elif data:
            data[pos % len(data)] ^= junk[0] or 1
    return bytes(data)


@fuzz("mutated")
@given(name=NAMES, edits=mutations, split=st.integers(1, 64))
def test_mutated_recorded_streams_raise_only_wire_errors(
    recorded: dict[str, bytes], name: str, edits: list[tuple[str, int, bytes]], split: int
) -> None:
    stream = mutate(recorded[name], edits)
    chunks = [stream[i : i + split] for i in range(0, len(stream), split)]
    feed(make_op(name)(ClientState()), chunks)  # any exception but a WireError fails the test


def cstring(text: st.SearchStrategy[bytes] | None = None) -> st.SearchStrategy[bytes]:
    if text is None:
        text = st.binary(max_size=12).filter(lambda b: b"\x00" not in b)
    return text.map(lambda b: b + b"\x00")


int16 = st.integers(-(2**15), 2**15 - 1).map(lambda n: struct.pack("!h", n))
int32 = st.integers(-(2**31), 2**31 - 1).map(lambda n: struct.pack("!i", n))
scram_first = st.builds(
    lambda nonce, salt, count: f"r={nonce},s={salt},i={count}".encode(),
    st.text(max_size=12),
    st.text(max_size=12),
    st.text(max_size=6),
)
auth_request = st.one_of(
    st.sampled_from([0, 2, 3, 7, 8, 9, 99, -1]).map(lambda code: sb.auth(code)),
    st.binary(max_size=6).map(lambda salt: sb.auth(5, salt)),
    st.lists(cstring(st.sampled_from([b"SCRAM-SHA-256", b"SCRAM-SHA-256-PLUS", b"X"])), max_size=3).map(
        lambda names: sb.auth(10, b"".join(names) + b"\x00")
    ),
    (scram_first | st.binary(max_size=40)).map(lambda data: sb.auth(11, data)),
    st.binary(max_size=40).map(lambda data: sb.auth(12, data)),
)
data_row = st.lists(st.none() | st.binary(max_size=8), max_size=4).map(lambda values: sb.data_row(*values))
row_description = st.lists(
    st.tuples(st.text(max_size=5).filter(lambda t: "\x00" not in t), st.integers(0, 2**32 - 1)), max_size=3
).map(lambda columns: sb.row_description(*columns))
error_fields = st.lists(
    st.tuples(st.sampled_from("SVCMDHPpqWstcdnFLR?"), st.text(max_size=8).filter(lambda t: "\x00" not in t)),
    max_size=4,
)
framed = st.tuples(st.sampled_from(sorted(m.BACKEND_CODES)), st.binary(max_size=24)).map(
    lambda pair: sb.frame(bytes([pair[0]]), pair[1])
)
backend_message = st.one_of(
    auth_request,
    st.tuples(int32, int32).map(lambda pk: sb.frame(b"K", pk[0] + pk[1])),
    st.tuples(cstring(), cstring()).map(lambda nv: sb.frame(b"S", nv[0] + nv[1])),
    st.sampled_from(
        [
            sb.parameter_status("client_encoding", "LATIN1"),
            sb.parameter_status("client_encoding", "BOGUS"),
            sb.parameter_status("standard_conforming_strings", "off"),
            sb.parameter_status("server_version", "99.x"),
            sb.ready("I"),
            sb.ready("T"),
            sb.ready("E"),
            sb.frame(b"Z", b"X"),
            sb.empty_query(),
            sb.copy_done(),
            sb.frame(b"1"),
            sb.frame(b"2"),
            sb.frame(b"n"),
            sb.frame(b"s"),
            sb.copy_response(b"G"),
            sb.copy_response(b"H"),
            sb.copy_response(b"W"),
        ]
    ),
    row_description,
    data_row,
    cstring().map(lambda tag: sb.frame(b"C", tag)),
    error_fields.map(sb.error),
    st.text(max_size=8).filter(lambda t: "\x00" not in t).map(sb.notice),
    st.tuples(st.integers(0, 2**31 - 1), st.text(max_size=4), st.text(max_size=4))
    .filter(lambda a: "\x00" not in a[1] + a[2])
    .map(lambda a: sb.notification(*a)),
    st.binary(max_size=16).map(sb.copy_data),
    st.tuples(int16, st.lists(int32, max_size=3)).map(lambda t: sb.frame(b"t", t[0] + b"".join(t[1]))),
    st.tuples(int32, int32, st.binary(max_size=8)).map(lambda t: sb.frame(b"v", b"".join(t))),
    framed,
)


@fuzz("messages")
@given(name=NAMES, stream=st.lists(backend_message, max_size=12), split=st.integers(1, 64))
def test_random_message_sequences_raise_only_wire_errors(name: str, stream: list[bytes], split: int) -> None:
    data = b"".join(stream)
    chunks = [data[i : i + split] for i in range(0, len(data), split)]
    feed(make_op(name)(ClientState()), chunks)


@fuzz("random")
@given(name=NAMES, data=st.binary(max_size=300))
def test_random_bytes_raise_only_wire_errors(name: str, data: bytes) -> None:
    feed(make_op(name)(ClientState()), [data])


def test_the_recorded_streams_are_what_the_operations_expect(recorded: dict[str, bytes]) -> None:
    """The fuzzers start from real behaviour: each recorded stream completes its operation."""
    assert isinstance(whole(recorded, "startup"), type(None))
    simple_outcome = whole(recorded, "simple")
    assert isinstance(simple_outcome, WireError)
    assert "division by zero" in str(simple_outcome)
    assert [r.command_tag for r in whole(recorded, "copy-out")] == ["COPY 20"]
    assert [r.command_tag for r in whole(recorded, "copy-in")] == ["COPY 2"]
    assert whole(recorded, "extended").rows == [(b"42", None)]


# Server-first templates: {nonce} becomes the client's nonce, so scramp goes on to the proof and the
# server signature (a random server-first almost never gets past the nonce check).
scram_server_first = st.one_of(
    st.builds(
        lambda extra, salt, count: f"r={{nonce}}{extra},s={salt},i={count}",
        st.sampled_from(["", "3rfcNHYJY1ZVvWVs7j", ",", "=", "\x7f"]) | st.text(max_size=6),
        st.sampled_from(["QSXCR+Q6sek8bf92", "!!!", "", "QSXCR", "=="]),
        st.sampled_from(["1", "4096", "0", "-1", "x", "", " 1"]),
    ),
    st.text(max_size=40).map(lambda text: text.replace("{", "").replace("}", "")),
)


def feed_scram(op: Op, mechanisms: list[str], first: str, final: bytes, tail: list[bytes]) -> Any:
    """Play a SCRAM server that answers with the client's own nonce in ``first``."""
    answer: bytes | str | None = None
    incoming = [sb.auth_sasl(*mechanisms)]
    reads = 0
    while True:
        try:
            request = op.send(answer)
        except StopIteration as stop:
            return stop.value
        except WireError as exc:
            return exc
        answer = None
        if isinstance(request, bytes) and request[:1] == b"p" and b"n,," in request[:64] + request:
            nonce = request.split(b"r=", 1)[1].split(b",", 1)[0].decode()
            incoming.append(sb.auth(11, first.replace("{nonce}", nonce).encode()))
            incoming.extend([sb.auth(12, final), sb.auth_ok(), *tail])
        elif request is ops.READ:
            reads += 1
            if reads > 50:
                raise Hang("too many reads")
            answer = incoming.pop(0) if incoming else b""


@fuzz("scram")
@given(
    mechanisms=st.lists(st.sampled_from(["SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "OTHER"]), max_size=3).map(
        lambda names: ["SCRAM-SHA-256", *names]
    ),
    first=scram_server_first,
    final=st.binary(max_size=60)
    | st.sampled_from([b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=", b"e=other-error", b"v="]),
    tail=st.lists(backend_message, max_size=3),
)
def test_a_hostile_scram_exchange_raises_only_wire_errors(
    mechanisms: list[str], first: str, final: bytes, tail: list[bytes]
) -> None:
    """A server that starts SCRAM and then sends malformed or lying server-first/final messages: the
    client fails with a wire error, and never takes a server signature it cannot verify as success."""
    outcome = feed_scram(startup_op("scram")(ClientState()), mechanisms, first, final, tail)
    assert isinstance(outcome, WireError), outcome


ATHERIS_RUNS = 40000


def test_coverage_guided_fuzzing_with_atheris(recorded: dict[str, bytes], tmp_path: Path) -> None:
    """libFuzzer's coverage guidance over the same decoding (tests/wire/atheris_ops.py), bounded runs,
    starting from the recorded server streams."""
    pytest.importorskip("atheris")
    root = Path(__file__).resolve().parent.parent.parent
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for index, name in enumerate(["startup", *QUERIES]):
        # the corpus_entry() layout of tests/wire/atheris_ops.py: operation, read size, stream
        (corpus / name).write_bytes(bytes([index, 63]) + recorded[name])
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.wire.atheris_ops",
            f"-runs={ATHERIS_RUNS}",
            "-max_len=2048",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-6000:]
    assert f"Done {ATHERIS_RUNS} runs" in result.stderr
