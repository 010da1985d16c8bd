"""Message codecs: every frontend encoder's exact bytes, every backend decoder, hostile bodies."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenpsyco.wire import messages as m
from greenpsyco.wire.errors import MessageTooLong, ProtocolViolation
from tests.wire import server_bytes as sb


def test_startup_message() -> None:
    data = m.startup_message({"user": "bob", "database": "db"})
    assert data == struct.pack("!ii", 30, 196608) + b"user\x00bob\x00database\x00db\x00\x00"


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        (m.ssl_request(), b"\x00\x00\x00\x08\x04\xd2\x16\x2f"),
        (m.gssenc_request(), b"\x00\x00\x00\x08\x04\xd2\x16\x30"),
        (m.cancel_request(7, -1), b"\x00\x00\x00\x10\x04\xd2\x16\x2e\x00\x00\x00\x07\xff\xff\xff\xff"),
        (m.query(b"SELECT 1"), b"Q\x00\x00\x00\x0dSELECT 1\x00"),
        (m.sync(), b"S\x00\x00\x00\x04"),
        (m.flush(), b"H\x00\x00\x00\x04"),
        (m.terminate(), b"X\x00\x00\x00\x04"),
        (m.copy_done(), b"c\x00\x00\x00\x04"),
        (m.copy_data(b"abc"), b"d\x00\x00\x00\x07abc"),
        (m.copy_fail(b"no"), b"f\x00\x00\x00\x07no\x00"),
        (m.password_message(b"pw"), b"p\x00\x00\x00\x07pw\x00"),
        (
            m.sasl_initial_response("SCRAM-SHA-256", b"n,,"),
            b"p\x00\x00\x00\x19SCRAM-SHA-256\x00\x00\x00\x00\x03n,,",
        ),
        (m.sasl_initial_response("X", None), b"p\x00\x00\x00\x0aX\x00\xff\xff\xff\xff"),
        (m.sasl_response(b"c=biws"), b"p\x00\x00\x00\x0ac=biws"),
        (m.describe(b"P", b""), b"D\x00\x00\x00\x06P\x00"),
        (m.close(b"S", b"s1"), b"C\x00\x00\x00\x08Ss1\x00"),
        (m.execute(b"", 10), b"E\x00\x00\x00\x09\x00\x00\x00\x00\x0a"),
        (m.parse(b"", b"SELECT $1", [23]), b"P\x00\x00\x00\x15\x00SELECT $1\x00\x00\x01\x00\x00\x00\x17"),
        (
            m.bind(b"", b"", [b"1", None], [0], [1]),
            b"B\x00\x00\x00\x19\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x011\xff\xff\xff\xff\x00\x01\x00\x01",
        ),
        (
            m.function_call(1598, [b"x"], [0], 0),
            b"F\x00\x00\x00\x15\x00\x00\x06\x3e\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01x\x00\x00",
        ),
    ],
)
def test_frontend_encoding(encoded: bytes, expected: bytes) -> None:
    assert encoded == expected


def test_nul_in_a_protocol_string_is_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        m.query(b"SELECT '\x00'")


def test_oversized_messages_are_refused_before_sending(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(m, "MAX_MESSAGE_BODY", 100)
    with pytest.raises(MessageTooLong):
        m.query(b"x" * 100)
    with pytest.raises(MessageTooLong):
        m.bind(b"", b"", [b"x" * 101])
    with pytest.raises(MessageTooLong):
        m.parse(b"", b"x", [0] * 65536)


def decode_frame(data: bytes) -> m.BackendMessage:
    return m.decode(data[0], data[5:])


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (sb.auth_ok(), m.AuthenticationRequest(0)),
        (sb.auth(3), m.AuthenticationRequest(3)),
        (sb.auth(5, b"salt"), m.AuthenticationRequest(5, b"salt")),
        (
            sb.auth_sasl("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"),
            m.AuthenticationRequest(10, b"", ("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256")),
        ),
        (sb.auth(11, b"r=abc"), m.AuthenticationRequest(11, b"r=abc")),
        (sb.auth(12, b"v=xyz"), m.AuthenticationRequest(12, b"v=xyz")),
        (sb.backend_key(1, -2), m.BackendKeyData(1, -2)),
        (sb.parameter_status("TimeZone", "UTC"), m.ParameterStatus("TimeZone", "UTC")),
        (sb.ready("T"), m.ReadyForQuery("T")),
        (sb.row_description(("a", 23)), m.RowDescription((m.FieldDescription("a", 0, 0, 23, -1, -1, 0),))),
        (sb.data_row(b"1", None, b""), m.DataRow((b"1", None, b""))),
        (sb.command_complete("INSERT 0 1"), m.CommandComplete("INSERT 0 1")),
        (sb.empty_query(), m.EmptyQueryResponse()),
        (
            sb.error([("S", "ERROR"), ("C", "22012"), ("M", "division by zero")]),
            m.ErrorResponse({"S": "ERROR", "C": "22012", "M": "division by zero"}),
        ),
        (sb.notice("hi"), m.NoticeResponse({"S": "NOTICE", "C": "00000", "M": "hi"})),
        (sb.notification(5, "c", "p"), m.NotificationResponse(5, "c", "p")),
        (sb.frame(b"1"), m.ParseComplete()),
        (sb.frame(b"2"), m.BindComplete()),
        (sb.frame(b"3"), m.CloseComplete()),
        (sb.frame(b"n"), m.NoData()),
        (sb.frame(b"s"), m.PortalSuspended()),
        (sb.frame(b"t", b"\x00\x02\x00\x00\x00\x17\x00\x00\x00\x19"), m.ParameterDescription((23, 25))),
        (sb.copy_response(b"G", (0, 0)), m.CopyResponse("in", 0, (0, 0))),
        (sb.copy_response(b"H"), m.CopyResponse("out", 0, (0,))),
        (sb.copy_response(b"W"), m.CopyResponse("both", 0, (0,))),
        (sb.copy_data(b"1\t2\n"), m.CopyData(b"1\t2\n")),
        (sb.copy_done(), m.CopyDone()),
        (
            sb.frame(b"v", b"\x00\x00\x00\x00\x00\x00\x00\x01_pq_.x\x00"),
            m.NegotiateProtocolVersion(0, ("_pq_.x",)),
        ),
        (sb.frame(b"V", b"\x00\x00\x00\x02hi"), m.FunctionCallResponse(b"hi")),
        (sb.frame(b"V", b"\xff\xff\xff\xff"), m.FunctionCallResponse(None)),
    ],
)
def test_backend_decoding(data: bytes, expected: m.BackendMessage) -> None:
    assert decode_frame(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        sb.frame(b"D", b"\x00\x02\x00\x00\x00\x01x"),  # second column missing
        sb.frame(b"D", b"\x7f\xff"),  # 32767 columns in 2 bytes
        sb.frame(b"D", b"\x00\x01\x00\x00\x00\x09abc"),  # length past the end
        sb.frame(b"D", b"\x00\x01\xff\xff\xff\xfe"),  # negative length other than -1
        sb.frame(b"D", b"\x00\x00junk"),  # trailing bytes
        sb.frame(b"T", b"\x7f\xff"),  # absurd field count
        sb.frame(b"T", b"\x00\x01abc"),  # name without terminator
        sb.frame(b"Z", b"X"),  # unknown transaction status
        sb.frame(b"Z", b""),
        sb.frame(b"K", b"\x00\x00"),
        sb.frame(b"E", b"Mno terminator"),
        sb.frame(b"G", b"\x05\x00\x00"),  # unknown copy format
        sb.frame(b"t", b"\x00\x05\x00\x00\x00\x17"),
        sb.frame(b"v", b"\x00\x00\x00\x00\x7f\xff\xff\xff"),
        sb.frame(b"V", b"\x00\x00\x00\x09x"),
        sb.frame(b"R", b"\x00\x00\x00\x05sa"),  # short MD5 salt
        sb.frame(b"I", b"x"),
    ],
)
def test_malformed_bodies_raise_protocol_violation(data: bytes) -> None:
    with pytest.raises(ProtocolViolation):
        decode_frame(data)


@given(st.sampled_from(sorted(m.BACKEND_CODES)), st.binary(max_size=64))
def test_random_bodies_raise_only_protocol_violation(code: int, body: bytes) -> None:
    with contextlib.suppress(ProtocolViolation):
        m.decode(code, body)


def test_text_fields_use_the_connection_encoding() -> None:
    data = sb.frame(b"C", "SELECT é".encode("latin-1") + b"\x00")
    assert m.decode(data[0], data[5:], "latin-1") == m.CommandComplete("SELECT é")
    assert m.decode(data[0], data[5:], "utf-8") == m.CommandComplete("SELECT \ufffd")
