"""A small Django project for the reliability tests: network faults, server restarts, PgBouncer, failover.

Its database comes from ``$GP_DJANGO_DATABASE`` (JSON: Django's ``DATABASES["default"]``), so one
project serves psycopg2 (the oracle) and greenpsyco in either mode; :mod:`tests.djangoproject.harness`
runs it in a child process.
"""
