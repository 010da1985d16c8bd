"""PEP 3333 corners, back-pressure and proxy headers, served by ``greenpsyco serve`` (plain WSGI apps)."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from tests.server.httpclient import get, get_many

pytestmark = pytest.mark.slow


@pytest.fixture
def plain(start_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    close_log = tmp_path / "closed.log"
    monkeypatch.setenv("GREENPSYCO_TEST_CLOSE_LOG", str(close_log))
    server = start_server("testproject.plain", "--no-patch")
    server.close_log = close_log
    return server


def test_environ_is_pep_3333(plain) -> None:
    reply = get(plain.port, "/environ?a=1&b=%20", headers={"X-Custom": "yes", "X_Evil": "smuggled"})
    environ = json.loads(reply.body)
    assert environ["PATH_INFO"] == "/environ"
    assert environ["QUERY_STRING"] == "a=1&b=%20"
    assert environ["SCRIPT_NAME"] == ""
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    assert environ["multithread"] is True
    assert environ["mode"] == "cooperative"  # the application runs in a request greenlet
    assert "HTTP_X_CUSTOM" in environ["http_headers"]
    assert "HTTP_X_EVIL" not in environ["http_headers"]  # underscores: dropped, not confused with '-'


def test_the_worker_freezes_what_loading_the_application_allocated(plain) -> None:
    # Kept out of the cyclic GC's full passes, which would otherwise walk it all while requests wait.
    assert json.loads(get(plain.port, "/gc").body)["frozen"] > 1000


def test_percent_encoded_path_is_decoded_as_latin1(plain) -> None:
    reply = get(plain.port, "/caf%C3%A9")
    assert reply.body.decode() == "plain /caf\xc3\xa9"  # PEP 3333: the raw bytes as latin-1


def test_write_callable_then_iterable(plain) -> None:
    assert get(plain.port, "/write").body == b"written directly then returned"


def test_start_response_with_exc_info_replaces_the_headers(plain) -> None:
    reply = get(plain.port, "/exc-info")
    assert reply.status == 502
    assert reply.body == b"the app's own error page"


def test_close_is_called_also_when_the_iterable_raises(plain) -> None:
    assert get(plain.port, "/close").body == b"first block\nsecond block\n"
    cut = get(plain.port, "/close-raise")
    assert cut.body == b"first block\n"
    assert not cut.complete  # part of the body was out: the connection is cut, not ended cleanly
    assert plain.close_log.read_text().split() == ["/close", "/close-raise"]
    assert "the iterable failed after one block" in plain.output()


def test_an_application_exception_is_a_logged_500_and_the_next_request_works(plain) -> None:
    reply = get(plain.port, "/raise")
    assert reply.status == 500
    assert reply.body == b"Internal Server Error\n"
    assert "the application failed on purpose" in plain.output()
    assert get(plain.port, "/hello").body == b"plain /hello"


def test_file_wrapper(plain) -> None:
    reply = get(plain.port, "/file")
    assert reply.body == b"x" * 200_000


def test_request_body_reaches_wsgi_input(plain) -> None:
    body = b"first line\n" + b"y" * 300_000
    with socket.create_connection(("127.0.0.1", plain.port)) as sock:
        sock.sendall(
            b"POST /input HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
            + body
        )
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    assert json.loads(raw.partition(b"\r\n\r\n")[2]) == {"first": "first line\n", "rest": 300_000}


def test_a_slow_reader_gets_back_pressure_and_holds_nobody_else(plain) -> None:
    with socket.create_connection(("127.0.0.1", plain.port)) as slow:
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        slow.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        time.sleep(1.0)  # read nothing for a while
        others = get_many(plain.port, ["/hello"] * 20, timeout=10)
        assert all(reply.status == 200 for reply in others)
        produced = int(get(plain.port, "/produced").body)
        assert produced < 16 * 1024 * 1024, "the application was not paused while the client did not read"
        received = 0
        while chunk := slow.recv(1 << 20):
            received += len(chunk)
    assert received > 20 * 1024 * 1024  # the whole body (plus headers) arrived after all


def test_forwarded_headers_only_from_allowed_proxies(start_server) -> None:
    trusted = start_server("testproject.plain", "--no-patch", "--forwarded-allow-ips", "127.0.0.1")
    headers = {"X-Forwarded-For": "203.0.113.7, 127.0.0.1", "X-Forwarded-Proto": "https"}
    environ = json.loads(get(trusted.port, "/environ", headers=headers).body)
    assert environ["REMOTE_ADDR"] == "203.0.113.7"
    assert environ["wsgi.url_scheme"] == "https"

    untrusted = start_server("testproject.plain", "--no-patch", "--forwarded-allow-ips", "10.9.9.9")
    environ = json.loads(get(untrusted.port, "/environ", headers=headers).body)
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    assert environ["wsgi.url_scheme"] == "http"


def test_access_log_in_combined_format(start_server) -> None:
    server = start_server("testproject.plain", "--no-patch", "--access-logfile", "-")
    get(server.port, "/hello?x=1", headers={"User-Agent": "tester/1.0", "Referer": "http://r.example/"})
    line = server.wait_for_output(r'127\.0\.0\.1 - - \[[^\]]+\] "GET /hello\?x=1 HTTP/1\.1" 200 12 .*').group(
        0
    )
    assert line.endswith('"http://r.example/" "tester/1.0"')


def test_max_concurrency_answers_503_beyond_it(start_server) -> None:
    server = start_server("testproject.plain", "--no-patch", "--max-concurrency", "5")
    replies = get_many(server.port, ["/sleep?1"] * 12)
    statuses = sorted(reply.status for reply in replies)
    assert statuses.count(200) == 5
    assert statuses.count(503) == 7
    assert get(server.port, "/hello").status == 200
