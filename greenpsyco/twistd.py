"""``twistd -n greenpsyco --wsgi mysite.wsgi.application --listen tcp:8000``: the Twisted plugin's service.

For Twisted users who run their services under ``twistd``: twistd owns the reactor (and its
logging, daemonising, pid file and signal handling), so this service attaches greenpsyco's hub to the
running reactor (:meth:`greenpsyco.hub.Hub.attach`) instead of running its own, then serves the
application like ``greenpsyco serve`` does in a single process. ``--wsgi`` takes a dotted name, as
``twistd web --wsgi`` does; ``module:callable`` works too.
"""

from __future__ import annotations

from typing import Any

from twisted.application import service
from twisted.internet.endpoints import serverFromString
from twisted.python import usage

from greenpsyco.server.accesslog import open_access_log
from greenpsyco.server.config import DEFAULT_POOL_SIZE
from greenpsyco.server.proxy import DEFAULT as DEFAULT_FORWARDED_ALLOW_IPS
from greenpsyco.server.proxy import TrustedProxies
from greenpsyco.server.site import GreenSite
from greenpsyco.server.wsgi import GreenWSGIResource, ServerOptions


class Options(usage.Options):
    """The plugin's command line (``twistd greenpsyco --help``)."""

    synopsis = "[options]"
    longdesc = "Serve a WSGI application with one greenlet per request (greenpsyco's hub)."
    optParameters = [  # noqa: RUF012 (Twisted's usage.Options format)
        [
            "wsgi",
            None,
            None,
            "the WSGI application: a dotted name (mysite.wsgi.application) or module:callable",
        ],
        ["access-log", None, None, "write the access log (Combined Log Format) here; - for stdout"],
        ["pool-size", None, str(DEFAULT_POOL_SIZE), "PostgreSQL connections per database (0: no pool)"],
        ["timeout", None, "30", "cancel a request running longer than this many seconds (0: never)"],
        ["forwarded-allow-ips", None, DEFAULT_FORWARDED_ALLOW_IPS, "proxies whose X-Forwarded-* is believed"],
    ]
    optFlags = [["no-patch", None, "do not call greenpsyco.patch() before loading the application"]]  # noqa: RUF012

    def __init__(self) -> None:
        super().__init__()
        self["listen"] = []

    def opt_listen(self, description: str) -> None:
        """A Twisted endpoint to listen on (repeatable; default tcp:8080, as twistd web)."""
        self["listen"].append(description)

    def postOptions(self) -> None:
        if not self["wsgi"]:
            raise usage.UsageError("--wsgi is required (e.g. --wsgi mysite.wsgi.application)")
        for name in ("pool-size", "timeout"):
            try:
                float(self[name])
            except ValueError:
                raise usage.UsageError(f"--{name} must be a number") from None
        try:
            TrustedProxies.parse(self["forwarded-allow-ips"])
        except ValueError as exc:
            raise usage.UsageError(str(exc)) from None


def _app_path(dotted: str) -> str:
    """``mysite.wsgi.application`` (twistd web's spelling) -> ``mysite.wsgi:application``."""
    if ":" in dotted:
        return dotted
    module, _, name = dotted.rpartition(".")
    return f"{module}:{name}" if module else dotted


class GreenWSGIService(service.Service):
    """Loads the application, attaches the hub to twistd's reactor, listens on the endpoints."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.ports: list[Any] = []
        self.access_log: Any = None

    def startService(self) -> None:
        """Load the application now (errors end twistd before it daemonises), listen once running."""
        from twisted.internet import reactor

        from greenpsyco import hub
        from greenpsyco.server.app import load_app

        super().startService()
        if not self.options["no-patch"]:
            import greenpsyco

            greenpsyco.patch(pool_size=int(float(self.options["pool-size"])))
        app = load_app(_app_path(self.options["wsgi"]))
        self.hub = hub.start_hub(reactor)
        server_options = ServerOptions(
            timeout=float(self.options["timeout"]),
            trusted_proxies=TrustedProxies.parse(self.options["forwarded-allow-ips"]),
        )
        resource = GreenWSGIResource(app, hub_=self.hub, options=server_options)
        self.access_log = open_access_log(self.options["access-log"])
        self.site = GreenSite(resource, access_log=self.access_log, reactor=reactor)
        reactor.callWhenRunning(self._listen, reactor)

    def _listen(self, reactor: Any) -> None:
        self.hub.attach()
        for description in self.options["listen"] or ["tcp:8080"]:
            serverFromString(reactor, description).listen(self.site).addCallbacks(
                self.ports.append, lambda failure, text=description: self._cannot_listen(text, failure)
            )

    def _cannot_listen(self, description: str, failure: Any) -> None:
        from twisted.internet import reactor as _reactor

        reactor: Any = _reactor
        print(f"greenpsyco: error: cannot listen on {description}: {failure.value}", flush=True)
        reactor.stop()

    def stopService(self) -> Any:
        super().stopService()
        for port in self.ports:
            port.stopListening()
        if self.access_log is not None:
            self.access_log.close()


def makeService(options: Options) -> GreenWSGIService:
    """twistd's entry point for the ``greenpsyco`` plugin."""
    return GreenWSGIService(options)


__all__ = ["GreenWSGIService", "Options", "makeService"]
