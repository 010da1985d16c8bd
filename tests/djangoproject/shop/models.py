"""Two related models with the field types Django's PostgreSQL backend treats specially."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    created = models.DateTimeField(auto_now_add=True)
    data = models.JSONField(default=dict)
    tags = ArrayField(models.CharField(max_length=20), default=list)


class Order(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="orders")
    quantity = models.IntegerField()
    ordered = models.DateTimeField(auto_now_add=True)
