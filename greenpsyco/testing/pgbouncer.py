"""A throw-away PgBouncer in front of a test server: Debian's ``pgbouncer`` binary, a private config in a
temporary directory, transaction pooling by default, removed when stopped.

Every database name is routed to the server (``* = host=... port=...``), clients are trusted (the
server still authenticates PgBouncer's own connections), and the admin console (database ``pgbouncer``)
is open to the server's superuser. Like the cluster, PgBouncer refuses to run as root: it then runs as
the cluster's unprivileged OS user, and quits when its parent dies.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from greenpsyco.testing.cluster import (
    SUPERUSER,
    TestServer,
    _die_with_parent,
    _free_tcp_port,
    _server_os_user,
)

START_TIMEOUT = 20.0
CANDIDATES = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")


class PgBouncerNotFound(RuntimeError):
    """No ``pgbouncer`` binary: install Debian's ``pgbouncer`` package (``.ci/run`` does)."""


def find_pgbouncer() -> str:
    found = shutil.which("pgbouncer") or next((c for c in CANDIDATES if os.access(c, os.X_OK)), None)
    if found is None:
        raise PgBouncerNotFound("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    return found


class PgBouncer:
    """PgBouncer proxying to ``server``; :meth:`start` returns how to reach the server through it."""

    def __init__(
        self,
        server: TestServer,
        *,
        pool_mode: str = "transaction",
        pool_size: int = 10,
        settings: dict[str, str] | None = None,
    ) -> None:
        if server.host is None or server.port is None:
            raise ValueError("PgBouncer needs the server's TCP address")
        self.server = server
        self.pool_mode = pool_mode
        self.pool_size = pool_size
        self.settings = dict(settings or {})
        self.binary = find_pgbouncer()
        self.directory: Path | None = None
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._os_user = _server_os_user()

    @property
    def log_file(self) -> Path:
        assert self.directory is not None
        return self.directory / "pgbouncer.log"

    def start(self) -> TestServer:
        """Start PgBouncer; the result describes the server reached through it: PgBouncer's port, TCP
        only, no TLS, the superuser only."""
        self.directory = Path(tempfile.mkdtemp(prefix="greenpsyco-pgbouncer-"))
        self.port = _free_tcp_port()
        config = self._write_config(self.directory, self.port)
        self.log_file.touch()  # pgbouncer (maybe another OS user) appends to it, as do we
        switch = not self._os_user.is_current
        if switch:
            for path in (self.directory, *self.directory.iterdir()):
                os.chown(path, self._os_user.uid, self._os_user.gid)
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                [self.binary, str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
                user=self._os_user.uid if switch else None,
                group=self._os_user.gid if switch else None,
                extra_groups=[] if switch else None,
            )
        try:
            self._wait_until_listening()
        except BaseException:
            self.stop()
            raise
        return replace(
            self.server,
            port=self.port,
            socket_dir="",  # no Unix socket: use TCP only
            roles={},  # only the superuser is in PgBouncer's auth file
            ssl=False,
            ca_file=None,
            client_cert=None,
            client_key=None,
            cert_role=None,
            tls_only_role=None,
        )

    def _write_config(self, directory: Path, port: int) -> Path:
        (directory / "userlist.txt").write_text(f'"{SUPERUSER}" ""\n')
        settings = {
            "listen_addr": "127.0.0.1",
            "listen_port": str(port),
            "unix_socket_dir": "",
            "auth_type": "trust",
            "auth_file": str(directory / "userlist.txt"),
            "admin_users": SUPERUSER,
            "pool_mode": self.pool_mode,
            "default_pool_size": str(self.pool_size),
            "max_client_conn": "500",
            "logfile": str(self.log_file),
            "pidfile": str(directory / "pgbouncer.pid"),
            "server_tls_sslmode": "disable",
            **self.settings,
        }
        lines = ["[databases]", f"* = host={self.server.host} port={self.server.port}", "", "[pgbouncer]"]
        lines += [f"{key} = {value}" for key, value in settings.items()]
        config = directory / "pgbouncer.ini"
        config.write_text("\n".join(lines) + "\n")
        return config

    def _wait_until_listening(self) -> None:
        assert self._process is not None
        assert self.port is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited at start:\n{self._log_tail()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError(f"pgbouncer did not listen within {START_TIMEOUT} s:\n{self._log_tail()}")

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Immediate shutdown (SIGTERM), then remove the directory."""
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        directory, self.directory = self.directory, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)

    def __enter__(self) -> TestServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


__all__ = ["PgBouncer", "PgBouncerNotFound", "find_pgbouncer"]
