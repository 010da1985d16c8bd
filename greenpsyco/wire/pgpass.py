"""The libpq password file (``~/.pgpass`` or ``PGPASSFILE`` / ``passfile=``), read the way libpq 17 does.

Kept apart from :mod:`greenpsyco.wire.conninfo` because it touches the file system and has its own quirks:
the file is silently ignored when it is missing, and ignored with a warning (libpq prints one on stderr)
when it is not a plain file or is readable by group or others. Lines are ``host:port:database:user:password``;
``*`` matches anything when it is a whole field, ``\\:`` and ``\\\\`` escape, ``#`` starts a comment
line, and the first matching line wins (``passwordFromFile`` and ``pwdfMatchesString`` in fe-connect.c).
"""

from __future__ import annotations

import os
import stat
import warnings

PGPASS_FILENAME = ".pgpass"
"""Name of the password file in the home directory (libpq's ``PGPASSFILE`` macro on Unix)."""


class PasswordFileWarning(UserWarning):
    """The password file exists but is ignored (not a plain file, or group/world accessible)."""


def password_from_file(
    path: str, *, host: str | None, port: str | None, dbname: str, user: str, default_socket_dir: str
) -> str | None:
    """The password of the first line of ``path`` matching the connection, or None.

    ``host`` is the host name, IP address or socket directory libpq uses as the look-up key (host if
    given, else hostaddr); an empty host and the default socket directory both match ``localhost``, as
    in libpq. ``port`` is the port string as given (empty means 5432). Nothing is looked up without a
    database and user name, again like libpq.
    """
    if not dbname or not user:
        return None
    if not host or (_is_unix_socket(host) and host == default_socket_dir):
        host = "localhost"
    if not port:
        port = "5432"

    try:
        fd = os.open(path, os.O_RDONLY)  # like fopen(), this succeeds on a directory
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            warnings.warn(f'WARNING: password file "{path}" is not a plain file', PasswordFileWarning, 2)
            return None
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            warnings.warn(
                f'WARNING: password file "{path}" has group or world access; '
                "permissions should be u=rw (0600) or less",
                PasswordFileWarning,
                2,
            )
            return None
        with open(fd, "rb", closefd=False) as f:
            data = f.read()
    except OSError:
        return None
    finally:
        os.close(fd)

    for raw in data.split(b"\n"):
        if raw.startswith(b"#"):
            continue
        line = raw.decode("utf-8", "surrogateescape").rstrip("\r\n")
        if not line:
            continue
        pos: int | None = 0
        for token in (host, port, dbname, user):
            pos = _match_field(line, pos, token) if pos is not None else None
        if pos is not None:
            return _unescape_password(line, pos)
    return None


def _is_unix_socket(host: str) -> bool:
    return host.startswith(("/", "@"))


def _match_field(line: str, start: int, token: str) -> int | None:
    """Where the next field starts if the field at ``start`` matches ``token``, else None.

    A port of ``pwdfMatchesString``: ``*`` matches only as a whole field, a backslash makes the next
    character literal (so ``\\:`` is a colon inside the field), and the field must end exactly where the
    token does.
    """
    if line.startswith("*:", start):
        return start + 2
    i, t, n = start, 0, len(line)
    escaped = False
    while i < n:
        if line[i] == "\\" and not escaped:
            i += 1
            escaped = True
        c = line[i] if i < n else ""
        if c == ":" and t == len(token) and not escaped:
            return i + 1
        escaped = False
        if t == len(token) or c != token[t]:
            return None
        i += 1
        t += 1
    return None


def _unescape_password(line: str, start: int) -> str:
    """The password field: up to the next unescaped ``:`` or the end, with backslash escapes removed."""
    out: list[str] = []
    i, n = start, len(line)
    while i < n and line[i] != ":":
        if line[i] == "\\" and i + 1 < n:
            i += 1
        out.append(line[i])
        i += 1
    return "".join(out)
