"""Django system checks for the ``greenpsyco`` app."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

STATICFILES = "django.contrib.staticfiles"


def _position(apps: list[str], name: str) -> int | None:
    for index, entry in enumerate(apps):
        if entry == name or entry.startswith(name + ".apps."):
            return index
    return None


def check_app_order(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``greenpsyco.E001``: greenpsyco must come before staticfiles, or staticfiles' runserver wins.

    Django looks for a management command in ``INSTALLED_APPS`` from the end, so of two apps that
    both define ``runserver``, the one listed first is used (daphne has the same check).
    """
    apps = list(settings.INSTALLED_APPS)
    ours = _position(apps, "greenpsyco")
    static = _position(apps, STATICFILES)
    if ours is not None and static is not None and ours > static:
        return [
            checks.Error(
                "'greenpsyco' must be listed before 'django.contrib.staticfiles' in INSTALLED_APPS.",
                hint="Otherwise staticfiles' runserver replaces greenpsyco's. Move 'greenpsyco' to the top.",
                id="greenpsyco.E001",
            )
        ]
    return []


__all__ = ["check_app_order"]
