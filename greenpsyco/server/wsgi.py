"""A WSGI resource for twisted.web that runs each request in a request greenlet of greenpsyco's hub.

Twisted's own ``twisted.web.wsgi.WSGIResource`` runs applications in a thread pool and its ``write()``
uses ``blockingCallFromThread``, which deadlocks when the caller is a greenlet of the reactor's thread
(``reference/prior-art.md`` section 1). This resource keeps its PEP 3333 mapping but runs the
application in a greenlet spawned on the hub: a request that waits on PostgreSQL (or on any Deferred
through :func:`greenpsyco.wait`) switches to the hub and costs a greenlet, not a thread.

What it adds to the stock resource:

- ``close()`` of the application's iterable is always called, also when iterating raised (Django sends
  ``request_finished``, which releases database connections, from ``close()``), and the request
  greenlet's Django connections are released at the end of every request, even on error;
- back-pressure: the response registers as a streaming producer, and a greenlet writing to a slow
  client waits (cooperatively) until the client has read what was sent, without holding anyone else;
- a per-request timeout that kills the request greenlet (its query is cancelled on the server), a
  concurrency bound (503 beyond it), ``X-Forwarded-For``/``-Proto`` from trusted proxies only,
  and request headers with ``_`` in their name dropped (``X_Forwarded_For`` would otherwise reach the
  application as ``HTTP_X_FORWARDED_FOR``, as gunicorn and nginx guard against).

The request body is read by twisted.web before the application starts (in memory, or in a temporary
file when large), so ``wsgi.input`` never waits on the network and a slow upload holds no greenlet.

Every method says in which context it runs: the hub greenlet (reactor callbacks) or the request
greenlet that runs the application.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Any, Protocol
from urllib.parse import unquote_to_bytes

from twisted.internet import defer
from twisted.internet.interfaces import IPushProducer
from twisted.python.failure import Failure
from twisted.web import resource, server
from twisted.web.http import Request
from zope.interface import implementer

from greenpsyco import hub
from greenpsyco.server.proxy import TrustedProxies

_logger = logging.getLogger("greenpsyco.server")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
StartResponse = Callable[..., Callable[[bytes], None]]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

SERVER_SOFTWARE = "greenpsyco"
FILE_BLOCK_SIZE = 64 * 1024


class RequestTimeout(hub.GreenletExit):  # type: ignore[misc,valid-type]
    """Thrown into a request greenlet that ran longer than the server's ``--timeout``.

    A ``GreenletExit``, so an application's ``except Exception`` cannot swallow it; a database query
    the greenlet was waiting on is cancelled on the server on the way out.
    """


class ServerDraining(hub.GreenletExit):  # type: ignore[misc,valid-type]
    """Thrown into request greenlets still running when a graceful shutdown runs out of time."""


class ActivityListener(Protocol):
    """What the server wants to hear about requests (counts for --max-requests and draining)."""

    def request_started(self) -> None: ...

    def request_finished(self) -> None: ...


@dataclass
class ServerOptions:
    """The per-request behaviour a :class:`GreenWSGIResource` needs; built from the command line."""

    timeout: float = 0.0
    """Seconds a request may run before its greenlet is killed (0: no limit)."""
    max_concurrency: int = 0
    """Requests running at once beyond which new ones get 503 (0: no limit)."""
    trusted_proxies: TrustedProxies = field(default_factory=TrustedProxies.default)
    multiprocess: bool = False
    """``wsgi.multiprocess``: True when several worker processes serve the same application."""
    release_django_connections: bool = True
    """Release the request greenlet's Django connections when the request ends."""


# -- wsgi.input / wsgi.file_wrapper -----------------------------------------------------------------


class InputStream:
    """``wsgi.input``: the request body twisted.web has already read (memory or a temporary file).

    Offers exactly PEP 3333's methods; reads stop at the end of the body and never wait on the network.
    """

    def __init__(self, body: IO[bytes]) -> None:
        self._body = body

    def read(self, size: int | None = -1) -> bytes:
        return self._body.read(-1 if size is None else size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._body.readline(-1 if size is None else size)

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        return self._body.readlines(-1 if hint is None else hint)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body.readline, b"")


class FileWrapper:
    """``wsgi.file_wrapper``: iterate a file-like object in blocks, closing it with the response."""

    def __init__(self, filelike: Any, block_size: int = FILE_BLOCK_SIZE) -> None:
        self.filelike = filelike
        self.block_size = block_size
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self) -> Iterator[bytes]:
        read = self.filelike.read
        while True:
            block = read(self.block_size)
            if not block:
                return
            yield block


