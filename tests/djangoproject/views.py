"""Views that touch the database in the usual ways: a raw cursor, a slow query, the ORM."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from tests.djangoproject.shop.models import Item


def ping(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (value,) = cursor.fetchone()
    return HttpResponse(f"pong {value}")


def pid(request: HttpRequest) -> HttpResponse:
    """The backend's process id (a new one means a new session) and the server's port."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), inet_server_port()")
        backend, port = cursor.fetchone()
    return JsonResponse({"pid": backend, "port": port})


def sleep(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [float(request.GET.get("s", "1"))])
    return HttpResponse("slept")


def items(request: HttpRequest) -> HttpResponse:
    """POST creates an item (in a transaction with a savepoint); GET lists them."""
    if request.method == "POST":
        with transaction.atomic():
            item = Item.objects.create(name=request.POST["name"], price=Decimal(request.POST["price"]))
            with transaction.atomic():
                item.orders.create(quantity=1)
        return JsonResponse({"id": item.pk}, status=201)
    return JsonResponse({"items": list(Item.objects.order_by("pk").values_list("name", flat=True))})
