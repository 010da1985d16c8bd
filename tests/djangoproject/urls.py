from __future__ import annotations

from django.urls import path

from tests.djangoproject import views

urlpatterns = [
    path("ping", views.ping),
    path("pid", views.pid),
    path("sleep", views.sleep),
    path("items", views.items),
    path("orm", views.orm),
    path("write", views.write),
]
