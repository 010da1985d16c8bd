"""libpq-compatible connection options: parsing, defaults, and the list of hosts to try.

Applications and Django settings written for psycopg2 rely on libpq's rules for connection strings,
service files, environment variables, ``~/.pgpass`` and multi-host lists; a pure-Python driver has to
reproduce them exactly, messages included, or configurations that work today break or (worse) connect
somewhere else. This module is that reproduction, following libpq 17's ``fe-connect.c``
(``conninfo_parse``, ``conninfo_uri_parse_options``, ``conninfo_add_defaults``, ``pqConnectOptions2``,
``pqBuildStartupPacket3``). It is pure: it reads files and the environment mapping it is given, but opens
no sockets and resolves no names; the connection machinery consumes :class:`ConnectParams`.

Built as libpq is on Debian, except that there is no GSSAPI: the default Unix-socket directory is
``/var/run/postgresql`` and ``gssencmode`` defaults to ``disable`` (``require`` is refused).
"""

from __future__ import annotations

import locale
import os
import pwd
import random
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from greenpsyco.wire.errors import ConninfoError
from greenpsyco.wire.pgpass import PGPASS_FILENAME, password_from_file
from greenpsyco.wire.servicefile import apply_service, service_file_paths

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_SOCKET_DIR",
    "ENVIRONMENT_VARIABLES",
    "KEYWORDS",
    "ConnectParams",
    "HostAttempt",
    "client_encoding_from_locale",
    "make_conninfo",
    "parse_conninfo",
    "parse_int_param",
    "parse_require_auth",
    "resolve",
    "resolve_cached",
]

DEFAULT_SOCKET_DIR = "/var/run/postgresql"
"""Where Debian's libpq (and psycopg2-binary's) looks for the server's socket when no host is given."""

DEFAULT_PORT = 5432

# (keyword, environment variable, compiled-in default), in libpq's PQconninfoOptions order: that order
# decides which default is applied first and is the order PQconndefaults() reports.
_OPTIONS: tuple[tuple[str, str | None, str | None], ...] = (
    ("service", "PGSERVICE", None),
    ("user", "PGUSER", None),
    ("password", "PGPASSWORD", None),
    ("passfile", "PGPASSFILE", None),
    ("channel_binding", "PGCHANNELBINDING", "prefer"),
    ("connect_timeout", "PGCONNECT_TIMEOUT", None),
    ("dbname", "PGDATABASE", None),
    ("host", "PGHOST", None),
    ("hostaddr", "PGHOSTADDR", None),
    ("port", "PGPORT", str(DEFAULT_PORT)),
    ("client_encoding", "PGCLIENTENCODING", None),
    ("options", "PGOPTIONS", ""),
    ("application_name", "PGAPPNAME", None),
    ("fallback_application_name", None, None),
    ("keepalives", None, None),
    ("keepalives_idle", None, None),
    ("keepalives_interval", None, None),
    ("keepalives_count", None, None),
    ("tcp_user_timeout", None, None),
    ("sslmode", "PGSSLMODE", "prefer"),
    ("sslnegotiation", "PGSSLNEGOTIATION", "postgres"),
    ("sslcompression", "PGSSLCOMPRESSION", "0"),
    ("sslcert", "PGSSLCERT", None),
    ("sslkey", "PGSSLKEY", None),
    ("sslcertmode", "PGSSLCERTMODE", None),
    ("sslpassword", None, None),
    ("sslrootcert", "PGSSLROOTCERT", None),
    ("sslcrl", "PGSSLCRL", None),
    ("sslcrldir", "PGSSLCRLDIR", None),
    ("sslsni", "PGSSLSNI", "1"),
    ("requirepeer", "PGREQUIREPEER", None),
    ("require_auth", "PGREQUIREAUTH", None),
    ("ssl_min_protocol_version", "PGSSLMINPROTOCOLVERSION", "TLSv1.2"),
    ("ssl_max_protocol_version", "PGSSLMAXPROTOCOLVERSION", None),
    ("gssencmode", "PGGSSENCMODE", "disable"),
    ("krbsrvname", "PGKRBSRVNAME", "postgres"),
    ("gsslib", "PGGSSLIB", None),
    ("gssdelegation", "PGGSSDELEGATION", "0"),
    ("replication", None, None),
    ("target_session_attrs", "PGTARGETSESSIONATTRS", "any"),
    ("load_balance_hosts", "PGLOADBALANCEHOSTS", "disable"),
)

