"""The demo's WSGI application (what ``greenpsyco serve greenpsyco.demo.wsgi`` would load)."""

from __future__ import annotations

import os

import greenpsyco

greenpsyco.patch()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "greenpsyco.demo.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
