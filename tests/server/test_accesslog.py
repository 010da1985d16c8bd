"""The access log line: Combined Log Format with escaping."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from greenpsyco.server.accesslog import format_line


def _request(**overrides: Any) -> Any:
    headers = {b"referer": b"http://ref.example/", b"user-agent": b'agent "quoted"\x01'}
    values = {
        "method": b"GET",
        "uri": b"/path?q=1",
        "clientproto": b"HTTP/1.1",
        "code": 200,
        "sentLength": 1234,
        "getUser": lambda: b"",
        "getHeader": headers.get,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


def test_combined_log_format() -> None:
    now = time.mktime((2026, 11, 25, 18, 30, 5, 0, 0, -1))
    line = format_line(_request(), "203.0.113.4", now)
    assert line.startswith("203.0.113.4 - - [25/Nov/2026:18:30:05 ")
    assert line.endswith('"GET /path?q=1 HTTP/1.1" 200 1234 "http://ref.example/" "agent \\"quoted\\"\\x01"')


def test_empty_body_and_missing_headers_are_dashes() -> None:
    line = format_line(_request(sentLength=0, getHeader=lambda name: None), "", 0.0)
    assert line.startswith("- - - [")
    assert line.endswith('" 200 - "-" "-"')