KEYWORDS: frozenset[str] = frozenset(keyword for keyword, _, _ in _OPTIONS)
"""Every connection keyword libpq 17 accepts (``requiressl`` is also accepted, as an alias of sslmode)."""

ENVIRONMENT_VARIABLES: Mapping[str, str] = MappingProxyType(
    {keyword: env for keyword, env, _ in _OPTIONS if env is not None}
)
"""The environment variable that supplies each keyword's default."""

# Sent in the StartupMessage straight from the environment (libpq's EnvironmentOptions).
_STARTUP_ENVIRONMENT = (("PGDATESTYLE", "datestyle"), ("PGTZ", "timezone"), ("PGGEQO", "geqo"))

_URI_PREFIXES = ("postgresql://", "postgres://")
_SPACE = frozenset(" \t\n\v\f\r")  # C isspace() in the C locale
_SUN_PATH_SIZE = 108  # sizeof(struct sockaddr_un.sun_path) on Linux
_INT_RE = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)[ \t\n\v\f\r]*\Z")
_REQUIRE_AUTH_METHODS = frozenset({"password", "md5", "gss", "sspi", "scram-sha-256", "none"})
_TLS_VERSIONS = ("tlsv1", "tlsv1.1", "tlsv1.2", "tlsv1.3")


# --------------------------------------------------------------------------- parsing


def parse_conninfo(conninfo: str) -> dict[str, str]:
    """The options given in a ``key=value`` string or a ``postgresql://`` URI, without any defaults.

    Like ``PQconninfoParse``: the last occurrence of a keyword wins, ``requiressl`` becomes sslmode, and
    anything malformed or unknown raises :class:`ConninfoError` with libpq's message.
    """
    if "\0" in conninfo:
        raise ConninfoError("connection info string contains a NUL character")
    if conninfo.startswith(_URI_PREFIXES):
        return _parse_uri(conninfo)
    return _parse_key_value(conninfo)


def _store(options: dict[str, str], keyword: str, value: str) -> bool:
    """libpq's conninfo_storeval: translate the obsolete ``requiressl``; False for an unknown keyword."""
    if keyword == "requiressl":
        keyword, value = "sslmode", ("require" if value.startswith("1") else "prefer")
    if keyword not in KEYWORDS:
        return False
    options[keyword] = value
    return True


def _parse_key_value(conninfo: str) -> dict[str, str]:
    options: dict[str, str] = {}
    s, n, i = conninfo, len(conninfo), 0
    while i < n:
        if s[i] in _SPACE:
            i += 1
            continue
        start = i
        while i < n and s[i] != "=" and s[i] not in _SPACE:
            i += 1
        name = s[start:i]
        while i < n and s[i] in _SPACE:
            i += 1
        if i >= n or s[i] != "=":
            raise ConninfoError(f'missing "=" after "{name}" in connection info string')
        i += 1
        while i < n and s[i] in _SPACE:
            i += 1
        value: list[str] = []
        if i < n and s[i] == "'":
            i += 1
            while True:
                if i >= n:
                    raise ConninfoError("unterminated quoted string in connection info string")
                if s[i] == "\\":
                    i += 1
                    if i < n:
                        value.append(s[i])
                        i += 1
                    continue
                if s[i] == "'":
                    i += 1
                    break
                value.append(s[i])
                i += 1
        else:
            while i < n:
                if s[i] in _SPACE:
                    i += 1
                    break
                if s[i] == "\\":
                    i += 1
                    if i < n:
                        value.append(s[i])
                        i += 1
                else:
                    value.append(s[i])
                    i += 1
        if not _store(options, name, "".join(value)):
            raise ConninfoError(f'invalid connection option "{name}"')
    return options


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _uri_decode(raw: bytes) -> str:
    """Percent-decode one URI component (libpq 17's conninfo_uri_decode); %00 is refused."""
    out = bytearray()
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if c != 0x25:  # '%'
            out.append(c)
            i += 1
            continue
        hexdigits = raw[i + 1 : i + 3]
        if len(hexdigits) != 2 or any(d not in b"0123456789abcdefABCDEF" for d in hexdigits):
            raise ConninfoError(f'invalid percent-encoded token: "{_text(raw)}"')
        value = int(hexdigits, 16)
        if value == 0:
            raise ConninfoError(f'forbidden value %00 in percent-encoded value: "{_text(raw)}"')
        out.append(value)
        i += 3
    return _text(bytes(out))


