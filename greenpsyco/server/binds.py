"""Where the server listens (``-b/--bind``): parsing, opening the sockets, and listening on them.

Accepted spellings, gunicorn's first, then Twisted's endpoint strings:

``HOST:PORT``, ``[IPV6]:PORT``, ``:PORT``
    TCP (``:PORT`` listens on every IPv4 interface).
``unix:PATH``
    a Unix socket (a stale socket file left by a dead server is replaced; a live one is an error).
``fd://N``
    an already-listening socket inherited from the parent (systemd, a supervisor).
``tcp:PORT[:interface=ADDR][:backlog=N]``, ``ssl:PORT:privateKey=KEY[:certKey=CERT][:extraCertChain=PEM]...``
    Twisted's strports for TCP and TLS.
any other Twisted endpoint string (``systemd:domain=INET:index=0``, endpoint plugins)
    listened on by the worker itself, so only with one worker.

The supervising process opens the TCP, TLS and Unix sockets once (so a port in use or an unreadable
certificate is reported before any worker starts) and its workers inherit the descriptors: they all
accept on the same socket, as gunicorn's do, and a restarted worker never rebinds.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
from dataclasses import dataclass
from typing import Any, Literal

BACKLOG = 2048
"""Listen backlog (gunicorn's default)."""

BindKind = Literal["tcp", "unix", "fd", "endpoint"]

_TWISTED_PREFIXES = {"tcp", "tcp6", "ssl", "unix", "systemd", "tls", "onion"}


class BindError(ValueError):
    """A ``--bind`` value that cannot be parsed, opened or listened on; the message says which."""


@dataclass(frozen=True)
class Bind:
    """One parsed ``--bind`` value."""

    text: str
    kind: BindKind
    host: str = ""
    port: int = 0
    path: str = ""
    fd: int = -1
    backlog: int = BACKLOG
    tls: dict[str, str] | None = None
    """For ``ssl:``: ``privateKey``, ``certKey`` (defaults to the key file) and ``extraCertChain``."""

    @property
    def shareable(self) -> bool:
        """Whether the supervisor can open it once for every worker (not a plugin endpoint)."""
        return self.kind != "endpoint"


def _split_strport(text: str) -> tuple[list[str], dict[str, str]]:
    """Split a Twisted strport's ``a:b:key=value`` fields (``\\`` escapes ``:`` and ``=``)."""
    fields: list[str] = []
    current: list[str] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            current.append(next(chars, ""))
        elif char == ":":
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
    fields.append("".join(current))
    args: list[str] = []
    kwargs: dict[str, str] = {}
    for item in fields:
        key, eq, value = item.partition("=")
        if eq:
            kwargs[key] = value
        else:
            args.append(item)
    return args, kwargs


def _port(text: str, spec: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise BindError(f"--bind {spec!r}: {text!r} is not a port number (0-65535)")
    return port


def _backlog(kwargs: dict[str, str], spec: str) -> int:
    text = kwargs.get("backlog", str(BACKLOG))
    if not text.isdigit() or int(text) < 1:
        raise BindError(f"--bind {spec!r}: backlog must be a positive integer, not {text!r}")
    return int(text)


def parse_bind(spec: str) -> Bind:
    """Parse one ``--bind`` value (see the module docstring); :class:`BindError` names what is wrong."""
    text = spec.strip()
    if not text:
        raise BindError("--bind: empty address")
    if text.startswith("fd://"):
        number = text[len("fd://") :]
        if not number.isdigit():
            raise BindError(f"--bind {spec!r}: fd:// needs a file descriptor number")
        return Bind(text, "fd", fd=int(number))
    prefix, colon, rest = text.partition(":")
    if colon and prefix == "unix" and "=" not in rest:
        if not rest:
            raise BindError(f"--bind {spec!r}: unix: needs a socket path")
        return Bind(text, "unix", path=rest)
    if colon and prefix in ("tcp", "ssl") and rest:
        args, kwargs = _split_strport(rest)
        if not args and "port" in kwargs:
            args = [kwargs.pop("port")]
        if len(args) != 1:
            raise BindError(f"--bind {spec!r}: {prefix}: takes one port, e.g. {prefix}:8000")
        port = _port(args[0], spec)
        host = kwargs.get("interface", "")
        tls = None
        if prefix == "ssl":
            key = kwargs.get("privateKey")
            if not key:
                raise BindError(f"--bind {spec!r}: ssl: needs privateKey=PATH (and certKey=PATH)")
            tls = {"privateKey": key, "certKey": kwargs.get("certKey", key)}
            if "extraCertChain" in kwargs:
                tls["extraCertChain"] = kwargs["extraCertChain"]
        return Bind(text, "tcp", host=host, port=port, backlog=_backlog(kwargs, spec), tls=tls)
    if (colon and prefix in _TWISTED_PREFIXES) or (colon and prefix.isidentifier() and "=" in rest):
        return Bind(text, "endpoint")
    host, port_text = text, ""
    if text.startswith("["):
        close = text.find("]")
        if close < 0 or not text[close + 1 :].startswith(":"):
            raise BindError(f"--bind {spec!r}: an IPv6 address is written [::1]:8000")
        host, port_text = text[1:close], text[close + 2 :]
    elif text.isdigit():
        host, port_text = "", text
    else:
        host, _, port_text = text.rpartition(":")
        if not _:
            raise BindError(f"--bind {spec!r}: expected HOST:PORT, unix:PATH, fd://N or a Twisted endpoint")
    return Bind(text, "tcp", host=host, port=_port(port_text, spec))


def default_binds(environ: dict[str, str] | None = None) -> list[str]:
    """``0.0.0.0:$PORT`` when ``PORT`` is set (Heroku, Cloud Run), else ``127.0.0.1:8000``."""
    env = os.environ if environ is None else environ
    port = env.get("PORT", "").strip()
    return [f"0.0.0.0:{port}"] if port else ["127.0.0.1:8000"]


# -- opening (the supervising process) -----------------------------------------------------------------


@dataclass
class Listener:
    """An open listening socket (or, for a plugin endpoint, just its description) for the workers."""

    bind: Bind
    sock: socket.socket | None

    @property
    def fd(self) -> int:
        return self.sock.fileno() if self.sock is not None else -1

    @property
    def family(self) -> int:
        return int(self.sock.family) if self.sock is not None else -1

    def url(self) -> str:
        """Where to point a browser, for the "Listening at" line."""
        if self.sock is None:
            return self.bind.text
        if self.sock.family == socket.AF_UNIX:
            return f"unix:{self.sock.getsockname()}"
        host, port = self.sock.getsockname()[:2]
        scheme = "https" if self.bind.tls else "http"
        shown = f"[{host}]" if ":" in host else host
        return f"{scheme}://{shown}:{port}"

    def describe(self) -> dict[str, Any]:
        """What a worker needs to listen on it (JSON-able)."""
        return {"text": self.bind.text, "fd": self.fd, "family": self.family}

    def close(self) -> None:
        """Close the socket (idempotent); a Unix socket we created also loses its file."""
        if self.sock is None or self.sock.fileno() < 0:
            return
        self.sock.close()
        if self.bind.kind == "unix":
            with contextlib.suppress(OSError):
                os.unlink(self.bind.path)


def _open_tcp(bind: Bind) -> socket.socket:
    host = bind.host or "0.0.0.0"
    try:
        infos = socket.getaddrinfo(host, bind.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise BindError(f"--bind {bind.text!r}: cannot resolve {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(bind.backlog)
    except OSError as exc:
        sock.close()
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        raise BindError(f"cannot listen on {bind.text}: {reason}") from None
    return sock


def _unix_socket_is_live(path: str) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        return False
    finally:
        probe.close()
    return True


def _open_unix(bind: Bind) -> socket.socket:
    path = bind.path
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None:
        if not stat.S_ISSOCK(mode):
            raise BindError(f"cannot listen on {bind.text}: {path} exists and is not a socket")
        if _unix_socket_is_live(path):
            raise BindError(f"cannot listen on {bind.text}: another server is listening on it")
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        sock.listen(bind.backlog)
    except OSError as exc:
        sock.close()
        raise BindError(f"cannot listen on {bind.text}: {exc.strerror or exc}") from None
    return sock


def _adopt_fd(bind: Bind) -> socket.socket:
    try:
        sock = socket.socket(fileno=bind.fd)
    except OSError as exc:
        raise BindError(f"--bind {bind.text!r}: file descriptor {bind.fd} is not a socket ({exc})") from None
    if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        sock.detach()
        raise BindError(f"--bind {bind.text!r}: file descriptor {bind.fd} is not a listening socket")
    return sock


def check_tls_files(bind: Bind) -> None:
    """Load an ``ssl:`` bind's key and certificates now, so a bad file is a clear error at start-up."""
    if bind.tls is not None:
        tls_options(bind)


def tls_options(bind: Bind) -> Any:
    """The pyOpenSSL context factory for an ``ssl:`` bind; :class:`BindError` for an unusable file."""
    assert bind.tls is not None
    from twisted.internet import ssl

    def read(key: str) -> bytes:
        path = bind.tls[key]  # type: ignore[index]
        try:
            with open(path, "rb") as file:
                return file.read()
        except OSError as exc:
            raise BindError(f"--bind {bind.text!r}: cannot read {key} {path}: {exc.strerror}") from None

    try:
        key_pem, cert_pem = read("privateKey"), read("certKey")
        certificate = ssl.PrivateCertificate.loadPEM(cert_pem + b"\n" + key_pem)
        chain = []
        if "extraCertChain" in bind.tls:
            for block in read("extraCertChain").split(b"-----END CERTIFICATE-----")[:-1]:
                chain.append(ssl.Certificate.loadPEM(block + b"-----END CERTIFICATE-----\n").original)
        return ssl.CertificateOptions(
            privateKey=certificate.privateKey.original,
            certificate=certificate.original,
            extraCertChain=chain or None,
        )
    except BindError:
        raise
    except Exception as exc:
        raise BindError(f"--bind {bind.text!r}: the key or certificate is not usable PEM: {exc}") from None


def open_listener(bind: Bind) -> Listener:
    """Open ``bind``'s socket (supervisor side). Plugin endpoints are opened by their worker instead."""
    if bind.kind == "endpoint":
        return Listener(bind, None)
    check_tls_files(bind)
    if bind.kind == "tcp":
        sock = _open_tcp(bind)
    elif bind.kind == "unix":
        sock = _open_unix(bind)
    else:
        sock = _adopt_fd(bind)
    sock.set_inheritable(True)
    sock.setblocking(False)  # Twisted accepts until EAGAIN; shared by every worker's duplicate
    return Listener(bind, sock)


# -- listening (the worker) -----------------------------------------------------------------------------


def listen(reactor: Any, description: dict[str, Any], factory: Any) -> Any:
    """Listen with ``factory`` on a listener the supervisor opened; returns the port, or a Deferred
    firing with it for a plugin endpoint. Call from: the worker, in the hub's thread."""
    bind = parse_bind(description["text"])
    if description["fd"] < 0:
        from twisted.internet.endpoints import serverFromString

        return serverFromString(reactor, bind.text).listen(factory)
    if bind.tls is not None:
        from twisted.protocols.tls import TLSMemoryBIOFactory

        factory = TLSMemoryBIOFactory(tls_options(bind), False, factory)
    return reactor.adoptStreamPort(description["fd"], description["family"], factory)  # a duplicate fd


def take_turns(port: Any) -> None:
    """Make ``port`` accept one connection per readiness event, so workers sharing it take turns.

    Every worker sharing a listening socket is woken when connections arrive. Twisted's port accepts
    up to a growing batch (100 or more) per wake-up, so the first worker to run takes a whole burst —
    ten keep-alive connections opened at once all land in one process while the others idle. Accepting
    one at a time lets the workers interleave, and a busy worker leaves the next connection to an idle
    one, as gunicorn's workers do. Ports without Twisted's ``numberAccepts`` are left alone.

    Call from: the worker, in the hub's thread.
    """
    if not hasattr(port, "numberAccepts"):
        return
    accept_batch = port.doRead

    def accept_one() -> Any:
        port.numberAccepts = 1  # Twisted raises it after a full batch; keep it at one
        return accept_batch()

    port.doRead = accept_one


__all__ = [
    "BACKLOG",
    "Bind",
    "BindError",
    "Listener",
    "check_tls_files",
    "default_binds",
    "listen",
    "open_listener",
    "parse_bind",
    "take_turns",
    "tls_options",
]
