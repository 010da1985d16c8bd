"""The servers under test: greenpsyco serve and the gunicorn peers, as command lines and Django settings.

Every server loads the same project (:mod:`bench.web.site`) on the same database; what differs is the
command and ``CONN_MAX_AGE``. The gunicorn peers run both ways where it matters: a new PostgreSQL session
per request (0) and persistent connections (600 s), one per thread. greenpsyco runs with the persistent
peers' setting (600 s: a request greenlet adopts the connection the previous one left, within the pool,
see :mod:`greenpsyco.persistent`), and once more with ``CONN_MAX_AGE=0``, Django's default, where each
request checks a session out of the pool and gives it back with a reset (``DISCARD ALL``). gevent keeps
0: a persistent connection per greenlet would mean one PostgreSQL session per concurrent request that
never closes.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

APP = "bench.web.site.wsgi"
PERSISTENT = 600


@dataclass(frozen=True)
class Server:
    """One configuration under test."""

    name: str
    """Short identifier (command line, results file)."""
    label: str
    """What the tables and plots call it."""
    argv: tuple[str, ...]
    """The command, without the bind address (see :meth:`command`)."""
    conn_max_age: int
    workers: int
    slots: int
    """Requests one process can work on at once, counting every worker (threads, pool connections):
    the warm-up runs at most this many connections, so it opens every session without leaving a backlog."""
    greenpsyco: bool = False

    def command(self, port: int) -> list[str]:
        return [*self.argv, "--bind", f"127.0.0.1:{port}"]


def _greenpsyco(name: str, workers: int, pool: int, conn_max_age: int = PERSISTENT) -> Server:
    label = f"greenpsyco {workers}w pool {pool}" + (" each" if workers > 1 else "")
    if conn_max_age == 0:
        label += ", per-request connections"
    argv = (
        sys.executable,
        "-m",
        "greenpsyco",
        "serve",
        APP,
        "--workers",
        str(workers),
        "--pool-size",
        str(pool),
    )
    return Server(name, label, argv, conn_max_age, workers, workers * pool, greenpsyco=True)


def _gunicorn(name: str, label: str, conn_max_age: int, slots: int, *extra: str) -> Server:
    argv = (sys.executable, "-m", "gunicorn", APP, "--workers", "2", *extra)
    return Server(name, label, argv, conn_max_age, 2, slots)


SERVERS: tuple[Server, ...] = (
    _greenpsyco("greenpsyco-1x16", 1, 16),
    _greenpsyco("greenpsyco-1x50", 1, 50),
    _greenpsyco("greenpsyco-2x10", 2, 10),
    _greenpsyco("greenpsyco-2x10-reset", 2, 10, 0),
    _gunicorn("sync", "gunicorn sync 2w", 0, 2),
    _gunicorn("sync-persistent", "gunicorn sync 2w, persistent", PERSISTENT, 2),
    _gunicorn("gthread", "gunicorn gthread 2x8", 0, 16, "--worker-class", "gthread", "--threads", "8"),
    _gunicorn(
        "gthread-persistent",
        "gunicorn gthread 2x8, persistent",
        PERSISTENT,
        16,
        "--worker-class",
        "gthread",
        "--threads",
        "8",
    ),
    _gunicorn(
        "gevent",
        "gunicorn gevent 2w + psycogreen",
        0,
        2,
        "--worker-class",
        "gevent",
        "--config",
        "python:bench.web.site.gevent_conf",
    ),
)
BY_NAME = {server.name: server for server in SERVERS}

#: The views (URL path) the benchmark loads, in table order.
VIEWS: dict[str, str] = {"pg_sleep": "/pg_sleep/", "trivial": "/trivial/"}
