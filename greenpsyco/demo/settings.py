"""Django settings of the demo project; the database comes from ``GREENPSYCO_DEMO_DATABASE`` (JSON)."""

from __future__ import annotations

import json
import os
import secrets

DEBUG = False
ALLOWED_HOSTS = ["*"]
SECRET_KEY = os.environ.get("GREENPSYCO_DEMO_SECRET_KEY") or secrets.token_urlsafe(40)
ROOT_URLCONF = "greenpsyco.demo.urls"
WSGI_APPLICATION = "greenpsyco.demo.wsgi.application"
INSTALLED_APPS = ["greenpsyco", "greenpsyco.demo.visits"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_database = json.loads(os.environ.get("GREENPSYCO_DEMO_DATABASE", "{}"))
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _database.get("dbname", "postgres"),
        "USER": _database.get("user", ""),
        "HOST": _database.get("host", ""),
        "PORT": str(_database.get("port", "")),
        "CONN_MAX_AGE": 0,  # connections go back to greenpsyco's pool at the end of each request
    }
}
LOGGING_CONFIG = None  # the server configures logging
