"""During a load run: peak PostgreSQL sessions of the benchmark's role, peak server memory, server CPU.

A thread samples every :data:`INTERVAL` seconds, on its own superuser session (opened before the load,
so it does not compete for the server's ``max_connections``; superusers also have reserved slots).
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from bench.web.processes import cpu_seconds, rss_bytes, tree

INTERVAL = 0.1
COUNT_SESSIONS = "SELECT count(*) FROM pg_stat_activity WHERE usename = %s AND pid <> pg_backend_pid()"


def count_sessions(admin: Any, role: str) -> int:
    with admin.cursor() as cursor:
        cursor.execute(COUNT_SESSIONS, [role])
        return int(cursor.fetchone()[0])


class PeakSampler:
    """``with PeakSampler(admin, role, pid) as peaks: <load>``, then ``peaks.sessions``, ``peaks.rss`` (bytes)
    and ``peaks.cpu`` (CPU seconds the server's processes used meanwhile)."""

    def __init__(self, admin: Any, role: str, server_pid: int) -> None:
        self.admin = admin
        self.role = role
        self.server_pid = server_pid
        self.sessions = 0
        self.rss = 0
        self.rss_start = 0
        self.cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-web-sampler", daemon=True)

    def sample(self) -> None:
        self.sessions = max(self.sessions, count_sessions(self.admin, self.role))
        self.rss = max(self.rss, rss_bytes(tree(self.server_pid)))

    def _loop(self) -> None:
        while not self._stop.wait(INTERVAL):
            self.sample()

    def __enter__(self) -> PeakSampler:
        self.rss_start = rss_bytes(tree(self.server_pid))
        self.cpu = -cpu_seconds(tree(self.server_pid))
        self.sample()
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.cpu += cpu_seconds(tree(self.server_pid))
        self.sample()
