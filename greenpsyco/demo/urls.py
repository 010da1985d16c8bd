"""The demo's pages."""

from __future__ import annotations

from django.urls import path

from greenpsyco.demo.visits import views

urlpatterns = [
    path("", views.index, name="index"),
    path("slow/", views.slow, name="slow"),
    path("visits/", views.visits, name="visits"),
]
