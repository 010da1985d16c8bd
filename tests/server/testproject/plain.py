"""Plain WSGI applications exercising PEP 3333 corners, one per path (``plain:application``)."""

from __future__ import annotations

import gc
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import greenpsyco

BIG_BLOCK = 64 * 1024
BIG_BLOCKS = 320  # 20 MiB
produced = {"big": 0}
CLOSE_LOG = os.environ.get("GREENPSYCO_TEST_CLOSE_LOG", "")


def _text(start_response: Callable[..., Any], body: str, status: str = "200 OK") -> list[bytes]:
    data = body.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))])
    return [data]


class ClosingIterable:
    """An iterable whose close() is logged; it raises after one block when ``fail`` is set."""

    def __init__(self, name: str, fail: bool) -> None:
        self.name = name
        self.fail = fail

    def __iter__(self) -> Iterator[bytes]:
        yield b"first block\n"
        if self.fail:
            raise ValueError("the iterable failed after one block")
        yield b"second block\n"

    def close(self) -> None:
        if CLOSE_LOG:
            with open(CLOSE_LOG, "a") as log:
                log.write(self.name + "\n")


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    path = environ["PATH_INFO"]
    if path == "/environ":
        keys = [
            "REMOTE_ADDR",
            "wsgi.url_scheme",
            "SERVER_PROTOCOL",
            "SCRIPT_NAME",
            "PATH_INFO",
            "QUERY_STRING",
        ]
        shown = {key: environ.get(key) for key in keys}
        shown["http_headers"] = sorted(key for key in environ if key.startswith("HTTP_"))
        shown["REMOTE_PORT"] = environ.get("REMOTE_PORT")
        shown["multithread"] = environ["wsgi.multithread"]
        shown["mode"] = greenpsyco.mode()
        return _text(start_response, json.dumps(shown))
    if path == "/write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written ")
        write(b"directly ")
        return [b"then returned"]
    if path == "/exc-info":
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise KeyError("replaced before any body was sent")
        except KeyError:
            start_response("502 Bad Gateway", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"the app's own error page"]
    if path in ("/close", "/close-raise"):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ClosingIterable(path, fail=path == "/close-raise")
    if path == "/raise":
        raise RuntimeError("the application failed on purpose")
    if path == "/file":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](io.BytesIO(b"x" * 200_000), 8192)
    if path == "/input":
        stream = environ["wsgi.input"]
        first = stream.readline()
        rest = stream.read()
        return _text(start_response, json.dumps({"first": first.decode(), "rest": len(rest)}))
    if path == "/big":
        produced["big"] = 0
        start_response("200 OK", [("Content-Type", "application/octet-stream")])

        def blocks() -> Iterator[bytes]:
            for _ in range(BIG_BLOCKS):
                produced["big"] += BIG_BLOCK
                yield b"b" * BIG_BLOCK

        return blocks()
    if path == "/pid":
        return _text(start_response, str(os.getpid()))
    if path == "/produced":
        return _text(start_response, str(produced["big"]))
    if path == "/gc":
        return _text(start_response, json.dumps({"frozen": gc.get_freeze_count()}))
    if path == "/sleep":
        greenpsyco.sleep(float(environ.get("QUERY_STRING") or "0.5"))
        return _text(start_response, "slept")
    return _text(start_response, "plain " + path)