class ErrorStream:
    """``wsgi.errors``: text the application writes goes to the server's log (one record per line)."""

    def __init__(self) -> None:
        self._partial = ""

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            _logger.error("%s", line)
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._partial:
            _logger.error("%s", self._partial)
            self._partial = ""


# -- environ -----------------------------------------------------------------------------------------


def _latin1(raw: bytes) -> str:
    return raw.decode("latin-1")


def build_environ(request: Request, options: ServerOptions) -> dict[str, Any]:
    """The PEP 3333 ``environ`` for ``request``; honours forwarded headers only from trusted proxies.

    Call from: the hub greenlet (while twisted.web renders the request).
    """
    path, _, query = request.uri.partition(b"?")
    peer = request.getClientAddress()
    peer_host = getattr(peer, "host", "") or ""
    peer_port = getattr(peer, "port", 0) or 0
    host = request.getHost()
    scheme = "https" if request.isSecure() else "http"
    environ: dict[str, Any] = {
        "REQUEST_METHOD": _latin1(request.method),
        "SCRIPT_NAME": "",
        "PATH_INFO": _latin1(unquote_to_bytes(path)),
        "QUERY_STRING": _latin1(query),
        "SERVER_NAME": getattr(host, "host", "") or "localhost",
        "SERVER_PORT": str(getattr(host, "port", "") or ""),
        "SERVER_PROTOCOL": _latin1(request.clientproto),
        "SERVER_SOFTWARE": SERVER_SOFTWARE,
        "REMOTE_ADDR": peer_host,
        "REMOTE_PORT": str(peer_port),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": InputStream(request.content or io.BytesIO()),
        "wsgi.input_terminated": True,
        "wsgi.errors": ErrorStream(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": options.multiprocess,
        "wsgi.run_once": False,
        "wsgi.file_wrapper": FileWrapper,
    }
    for raw_name, values in request.requestHeaders.getAllRawHeaders():
        name = _latin1(raw_name).upper()
        if "_" in name:
            continue  # ambiguous with '-' once in environ: dropped, as gunicorn and nginx do
        key = "HTTP_" + name.replace("-", "_")
        if key == "HTTP_CONTENT_TYPE":
            key = "CONTENT_TYPE"
        elif key == "HTTP_CONTENT_LENGTH":
            key = "CONTENT_LENGTH"
        joined = ", " if key != "HTTP_COOKIE" else "; "
        environ[key] = joined.join(_latin1(value) for value in values)
    if peer_host and options.trusted_proxies.trusts(peer_host):
        forwarded_for = environ.get("HTTP_X_FORWARDED_FOR")
        if forwarded_for:
            client = options.trusted_proxies.client_address(forwarded_for)
            if client:
                environ["REMOTE_ADDR"] = client
        forwarded_proto = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[0].strip().lower()
        if forwarded_proto in ("http", "https"):
            environ["wsgi.url_scheme"] = forwarded_proto
    return environ


# -- the resource --------------------------------------------------------------------------------------


class GreenWSGIResource(resource.Resource):
    """A twisted.web leaf resource that serves a WSGI application, one request greenlet per request.

    ``hub`` must be the process's running hub by the time requests arrive. ``listener`` hears about
    each request's start and end (the server uses it for ``--max-requests`` and graceful draining).
    """

    isLeaf = True

    def __init__(
        self,
        app: WSGIApp,
        *,
        hub_: hub.Hub,
        options: ServerOptions | None = None,
        listener: ActivityListener | None = None,
    ) -> None:
        super().__init__()
        self.app = app
        self.hub = hub_
        self.options = options or ServerOptions()
        self.listener = listener
        self.active = 0
        self.draining = False

    def render(self, request: server.Request) -> int | bytes:
        """Start the request's greenlet; the response is written from there.

        Call from: the hub greenlet (twisted.web's dispatch).
        """
        request.defaultContentType = None
        request.setHeader(b"Server", SERVER_SOFTWARE.encode())
        limit = self.options.max_concurrency
        if limit and self.active >= limit:
            _logger.warning("%d requests are running (--max-concurrency): answering 503", self.active)
            return _plain_error(request, 503, b"Service Unavailable", retry_after=True)
        try:
            environ = build_environ(request, self.options)
        except Exception:
            _logger.exception("could not build the WSGI environ")
            return _plain_error(request, 400, b"Bad Request")
        request.greenpsyco_client = environ["REMOTE_ADDR"]  # type: ignore[attr-defined]  # for the access log
        response = _Response(self, request, environ)
        self.active += 1
        if self.listener is not None:
            self.listener.request_started()
        response.task = self.hub.spawn(response.run)
        return server.NOT_DONE_YET

    def response_ended(self) -> None:
        """Count a finished request. Call from: the request greenlet, as its last step."""
        self.active -= 1
        if self.listener is not None:
            self.listener.request_finished()


def _plain_error(request: server.Request, code: int, text: bytes, *, retry_after: bool = False) -> bytes:
    request.setResponseCode(code)
    request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
    request.setHeader(b"Content-Length", b"%d" % (len(text) + 1))
    if retry_after:
        request.setHeader(b"Retry-After", b"1")
    return text + b"\n"


@implementer(IPushProducer)
class _Response:
    """One request: the WSGI call in a request greenlet, writing through twisted.web's Request."""

    task: hub.GreenTask[None] | None = None

    def __init__(self, owner: GreenWSGIResource, request: server.Request, environ: dict[str, Any]) -> None:
        self.owner = owner
        self.request = request
        self.environ = environ
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.headers_sent = False
        self.gone = False  # the client disconnected before the response was finished
        self._resumed: defer.Deferred[None] | None = None  # set while the transport asked us to pause
        self._timer: Any = None
        request.notifyFinish().addBoth(self._request_done)

    # -- producer interface (hub greenlet) ----------------------------------------------------------

    def pauseProducing(self) -> None:
        """The client reads slower than we write: the next write waits. Call from: the hub greenlet."""
        if self._resumed is None:
            self._resumed = defer.Deferred()

    def resumeProducing(self) -> None:
        """The client caught up. Call from: the hub greenlet."""
        resumed, self._resumed = self._resumed, None
        if resumed is not None:
            resumed.callback(None)

    def stopProducing(self) -> None:
        """The connection is gone. Call from: the hub greenlet."""
        self.gone = True
        self.resumeProducing()

    def _request_done(self, result: object) -> None:
        """twisted.web finished the request, or lost the connection first. Call from: the hub greenlet."""
        if isinstance(result, Failure):
            self.gone = True
            self.resumeProducing()

    def _time_out(self) -> None:
        """The request ran past ``--timeout``: kill its greenlet. Call from: the hub greenlet."""
        self._timer = None
        if self.task is not None and not self.task.done:
            timeout = self.owner.options.timeout
            _logger.error(
                "request %s %s ran longer than %s s (--timeout): cancelled",
                self.environ["REQUEST_METHOD"],
                self.environ["PATH_INFO"],
                timeout,
            )
            self.task.kill(RequestTimeout(f"the request ran longer than {timeout} s"), block=False)

    # -- WSGI (request greenlet) ---------------------------------------------------------------------

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], None]:
        """PEP 3333's ``start_response``. Call from: the request greenlet (the application)."""
        if exc_info is not None:
            try:
                if self.headers_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # no reference cycle through the traceback
        elif self.status is not None:
            raise AssertionError("start_response() was already called (pass exc_info to replace it)")
        if not isinstance(status, str):
            raise TypeError(f"the status must be a str, not {type(status).__name__}")
        code, _, reason = status.partition(" ")
        if len(code) != 3 or not code.isdigit() or not reason:
            raise ValueError(f"the status must look like '200 OK', not {status!r}")
        if not isinstance(headers, list):
            raise TypeError(
                f"the headers must be a list of (name, value) tuples, not {type(headers).__name__}"
            )
        for header in headers:
            if not (isinstance(header, tuple) and len(header) == 2):
                raise TypeError(f"each header must be a (name, value) tuple of str, not {header!r}")
            name, value = header
            if not isinstance(name, str) or not isinstance(value, str):
                raise TypeError(f"header names and values must be str, not {header!r}")
            if "\n" in value or "\r" in value or "\n" in name or "\r" in name or ":" in name:
                raise ValueError(f"header {name!r} contains a newline or a colon in its name")
        self.status = status
        self.headers = headers
        return self.write

    def write(self, data: bytes) -> None:
        """The ``write()`` callable, also used for each block of the application's iterable.

        Waits (cooperatively) while the client is not reading. Call from: the request greenlet.
        """
        if not isinstance(data, bytes | bytearray):
            raise TypeError(f"a WSGI application must produce bytes, not {type(data).__name__}")
        if self.status is None:
            raise AssertionError("the application wrote body data before calling start_response()")
        if self.gone:
            return
        if not self.headers_sent:
            self._send_headers()
        if data:
            self.request.write(bytes(data))
        while self._resumed is not None and not self.gone:
            hub.wait(self._resumed)

    def _send_headers(self) -> None:
        assert self.status is not None
        code, _, reason = self.status.partition(" ")
        request = self.request
        request.setResponseCode(int(code), reason.encode("latin-1"))
        for name, value in self.headers:
            if name.lower() in ("server", "date"):
                continue  # the server sets these
            request.responseHeaders.addRawHeader(name.encode("latin-1"), value.encode("latin-1"))
        if self.owner.draining:
            self._close_after_response()
        self.headers_sent = True

    def _close_after_response(self) -> None:
        """During a graceful shutdown: tell the client, and close the keep-alive connection after this."""
        self.request.responseHeaders.setRawHeaders(b"Connection", [b"close"])
        channel = self.request.channel
        if hasattr(channel, "persistent"):
            channel.persistent = False

    def run(self) -> None:
        """Call the application and stream its response. Call from: the request greenlet (its body)."""
        request = self.request
        timeout = self.owner.options.timeout
        if timeout > 0:
            self._timer = self.owner.hub.reactor.callLater(timeout, self._time_out)
        request.registerProducer(self, True)
        try:
            self._call_application()
        except hub.GreenletExit as exc:
            self._fail(exc, killed=True)
        except BaseException as exc:
            self._fail(exc, killed=False)
            if not isinstance(exc, Exception):
                raise
        finally:
            if self._timer is not None and self._timer.active():
                self._timer.cancel()
            self._timer = None
            self._finish()

    def _call_application(self) -> None:
        app_iter = self.owner.app(self.environ, self.start_response)
        try:
            for block in app_iter:
                if self.status is None:
                    raise AssertionError("the application yielded data before calling start_response()")
                self.write(block)
                if self.gone:
                    break
            if self.status is None:
                raise AssertionError("the application returned without calling start_response()")
            if not self.headers_sent and not self.gone:
                self._send_headers()
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()

    def _fail(self, exc: BaseException, *, killed: bool) -> None:
        """The application raised (or was killed): log it, answer 500/503 if nothing was sent yet."""
        method, path = self.environ["REQUEST_METHOD"], self.environ["PATH_INFO"]
        if killed:
            if not isinstance(exc, RequestTimeout | ServerDraining):  # those two are logged where thrown
                _logger.info("request %s %s was stopped (%s)", method, path, type(exc).__name__)
            code, text = 503, b"Service Unavailable"
        else:
            _logger.error("error in the application serving %s %s", method, path, exc_info=exc)
            code, text = 500, b"Internal Server Error"
        if self.gone or self.request.finished:
            return
        if self.headers_sent:
            # Part of the body is out: the only honest signal left is to cut the connection.
            transport: Any = self.request.channel.transport
            transport.loseConnection()
            self.gone = True
            return
        request = self.request
        request.responseHeaders = type(request.responseHeaders)()
        request.setHeader(b"Server", SERVER_SOFTWARE.encode())
        self.status, self.headers = f"{code} {text.decode()}", []
        body = _plain_error(request, code, text)
        if self.owner.draining:
            self._close_after_response()
        self.headers_sent = True
        request.write(body)

    def _finish(self) -> None:
        """Release the greenlet's Django connections, end the HTTP response, count the request."""
        try:
            if self.owner.options.release_django_connections:
                from greenpsyco.patch import close_request_connections

                close_request_connections()
        finally:
            try:
                request = self.request
                if request.producer is not None and request.channel is not None:
                    request.unregisterProducer()
                if not self.gone and not request.finished and request.channel is not None:
                    request.finish()
            finally:
                self.owner.response_ended()


__all__ = [
    "SERVER_SOFTWARE",
    "ActivityListener",
    "ErrorStream",
    "FileWrapper",
    "GreenWSGIResource",
    "InputStream",
    "RequestTimeout",
    "ServerDraining",
    "ServerOptions",
    "WSGIApp",
    "build_environ",
]
