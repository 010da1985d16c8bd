"""Locate PostgreSQL server binaries: the system's first, else the ones bundled in ``pgserver``."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REQUIRED_PROGRAMS = ("initdb", "postgres", "psql")

HOW_TO_GET_BINARIES = (
    "No PostgreSQL server binaries (initdb, postgres, psql) were found. Install them with "
    "`apt-get install postgresql postgresql-contrib` (Debian/Ubuntu), or `pip install pgserver` "
    "(bundled PostgreSQL, no TLS), or point GREENPSYCO_PG_BINDIR at a directory holding them; "
    "or use an existing server by setting GREENPSYCO_TEST_DSN (or PGHOST/PGPORT/PGUSER...)."
)


class PostgresNotFound(RuntimeError):
    """No usable PostgreSQL server binaries exist on this machine."""


@dataclass(frozen=True)
class PostgresBinaries:
    """A directory holding ``initdb``, ``postgres`` and ``psql`` of one PostgreSQL version."""

    bindir: Path
    origin: str  # "GREENPSYCO_PG_BINDIR", "pg_config", "system" or "pgserver"

    def program(self, name: str) -> str:
        return str(self.bindir / name)

    @property
    def version(self) -> tuple[int, ...]:
        """The server's version, e.g. ``(15, 18)``, read from ``postgres --version``."""
        out = subprocess.run(
            [self.program("postgres"), "--version"], capture_output=True, text=True, check=True
        ).stdout
        match = re.search(r"(\d+)(?:\.(\d+))?", out)
        if match is None:
            raise PostgresNotFound(f"cannot read a version from {out!r}")
        return tuple(int(part) for part in match.groups() if part is not None)


def _is_complete(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in REQUIRED_PROGRAMS)


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path))


def pgserver_bindir() -> Path | None:
    """The bin directory of the PostgreSQL bundled in the ``pgserver`` package, or None if not installed."""
    try:
        import pgserver
    except ImportError:
        return None
    return Path(pgserver.__file__).parent / "pginstall" / "bin"


def _candidates() -> Iterator[tuple[Path, str]]:
    """Candidate bin directories, best first; lazily, so ``pgserver`` is imported only if needed."""
    explicit = os.environ.get("GREENPSYCO_PG_BINDIR")
    if explicit:
        yield Path(explicit), "GREENPSYCO_PG_BINDIR"
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if result.returncode == 0 and result.stdout.strip():
            yield Path(result.stdout.strip()), "pg_config"
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        yield Path(bindir), "system"
    bundled = pgserver_bindir()  # optional: imported only when nothing else was found
    if bundled is not None:
        yield bundled, "pgserver"


def find_binaries() -> PostgresBinaries:
    """Return the first complete set of server binaries, or raise :class:`PostgresNotFound`.

    An explicitly named ``GREENPSYCO_PG_BINDIR`` that is incomplete is an error, not a fallback:
    the user asked for those binaries.
    """
    for bindir, origin in _candidates():
        if _is_complete(bindir):
            return PostgresBinaries(bindir, origin)
        if origin == "GREENPSYCO_PG_BINDIR":
            raise PostgresNotFound(
                f"GREENPSYCO_PG_BINDIR={bindir} lacks one of {', '.join(REQUIRED_PROGRAMS)}"
            )
    raise PostgresNotFound(HOW_TO_GET_BINARIES)
