"""A small HTTP/1.1 client for the tests: many concurrent requests without threads (asyncio)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float
    complete: bool = True
    """False when the connection ended before the body did (a chunked body without its last chunk)."""


async def _get(port: int, path: str, headers: dict[str, str], timeout: float) -> Reply:
    started = time.monotonic()
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    return parse_response(raw, time.monotonic() - started)


def parse_response(raw: bytes, seconds: float = 0.0) -> Reply:
    """Parse one complete HTTP/1.1 response (Content-Length, chunked, or up to the close)."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = rest
    complete = True
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            size_line, found, rest = rest.partition(b"\r\n")
            if not found:
                complete = False
                break
            size = int(size_line, 16)
            if size == 0:
                break
            body += rest[:size]
            rest = rest[size + 2 :]
    elif "content-length" in headers:
        body = rest[: int(headers["content-length"])]
    return Reply(int(status_line.split()[1]), headers, body, seconds, complete)


def get_many(
    port: int, paths: list[str], *, headers: dict[str, str] | None = None, timeout: float = 60
) -> list[Reply]:
    """GET every path at once (one connection each) and return the replies in order."""

    async def run() -> list[Reply]:
        return await asyncio.gather(*(_get(port, path, headers or {}, timeout) for path in paths))

    return asyncio.run(run())


def get(port: int, path: str, *, headers: dict[str, str] | None = None, timeout: float = 30) -> Reply:
    return get_many(port, [path], headers=headers, timeout=timeout)[0]
