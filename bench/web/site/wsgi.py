"""The WSGI application every server under test loads (``bench.web.site.wsgi``)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.web.site.settings")

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
