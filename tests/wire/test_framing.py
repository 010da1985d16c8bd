"""Framing: the same messages for any split of the input; hostile lengths refused before buffering."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenpsyco.wire.errors import ProtocolViolation
from greenpsyco.wire.framing import SHORT_MESSAGE_LIMIT, Framer
from tests.wire import server_bytes as sb

TRANSCRIPT = b"".join(
    [
        sb.auth_ok(),
        sb.parameter_status("client_encoding", "UTF8"),
        sb.parameter_status("standard_conforming_strings", "on"),
        sb.backend_key(1234, 5678),
        sb.ready("I"),
        sb.row_description(("a", 23), ("b", 25)),
        sb.data_row(b"1", None),
        sb.data_row(b"2", b"x" * 300),
        sb.notice("careful"),
        sb.command_complete("SELECT 2"),
        sb.notification(99, "chan", "payload"),
        sb.empty_query(),
        sb.error(),
        sb.ready("E"),
    ]
)


def frames_of(chunks: list[bytes]) -> list[tuple[int, bytes]]:
    framer = Framer()
    out = []
    for chunk in chunks:
        framer.feed(chunk)
        while (frame := framer.next_frame()) is not None:
            out.append(frame)
    assert framer.buffered == 0
    return out


WHOLE = frames_of([TRANSCRIPT])


def test_whole_transcript_frames() -> None:
    assert [bytes([code]) for code, _ in WHOLE] == [
        b"R", b"S", b"S", b"K", b"Z", b"T", b"D", b"D", b"N", b"C", b"A", b"I", b"E", b"Z"
    ]  # fmt: skip
    assert WHOLE[4] == (ord("Z"), b"I")


@given(st.lists(st.integers(min_value=0, max_value=len(TRANSCRIPT)), max_size=40))
def test_any_split_gives_the_same_frames(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(TRANSCRIPT)]
    chunks = [TRANSCRIPT[a:b] for a, b in itertools.pairwise(points)]
    assert frames_of(chunks) == WHOLE


def test_one_byte_at_a_time() -> None:
    assert frames_of([bytes([b]) for b in TRANSCRIPT]) == WHOLE


def test_incomplete_message_waits() -> None:
    framer = Framer()
    framer.feed(sb.ready("I")[:5])
    assert framer.next_frame() is None
    framer.feed(b"I")
    assert framer.next_frame() == (ord("Z"), b"I")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"Z\x00\x00\x00\x03I", "below the minimum"),
        (b"Z\xff\xff\xff\xffI", "below the minimum"),
        (b"?\x00\x00\x00\x04", "unknown backend message type"),
        (b"Z" + (SHORT_MESSAGE_LIMIT + 5).to_bytes(4, "big"), "over the limit"),
        (b"D" + (0x7FFFFFFF).to_bytes(4, "big"), "over the limit"),
    ],
)
def test_hostile_headers_are_refused_at_once(data: bytes, message: str) -> None:
    framer = Framer()
    framer.feed(data)
    with pytest.raises(ProtocolViolation, match=message):
        framer.next_frame()


def test_long_types_may_exceed_the_short_limit() -> None:
    framer = Framer()
    row = sb.data_row(b"x" * (SHORT_MESSAGE_LIMIT * 2))
    framer.feed(row)
    frame = framer.next_frame()
    assert frame is not None
    assert len(frame[1]) == len(row) - 5


def test_a_large_message_in_many_reads_is_joined_once() -> None:
    row = sb.data_row(b"y" * (3 << 20))
    framer = Framer()
    pieces = [row[i : i + 65536] for i in range(0, len(row), 65536)]
    for piece in pieces[:-1]:
        framer.feed(piece)
        assert framer.next_frame() is None
    assert framer.buffered == len(row) - len(pieces[-1])
    framer.feed(pieces[-1] + sb.ready())
    frame = framer.next_frame()
    assert frame is not None
    assert frame[1] == row[5:]
    assert framer.next_frame() == (ord("Z"), b"I")
    assert framer.buffered == 0
