"""The benchmark's URLs: ``/pg_sleep/`` and ``/trivial/``."""

from django.urls import path

from bench.web.site import views

urlpatterns = [
    path("pg_sleep/", views.pg_sleep),
    path("trivial/", views.trivial),
]
