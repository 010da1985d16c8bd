from django.apps import AppConfig


class VisitsConfig(AppConfig):  # type: ignore[misc]
    name = "greenpsyco.demo.visits"
    default_auto_field = "django.db.models.BigAutoField"
