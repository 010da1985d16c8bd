"""greenpsyco's WSGI server: one greenlet per request on twisted.web, run by ``greenpsyco serve``.

- :mod:`~greenpsyco.server.wsgi`: the WSGI resource (PEP 3333, back-pressure, timeouts);
- :mod:`~greenpsyco.server.site`: the twisted.web Site (access log, connection tracking);
- :mod:`~greenpsyco.server.worker`: one serving process (signals, draining, recycling);
- :mod:`~greenpsyco.server.arbiter`: the supervisor of ``--workers`` processes;
- :mod:`~greenpsyco.server.config`, :mod:`~greenpsyco.server.binds`, :mod:`~greenpsyco.server.app`,
  :mod:`~greenpsyco.server.proxy`, :mod:`~greenpsyco.server.accesslog`, :mod:`~greenpsyco.server.logs`,
  :mod:`~greenpsyco.server.reloader`: the command line and its pieces.
"""

from greenpsyco.server.wsgi import GreenWSGIResource, RequestTimeout, ServerOptions

__all__ = ["GreenWSGIResource", "RequestTimeout", "ServerOptions"]
