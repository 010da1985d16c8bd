"""A throw-away PostgreSQL cluster: ``initdb`` in a temporary directory, started, configured, removed.

The cluster listens on a free TCP port of 127.0.0.1 and on a private Unix-socket directory, has one role
per authentication method (with matching ``pg_hba.conf`` lines), TLS from a CA generated for the run when
the binaries support it, and the contrib extensions Django's tests use in ``template1``.

PostgreSQL refuses to run as root, so when we are root the server runs as an unprivileged OS user
(Debian's ``postgres``, or ``greenpsyco-pg``, created on demand). The postmaster is our child process,
in its own process group, and is told by the kernel to quit when we die: no server outlives its owner,
and a directory left by a killed run is removed by the next one.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType

from greenpsyco.testing.binaries import PostgresBinaries, find_binaries
from greenpsyco.wire.conninfo import make_conninfo

AUTH_METHODS = ("trust", "password", "md5", "scram-sha-256")
DJANGO_EXTENSIONS = ("hstore", "citext", "unaccent", "pg_trgm", "btree_gist", "btree_gin")
SUPERUSER = "postgres"
FALLBACK_OS_USER = "greenpsyco-pg"
DIR_PREFIX = "greenpsyco-pg-"
OWNER_FILE = "owner.pid"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Role:
    """A login role and the ``pg_hba.conf`` method that authenticates it."""

    name: str
    password: str | None
    method: str


@dataclass(frozen=True)
class TestServer:
    """How tests reach a PostgreSQL server: ours (``external=False``) or one named by the environment."""

    host: str | None
    port: int | None
    socket_dir: str | None
    superuser: str | None
    dbname: str | None
    roles: Mapping[str, Role] = field(default_factory=dict)
    ssl: bool = False
    ca_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    cert_role: str | None = None
    tls_only_role: Role | None = None
    extensions: tuple[str, ...] = ()
    external: bool = False
    external_dsn: str = ""

    __test__ = False  # not a pytest test class, despite the name

    def params(
        self, role: str | None = None, *, unix: bool = False, **overrides: str | int
    ) -> dict[str, str | int]:
        """Connection parameters as a dict; ``role`` is an auth method from :data:`AUTH_METHODS`."""
        if self.external:
            raise RuntimeError("an external server is described by its DSN only: use dsn()")
        assert self.host is not None
        assert self.port is not None
        assert self.socket_dir is not None
        params: dict[str, str | int] = {
            "host": self.socket_dir if unix else self.host,
            "port": self.port,
            "dbname": self.dbname or "postgres",
            "user": self.superuser or SUPERUSER,
        }
        if role is not None:
            chosen = self.roles[role]
            params["user"] = chosen.name
            if chosen.password is not None:
                params["password"] = chosen.password
        params.update(overrides)
        return params

    def dsn(self, role: str | None = None, *, unix: bool = False, **overrides: str | int) -> str:
        """A libpq connection string; later keys win, so overrides may repeat base keys."""
        if self.external:
            if role is not None:
                raise RuntimeError(f"the external server has no provisioned {role!r} role")
            return " ".join(filter(None, [self.external_dsn, make_conninfo(overrides)]))
        return make_conninfo(self.params(role, unix=unix, **overrides))


def external_server_from_env(environ: Mapping[str, str] | None = None) -> TestServer | None:
    """The server named by ``GREENPSYCO_TEST_DSN`` or the standard ``PG*`` variables, if any."""
    env = os.environ if environ is None else environ
    dsn = env.get("GREENPSYCO_TEST_DSN")
    if dsn is None and not any(env.get(name) for name in ("PGHOST", "PGHOSTADDR", "PGPORT", "PGSERVICE")):
        return None
    return TestServer(
        host=None,
        port=None,
        socket_dir=None,
        superuser=None,
        dbname=None,
        external=True,
        external_dsn=dsn or "",
    )


@dataclass(frozen=True)
class _OsUser:
    name: str
    uid: int
    gid: int

    @property
    def is_current(self) -> bool:
        return self.uid == os.geteuid()


def _server_os_user() -> _OsUser:
    """The current user, or an unprivileged one when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return _OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid)
    for name in (SUPERUSER, FALLBACK_OS_USER):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return _OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid)
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_OS_USER],
        check=True,
    )
    entry = pwd.getpwnam(FALLBACK_OS_USER)
    return _OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _die_with_parent() -> None:
    """In the forked child: ask Linux to send SIGQUIT (immediate shutdown) when our parent dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT)


def _free_tcp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_clusters(tmpdir: str | None = None) -> list[Path]:
    """Remove cluster directories whose owning process is gone (a run killed with SIGKILL)."""
    removed = []
    for directory in Path(tmpdir or tempfile.gettempdir()).glob(DIR_PREFIX + "*"):
        try:
            owner = int((directory / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if not _pid_alive(owner):
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(directory)
    return removed


class ClusterError(RuntimeError):
    """The throw-away cluster could not be created or started; the message carries the server log."""


class ThrowawayCluster:
    """Create, start, configure and finally remove a private PostgreSQL cluster.

    Use as a context manager, or call :meth:`start` and :meth:`stop`; :meth:`stop` is also registered
    with :mod:`atexit`, and is idempotent.
    """

    def __init__(
        self,
        binaries: PostgresBinaries | None = None,
        *,
        ssl: bool | None = None,
        extensions: tuple[str, ...] = DJANGO_EXTENSIONS,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.binaries = binaries or find_binaries()
        self._want_ssl = ssl
        self._wanted_extensions = extensions
        self._extra_settings = dict(settings or {})
        self._os_user = _server_os_user()
        self._process: subprocess.Popen[bytes] | None = None
        self.directory: Path | None = None
        self._server: TestServer | None = None

    # -- public -------------------------------------------------------------------------------

    @property
    def server(self) -> TestServer:
        if self._server is None:
            raise RuntimeError("the cluster is not started")
        return self._server

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while it runs."""
        return self._process.pid if self._process is not None else None

    @property
    def log_file(self) -> Path:
        assert self.directory is not None
        return self.directory / "postgres.log"

    def start(self) -> TestServer:
        remove_stale_clusters()
        self.directory = Path(tempfile.mkdtemp(prefix=DIR_PREFIX))
        (self.directory / OWNER_FILE).write_text(str(os.getpid()))
        atexit.register(self.stop)
        try:
            self._server = self._create_and_start()
        except BaseException:
            self.stop()
            raise
        return self._server

    def stop(self) -> None:
        """Shut the server down (fast, then immediate, then kill) and remove its directory."""
        process, self._process = self._process, None
        if process is not None:
            _shutdown(process)
        directory, self.directory = self.directory, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)
        self._server = None
        atexit.unregister(self.stop)

    def halt(self) -> None:
        """Stop the server (fast shutdown) and leave it stopped; the directory stays until :meth:`stop`.
        A primary going away, for failover tests."""
        process, self._process = self._process, None
        if process is not None:
            _shutdown(process)

    def restart(self) -> None:
        """Stop the server (fast shutdown: sessions are terminated) and start it again on the same port and
        data directory, as an operator's restart would. Call it from a thread that outlives the server:
        Linux sends the parent-death signal when the thread that started the postmaster ends."""
        process, self._process = self._process, None
        if process is None or self.directory is None or self._server is None:
            raise RuntimeError("the cluster is not started")
        _shutdown(process)
        assert self._server.port is not None
        self._launch(self.directory / "data", self._server.port)

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Run SQL as the superuser through the Unix socket with ``psql``; return unaligned output."""
        server = self.server
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        result = subprocess.run(
            [
                self.binaries.program("psql"),
                "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                "-h", str(server.socket_dir), "-p", str(server.port),
                "-U", SUPERUSER, "-d", dbname, "-c", sql,
            ],
            capture_output=True,
            text=True,
            env=env,
        )  # fmt: skip
        if result.returncode != 0:
            raise ClusterError(f"psql failed on {sql!r}: {result.stderr.strip()}")
        return result.stdout.strip()

    def __enter__(self) -> TestServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- steps --------------------------------------------------------------------------------

    def _run_as_server_user(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        assert self.directory is not None
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            cwd=self.directory,
            env=self._server_env(),
            user=self._switch_uid,
            group=self._switch_gid,
            extra_groups=self._switch_groups,
        )

    @property
    def _switch_uid(self) -> int | None:
        return None if self._os_user.is_current else self._os_user.uid

    @property
    def _switch_gid(self) -> int | None:
        return None if self._os_user.is_current else self._os_user.gid

    @property
    def _switch_groups(self) -> list[int] | None:
        return None if self._os_user.is_current else []

    def _server_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C.UTF-8", LANG="C.UTF-8", TZ="UTC")
        return env

    def _chown(self, path: Path) -> None:
        if not self._os_user.is_current:
            os.chown(path, self._os_user.uid, self._os_user.gid)

    def _create_and_start(self) -> TestServer:
        assert self.directory is not None
        data = self.directory / "data"
        sockets = self.directory / "socket"
        sockets.mkdir()
        self._chown(self.directory)
        self._chown(sockets)
        self._initdb(data)
        ssl_supported = self._ssl_supported(data)
        if self._want_ssl and not ssl_supported:
            raise ClusterError(f"TLS was asked for, but {self.binaries.bindir} lacks SSL support")
        use_ssl = ssl_supported if self._want_ssl is None else self._want_ssl
        tls = self._make_tls() if use_ssl else None
        port = _free_tcp_port()
        roles = {
            "trust": Role("gp_trust", None, "trust"),
            "password": Role("gp_password", "pw-cleartext", "password"),
            "md5": Role("gp_md5", "pw-md5", "md5"),
            "scram-sha-256": Role("gp_scram", "pw-scram", "scram-sha-256"),
        }
        tls_only = Role("gp_tls_only", "pw-tls-only", "scram-sha-256") if tls else None
        self._write_config(data, port, sockets, tls)
        self._write_hba(data, roles, tls_only, cert_role="gp_cert" if tls else None)
        self._launch(data, port)
        server = TestServer(
            host="127.0.0.1",
            port=port,
            socket_dir=str(sockets),
            superuser=SUPERUSER,
            dbname="postgres",
            roles=roles,
            ssl=tls is not None,
            ca_file=tls["ca"] if tls else None,
            client_cert=tls["client_cert"] if tls else None,
            client_key=tls["client_key"] if tls else None,
            cert_role="gp_cert" if tls else None,
            tls_only_role=tls_only,
        )
        self._server = server
        self._create_roles(roles, tls_only, cert_role=server.cert_role)
        extensions = self._create_extensions()
        self._server = server = replace(server, extensions=extensions)
        return server

    def _initdb(self, data: Path) -> None:
        result = self._run_as_server_user(
            [
                self.binaries.program("initdb"),
                "-D", str(data),
                "-U", SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        )  # fmt: skip
        if result.returncode != 0:
            raise ClusterError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def _ssl_supported(self, data: Path) -> bool:
        """Whether this build links a TLS library (``ssl_library`` is empty otherwise)."""
        result = self._run_as_server_user(
            [self.binaries.program("postgres"), "-D", str(data), "-C", "ssl_library"]
        )
        return result.returncode == 0 and bool(result.stdout.strip())

    def _make_tls(self) -> dict[str, Path]:
        from greenpsyco.testing.certs import CertificateAuthority  # needs cryptography, a test dependency

        assert self.directory is not None
        tls_dir = self.directory / "tls"
        tls_dir.mkdir()
        authority = CertificateAuthority(tls_dir)
        server = authority.issue(
            "server", "localhost", dns_names=("localhost",), ip_addresses=("127.0.0.1", "::1")
        )
        client = authority.issue("client", "gp_cert", client=True)
        for path in (tls_dir, server.cert, server.key):
            self._chown(path)
        return {
            "ca": authority.files.cert,
            "server_cert": server.cert,
            "server_key": server.key,
            "client_cert": client.cert,
            "client_key": client.key,
        }

    def _write_config(self, data: Path, port: int, sockets: Path, tls: Mapping[str, Path] | None) -> None:
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(port),
            "unix_socket_directories": f"'{sockets}'",
            "max_connections": "100",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "timezone": "'UTC'",
            "log_min_messages": "warning",
            "logging_collector": "off",
        }
        if tls is not None:
            settings.update(
                ssl="on",
                ssl_cert_file=f"'{tls['server_cert']}'",
                ssl_key_file=f"'{tls['server_key']}'",
                ssl_ca_file=f"'{tls['ca']}'",
            )
        settings.update(self._extra_settings)
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("\n# greenpsyco throw-away cluster\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def _write_hba(
        self,
        data: Path,
        roles: Mapping[str, Role],
        tls_only: Role | None,
        cert_role: str | None,
    ) -> None:
        lines = ["# TYPE DATABASE USER ADDRESS METHOD"]
        for user, method in [(SUPERUSER, "trust")] + [(r.name, r.method) for r in roles.values()]:
            lines.append(f"local all {user} {method}")
            lines.append(f"host all {user} 127.0.0.1/32 {method}")
            lines.append(f"host all {user} ::1/128 {method}")
        if tls_only is not None:
            lines.append(f"hostssl all {tls_only.name} 127.0.0.1/32 {tls_only.method}")
        if cert_role is not None:
            lines.append(f"hostssl all {cert_role} 127.0.0.1/32 cert")
        (data / "pg_hba.conf").write_text("\n".join(lines) + "\n")

    def _launch(self, data: Path, port: int, ready: tuple[str, ...] = ("ready",)) -> None:
        """Start the postmaster and wait until its pid file shows one of ``ready`` (a hot standby says
        ``standby``)."""
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                [self.binaries.program("postgres"), "-D", str(data)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                env=self._server_env(),
                start_new_session=True,
                preexec_fn=_die_with_parent,
                user=self._switch_uid,
                group=self._switch_gid,
                extra_groups=self._switch_groups,
            )
        deadline = time.monotonic() + START_TIMEOUT
        pid_file = data / "postmaster.pid"
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ClusterError(f"postgres exited at start:\n{self._log_tail()}")
            with contextlib.suppress(OSError):
                lines = pid_file.read_text().splitlines()
                if len(lines) >= 8 and lines[7].strip() in ready:
                    return
            time.sleep(0.02)
        raise ClusterError(f"postgres was not ready within {START_TIMEOUT} s:\n{self._log_tail()}")

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _create_roles(self, roles: Mapping[str, Role], tls_only: Role | None, cert_role: str | None) -> None:
        statements = []
        for role in [*roles.values(), *([tls_only] if tls_only else [])]:
            # md5 authentication only happens when the stored verifier is an MD5 hash.
            encryption = "md5" if role.method == "md5" else "scram-sha-256"
            password = "NULL" if role.password is None else "'" + role.password + "'"
            statements.append(f"SET password_encryption = '{encryption}'")
            statements.append(f"CREATE ROLE {role.name} LOGIN PASSWORD {password}")
        if cert_role is not None:
            statements.append(f"CREATE ROLE {cert_role} LOGIN")
        self.psql(";\n".join(statements))

    def _create_extensions(self) -> tuple[str, ...]:
        """Install the wanted contrib extensions that exist into template1 and postgres."""
        wanted = ",".join(f"'{name}'" for name in self._wanted_extensions)
        if not wanted:
            return ()
        available = self.psql(
            f"SELECT name FROM pg_available_extensions WHERE name IN ({wanted}) ORDER BY name"
        ).split()
        for dbname in ("template1", "postgres"):
            if available:
                self.psql(";".join(f"CREATE EXTENSION IF NOT EXISTS {name}" for name in available), dbname)
        return tuple(available)


def _shutdown(process: subprocess.Popen[bytes]) -> None:
    """Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL to the whole process group."""
    for sig, wait in ((signal.SIGINT, STOP_TIMEOUT), (signal.SIGQUIT, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        try:
            process.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5.0)
