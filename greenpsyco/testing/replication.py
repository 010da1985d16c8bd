"""A streaming replica of a throw-away cluster, made with PostgreSQL's own tools: ``pg_basebackup -R``
copies the primary and configures the standby, which then follows the primary's WAL as a hot standby
(read-only sessions, ``in_hot_standby = on``) until :meth:`StandbyCluster.promote` makes it a primary.

Used to test libpq's multi-host failover (``target_session_attrs``) against real servers.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from greenpsyco.testing.cluster import (
    SUPERUSER,
    ClusterError,
    TestServer,
    ThrowawayCluster,
    _free_tcp_port,
)

REPLICATION_HBA = (
    f"local replication {SUPERUSER} trust",
    f"host replication {SUPERUSER} 127.0.0.1/32 trust",
)


def allow_replication(primary: ThrowawayCluster) -> None:
    """Let the superuser open replication connections to ``primary`` (pg_hba.conf, then a reload)."""
    assert primary.directory is not None
    hba = primary.directory / "data" / "pg_hba.conf"
    text = hba.read_text()
    missing = [line for line in REPLICATION_HBA if line not in text]
    if missing:
        hba.write_text(text + "\n".join(missing) + "\n")
        primary.psql("SELECT pg_reload_conf()")


class StandbyCluster(ThrowawayCluster):
    """A hot standby of ``primary`` (which must be started), in its own temporary directory and port.

    Its :attr:`server` has the primary's roles (the base backup copies them) and no TLS.
    """

    def __init__(self, primary: ThrowawayCluster) -> None:
        super().__init__(primary.binaries, ssl=False, extensions=())
        self.primary = primary

    def _create_and_start(self) -> TestServer:
        assert self.directory is not None
        source = self.primary.server
        data = self.directory / "data"
        sockets = self.directory / "socket"
        sockets.mkdir()
        self._chown(self.directory)
        self._chown(sockets)
        allow_replication(self.primary)
        result = self._run_as_server_user(
            [
                self.binaries.program("pg_basebackup"),
                "-D", str(data),
                "-R",  # write standby.signal and primary_conninfo
                "-X", "stream",
                "-c", "fast",
                "-h", str(source.socket_dir),
                "-p", str(source.port),
                "-U", SUPERUSER,
            ]
        )  # fmt: skip
        if result.returncode != 0:
            raise ClusterError(f"pg_basebackup failed:\n{result.stdout}\n{result.stderr}")
        port = _free_tcp_port()
        self._override_settings(data, port, sockets)
        self._launch(data, port, ready=("ready", "standby"))
        self._server = replace(
            source,
            port=port,
            socket_dir=str(sockets),
            ssl=False,
            ca_file=None,
            client_cert=None,
            client_key=None,
            cert_role=None,
            tls_only_role=None,
        )
        return self._server

    def _override_settings(self, data: Path, port: int, sockets: Path) -> None:
        """The copied postgresql.conf names the primary's port and socket directory: later lines win."""
        settings = {
            "port": str(port),
            "unix_socket_directories": f"'{sockets}'",
            "ssl": "off",
            "hot_standby": "on",
        }
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("\n# greenpsyco standby\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def promote(self) -> None:
        """Make the standby a primary (``pg_promote``, waiting until it accepts writes)."""
        if self.psql("SELECT pg_promote(true, 30)") != "t":
            raise ClusterError("the standby was not promoted within 30 s")

    def wait_for_replay(self, timeout: float = 30.0) -> None:
        """Wait until the standby has replayed everything the primary had written when called."""
        target = self.primary.psql("SELECT pg_current_wal_insert_lsn()")  # commits may be unflushed
        self.psql(
            "DO $$ DECLARE deadline timestamptz := clock_timestamp() + interval '"
            f"{timeout} seconds'; BEGIN "
            f"WHILE pg_last_wal_replay_lsn() < '{target}'::pg_lsn LOOP "
            "IF clock_timestamp() > deadline THEN RAISE EXCEPTION 'replay lag'; END IF; "
            "PERFORM pg_sleep(0.02); END LOOP; END $$"
        )


__all__ = ["StandbyCluster", "allow_replication"]
