"""``twistd greenpsyco``: serve a WSGI application with one greenlet per request (see greenpsyco.twistd).

Twisted finds this module because it lives in a ``twisted/plugins`` directory on ``sys.path`` (no
``__init__.py`` here, by Twisted's plugin convention); the wheel installs it into Twisted's own.
"""

from twisted.application.service import ServiceMaker

greenpsyco = ServiceMaker(
    "greenpsyco",
    "greenpsyco.twistd",
    "Serve a WSGI application (e.g. a Django project) with one greenlet per request",
    "greenpsyco",
)
