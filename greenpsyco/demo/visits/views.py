"""The demo's views: a slow query, real rows, and a page that explains them."""

from __future__ import annotations

import os
import time

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape

from greenpsyco.demo.visits.models import Visit

SLEEP_VARIABLE = "GREENPSYCO_DEMO_SLEEP"


def _sleep_seconds(request: HttpRequest) -> float:
    default = float(os.environ.get(SLEEP_VARIABLE, "0.5"))
    try:
        seconds = float(request.GET.get("seconds", default))
    except ValueError:
        seconds = default
    return min(max(seconds, 0.0), 10.0)


def slow(request: HttpRequest) -> JsonResponse:
    """Wait on PostgreSQL (``SELECT pg_sleep(s)``): the request greenlet yields while it waits."""
    seconds = _sleep_seconds(request)
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s), pg_backend_pid()", [seconds])
        _, backend = cursor.fetchone()
    return JsonResponse(
        {"slept": seconds, "took": round(time.monotonic() - started, 3), "postgres_backend_pid": backend}
    )


def visits(request: HttpRequest) -> HttpResponse:
    """Write one row, read the latest ten and the count: ordinary ORM work on the same driver."""
    Visit.objects.create(path=request.path[:200], client=request.META.get("REMOTE_ADDR", "")[:100])
    latest = Visit.objects.all()[:10]
    items = "".join(f"<li>{escape(str(visit))}</li>" for visit in latest)
    return HttpResponse(
        f"<!doctype html><title>visits</title><h1>{Visit.objects.count()} visits</h1>"
        f"<p>This page wrote a row and read these back:</p><ol>{items}</ol><p><a href='/'>back</a></p>"
    )


def index(request: HttpRequest) -> HttpResponse:
    seconds = _sleep_seconds(request)
    return HttpResponse(
        "<!doctype html><title>greenpsyco demo</title><h1>greenpsyco demo</h1>"
        "<p>Django on greenpsyco's psycopg2, served with one greenlet per request.</p><ul>"
        f"<li><a href='/slow/'>/slow/</a>: a view that waits {seconds} s on <code>pg_sleep</code>. "
        "Open it in many tabs at once, or run <code>greenpsyco demo --load 200</code>: they all "
        "finish together, with a handful of PostgreSQL connections.</li>"
        "<li><a href='/visits/'>/visits/</a>: writes a row and reads the latest ones through the ORM.</li>"
        "</ul>"
    )
