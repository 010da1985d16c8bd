"""The web benchmark's Django project: two views, served alike by greenpsyco and by gunicorn."""
