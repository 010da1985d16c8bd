"""Settings of the server tests' Django project; the database is ``$GREENPSYCO_TEST_SERVER_DSN``."""

from __future__ import annotations

import os

import greenpsyco

greenpsyco.patch()

from psycopg2.extensions import parse_dsn  # noqa: E402  (greenpsyco's, after patch())

_params = parse_dsn(os.environ.get("GREENPSYCO_TEST_SERVER_DSN", ""))

DEBUG = os.environ.get("GREENPSYCO_TEST_DEBUG") == "1"
ALLOWED_HOSTS = ["*"]
SECRET_KEY = "greenpsyco-server-tests"
ROOT_URLCONF = "testproject.urls"
WSGI_APPLICATION = "testproject.wsgi.application"
INSTALLED_APPS = ["greenpsyco", "django.contrib.staticfiles"]
MIDDLEWARE: list[str] = []
STATIC_URL = "/static/"
STATICFILES_DIRS = [os.path.join(os.path.dirname(__file__), "static")]
USE_TZ = True
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _params.get("dbname", "postgres"),
        "USER": _params.get("user", ""),
        "PASSWORD": _params.get("password", ""),
        "HOST": _params.get("host", ""),
        "PORT": _params.get("port", ""),
        "OPTIONS": {"application_name": os.environ.get("GREENPSYCO_TEST_APPNAME", "greenpsyco-server-test")},
        "CONN_MAX_AGE": int(os.environ.get("GREENPSYCO_TEST_CONN_MAX_AGE", "0")),
    }
}
LOGGING_CONFIG = None
