"""A visit of the ``/visits/`` page: real rows written and read on every request."""

from __future__ import annotations

from django.db import models


class Visit(models.Model):  # type: ignore[misc]
    path = models.CharField(max_length=200)
    client = models.CharField(max_length=100)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-at", "-id")

    def __str__(self) -> str:
        return f"{self.path} from {self.client} at {self.at:%H:%M:%S}"