def _parse_uri(uri: str) -> dict[str, str]:
    """A port of conninfo_uri_parse_options, working on bytes so offsets and %-escapes match libpq's."""
    options: dict[str, str] = {}
    buf = uri.encode("utf-8", "surrogateescape")
    n = len(buf)

    def at(i: int) -> int:
        return buf[i] if i < n else 0

    start = len(b"postgresql://") if buf.startswith(b"postgresql://") else len(b"postgres://")
    p = start
    while p < n and buf[p] not in b"@/":
        p += 1
    if at(p) == ord("@"):
        p = start
        while buf[p] not in b":@":
            p += 1
        if buf[start:p]:
            _store(options, "user", _uri_decode(buf[start:p]))
        if buf[p] == ord(":"):
            password_start = p + 1
            while buf[p] != ord("@"):
                p += 1
            if buf[password_start:p]:
                _store(options, "password", _uri_decode(buf[password_start:p]))
        p += 1
    else:
        p = start

    hosts: list[bytes] = []
    ports: list[bytes] = []
    while True:
        if at(p) == ord("["):
            p += 1
            host_start = p
            while p < n and buf[p] != ord("]"):
                p += 1
            if p >= n:
                raise ConninfoError(
                    'end of string reached when looking for matching "]" in IPv6 host address in URI: '
                    f'"{uri}"'
                )
            if p == host_start:
                raise ConninfoError(f'IPv6 host address may not be empty in URI: "{uri}"')
            host = buf[host_start:p]
            p += 1
            if p < n and buf[p] not in b":/?,":
                raise ConninfoError(
                    f'unexpected character "{_text(buf[p : p + 1])}" at position {p + 1} in URI '
                    f'(expected ":" or "/"): "{uri}"'
                )
        else:
            host_start = p
            while p < n and buf[p] not in b":/?,":
                p += 1
            host = buf[host_start:p]
        prevchar = at(p)
        hosts.append(host)
        if prevchar == ord(":"):
            p += 1
            port_start = p
            while p < n and buf[p] not in b"/?,":
                p += 1
            prevchar = at(p)
            ports.append(buf[port_start:p])
        if prevchar != ord(","):
            break
        p += 1
        hosts.append(b",")
        ports.append(b",")

    if b"".join(hosts):
        _store(options, "host", _uri_decode(b"".join(hosts)))
    if b"".join(ports):
        _store(options, "port", _uri_decode(b"".join(ports)))

    if prevchar and prevchar != ord("?"):
        p += 1
        dbname_start = p
        while p < n and buf[p] != ord("?"):
            p += 1
        prevchar = at(p)
        if buf[dbname_start:p]:
            _store(options, "dbname", _uri_decode(buf[dbname_start:p]))
    if prevchar:
        _parse_uri_params(buf[p + 1 :], options)
    return options


def _parse_uri_params(params: bytes, options: dict[str, str]) -> None:
    """The ``?key=value&...`` part (conninfo_uri_parse_params); unknown keys are errors here too."""
    i, n = 0, len(params)
    while i < n:
        keyword_start = i
        value_start: int | None = None
        while True:
            c = params[i] if i < n else 0
            if c == ord("="):
                if value_start is not None:
                    keyword = _text(params[keyword_start : value_start - 1])
                    raise ConninfoError(f'extra key/value separator "=" in URI query parameter: "{keyword}"')
                value_start = i + 1
                i += 1
            elif c in (ord("&"), 0):
                end = i
                if c:
                    i += 1
                if value_start is None:
                    keyword = _text(params[keyword_start:end])
                    raise ConninfoError(
                        f'missing key/value separator "=" in URI query parameter: "{keyword}"'
                    )
                break
            else:
                i += 1
        keyword = _uri_decode(params[keyword_start : value_start - 1])
        value = _uri_decode(params[value_start:end])
        if keyword == "ssl" and value == "true":  # JDBC compatibility, as in libpq
            keyword, value = "sslmode", "require"
        if not _store(options, keyword, value):
            raise ConninfoError(f'invalid URI query parameter: "{keyword}"')


