"""The twisted.web Site the server listens with: access log, open-connection tracking, draining.

Twisted's ``Site`` already speaks HTTP/1.1 with keep-alive, pipelining and chunked responses. This
subclass writes the access log in our format (with the client address the application saw), keeps a
weak set of open connections so a graceful shutdown can close the idle keep-alive ones, and does not
parse form bodies into ``request.args`` (a WSGI application reads ``wsgi.input`` itself).
"""

from __future__ import annotations

import inspect
import weakref
from typing import Any

from twisted.web import server
from twisted.web.http import Request

from greenpsyco.server.accesslog import AccessLog
from greenpsyco.server.wsgi import GreenWSGIResource

KEEP_ALIVE_TIMEOUT = 5.0
"""Seconds an idle keep-alive connection stays open (uvicorn's default; gunicorn's is 2)."""

_SITE_ACCEPTS_FORM_FLAG = "parsePOSTFormSubmission" in inspect.signature(server.Site.__init__).parameters


class GreenSite(server.Site):
    """A Site serving one :class:`GreenWSGIResource` at its root."""

    def __init__(
        self,
        wsgi_resource: GreenWSGIResource,
        *,
        access_log: AccessLog | None = None,
        keep_alive: float = KEEP_ALIVE_TIMEOUT,
        reactor: Any = None,
    ) -> None:
        kwargs: dict[str, Any] = {"timeout": keep_alive or None}
        if reactor is not None:
            kwargs["reactor"] = reactor
        if _SITE_ACCEPTS_FORM_FLAG:
            kwargs["parsePOSTFormSubmission"] = False
        super().__init__(wsgi_resource, **kwargs)
        self.wsgi_resource = wsgi_resource
        self.access_log = access_log
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()

    def buildProtocol(self, addr: Any) -> Any:
        """A new HTTP connection, remembered for :meth:`close_idle_connections`. Call from: the hub."""
        protocol = super().buildProtocol(addr)
        if protocol is not None:
            self._connections.add(protocol)
        return protocol

    def log(self, request: Request) -> None:
        """Twisted calls this when a request finishes. Call from: the hub greenlet."""
        if self.access_log is None:
            return
        client = getattr(request, "greenpsyco_client", None)
        if client is None:
            client = getattr(request.getClientAddress(), "host", None)
        self.access_log.log(request, str(client or "-"))

    def open_connections(self) -> list[Any]:
        """The HTTP connections whose transport is still open. Call from: the hub greenlet."""
        return [p for p in self._connections if getattr(_transport(p), "connected", False)]

    def close_idle_connections(self) -> int:
        """Close keep-alive connections with no request in progress; return how many were closed.

        Call from: the hub greenlet (a graceful shutdown does this once it stops listening, then again
        as in-flight requests end, so clients reconnect to a worker that is still accepting).
        """
        closed = 0
        for protocol in self.open_connections():
            channel = getattr(protocol, "_channel", protocol)
            if not getattr(channel, "requests", None):
                _transport(protocol).loseConnection()  # sends what is buffered first
                closed += 1
        return closed


def _transport(protocol: Any) -> Any:
    """The transport of an HTTP connection: Twisted wraps its ``HTTPChannel`` in a protocol that picks
    HTTP/1.1 or HTTP/2 and has no ``transport`` attribute of its own."""
    channel = getattr(protocol, "_channel", None)
    return getattr(channel if channel is not None else protocol, "transport", None)


__all__ = ["KEEP_ALIVE_TIMEOUT", "GreenSite"]
