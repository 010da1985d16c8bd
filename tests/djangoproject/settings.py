"""Settings: the database from ``$GP_DJANGO_DATABASE``; nothing patched here (the harness chooses the
driver before Django is set up)."""

from __future__ import annotations

import json
import os
from typing import Any

SECRET_KEY = "greenpsyco-reliability-tests"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.djangoproject.urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "tests.djangoproject.shop"]
MIDDLEWARE: list[str] = []
USE_TZ = True
TIME_ZONE = "Europe/Paris"  # not the server's UTC: Django sets the session time zone itself
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES: dict[str, dict[str, Any]] = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        **json.loads(os.environ.get("GP_DJANGO_DATABASE", "{}")),
    }
}
LOGGING_CONFIG = None
