"""Settings of the web benchmark's project; the runner passes the database and CONN_MAX_AGE by environment.

``BENCH_WEB_DATABASE`` is a JSON object of libpq parameters (host, port, dbname, user, password) and
``BENCH_WEB_CONN_MAX_AGE`` Django's ``CONN_MAX_AGE`` (0: a connection per request, as greenpsyco runs it
with its pool giving the reuse; >0: gunicorn's persistent connections). Nothing else: no apps, no
middleware, no templates, so the views measure the server and the driver, not Django's extras.
"""

from __future__ import annotations

import json
import os
import sys

# Django's backend imports psycopg (3) first when it is installed; the peers the issue measured ran on
# psycopg2, so hide psycopg 3 (greenpsyco.patch() does the same when greenpsyco serves).
sys.modules.setdefault("psycopg", None)  # type: ignore[arg-type]

_database = json.loads(os.environ.get("BENCH_WEB_DATABASE", "{}"))

DEBUG = False
ALLOWED_HOSTS = ["*"]
SECRET_KEY = "greenpsyco-web-benchmark"
ROOT_URLCONF = "bench.web.site.urls"
WSGI_APPLICATION = "bench.web.site.wsgi.application"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
USE_TZ = True
TIME_ZONE = "UTC"
LOGGING_CONFIG = None
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _database.get("dbname", "postgres"),
        "USER": _database.get("user", ""),
        "PASSWORD": _database.get("password", ""),
        "HOST": _database.get("host", ""),
        "PORT": str(_database.get("port", "")),
        "CONN_MAX_AGE": int(os.environ.get("BENCH_WEB_CONN_MAX_AGE", "0")),
        "OPTIONS": {"application_name": "greenpsyco-web-bench"},
    }
}
