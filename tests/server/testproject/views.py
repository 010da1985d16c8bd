"""Views of the server tests' Django project."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse


def sleep(request: HttpRequest) -> HttpResponse:
    """``SELECT pg_sleep(s)``: the body names the request's tag and the backend that ran it."""
    seconds = float(request.GET.get("s", "0.3"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s), pg_backend_pid()", [seconds])
        backend = cursor.fetchone()[1]
    return HttpResponse(f"slept {seconds} tag={request.GET.get('tag', '')} backend={backend}")


def mark(request: HttpRequest) -> HttpResponse:
    """Say what the session's ``greenpsyco.mark`` setting holds, then set it: shows a session's reuse."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('greenpsyco.mark', true), pg_backend_pid()")
        seen, backend = cursor.fetchone()
        cursor.execute("SELECT set_config('greenpsyco.mark', %s, false)", [request.GET.get("tag", "")])
    return HttpResponse(f"mark={seen or ''} backend={backend}")


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("the view failed on purpose")


def stream(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(f"part {n}\n".encode() for n in range(5))


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"hello from {request.META.get('SERVER_SOFTWARE', '?')}")


def stats(request: HttpRequest) -> HttpResponse:
    """What the soak test checks after the load: live greenlets and request tasks in this worker."""
    import gc
    import json

    import greenlet

    from greenpsyco import hub, pooling

    current = hub.get_hub()
    tasks = len(current._live_tasks()) if current is not None else -1
    greenlets = sum(1 for obj in gc.get_objects() if isinstance(obj, greenlet.greenlet) and not obj.dead)
    return HttpResponse(
        json.dumps({"tasks": tasks, "greenlets": greenlets, "pools": pooling.stats()}),
        content_type="application/json",
    )
