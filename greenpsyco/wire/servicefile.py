"""The libpq connection service file (``pg_service.conf``), read the way libpq 17 does.

A service (``service=name`` or ``PGSERVICE``) names a ``[name]`` section of ``key=value`` lines that
supply connection options the caller did not give. libpq looks in ``PGSERVICEFILE`` (or
``~/.pg_service.conf`` when that exists), then in ``$PGSYSCONFDIR/pg_service.conf``; a service found in
neither is an error (``parseServiceInfo`` / ``parseServiceFile`` in fe-connect.c). The syntax is strict:
no spaces around ``=``, only known keywords, no nested ``service=``; lines longer than 1022 bytes are
rejected because libpq reads them into a 1024-byte buffer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

from greenpsyco.wire.errors import ConninfoError

DEFAULT_SYSCONFDIR = "/etc/postgresql-common"
"""Debian's ``pg_config --sysconfdir``, where libpq looks for ``pg_service.conf`` without PGSYSCONFDIR."""

USER_SERVICE_FILENAME = ".pg_service.conf"
SYSTEM_SERVICE_FILENAME = "pg_service.conf"

_LINE_BUFFER = 1024  # libpq: char buf[1024]; fgets(buf, sizeof(buf), f)


def apply_service(
    options: MutableMapping[str, str],
    environ: Mapping[str, str],
    home: str | None,
    keywords: frozenset[str],
) -> None:
    """Fill the options not already in ``options`` from the service entry, if a service is named.

    ``options`` holds what the caller gave (a key present with an empty value counts as given, as in
    libpq); ``keywords`` are the option names a service file may set. Raises :class:`ConninfoError`
    with libpq's message when the service is not found or a file is malformed.
    """
    service = options["service"] if "service" in options else environ.get("PGSERVICE")
    if service is None:
        return

    user_file = environ.get("PGSERVICEFILE")
    if user_file is None and home:
        candidate = f"{home}/{USER_SERVICE_FILENAME}"
        user_file = candidate if os.path.exists(candidate) else None
    if user_file is not None and _parse_service_file(user_file, service, options, keywords):
        return

    sysconfdir = environ.get("PGSYSCONFDIR")
    system_file = f"{DEFAULT_SYSCONFDIR if sysconfdir is None else sysconfdir}/{SYSTEM_SERVICE_FILENAME}"
    if os.path.exists(system_file) and _parse_service_file(system_file, service, options, keywords):
        return
    raise ConninfoError(f'definition of service "{service}" not found')


def service_file_paths(environ: Mapping[str, str], home: str | None) -> tuple[str, ...]:
    """The files :func:`apply_service` may read for a named service (whether they exist or not)."""
    user_file = environ.get("PGSERVICEFILE")
    if user_file is None and home:
        user_file = f"{home}/{USER_SERVICE_FILENAME}"
    sysconfdir = environ.get("PGSYSCONFDIR")
    system_file = f"{DEFAULT_SYSCONFDIR if sysconfdir is None else sysconfdir}/{SYSTEM_SERVICE_FILENAME}"
    return (system_file,) if user_file is None else (user_file, system_file)


def _parse_service_file(
    path: str, service: str, options: MutableMapping[str, str], keywords: frozenset[str]
) -> bool:
    """Absorb the ``[service]`` section of one file into ``options``; True if the section was there."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except IsADirectoryError:
        return False  # libpq's fopen succeeds and fgets reads nothing
    except OSError:
        raise ConninfoError(f'service file "{path}" not found') from None

    wanted = service.encode("utf-8", "surrogateescape")
    found = False
    chunks = data.split(b"\n")
    for linenr, raw in enumerate(chunks, start=1):
        has_newline = linenr < len(chunks)
        if not has_newline and not raw:
            break
        # fgets() into a 1024-byte buffer: a line that fills it (newline included) is refused.
        if len(raw) + has_newline >= _LINE_BUFFER - 1:
            raise ConninfoError(f'line {linenr} too long in service file "{path}"')
        line = raw.strip(b" \t\n\r\x0b\x0c")
        if not line or line.startswith(b"#"):
            continue
        if line.startswith(b"["):
            if found:
                return True  # end of the wanted section
            found = line[1 : 1 + len(wanted)] == wanted and line[1 + len(wanted) : 2 + len(wanted)] == b"]"
            continue
        if not found:
            continue
        if line.startswith(b"ldap"):
            raise ConninfoError(
                f'LDAP look-up in service file "{path}", line {linenr} is not supported by greenpsyco'
            )
        key, sep, value = line.partition(b"=")
        name = key.decode("utf-8", "surrogateescape")
        if not sep:
            raise ConninfoError(f'syntax error in service file "{path}", line {linenr}')
        if name == "service":
            raise ConninfoError(
                f'nested service specifications not supported in service file "{path}", line {linenr}'
            )
        if name not in keywords:
            raise ConninfoError(f'syntax error in service file "{path}", line {linenr}')
        options.setdefault(name, value.decode("utf-8", "surrogateescape"))
    return found
