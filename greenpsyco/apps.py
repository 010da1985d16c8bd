"""greenpsyco as a Django app: ``INSTALLED_APPS = ["greenpsyco", ...]`` makes ``runserver`` ours.

Listing the app also applies :func:`greenpsyco.patch` as Django loads the app list (if settings,
wsgi.py or manage.py have not already), which is before ``django.contrib.postgres`` or any model can
import a driver — provided greenpsyco is listed before them; the system check ``greenpsyco.E001``
insists it comes before ``django.contrib.staticfiles``, whose ``runserver`` would otherwise win.
"""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks

import greenpsyco

if not greenpsyco.is_patched():
    greenpsyco.patch()


class GreenpsycoConfig(AppConfig):  # type: ignore[misc]
    name = "greenpsyco"
    verbose_name = "greenpsyco"

    def ready(self) -> None:
        from greenpsyco.checks import check_app_order

        checks.register(check_app_order, checks.Tags.compatibility)
