"""The two views the issue names: a slow query then one more, and a trivial one-query view."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse

SLEEP_SECONDS = 0.05


def pg_sleep(request: HttpRequest) -> HttpResponse:
    """``SELECT pg_sleep(0.05)`` then one query: a request that mostly waits on PostgreSQL."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [SLEEP_SECONDS])
        cursor.execute("SELECT 1")
        (value,) = cursor.fetchone()
    return HttpResponse(f"slept {value}\n", content_type="text/plain")


def trivial(request: HttpRequest) -> HttpResponse:
    """One ``SELECT 1``: a request whose cost is the server, Django and the driver."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (value,) = cursor.fetchone()
    return HttpResponse(f"one {value}\n", content_type="text/plain")