def make_conninfo(params: Mapping[str, str | int | None]) -> str:
    """A ``key=value`` connection string for ``params`` (None values left out), quoted as libpq needs.

    Values that are empty or contain whitespace are single-quoted; backslashes and quotes are escaped,
    so ``parse_conninfo(make_conninfo(p)) == p`` for any string values without NUL.
    """
    parts = []
    for keyword, raw in params.items():
        if raw is None:
            continue
        if keyword not in KEYWORDS and keyword != "requiressl":
            raise ConninfoError(f'invalid connection option "{keyword}"')
        value = str(raw)
        if "\0" in value:
            raise ConninfoError(f'value of connection option "{keyword}" contains a NUL character')
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        if not value or any(c in _SPACE or c.isspace() for c in value):
            escaped = f"'{escaped}'"
        parts.append(f"{keyword}={escaped}")
    return " ".join(parts)


def parse_int_param(value: str, keyword: str) -> int:
    """An integer option as libpq reads it (``pqParseIntParam``): base 10, blanks allowed, fits in int32."""
    match = _INT_RE.match(value)
    if match is None or not -(2**31) <= int(match.group(1)) < 2**31:
        raise ConninfoError(f'invalid integer value "{value}" for connection option "{keyword}"')
    return int(match.group(1))


def parse_require_auth(value: str) -> tuple[frozenset[str], bool]:
    """Parse a ``require_auth`` list into ``(methods, negated)``.

    Not negated: the server must use one of ``methods`` (``none`` meaning "no authentication request").
    Negated (every element written ``!method``): the server must use none of them. An empty value allows
    everything and is returned as ``(frozenset(), True)``. Errors carry libpq's messages.
    """
    if not value:
        return frozenset(), True
    methods: set[str] = set()
    negated = False
    for index, part in enumerate(value.split(",")):
        method = part
        if method.startswith("!"):
            if index == 0:
                negated = True
            elif not negated:
                raise ConninfoError(
                    f'negative require_auth method "{method}" cannot be mixed with non-negative methods'
                )
            method = method[1:]
        elif negated:
            raise ConninfoError(f'require_auth method "{method}" cannot be mixed with negative methods')
        if method not in _REQUIRE_AUTH_METHODS:
            raise ConninfoError(f'invalid require_auth value: "{method}"')
        if method in methods:
            raise ConninfoError(f'require_auth method "{part}" is specified more than once')
        methods.add(method)
    return frozenset(methods), negated


# --------------------------------------------------------------------------- resolution


@dataclass(frozen=True)
class HostAttempt:
    """One entry of the host list: where to connect, and with which password."""

    host: str
    """Host name, IP address or Unix-socket directory ("" when only a hostaddr was given)."""
    hostaddr: str | None
    """Numeric address to connect to instead of resolving ``host`` (from the hostaddr list)."""
    port: int
    unix_socket: str | None
    """Full socket path ``<dir>/.s.PGSQL.<port>`` when ``host`` is a directory (or ``@`` abstract name)."""
    password: str | None
    """The explicit password, else this host's ``~/.pgpass`` entry, else None."""


@dataclass(frozen=True)
class ConnectParams:
    """Everything a connection attempt needs, after service file, environment and defaults."""

    values: Mapping[str, str]
    """Every option with a value, as libpq 17's PQconninfo() shows them: defaults applied, no ``service``.

    Two additions: ``host`` is the default socket directory when neither host nor hostaddr was given, and
    ``keepalives`` is "1" unless set (libpq leaves both unset but behaves the same way).
    """
    attempts: tuple[HostAttempt, ...]
    """Hosts to try, in order (shuffled when load_balance_hosts=random)."""
    startup: Mapping[str, str]
    """StartupMessage parameters, in the order libpq sends them."""
    connect_timeout: float | None
    """Seconds allowed per host (and per address), or None to wait indefinitely."""


