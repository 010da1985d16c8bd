"""Django's own test suite on greenpsyco, compared with a real-psycopg2 baseline.

``python -m tests.django_suite run --driver greenpsyco --mode green backends`` runs Django's
``runtests.py`` (from the sdist of the installed Django version, downloaded once and cached) against a
throw-away PostgreSQL cluster, parses the ``-v 2`` output into per-test outcomes and writes them as
JSON; ``compare`` reports regressions against the psycopg2 run; ``ci`` does both for the three
configurations (psycopg2, greenpsyco blocking, greenpsyco green) and exits non-zero on a regression.

Nothing here is a pytest test module except ``test_*.py``: the runner's modules are plain code, and
Django's tests live in the cache outside the repository.
"""
