"""The access log (``--access-logfile``): one line per request in the Combined Log Format.

``%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"`` as Apache, nginx, gunicorn and twistd write
it, so existing log tooling reads it. ``%h`` is the client address the WSGI application saw
(``X-Forwarded-For`` from a trusted proxy), not necessarily the TCP peer.
"""

from __future__ import annotations

import sys
import time
from typing import IO

from twisted.web.http import Request

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _quote(raw: bytes | str | None) -> str:
    """A header value or request line inside double quotes, with control bytes and quotes escaped."""
    if raw is None:
        return "-"
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


def _timestamp(now: float) -> str:
    local = time.localtime(now)
    offset = local.tm_gmtoff or 0
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return (
        f"[{local.tm_mday:02d}/{_MONTHS[local.tm_mon - 1]}/{local.tm_year}:"
        f"{local.tm_hour:02d}:{local.tm_min:02d}:{local.tm_sec:02d} {sign}{hours:02d}{minutes:02d}]"
    )


def format_line(request: Request, client: str, now: float | None = None) -> str:
    """One Combined Log Format line (no newline) for a finished request."""
    line = b"%s %s %s" % (request.method, request.uri, request.clientproto)
    user = request.getUser() or b"-"
    size = request.sentLength
    return (
        f"{client or '-'} - {_quote(user)} {_timestamp(time.time() if now is None else now)} "
        f'"{_quote(line)}" {request.code} {size if size else "-"} '
        f'"{_quote(request.getHeader(b"referer"))}" "{_quote(request.getHeader(b"user-agent"))}"'
    )


class AccessLog:
    """Writes access-log lines to a file opened for appending, or to standard output for ``-``."""

    def __init__(self, destination: str) -> None:
        self.destination = destination
        self._stream: IO[str]
        if destination == "-":
            self._stream = sys.stdout
            self._owned = False
        else:
            self._stream = open(destination, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
            self._owned = True

    def log(self, request: Request, client: str) -> None:
        """Write the line for ``request``. Call from: the hub greenlet, when the request ends."""
        self._stream.write(format_line(request, client) + "\n")
        if not self._owned:
            self._stream.flush()

    def close(self) -> None:
        if self._owned:
            self._stream.close()


def open_access_log(destination: str | None) -> AccessLog | None:
    """The access log for ``--access-logfile`` (None: off, gunicorn's default); OSError if unwritable."""
    if not destination:
        return None
    return AccessLog(destination)


__all__ = ["AccessLog", "format_line", "open_access_log"]
