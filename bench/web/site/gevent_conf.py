"""gunicorn configuration of the gevent peer: psycogreen makes psycopg2 wait through gevent's hub.

``gunicorn -k gevent -c python:bench.web.site.gevent_conf``: without the wait callback every query
would block the whole worker process, not just its greenlet.
"""

from __future__ import annotations

from typing import Any


def post_fork(server: Any, worker: Any) -> None:
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()
