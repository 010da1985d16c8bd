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


def orm(request: HttpRequest) -> HttpResponse:
    """A tour of the ORM a PgBouncer in transaction mode must not break: bulk inserts, updates with F(),
    aggregates, JSON and array lookups, select_for_update, savepoint rollback, iterator(), raw SQL."""
    from django.db.models import Count, F, Sum

    from tests.djangoproject.shop.models import Order

    seen: dict[str, object] = {}
    Item.objects.bulk_create(
        [
            Item(name=f"bulk{n}", price=Decimal(n) / 4, data={"n": n, "tags": ["x"]}, tags=["t", str(n)])
            for n in range(5)
        ]
    )
    Item.objects.filter(name__startswith="bulk").update(price=F("price") + 1)
    seen["sum"] = str(Item.objects.filter(name__startswith="bulk").aggregate(total=Sum("price"))["total"])
    seen["json"] = sorted(Item.objects.filter(data__n__gte=3).values_list("name", flat=True))
    seen["array"] = sorted(Item.objects.filter(tags__contains=["2"]).values_list("name", flat=True))
    with transaction.atomic():
        locked = Item.objects.select_for_update().get(name="bulk0")
        locked.orders.create(quantity=3)
        try:
            with transaction.atomic():
                Order.objects.create(item=locked, quantity=99)
                raise ValueError("roll back the savepoint")
        except ValueError:
            pass
    seen["orders"] = list(Order.objects.filter(item__name="bulk0").values_list("quantity", flat=True))
    seen["counts"] = list(
        Item.objects.filter(name__startswith="bulk")
        .annotate(n=Count("orders"))
        .order_by("name")
        .values_list("n", flat=True)
    )
    seen["iterator"] = [
        item.name for item in Item.objects.filter(name__startswith="bulk").order_by("pk").iterator(2)
    ]
    created = Item.objects.get(name="bulk1").created
    seen["aware"] = created.tzinfo is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text, current_setting('TimeZone')", ["it's"])
        seen["raw"] = list(cursor.fetchone())
    return JsonResponse(seen)


def write(request: HttpRequest) -> HttpResponse:
    """Something only a primary can do: take a transaction id."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT txid_current() > 0, inet_server_port()")
        wrote, port = cursor.fetchone()
    return JsonResponse({"wrote": wrote, "port": port})