def resolve(
    conninfo: str = "",
    *,
    environ: Mapping[str, str] | None = None,
    os_user: str | None = None,
    rng: random.Random | None = None,
    **kwargs: str | int | None,
) -> ConnectParams:
    """Work out the connection the way ``PQconnectdb`` would, short of touching the network.

    ``conninfo`` is parsed, then the non-None ``kwargs`` override it (as psycopg2's
    ``connect(dsn, **kwargs)`` does; ``database`` is accepted for ``dbname``). Unset options come from
    the service file, then ``environ`` (default ``os.environ``), then the compiled-in defaults; ``os_user``
    replaces the operating-system user name. Invalid settings raise :class:`ConninfoError` with libpq's
    message. ``rng`` shuffles the hosts when ``load_balance_hosts=random``.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    options = parse_conninfo(conninfo)
    if "database" in kwargs:
        if "dbname" in kwargs:
            raise TypeError("you can't specify both 'database' and 'dbname' arguments")
        kwargs["dbname"] = kwargs.pop("database")
    for keyword, raw in kwargs.items():
        if raw is None:
            continue
        value = str(raw)
        if "\0" in value:
            raise ConninfoError(f'value of connection option "{keyword}" contains a NUL character')
        if not _store(options, keyword, value):
            raise ConninfoError(f'invalid connection option "{keyword}"')

    home = _home_directory(env)
    _add_defaults(options, env, home, os_user)
    return _derive(options, env, home, os_user, rng)


# Every environment variable resolve() reads (libpq reads them on every connection attempt).
_ENVIRONMENT_READ: tuple[str, ...] = tuple(
    sorted(
        {env for _, env, _ in _OPTIONS if env is not None}
        | {"PGREQUIRESSL", "PGSERVICEFILE", "PGSYSCONFDIR", "HOME"}
        | {env for env, _ in _STARTUP_ENVIRONMENT}
    )
)
_ENVIRONMENT_READ_RAW = tuple(os.fsencode(name) for name in _ENVIRONMENT_READ)  # os.environ's own keys
_CACHE_LIMIT = 64
_FileSignature = tuple[int, int, int, int, int, int]
_cache: dict[tuple[object, ...], tuple[ConnectParams, tuple[tuple[str, _FileSignature | None], ...]]] = {}


def _file_signature(path: str) -> _FileSignature | None:
    """What changes when a file is written, replaced, removed or chmod-ed; None if it is not there."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode)


def resolve_cached(conninfo: str) -> ConnectParams:
    """:func:`resolve` of ``conninfo`` with ``os.environ``, remembered while nothing it read changed.

    The same connection string resolves to the same :class:`ConnectParams` (the same object) as long
    as the environment variables libpq reads, the effective user, and the service files and password
    file that were consulted (their stat: inode, size, times, mode) are unchanged, so an edited
    ``~/.pgpass`` or a new ``PGPASSWORD`` is seen on the next connection, as libpq sees it. Results that
    may differ from one call to the next are not kept: ``load_balance_hosts=random`` (a new shuffle
    each time), ``client_encoding=auto`` (the locale) and a password file whose permissions make libpq
    warn (the warning is repeated on every connection).
    """
    env = os.environ
    raw = getattr(env, "_data", None)  # the encoded mapping behind os.environ: C-speed look-ups
    if isinstance(raw, dict) and os.name == "posix":
        values = tuple(map(raw.get, _ENVIRONMENT_READ_RAW))
    else:  # pragma: no cover - other platforms
        values = tuple(map(env.get, _ENVIRONMENT_READ))
    key = (conninfo, os.geteuid(), values)
    entry = _cache.get(key)
    if entry is not None:
        params, seen = entry
        for path, signature in seen:
            if _file_signature(path) != signature:
                break
        else:
            return params
    options = parse_conninfo(conninfo)
    home = _home_directory(env)
    service = options["service"] if "service" in options else env.get("PGSERVICE")
    files: list[tuple[str, _FileSignature | None]] = []
    if service is not None:
        files.extend((path, _file_signature(path)) for path in service_file_paths(env, home))
    _add_defaults(options, env, home, None)
    cacheable = options.get("client_encoding") != "auto" and options.get("load_balance_hosts") != "random"
    passfile = None
    if not options.get("password"):
        passfile = options.get("passfile") or (f"{home}/{PGPASS_FILENAME}" if home else None)
    if passfile:
        signature = _file_signature(passfile)
        files.append((passfile, signature))
        if signature is not None and (not stat.S_ISREG(signature[5]) or signature[5] & 0o077):
            cacheable = False  # password_from_file warns about such a file every time
    params = _derive(options, env, home, None, None)
    if cacheable:
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[key] = (params, tuple(files))
    return params


def _home_directory(environ: Mapping[str, str]) -> str | None:
    """$HOME if set and non-empty, else the password database's entry (libpq's pqGetHomeDirectory)."""
    home = environ.get("HOME")
    if home:
        return home
    try:
        return pwd.getpwuid(os.geteuid()).pw_dir
    except KeyError:
        return None


def _os_user_name() -> str | None:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return None


def _add_defaults(
    options: dict[str, str], env: Mapping[str, str], home: str | None, os_user: str | None
) -> None:
    """libpq's conninfo_add_defaults: service file, then environment, then compiled-in defaults."""
    apply_service(options, env, home, KEYWORDS)
    sslmode_defaulted = False
    for keyword, envvar, compiled in _OPTIONS:
        if keyword in options:
            continue
        if envvar is not None and envvar in env:
            options[keyword] = env[envvar]
            continue
        if keyword == "sslmode":
            if env.get("PGREQUIRESSL", "").startswith("1"):
                options[keyword] = "require"
                continue
            sslmode_defaulted = True
        if compiled is not None:
            options[keyword] = compiled
        elif keyword == "user":
            user = os_user if os_user is not None else _os_user_name()
            if user is not None:
                options[keyword] = user
    if sslmode_defaulted and options.get("sslrootcert") == "system":
        options["sslmode"] = "verify-full"


def _split(value: str | None) -> list[str]:
    return value.split(",") if value else []


def _derive(
    options: dict[str, str],
    env: Mapping[str, str],
    home: str | None,
    os_user: str | None,
    rng: random.Random | None,
) -> ConnectParams:
    """libpq's pqConnectOptions2 (validation, host list, passwords) plus the timeout and startup packet."""
    hostaddrs = _split(options.get("hostaddr"))
    hosts = _split(options.get("host"))
    count = len(hostaddrs) or len(hosts) or 1
    if hostaddrs and hosts and len(hosts) != count:
        raise ConninfoError(f"could not match {len(hosts)} host names to {count} hostaddr values")
    ports = _split(options.get("port"))
    if len(ports) == 1:
        ports *= count
    elif ports and len(ports) != count:
        raise ConninfoError(f"could not match {len(ports)} port numbers to {count} hosts")

    if not options.get("user"):
        user = os_user if os_user is not None else _os_user_name()
        if user is None:
            raise ConninfoError(f"local user with ID {os.geteuid()} does not exist")
        options["user"] = user
    if not options.get("dbname"):
        options["dbname"] = options["user"]

    explicit_password = options.get("password") or None
    if explicit_password is None and not options.get("passfile") and home:
        options["passfile"] = f"{home}/{PGPASS_FILENAME}"
    passfile = options.get("passfile") if explicit_password is None else None

    slots: list[tuple[str, str, str, str | None]] = []  # host, hostaddr, port text, password
    for index in range(count):
        hostaddr = hostaddrs[index] if hostaddrs else ""
        host = hosts[index] if hosts else ""
        if not hostaddr and not host:
            host = DEFAULT_SOCKET_DIR
        port_text = ports[index] if ports else ""
        password = explicit_password
        if password is None and passfile:
            password = password_from_file(
                passfile,
                host=host or hostaddr,
                port=port_text,
                dbname=options["dbname"],
                user=options["user"],
                default_socket_dir=DEFAULT_SOCKET_DIR,
            )
        slots.append((host, hostaddr, port_text, password))

    if options.get("require_auth"):
        parse_require_auth(options["require_auth"])
    _check_choice(options, "channel_binding", ("disable", "prefer", "require"))
    _check_choice(options, "sslmode", ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"))
    sslmode = options["sslmode"]
    _check_choice(options, "sslnegotiation", ("postgres", "direct"))
    if options["sslnegotiation"] == "direct" and not sslmode.startswith(("r", "v")):
        raise ConninfoError(
            f'weak sslmode "{sslmode}" may not be used with sslnegotiation=direct '
            '(use "require", "verify-ca", or "verify-full")'
        )
    if options.get("sslrootcert") == "system" and sslmode != "verify-full":
        raise ConninfoError(
            f'weak sslmode "{sslmode}" may not be used with sslrootcert=system (use "verify-full")'
        )
    _check_tls_versions(options.get("ssl_min_protocol_version"), options.get("ssl_max_protocol_version"))
    options.setdefault("sslcertmode", "allow")
    _check_choice(options, "sslcertmode", ("disable", "allow", "require"))
    _check_choice(options, "gssencmode", ("disable", "prefer", "require"))
    if options["gssencmode"] == "require":
        raise ConninfoError('gssencmode value "require" invalid when GSSAPI support is not compiled in')
    _check_choice(
        options,
        "target_session_attrs",
        ("any", "read-write", "read-only", "primary", "standby", "prefer-standby"),
    )
    _check_choice(options, "load_balance_hosts", ("disable", "random"))

    if options["load_balance_hosts"] == "random":
        # libpq's inside-out Fisher-Yates shuffle, one swap per host after the first.
        shuffler = rng if rng is not None else random.SystemRandom()
        for i in range(1, len(slots)):
            j = shuffler.randint(0, i)
            slots[i], slots[j] = slots[j], slots[i]

    if options.get("client_encoding") == "auto":
        options["client_encoding"] = client_encoding_from_locale()

    # libpq checks each port only when it gets to that host; we check them all before connecting.
    attempts = tuple(_host_attempt(*slot) for slot in slots)
    timeout = None
    if "connect_timeout" in options:
        seconds = parse_int_param(options["connect_timeout"], "connect_timeout")
        timeout = float(seconds) if seconds > 0 else None

    values = {k: v for k, v in options.items() if k != "service"}  # libpq 17's PGconn keeps no service
    if not hostaddrs and not hosts:
        values["host"] = DEFAULT_SOCKET_DIR
    values.setdefault("keepalives", "1")
    return ConnectParams(
        values=MappingProxyType(values),
        attempts=attempts,
        startup=MappingProxyType(_startup_parameters(options, env)),
        connect_timeout=timeout,
    )


def _host_attempt(host: str, hostaddr: str, port_text: str, password: str | None) -> HostAttempt:
    """One host-list entry with its port checked as libpq checks it when it reaches that host."""
    port = DEFAULT_PORT
    if port_text:
        port = parse_int_param(port_text, "port")
        if not 1 <= port <= 65535:
            raise ConninfoError(f'invalid port number: "{port_text}"')
    socket_path = None
    if not hostaddr and host.startswith(("/", "@")):
        socket_path = f"{host}/.s.PGSQL.{port}"
        if len(socket_path.encode("utf-8", "surrogateescape")) >= _SUN_PATH_SIZE:
            raise ConninfoError(
                f'Unix-domain socket path "{socket_path}" is too long (maximum {_SUN_PATH_SIZE - 1} bytes)'
            )
    return HostAttempt(
        host=host, hostaddr=hostaddr or None, port=port, unix_socket=socket_path, password=password
    )


def _check_choice(options: Mapping[str, str], keyword: str, allowed: tuple[str, ...]) -> None:
    if options[keyword] not in allowed:
        raise ConninfoError(f'invalid {keyword} value: "{options[keyword]}"')


def _check_tls_versions(minimum: str | None, maximum: str | None) -> None:
    for keyword, version in (("ssl_min_protocol_version", minimum), ("ssl_max_protocol_version", maximum)):
        if version and version.lower() not in _TLS_VERSIONS:
            raise ConninfoError(f'invalid "{keyword}" value: "{version}"')
    if not minimum or not maximum or minimum.lower() == "tlsv1":
        return
    if maximum.lower() == "tlsv1" or minimum.lower() > maximum.lower():
        raise ConninfoError("invalid SSL protocol version range")


def _startup_parameters(options: Mapping[str, str], env: Mapping[str, str]) -> dict[str, str]:
    """What pqBuildStartupPacket3 puts in the StartupMessage, in the same order."""
    startup: dict[str, str] = {}
    for keyword, name in (("user", "user"), ("dbname", "database"), ("replication", "replication")):
        if options.get(keyword):
            startup[name] = options[keyword]
    if options.get("options"):
        startup["options"] = options["options"]
    appname = options.get("application_name")
    if appname is None:
        appname = options.get("fallback_application_name")
    if appname:
        startup["application_name"] = appname
    if options.get("client_encoding"):
        startup["client_encoding"] = options["client_encoding"]
    for envvar, name in _STARTUP_ENVIRONMENT:
        value = env.get(envvar)
        if value is not None and value.lower() != "default":
            startup[name] = value
    return startup


# --------------------------------------------------------------------------- client_encoding=auto

# chklocale.c's encoding_match_list: PostgreSQL encoding name, then the codeset names that map to it.
_ENCODING_MATCHES: tuple[tuple[str, ...], ...] = (
    ("EUC_JP", "EUC-JP", "eucJP", "IBM-eucJP", "sdeckanji", "CP20932"),
    ("EUC_CN", "EUC-CN", "eucCN", "IBM-eucCN", "GB2312", "dechanzi", "CP20936"),
    ("EUC_KR", "EUC-KR", "eucKR", "IBM-eucKR", "deckorean", "5601", "CP51949"),
    ("EUC_TW", "EUC-TW", "eucTW", "IBM-eucTW", "cns11643"),
    ("UTF8", "UTF-8", "utf8", "CP65001"),
    ("LATIN1", "ISO-8859-1", "ISO8859-1", "iso88591", "CP28591"),
    ("LATIN2", "ISO-8859-2", "ISO8859-2", "iso88592", "CP28592"),
    ("LATIN3", "ISO-8859-3", "ISO8859-3", "iso88593", "CP28593"),
    ("LATIN4", "ISO-8859-4", "ISO8859-4", "iso88594", "CP28594"),
    ("LATIN5", "ISO-8859-9", "ISO8859-9", "iso88599", "CP28599"),
    ("LATIN6", "ISO-8859-10", "ISO8859-10", "iso885910"),
    ("LATIN7", "ISO-8859-13", "ISO8859-13", "iso885913"),
    ("LATIN8", "ISO-8859-14", "ISO8859-14", "iso885914"),
    ("LATIN9", "ISO-8859-15", "ISO8859-15", "iso885915", "CP28605"),
    ("LATIN10", "ISO-8859-16", "ISO8859-16", "iso885916"),
    ("WIN1252", "CP1252"),
    ("WIN1253", "CP1253"),
    ("WIN1254", "CP1254"),
    ("WIN1255", "CP1255"),
    ("WIN1256", "CP1256"),
    ("WIN1257", "CP1257"),
    ("WIN1258", "CP1258"),
    ("WIN866", "CP866"),
    ("WIN874", "CP874"),
    ("KOI8R", "KOI8-R", "CP20866"),
    ("KOI8U", "KOI8-U", "CP21866"),
    ("WIN1251", "CP1251"),
    ("WIN1250", "CP1250"),
    ("ISO_8859_5", "ISO-8859-5", "ISO8859-5", "iso88595", "CP28595"),
    ("ISO_8859_6", "ISO-8859-6", "ISO8859-6", "iso88596", "CP28596"),
    ("ISO_8859_7", "ISO-8859-7", "ISO8859-7", "iso88597", "CP28597"),
    ("ISO_8859_8", "ISO-8859-8", "ISO8859-8", "iso88598", "CP28598"),
    ("SJIS", "SJIS", "PCK", "CP932", "SHIFT_JIS"),
    ("BIG5", "BIG5", "BIG5HKSCS", "Big5-HKSCS", "CP950"),
    ("GBK", "GBK", "CP936"),
    ("UHC", "UHC", "CP949"),
    ("JOHAB", "JOHAB", "CP1361"),
    ("GB18030", "GB18030", "CP54936"),
    ("SHIFT_JIS_2004", "SJIS_2004"),
    ("SQL_ASCII", "US-ASCII"),
)
_CODESETS: Mapping[str, str] = MappingProxyType(
    {codeset.upper(): row[0] for row in _ENCODING_MATCHES for codeset in row[1:]}
)


def client_encoding_from_locale() -> str:
    """What ``client_encoding=auto`` means: the PostgreSQL name of the LC_CTYPE locale's codeset.

    As libpq's pg_get_encoding_from_locale: the C and POSIX locales give SQL_ASCII, an unknown codeset
    gives "" (and then no client_encoding is sent).
    """
    ctype = locale.setlocale(locale.LC_CTYPE)
    if ctype.upper() in ("C", "POSIX"):
        return "SQL_ASCII"
    return _CODESETS.get(locale.nl_langinfo(locale.CODESET).upper(), "")
