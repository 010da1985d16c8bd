"""greenpsyco.wire.tls: libpq's client TLS rules, offline, live against PostgreSQL, and against libpq.

Three kinds of evidence: unit tests of the decisions (which mode verifies what, which file is an
error); live handshakes with the session's PostgreSQL (SSLRequest by hand, then the stdlib stack
in-process, or the Twisted stack in a subprocess, since a reactor runs once per process); and the real
libpq (psycopg2's, version 17) as the oracle for host-name rules and messages, pointed at a fake TLS
server that presents whatever certificate a case needs.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from OpenSSL import SSL
from twisted.internet.error import ConnectionDone

from greenpsyco.testing import TestServer
from greenpsyco.testing.certs import CertFiles, CertificateAuthority
from greenpsyco.wire.errors import ConnectionFailure, ConninfoError
from greenpsyco.wire.tls import (
    TLSSettings,
    handshake_failure,
    peer_certificate_der_stdlib,
    sni_name,
    stdlib_context,
    stdlib_handshake,
    tls_server_end_point,
    twisted_creator,
    verify_host,
)

SSL_REQUEST = struct.pack("!ii", 8, 80877103)
AUTH_OK = b"R" + struct.pack("!ii", 8, 0)
NO_ROOT_HINT = (
    "Either provide the file, use the system's trusted roots with sslrootcert=system, "
    "or change sslmode to disable server certificate verification."
)
KEY_PERMISSION_MESSAGE = (
    'private key file "{}" has group or world access; file must have permissions u=rw (0600) or less if '
    "owned by the current user, or permissions u=rw,g=r (0640) or less if owned by root"
)


@contextlib.contextmanager
def raises_exactly(kind: type[Exception], message: str) -> Iterator[None]:
    """Like ``pytest.raises``, and the message must be exactly ``message``."""
    with pytest.raises(kind) as info:
        yield
    assert str(info.value) == message


def startup_message(user: str) -> bytes:
    body = struct.pack("!i", 196608) + b"user\0" + user.encode() + b"\0database\0postgres\0\0"
    return struct.pack("!i", len(body) + 4) + body


def recv_exact(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


@pytest.fixture
def home(tmp_path: Path) -> str:
    """An empty home directory, so that no real ~/.postgresql/ files take part."""
    path = tmp_path / "home"
    path.mkdir()
    return str(path)


@pytest.fixture
def authority(tmp_path: Path) -> CertificateAuthority:
    directory = tmp_path / "ca"
    directory.mkdir()
    return CertificateAuthority(directory)


@pytest.fixture
def other_authority(tmp_path: Path) -> CertificateAuthority:
    """A CA that signed nothing the servers present."""
    directory = tmp_path / "other-ca"
    directory.mkdir()
    return CertificateAuthority(directory, name="some other CA")


# -- the blocking stack, live -----------------------------------------------------------------------


@dataclass
class Outcome:
    """What a client saw: the handshake failure message, or the server's first answer after it."""

    ok: bool
    message: str = ""
    first: str = ""
    auth_ok: bool = False
    version: str = ""
    der: bytes = b""


def blocking_connect(
    settings: TLSSettings, port: int, host: str, hostaddr: str | None = "127.0.0.1", user: str = "gp_trust"
) -> Outcome:
    """SSLRequest, TLS with the stdlib stack, then a StartupMessage; the first answer byte comes back."""
    sock = socket.create_connection((hostaddr or host, port), timeout=10)
    try:
        sock.sendall(SSL_REQUEST)
        assert recv_exact(sock, 1) == b"S"
        try:
            tls = stdlib_handshake(sock, settings, host, hostaddr)
        except ConnectionFailure as exc:
            return Outcome(ok=False, message=str(exc))
        with tls:
            tls.sendall(startup_message(user))
            answer = recv_exact(tls, 9)
            return Outcome(
                ok=True,
                first=answer[:1].decode(),
                auth_ok=answer == AUTH_OK,
                version=tls.version() or "",
                der=peer_certificate_der_stdlib(tls),
            )
    finally:
        sock.close()


# -- the Twisted stack, live (in a subprocess: one reactor run per process) -------------------------

TWISTED_CLIENT = r"""
import json, struct, sys
from twisted.internet import defer, task
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from greenpsyco.wire.tls import TLSSettings, handshake_failure, peer_certificate_der_openssl, twisted_creator

SSL_REQUEST = struct.pack("!ii", 8, 80877103)
AUTH_OK = b"R" + struct.pack("!ii", 8, 0)


def startup(user):
    body = struct.pack("!i", 196608) + b"user\0" + user.encode() + b"\0database\0postgres\0\0"
    return struct.pack("!i", len(body) + 4) + body


class Client(Protocol):
    def __init__(self, scenario):
        self.scenario = scenario
        self.settings = TLSSettings(**scenario["settings"])
        self.done = defer.Deferred()
        self.tls = False
        self.received = b""
        self.result = None

    def connectionMade(self):
        self.transport.write(SSL_REQUEST)

    def dataReceived(self, data):
        if not self.tls:
            if data != b"S":
                self.result = {"ok": False, "message": "SSLRequest refused: %r" % data}
                self.transport.loseConnection()
                return
            self.tls = True
            s = self.scenario
            try:
                creator = twisted_creator(self.settings, s["host"], s["hostaddr"])
            except Exception as exc:
                self.result = {"ok": False, "message": "%s: %s" % (type(exc).__name__, exc)}
                self.transport.loseConnection()
                return
            self.transport.startTLS(creator)
            self.transport.write(startup(s["user"]))
            return
        self.received += data
        if self.result is None and len(self.received) >= 9:
            handle = self.transport.getHandle()
            self.result = {
                "ok": True,
                "first": self.received[:1].decode(),
                "auth_ok": self.received[:9] == AUTH_OK,
                "version": handle.get_protocol_version_name(),
                "der": peer_certificate_der_openssl(handle).hex(),
            }
            self.transport.loseConnection()

    def connectionLost(self, reason):
        if self.result is None:
            self.result = {"ok": False, "message": str(handshake_failure(reason.value, self.settings))}
        self.done.callback(self.result)


async def run(reactor, scenarios):
    results = []
    for scenario in scenarios:
        client = Client(scenario)
        client.done.addTimeout(20, reactor)
        endpoint = TCP4ClientEndpoint(reactor, scenario["hostaddr"] or scenario["host"], scenario["port"], 10)
        await connectProtocol(endpoint, client)
        results.append(await client.done)
    print(json.dumps(results))


task.react(lambda reactor: defer.ensureDeferred(run(reactor, json.loads(sys.argv[1]))))
"""


def settings_kwargs(settings: TLSSettings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in TLSSettings.__dataclass_fields__}


def twisted_connect(scenarios: list[dict[str, Any]], env: dict[str, str] | None = None) -> list[Outcome]:
    """Run each scenario (settings, port, host, hostaddr, user) through the Twisted stack, in order."""
    payload = [
        {
            "settings": settings_kwargs(s["settings"]),
            "port": s["port"],
            "host": s["host"],
            "hostaddr": s.get("hostaddr", "127.0.0.1"),
            "user": s.get("user", "gp_trust"),
        }
        for s in scenarios
    ]
    result = subprocess.run(
        [sys.executable, "-c", TWISTED_CLIENT, json.dumps(payload)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, result.stderr
    outcomes = []
    for raw in json.loads(result.stdout.strip().splitlines()[-1]):
        raw["der"] = bytes.fromhex(raw.get("der", ""))
        outcomes.append(Outcome(**raw))
    return outcomes


def twisted_one(
    settings: TLSSettings,
    port: int,
    host: str,
    hostaddr: str | None = "127.0.0.1",
    user: str = "gp_trust",
    env: dict[str, str] | None = None,
) -> Outcome:
    scenario = {"settings": settings, "port": port, "host": host, "hostaddr": hostaddr, "user": user}
    return twisted_connect([scenario], env)[0]


# -- a fake TLS server presenting any certificate -------------------------------------------------

FAKE_FATAL = b"SFATAL\0C08006\0Mfake server reached\0\0"


class FakeServer:
    """Just enough PostgreSQL to test a TLS client: answers the SSLRequest with ``S``, completes the
    handshake with the given certificate, records the SNI it was sent, reads the StartupMessage and
    answers with a FATAL ErrorResponse saying "fake server reached"."""

    def __init__(self, cert: CertFiles) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert.cert, cert.key)
        self.context.sni_callback = self._record_sni
        self.sni: list[str | None] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port: int = self.listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _record_sni(self, sslobj: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> None:
        self.sni.append(name)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            if recv_exact(conn, 8) != SSL_REQUEST:
                return
            conn.sendall(b"S")
            with self.context.wrap_socket(conn, server_side=True) as tls:
                (length,) = struct.unpack("!i", recv_exact(tls, 4))
                recv_exact(tls, length - 4)
                tls.sendall(b"E" + struct.pack("!i", len(FAKE_FATAL) + 4) + FAKE_FATAL)
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()


@pytest.fixture
def fake_server() -> Iterator[type[FakeServer]]:
    """Start fake servers with ``fake_server(cert)``; all are stopped at the end of the test."""
    started: list[FakeServer] = []

    class Tracked(FakeServer):
        def __init__(self, cert: CertFiles) -> None:
            super().__init__(cert)
            started.append(self)

    yield Tracked
    for server in started:
        server.close()


def libpq_outcome(port: int, host: str, **params: str) -> str:
    """libpq's verdict against a fake server: "reached" (TLS and host check passed), or its message."""
    try:
        psycopg2.connect(
            host=host, hostaddr="127.0.0.1", port=port, user="x", dbname="x", gssencmode="disable", **params
        )
    except psycopg2.OperationalError as exc:
        message = str(exc)
    else:  # pragma: no cover - the fake server never lets a connection succeed
        raise AssertionError("the fake server accepted a connection")
    if "fake server reached" in message:
        return "reached"
    return message.split(" failed: ", 1)[-1].rstrip("\n")


def libpq_verdict(dsn: str) -> str:
    """libpq against the real server: "reached" when it connects, else its message."""
    try:
        psycopg2.connect(dsn).close()
    except psycopg2.OperationalError as exc:
        return str(exc).split(" failed: ", 1)[-1].rstrip("\n")
    return "reached"


def our_outcome(settings: TLSSettings, port: int, host: str) -> str:
    outcome = blocking_connect(settings, port, host)
    return "reached" if outcome.ok else outcome.message


# ==================================================================================================
# Settings: validation and the decisions each sslmode implies
# ==================================================================================================


@pytest.mark.parametrize(
    ("sslmode", "wants", "plain_first", "requires", "chain", "host"),
    [
        ("disable", False, False, False, False, False),
        ("allow", True, True, False, False, False),
        ("prefer", True, False, False, False, False),
        ("require", True, False, True, False, False),
        ("verify-ca", True, False, True, True, False),
        ("verify-full", True, False, True, True, True),
    ],
)
def test_each_sslmode_decides_what_is_verified(
    home: str, sslmode: str, wants: bool, plain_first: bool, requires: bool, chain: bool, host: bool
) -> None:
    settings = TLSSettings(sslmode=sslmode, home=home)
    assert settings.wants_tls is wants
    assert settings.tries_plain_first is plain_first
    assert settings.requires_tls is requires
    assert settings.verifies_chain is chain
    assert settings.verifies_host is host


@pytest.mark.parametrize("sslmode", ["allow", "prefer", "require"])
def test_an_existing_root_certificate_makes_weak_modes_verify_the_chain(
    home: str, authority: CertificateAuthority, sslmode: str
) -> None:
    """libpq's legacy rule: root.crt present means verify like verify-ca, whatever the mode says."""
    assert TLSSettings(sslmode=sslmode, sslrootcert=str(authority.files.cert), home=home).verifies_chain
    assert not TLSSettings(sslmode=sslmode, sslrootcert=home + "/missing.crt", home=home).verifies_chain
    assert not TLSSettings(sslmode=sslmode, home=home).verifies_chain
    default_root = Path(home, ".postgresql", "root.crt")
    default_root.parent.mkdir()
    shutil.copy(authority.files.cert, default_root)
    assert TLSSettings(sslmode=sslmode, home=home).verifies_chain
    assert not TLSSettings(sslmode="disable", home=home).verifies_chain
    context = stdlib_context(TLSSettings(sslmode=sslmode, home=home))
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sslmode": "Require"}, 'invalid sslmode value: "Require"'),
        ({"sslmode": ""}, 'invalid sslmode value: ""'),
        ({"ssl_min_protocol_version": "TLSv9"}, 'invalid "ssl_min_protocol_version" value: "TLSv9"'),
        ({"ssl_max_protocol_version": "SSLv3"}, 'invalid "ssl_max_protocol_version" value: "SSLv3"'),
        (
            {"ssl_min_protocol_version": "TLSv1.3", "ssl_max_protocol_version": "TLSv1.2"},
            "invalid SSL protocol version range",
        ),
        (
            {"ssl_min_protocol_version": "TLSv1.1", "ssl_max_protocol_version": "TLSv1"},
            "invalid SSL protocol version range",
        ),
    ],
)
def test_values_libpq_refuses_raise_its_message(kwargs: dict[str, str], message: str) -> None:
    with raises_exactly(ConninfoError, message):
        TLSSettings(**kwargs)  # type: ignore[arg-type]


def test_protocol_versions_are_case_insensitive_and_may_be_unbounded() -> None:
    TLSSettings(ssl_min_protocol_version="tlsv1.3", ssl_max_protocol_version="TLSV1.3")
    TLSSettings(ssl_min_protocol_version="TLSv1", ssl_max_protocol_version="TLSv1")
    TLSSettings(ssl_min_protocol_version=None, ssl_max_protocol_version="TLSv1")
    TLSSettings(ssl_min_protocol_version="", ssl_max_protocol_version="")


@pytest.mark.parametrize("sslmode", ["disable", "allow", "prefer", "require", "verify-ca"])
def test_sslrootcert_system_refuses_weak_modes(sslmode: str) -> None:
    expected = f'weak sslmode "{sslmode}" may not be used with sslrootcert=system (use "verify-full")'
    with raises_exactly(ConninfoError, expected):
        TLSSettings(sslmode=sslmode, sslrootcert="system")
    with raises_exactly(ConninfoError, expected):
        TLSSettings.from_params({"sslmode": sslmode, "sslrootcert": "system"})


def test_sslrootcert_system_without_sslmode_means_verify_full() -> None:
    settings = TLSSettings.from_params({"sslrootcert": "system"})
    assert settings.sslmode == "verify-full"
    assert settings.verifies_chain
    assert settings.verifies_host


def test_from_params_reads_libpq_keyword_strings() -> None:
    settings = TLSSettings.from_params(
        {
            "host": "db.example.com",
            "sslmode": "verify-ca",
            "sslrootcert": "/etc/root.crt",
            "sslcert": "",
            "sslkey": "/k",
            "sslpassword": "pw",
            "sslcrl": "/c",
            "sslcrldir": "",
            "sslsni": "0",
            "ssl_min_protocol_version": "",
            "ssl_max_protocol_version": "TLSv1.3",
        }
    )
    assert settings == TLSSettings(
        sslmode="verify-ca",
        sslrootcert="/etc/root.crt",
        sslkey="/k",
        sslpassword="pw",
        sslcrl="/c",
        sslsni=False,
        ssl_min_protocol_version=None,
        ssl_max_protocol_version="TLSv1.3",
    )
    defaults = TLSSettings.from_params({})
    assert defaults == TLSSettings()
    assert defaults.sslmode == "prefer"
    assert defaults.sslsni
    assert defaults.ssl_min_protocol_version == "TLSv1.2"
    assert TLSSettings.from_params({"sslsni": "1"}).sslsni
    assert not TLSSettings.from_params({"sslsni": ""}).sslsni


# ==================================================================================================
# Building contexts: files, modes, versions
# ==================================================================================================


def test_disable_builds_no_context(home: str) -> None:
    assert stdlib_context(TLSSettings(sslmode="disable", home=home)) is None
    with pytest.raises(ValueError, match="sslmode=disable"):
        twisted_creator(TLSSettings(sslmode="disable", home=home), "localhost", None)


@pytest.mark.parametrize("sslmode", ["allow", "prefer", "require"])
def test_weak_modes_without_root_certificate_verify_nothing(home: str, sslmode: str) -> None:
    context = stdlib_context(TLSSettings(sslmode=sslmode, home=home))
    assert context is not None
    assert context.verify_mode == ssl.CERT_NONE
    assert not context.check_hostname
    creator = twisted_creator(TLSSettings(sslmode=sslmode, home=home), "localhost", None)
    assert creator.context.get_verify_mode() == SSL.VERIFY_NONE


@pytest.mark.parametrize("sslmode", ["verify-ca", "verify-full"])
def test_verify_modes_verify_the_chain_but_leave_host_names_to_us(
    home: str, authority: CertificateAuthority, sslmode: str
) -> None:
    settings = TLSSettings(sslmode=sslmode, sslrootcert=str(authority.files.cert), home=home)
    context = stdlib_context(settings)
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert not context.check_hostname
    assert context.get_ca_certs()[0]["subject"] == (
        (("organizationName", "greenpsyco tests"),),
        (("commonName", "greenpsyco test CA"),),
    )
    assert twisted_creator(settings, "localhost", None).context.get_verify_mode() == SSL.VERIFY_PEER


@pytest.mark.parametrize("sslmode", ["verify-ca", "verify-full"])
def test_a_missing_root_certificate_is_an_error_when_verifying(home: str, sslmode: str) -> None:
    explicit = home + "/nowhere/root.crt"
    default = os.path.join(home, ".postgresql", "root.crt")
    for settings, path in [
        (TLSSettings(sslmode=sslmode, sslrootcert=explicit, home=home), explicit),
        (TLSSettings(sslmode=sslmode, home=home), default),
    ]:
        expected = f'root certificate file "{path}" does not exist\n{NO_ROOT_HINT}'
        with raises_exactly(ConninfoError, expected):
            stdlib_context(settings)
        with raises_exactly(ConninfoError, expected):
            twisted_creator(settings, "localhost", None)


def test_an_unreadable_root_certificate_is_an_error(home: str) -> None:
    garbage = Path(home, "root.crt")
    garbage.write_text("not a certificate\n")
    settings = TLSSettings(sslmode="require", sslrootcert=str(garbage), home=home)
    for build in (stdlib_context, lambda s: twisted_creator(s, "localhost", None)):
        with pytest.raises(
            ConninfoError, match=re.escape(f'could not read root certificate file "{garbage}": ')
        ):
            build(settings)


def test_protocol_versions_reach_the_stdlib_context(home: str) -> None:
    context = stdlib_context(
        TLSSettings(ssl_min_protocol_version="TLSv1.2", ssl_max_protocol_version="TLSv1.2", home=home)
    )
    assert context is not None
    assert (context.minimum_version, context.maximum_version) == (
        ssl.TLSVersion.TLSv1_2,
        ssl.TLSVersion.TLSv1_2,
    )
    unbounded = stdlib_context(TLSSettings(ssl_min_protocol_version=None, home=home))
    assert unbounded is not None
    assert unbounded.minimum_version == ssl.TLSVersion.MINIMUM_SUPPORTED
    assert unbounded.maximum_version == ssl.TLSVersion.MAXIMUM_SUPPORTED


# -- client certificates and keys ------------------------------------------------------------------


@pytest.fixture
def client_files(authority: CertificateAuthority) -> CertFiles:
    return authority.issue("client", "gp_cert", client=True)


def build_both(settings: TLSSettings) -> None:
    """Build both stacks' configuration (raising what either raises)."""
    stdlib_context(settings)
    twisted_creator(settings, "localhost", None)


def test_a_missing_client_certificate_is_skipped_even_when_explicit(
    home: str, client_files: CertFiles
) -> None:
    """libpq sends no certificate when the file does not exist, default path or not (checked below
    against libpq itself); the server decides whether that is acceptable."""
    build_both(TLSSettings(sslmode="require", home=home))
    build_both(
        TLSSettings(sslmode="require", sslcert=home + "/missing.crt", sslkey=home + "/missing.key", home=home)
    )


def test_client_certificate_defaults_come_from_dot_postgresql(home: str, client_files: CertFiles) -> None:
    directory = Path(home, ".postgresql")
    directory.mkdir()
    shutil.copy(client_files.cert, directory / "postgresql.crt")
    key = directory / "postgresql.key"
    with raises_exactly(ConninfoError, f'certificate present, but not private key file "{key}"'):
        build_both(TLSSettings(sslmode="require", home=home))
    shutil.copy(client_files.key, key)
    build_both(TLSSettings(sslmode="require", home=home))


@pytest.mark.parametrize(
    ("mode", "allowed"),
    [(0o600, True), (0o400, True), (0o640, None), (0o644, False), (0o660, False), (0o604, False)],
)
def test_key_file_permissions(home: str, client_files: CertFiles, mode: int, allowed: bool | None) -> None:
    """0600 or less; 0640 only for a root-owned file (allowed=None: depends on the owner)."""
    key = Path(home, "client.key")
    shutil.copy(client_files.key, key)
    key.chmod(mode)
    if allowed is None:
        allowed = key.stat().st_uid == 0
    settings = TLSSettings(sslmode="require", sslcert=str(client_files.cert), sslkey=str(key), home=home)
    for build in (stdlib_context, lambda s: twisted_creator(s, "localhost", None)):
        if allowed:
            build(settings)
        else:
            with raises_exactly(ConninfoError, KEY_PERMISSION_MESSAGE.format(key)):
                build(settings)


def test_key_file_problems_use_libpqs_messages(
    home: str, client_files: CertFiles, other_authority: CertificateAuthority
) -> None:
    cert = str(client_files.cert)
    missing = home + "/missing.key"
    garbage = Path(home, "garbage.key")
    garbage.write_text("garbage")
    garbage.chmod(0o600)
    cases = [
        (missing, f'certificate present, but not private key file "{missing}"'),
        (home, f'private key file "{home}" is not a regular file'),
        (str(garbage), f'could not load private key file "{garbage}": unsupported'),
        (
            str(other_authority.files.key),
            f'could not load private key file "{other_authority.files.key}": key values mismatch',
        ),
    ]
    for key, message in cases:
        settings = TLSSettings(sslmode="require", sslcert=cert, sslkey=key, home=home)
        for build in (stdlib_context, lambda s: twisted_creator(s, "localhost", None)):
            with raises_exactly(ConninfoError, message):
                build(settings)


def test_an_unreadable_client_certificate_is_an_error(home: str, client_files: CertFiles) -> None:
    garbage = Path(home, "client.crt")
    garbage.write_text("garbage")
    settings = TLSSettings(sslmode="require", sslcert=str(garbage), sslkey=str(client_files.key), home=home)
    for build in (stdlib_context, lambda s: twisted_creator(s, "localhost", None)):
        with raises_exactly(ConninfoError, f'could not read certificate file "{garbage}": no start line'):
            build(settings)


def write_key(
    path: Path,
    source: Path,
    encoding: serialization.Encoding,
    fmt: serialization.PrivateFormat,
    password: bytes | None,
) -> Path:
    key = serialization.load_pem_private_key(source.read_bytes(), None)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    path.write_bytes(key.private_bytes(encoding, fmt, encryption))
    path.chmod(0o600)
    return path


def test_encrypted_keys_need_the_right_sslpassword(home: str, client_files: CertFiles) -> None:
    pem = serialization.Encoding.PEM
    formats = {
        "pkcs8": serialization.PrivateFormat.PKCS8,
        "traditional": serialization.PrivateFormat.TraditionalOpenSSL,
    }
    for label, fmt in formats.items():
        key = write_key(Path(home, f"enc-{label}.key"), client_files.key, pem, fmt, b"s3cret")

        def settings(password: str | None, key: Path = key) -> TLSSettings:
            return TLSSettings(
                sslmode="require",
                sslcert=str(client_files.cert),
                sslkey=str(key),
                sslpassword=password,
                home=home,
            )

        build_both(settings("s3cret"))
        with raises_exactly(ConninfoError, f'could not load private key file "{key}": bad decrypt'):
            build_both(settings("wrong"))
        with pytest.raises(ConninfoError, match=re.escape(f'could not load private key file "{key}": ')):
            build_both(settings(None))
    # A password for a key that is not encrypted is ignored, as OpenSSL does.
    build_both(
        TLSSettings(
            sslmode="require",
            sslcert=str(client_files.cert),
            sslkey=str(client_files.key),
            sslpassword="x",
            home=home,
        )
    )


# ==================================================================================================
# SNI
# ==================================================================================================


@pytest.mark.parametrize(
    ("host", "sni"),
    [
        ("localhost", "localhost"),
        ("db.example.com", "db.example.com"),
        ("127.0.0.1", None),
        ("127.1", None),
        ("10", None),
        ("::1", None),
        ("fe80::1%eth0", None),
        ("/var/run/postgresql", None),
        ("@abstract", None),
        ("", None),
        ("1.2.3.4.example", "1.2.3.4.example"),
    ],
)
def test_sni_is_sent_for_host_names_only(host: str, sni: str | None) -> None:
    assert sni_name(host, TLSSettings()) == sni
    assert sni_name(host, TLSSettings(sslsni=False)) is None


def test_sni_reaches_the_server_from_both_stacks(
    home: str, authority: CertificateAuthority, fake_server: type[FakeServer]
) -> None:
    server = fake_server(authority.issue("server", "localhost", dns_names=("localhost",)))
    root = str(authority.files.cert)
    cases = [
        (TLSSettings(sslmode="verify-ca", sslrootcert=root, home=home), "localhost", "localhost"),
        (TLSSettings(sslmode="verify-ca", sslrootcert=root, home=home, sslsni=False), "localhost", None),
        (TLSSettings(sslmode="verify-ca", sslrootcert=root, home=home), "127.0.0.1", None),
    ]
    for settings, host, _ in cases:
        assert blocking_connect(settings, server.port, host).first == "E"
    outcomes = twisted_connect([{"settings": s, "port": server.port, "host": h} for s, h, _ in cases])
    assert [o.first for o in outcomes] == ["E"] * len(cases)
    expected = [sni for _, _, sni in cases]
    assert server.sni == expected + expected


# ==================================================================================================
# verify-full: libpq's host-name rule
# ==================================================================================================

# (common name, DNS SANs, IP SANs, host, libpq's verdict: None when the name matches, else its message)
HOST_CASES: list[tuple[str, tuple[str, ...], tuple[str, ...], str, str | None]] = [
    ("localhost", ("localhost",), (), "localhost", None),
    ("localhost", ("localhost",), (), "LocalHost", None),
    (
        "localhost",
        ("localhost",),
        (),
        "localhost.",
        'server certificate for "localhost" does not match host name "localhost."',
    ),
    ("x", ("*.example.com",), (), "db.example.com", None),
    (
        "x",
        ("*.example.com",),
        (),
        "a.db.example.com",
        'server certificate for "*.example.com" does not match host name "a.db.example.com"',
    ),
    (
        "x",
        ("*.example.com",),
        (),
        "example.com",
        'server certificate for "*.example.com" does not match host name "example.com"',
    ),
    (
        "x",
        ("db*.example.com",),
        (),
        "db1.example.com",
        'server certificate for "db*.example.com" does not match host name "db1.example.com"',
    ),
    (
        "x",
        ("db.*.com",),
        (),
        "db.example.com",
        'server certificate for "db.*.com" does not match host name "db.example.com"',
    ),
    # The CN counts only when there is no SAN of the host's kind...
    ("db.example.com", (), (), "db.example.com", None),
    (
        "db.example.com",
        ("other.example.com",),
        (),
        "db.example.com",
        'server certificate for "other.example.com" does not match host name "db.example.com"',
    ),
    ("*.example.com", (), (), "db.example.com", None),
    # ... so an IP literal host may match the CN next to DNS SANs (libpq deviates from RFC 6125 here).
    ("127.0.0.1", ("localhost",), (), "127.0.0.1", None),
    (
        "127.0.0.1",
        (),
        ("10.0.0.1",),
        "127.0.0.1",
        'server certificate for "10.0.0.1" does not match host name "127.0.0.1"',
    ),
    ("x", (), ("127.0.0.1",), "127.0.0.1", None),
    ("x", (), ("127.0.0.1",), "127.1", None),
    ("x", (), ("::1",), "0:0:0:0:0:0:0:1", None),
    (
        "x",
        (),
        ("::ffff:10.0.0.1",),
        "::1",
        'server certificate for "::ffff:10.0.0.1" does not match host name "::1"',
    ),
    ("x", ("127.0.0.1",), (), "127.0.0.1", None),
    ("x", ("localhost",), ("127.0.0.1",), "localhost", None),
    (
        "x",
        ("a.example.com",),
        ("10.0.0.1",),
        "c.example.com",
        'server certificate for "a.example.com" (and 1 other name) does not match host name "c.example.com"',
    ),
    (
        "x",
        ("a.example.com", "b.example.com"),
        ("10.0.0.1",),
        "c.example.com",
        'server certificate for "a.example.com" (and 2 other names) does not match host name "c.example.com"',
    ),
    (
        "c.example.com",
        ("a.example.com",),
        (),
        "10.0.0.1",
        'server certificate for "a.example.com" (and 1 other name) does not match host name "10.0.0.1"',
    ),
]


def case_id(case: tuple[str, tuple[str, ...], tuple[str, ...], str, str | None]) -> str:
    cn, dns, ips, host, verdict = case
    return f"{host}-vs-{'+'.join((*dns, *ips)) or 'cn:' + cn}-{'ok' if verdict is None else 'mismatch'}"


@pytest.mark.parametrize("case", HOST_CASES, ids=case_id)
def test_verify_host(
    authority: CertificateAuthority, case: tuple[str, tuple[str, ...], tuple[str, ...], str, str | None]
) -> None:
    cn, dns, ips, host, verdict = case
    files = authority.issue("server", cn, dns_names=dns, ip_addresses=ips)
    der = x509.load_pem_x509_certificate(files.cert.read_bytes()).public_bytes(serialization.Encoding.DER)
    if verdict is None:
        verify_host(der, host, "127.0.0.1")
    else:
        with raises_exactly(ConnectionFailure, verdict):
            verify_host(der, host, "127.0.0.1")


def test_verify_host_agrees_with_libpq(
    home: str, authority: CertificateAuthority, fake_server: type[FakeServer]
) -> None:
    """Every HOST_CASES row, live: libpq and both of our stacks reach the server, or fail alike."""
    root = str(authority.files.cert)
    settings = TLSSettings(sslmode="verify-full", sslrootcert=root, home=home)
    scenarios = []
    for index, (cn, dns, ips, host, verdict) in enumerate(HOST_CASES):
        server = fake_server(authority.issue(f"server{index}", cn, dns_names=dns, ip_addresses=ips))
        expected = "reached" if verdict is None else verdict
        assert libpq_outcome(server.port, host, sslmode="verify-full", sslrootcert=root) == expected, (
            host,
            cn,
            dns,
            ips,
        )
        assert our_outcome(settings, server.port, host) == expected, (host, cn, dns, ips)
        scenarios.append({"settings": settings, "port": server.port, "host": host})
    for (cn, dns, ips, host, verdict), outcome in zip(HOST_CASES, twisted_connect(scenarios), strict=True):
        assert (outcome.first == "E") if verdict is None else (outcome.message == verdict), (
            host,
            cn,
            dns,
            ips,
            outcome,
        )


SigningHash = hashes.SHA256 | hashes.SHA384 | hashes.SHA512
SHA256 = hashes.SHA256()


def self_signed_der(
    *,
    subject: list[x509.NameAttribute[str]] | None = None,
    alt_names: list[x509.GeneralName] | None = None,
    algorithm: SigningHash | None = SHA256,
    key: Any = None,
) -> bytes:
    """A throw-away certificate with exactly the names (and signature hash) a unit test needs."""
    if key is None:
        key = (
            ec.generate_private_key(ec.SECP256R1())
            if algorithm is not None
            else ed25519.Ed25519PrivateKey.generate()
        )
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name(subject if subject is not None else [x509.NameAttribute(NameOID.COMMON_NAME, "x")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    return builder.sign(key, algorithm).public_bytes(serialization.Encoding.DER)


def test_verify_host_edge_cases() -> None:
    org_only = self_signed_der(subject=[x509.NameAttribute(NameOID.ORGANIZATION_NAME, "no names")])
    with raises_exactly(ConnectionFailure, "could not get server's host name from server certificate"):
        verify_host(org_only, "localhost", None)
    with raises_exactly(ConnectionFailure, "host name must be specified for a verified SSL connection"):
        verify_host(org_only, "", "127.0.0.1")
    null = self_signed_der(alt_names=[x509.DNSName("localhost\0.evil.com")])
    with raises_exactly(ConnectionFailure, "SSL certificate's name contains embedded null"):
        verify_host(null, "localhost", None)
    # Other SAN kinds are neither compared nor counted, and do not disable the CN fallback.
    uri = self_signed_der(
        subject=[x509.NameAttribute(NameOID.COMMON_NAME, "localhost")],
        alt_names=[x509.UniformResourceIdentifier("https://elsewhere/"), x509.RFC822Name("a@b.c")],
    )
    verify_host(uri, "localhost", None)
    # Only the first CN counts.
    two_cns = self_signed_der(
        subject=[
            x509.NameAttribute(NameOID.COMMON_NAME, "first"),
            x509.NameAttribute(NameOID.COMMON_NAME, "second"),
        ]
    )
    verify_host(two_cns, "first", None)
    with raises_exactly(
        ConnectionFailure, 'server certificate for "first" does not match host name "second"'
    ):
        verify_host(two_cns, "second", None)
    with pytest.raises(ConnectionFailure, match=r"^could not parse server certificate: "):
        verify_host(b"not DER", "localhost", None)


# ==================================================================================================
# Live against PostgreSQL: both stacks
# ==================================================================================================


def server_root(own_server: TestServer) -> str:
    assert own_server.ca_file is not None
    return str(own_server.ca_file)


def test_verify_full_live(own_server: TestServer, home: str) -> None:
    assert own_server.port is not None
    settings = TLSSettings(sslmode="verify-full", sslrootcert=server_root(own_server), home=home)
    mismatch = (
        'server certificate for "localhost" (and 2 other names) does not match host name "wrong.invalid"'
    )
    cases = [
        ("localhost", "127.0.0.1", None),
        ("127.0.0.1", "127.0.0.1", None),
        ("wrong.invalid", "127.0.0.1", mismatch),
    ]
    for host, hostaddr, error in cases:
        outcome = blocking_connect(settings, own_server.port, host, hostaddr)
        assert (outcome.ok, outcome.message) == ((True, "") if error is None else (False, error))
        if error is None:
            assert outcome.first == "R"
    twisted = twisted_connect(
        [{"settings": settings, "port": own_server.port, "host": h, "hostaddr": a} for h, a, _ in cases]
    )
    for (_, _, error), outcome in zip(cases, twisted, strict=True):
        assert (outcome.ok, outcome.message) == ((True, "") if error is None else (False, error))
    # libpq says the same.
    with pytest.raises(psycopg2.OperationalError, match=re.escape(mismatch)):
        psycopg2.connect(
            own_server.dsn(
                "trust",
                host="wrong.invalid",
                hostaddr="127.0.0.1",
                sslmode="verify-full",
                sslrootcert=server_root(own_server),
            )
        )


def test_only_hostaddr_cannot_be_verified(own_server: TestServer, home: str) -> None:
    assert own_server.port is not None
    settings = TLSSettings(sslmode="verify-full", sslrootcert=server_root(own_server), home=home)
    outcome = blocking_connect(settings, own_server.port, "", "127.0.0.1")
    assert outcome.message == "host name must be specified for a verified SSL connection"


@pytest.mark.parametrize("sslmode", ["verify-ca", "verify-full", "require", "prefer"])
def test_a_root_that_did_not_sign_the_server_fails(
    own_server: TestServer, home: str, other_authority: CertificateAuthority, sslmode: str
) -> None:
    """verify-ca/full, and (legacy rule) weaker modes too once a root certificate file exists."""
    assert own_server.port is not None
    settings = TLSSettings(sslmode=sslmode, sslrootcert=str(other_authority.files.cert), home=home)
    expected = "SSL error: certificate verify failed"
    assert blocking_connect(settings, own_server.port, "localhost").message == expected
    assert twisted_one(settings, own_server.port, "localhost").message == expected
    dsn = own_server.dsn("trust", sslmode=sslmode, sslrootcert=str(other_authority.files.cert))
    if settings.requires_tls:
        with pytest.raises(psycopg2.OperationalError, match=expected):
            psycopg2.connect(dsn)
        return
    # libpq then retries without TLS: that fallback is the driver's business, not this module's.
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            assert cur.fetchone() == (False,)
    finally:
        conn.close()


def test_require_without_root_certificate_accepts_any_server(own_server: TestServer, home: str) -> None:
    assert own_server.port is not None
    settings = TLSSettings(sslmode="require", sslrootcert=home + "/missing.crt", home=home)
    assert blocking_connect(settings, own_server.port, "wrong.invalid").first == "R"
    assert twisted_one(settings, own_server.port, "wrong.invalid").first == "R"


def test_client_certificate_authentication(own_server: TestServer, home: str) -> None:
    assert own_server.port is not None
    assert own_server.cert_role is not None
    assert own_server.client_cert is not None
    assert own_server.client_key is not None
    root = server_root(own_server)
    with_cert = TLSSettings(
        sslmode="verify-full",
        sslrootcert=root,
        sslcert=str(own_server.client_cert),
        sslkey=str(own_server.client_key),
        home=home,
    )
    without = TLSSettings(sslmode="verify-full", sslrootcert=root, home=home)
    explicit_missing = TLSSettings(
        sslmode="verify-full", sslrootcert=root, sslcert=home + "/missing.crt", home=home
    )
    user = own_server.cert_role
    assert blocking_connect(with_cert, own_server.port, "localhost", user=user).auth_ok
    assert blocking_connect(without, own_server.port, "localhost", user=user).first == "E"
    assert blocking_connect(explicit_missing, own_server.port, "localhost", user=user).first == "E"
    outcomes = twisted_connect(
        [
            {"settings": s, "port": own_server.port, "host": "localhost", "user": user}
            for s in (with_cert, without, explicit_missing)
        ]
    )
    assert [(o.auth_ok, o.first) for o in outcomes] == [(True, "R"), (False, "E"), (False, "E")]
    # libpq too goes on without the missing explicit certificate; the server is the one refusing.
    with pytest.raises(psycopg2.OperationalError, match="connection requires a valid client certificate"):
        psycopg2.connect(own_server.dsn(sslmode="require", user=user, sslcert=home + "/missing.crt"))


def test_encrypted_and_der_keys_authenticate(own_server: TestServer, home: str) -> None:
    assert own_server.port is not None
    assert own_server.cert_role is not None
    assert own_server.client_cert is not None
    assert own_server.client_key is not None
    encrypted = write_key(
        Path(home, "enc.key"),
        own_server.client_key,
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        b"s3cret",
    )
    der = write_key(
        Path(home, "der.key"),
        own_server.client_key,
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        None,
    )
    cert = str(own_server.client_cert)
    good = [
        TLSSettings(sslmode="require", sslcert=cert, sslkey=str(encrypted), sslpassword="s3cret", home=home),
        TLSSettings(sslmode="require", sslcert=cert, sslkey=str(der), home=home),
    ]
    for settings in good:
        assert blocking_connect(settings, own_server.port, "localhost", user=own_server.cert_role).auth_ok
    outcomes = twisted_connect(
        [
            {"settings": s, "port": own_server.port, "host": "localhost", "user": own_server.cert_role}
            for s in good
        ]
    )
    assert [o.auth_ok for o in outcomes] == [True, True]
    wrong = TLSSettings(sslmode="require", sslcert=cert, sslkey=str(encrypted), sslpassword="nope", home=home)
    assert (
        twisted_one(wrong, own_server.port, "localhost").message
        == f'ConninfoError: could not load private key file "{encrypted}": bad decrypt'
    )


def test_protocol_version_bounds(own_server: TestServer, home: str) -> None:
    assert own_server.port is not None
    scenarios = [
        (TLSSettings(sslmode="require", home=home), "TLSv1.3"),
        (TLSSettings(sslmode="require", ssl_max_protocol_version="TLSv1.2", home=home), "TLSv1.2"),
        (TLSSettings(sslmode="require", ssl_min_protocol_version="TLSv1.3", home=home), "TLSv1.3"),
    ]
    for settings, version in scenarios:
        assert blocking_connect(settings, own_server.port, "localhost").version == version
    outcomes = twisted_connect(
        [{"settings": s, "port": own_server.port, "host": "localhost"} for s, _ in scenarios]
    )
    assert [o.version for o in outcomes] == [v for _, v in scenarios]


def test_no_common_protocol_version_gives_libpqs_hint(own_server: TestServer, home: str) -> None:
    """The server wants TLSv1.2 or later; libpq (OpenSSL 3, security level 1+) cannot even offer TLSv1.1."""
    assert own_server.port is not None
    settings = TLSSettings(
        sslmode="require", ssl_min_protocol_version="TLSv1", ssl_max_protocol_version="TLSv1.1", home=home
    )
    hint = (
        "\nThis may indicate that the server does not support any SSL protocol version "
        "between TLSv1 and TLSv1.1."
    )
    with pytest.raises(psycopg2.OperationalError) as info:
        psycopg2.connect(
            own_server.dsn(
                "trust",
                sslmode="require",
                ssl_min_protocol_version="TLSv1",
                ssl_max_protocol_version="TLSv1.1",
            )
        )
    libpq = str(info.value).split(" failed: ", 1)[1].rstrip("\n")
    assert libpq.endswith(hint)
    ours = blocking_connect(settings, own_server.port, "localhost").message
    assert ours.startswith("SSL error: ")
    assert ours.endswith(hint)
    theirs = twisted_one(settings, own_server.port, "localhost").message
    assert theirs.startswith("SSL error: ")
    assert theirs.endswith(hint)


def test_sslrootcert_system_uses_the_platform_store(
    own_server: TestServer, home: str, other_authority: CertificateAuthority, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenSSL's default store honours SSL_CERT_FILE: point it at the server's CA, then at another."""
    assert own_server.port is not None
    settings = TLSSettings(sslmode="verify-full", sslrootcert="system", home=home)
    for ca, expected in [
        (server_root(own_server), "R"),
        (str(other_authority.files.cert), "SSL error: certificate verify failed"),
    ]:
        monkeypatch.setenv("SSL_CERT_FILE", ca)
        monkeypatch.setenv("SSL_CERT_DIR", home)
        outcome = blocking_connect(settings, own_server.port, "localhost")
        assert (outcome.first if outcome.ok else outcome.message) == expected
        outcome = twisted_one(
            settings, own_server.port, "localhost", env={"SSL_CERT_FILE": ca, "SSL_CERT_DIR": home}
        )
        assert (outcome.first if outcome.ok else outcome.message) == expected
        assert libpq_verdict(
            own_server.dsn("trust", host="localhost", hostaddr="127.0.0.1", sslrootcert="system")
        ) == ("reached" if expected == "R" else expected)
    monkeypatch.setenv("SSL_CERT_FILE", server_root(own_server))
    outcome = blocking_connect(settings, own_server.port, "wrong.invalid")
    assert "does not match host name" in outcome.message


# -- certificate revocation lists ------------------------------------------------------------------


def write_crl(authority: CertificateAuthority, path: Path, revoked: list[int]) -> Path:
    """A CRL from ``authority`` (signed with its key, which CertificateAuthority keeps private)."""
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(authority._cert.subject)
        .last_update(now - datetime.timedelta(minutes=5))
        .next_update(now + datetime.timedelta(days=1))
    )
    for serial in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
        )
    path.write_bytes(builder.sign(authority._key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    return path


def test_crls(
    home: str, tmp_path: Path, authority: CertificateAuthority, fake_server: type[FakeServer]
) -> None:
    files = authority.issue("server", "localhost", dns_names=("localhost",))
    serial = x509.load_pem_x509_certificate(files.cert.read_bytes()).serial_number
    server = fake_server(files)
    root = str(authority.files.cert)
    revoked = write_crl(authority, tmp_path / "revoked.crl", [serial])
    clean = write_crl(authority, tmp_path / "clean.crl", [])
    empty_dir = tmp_path / "crldir"
    empty_dir.mkdir()
    verify_failed = "SSL error: certificate verify failed"
    cases = [
        ({"sslcrl": str(clean)}, "reached"),
        ({"sslcrl": str(revoked)}, verify_failed),
        ({"sslcrl": str(tmp_path / "missing.crl")}, "reached"),  # an unloadable CRL is ignored
        ({"sslcrldir": str(empty_dir)}, verify_failed),  # CRL checking on, but no CRL for the CA
    ]
    settings = [
        TLSSettings(
            sslmode="verify-ca",
            sslrootcert=root,
            home=home,
            sslcrl=p.get("sslcrl"),
            sslcrldir=p.get("sslcrldir"),
        )
        for p, _ in cases
    ]
    for (params, expected), ours in zip(cases, settings, strict=True):
        assert (
            libpq_outcome(server.port, "localhost", sslmode="verify-ca", sslrootcert=root, **params)
            == expected
        )
        assert our_outcome(ours, server.port, "localhost") == expected
    outcomes = twisted_connect([{"settings": s, "port": server.port, "host": "localhost"} for s in settings])
    assert [("reached" if o.first == "E" else o.message) for o in outcomes] == [e for _, e in cases]
    # The default ~/.postgresql/root.crl applies when neither option is given.
    directory = Path(home, ".postgresql")
    directory.mkdir()
    shutil.copy(revoked, directory / "root.crl")
    assert (
        our_outcome(TLSSettings(sslmode="verify-ca", sslrootcert=root, home=home), server.port, "localhost")
        == verify_failed
    )


# ==================================================================================================
# Handshake failures and channel binding
# ==================================================================================================


def test_handshake_failure_messages() -> None:
    settings = TLSSettings()
    mismatch = ConnectionFailure("server certificate for ...")
    assert handshake_failure(mismatch, settings) is mismatch
    eof = "SSL SYSCALL error: EOF detected"
    assert (
        str(handshake_failure(ssl.SSLEOFError(8, "EOF occurred in violation of protocol"), settings)) == eof
    )
    assert str(handshake_failure(ConnectionDone(), settings)) == eof
    assert str(handshake_failure(SSL.SysCallError(-1, "Unexpected EOF"), settings)) == eof
    # libpq 17's socket layer reports the reset, then its TLS layer (measured through a fault proxy)
    assert str(handshake_failure(ConnectionResetError(104, "Connection reset by peer"), settings)) == (
        "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n"
        "\tbefore or while processing the request.\nSSL SYSCALL error: Connection reset by peer"
    )
    assert str(
        handshake_failure(SSL.Error([("SSL routines", "", "certificate verify failed")]), settings)
    ) == ("SSL error: certificate verify failed")
    wrong_version = str(
        handshake_failure(SSL.Error([("SSL routines", "", "wrong version number")]), settings)
    )
    assert wrong_version == (
        "SSL error: wrong version number\nThis may indicate that the server does not support any SSL "
        "protocol version between TLSv1.2 and TLSv1.3."
    )
    stdlib = ssl.SSLError(1, "[SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version (_ssl.c:1006)")
    assert str(handshake_failure(stdlib, TLSSettings(ssl_min_protocol_version=None))).startswith(
        "SSL error: tlsv1 alert protocol version\nThis may indicate that the server does not support any SSL "
        "protocol version between TLSv1 and TLSv1.3."
    )


@pytest.mark.parametrize(
    ("algorithm", "name"),
    [(hashes.SHA256(), "sha256"), (hashes.SHA384(), "sha384"), (hashes.SHA512(), "sha512")],
)
def test_tls_server_end_point_hashes_with_the_signature_hash(algorithm: SigningHash, name: str) -> None:
    der = self_signed_der(algorithm=algorithm)
    assert tls_server_end_point(der) == hashlib.new(name, der).digest()


def test_tls_server_end_point_needs_a_signature_hash() -> None:
    """Ed25519 signs without a separate hash: libpq has no channel-binding data for it either."""
    with raises_exactly(ConnectionFailure, "could not find digest for NID UNDEF"):
        tls_server_end_point(self_signed_der(algorithm=None))


# sha256WithRSAEncryption, sha1WithRSAEncryption and md5WithRSAEncryption: OIDs of the same length.
SHA256_WITH_RSA = bytes.fromhex("06092a864886f70d01010b")
SHA1_WITH_RSA = bytes.fromhex("06092a864886f70d010105")
MD5_WITH_RSA = bytes.fromhex("06092a864886f70d010104")


@pytest.mark.parametrize("oid", [SHA1_WITH_RSA, MD5_WITH_RSA], ids=["sha1", "md5"])
def test_tls_server_end_point_upgrades_md5_and_sha1_to_sha256(oid: bytes) -> None:
    """cryptography no longer signs with SHA-1 or MD5: relabel a SHA-256 signature (the hash only
    reads the algorithm identifier, it does not check the signature)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = self_signed_der(algorithm=hashes.SHA256(), key=key)
    assert der.count(SHA256_WITH_RSA) == 2  # in the TBSCertificate and in the outer Certificate
    relabelled = der.replace(SHA256_WITH_RSA, oid)
    weak = x509.load_der_x509_certificate(relabelled).signature_hash_algorithm
    assert isinstance(weak, (hashes.SHA1, hashes.MD5))
    assert tls_server_end_point(relabelled) == hashlib.sha256(relabelled).digest()


def test_tls_server_end_point_of_the_live_server(own_server: TestServer, home: str) -> None:
    assert own_server.port is not None
    settings = TLSSettings(sslmode="verify-full", sslrootcert=server_root(own_server), home=home)
    der = blocking_connect(settings, own_server.port, "localhost").der
    assert der == twisted_one(settings, own_server.port, "localhost").der
    cert = x509.load_der_x509_certificate(der)
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert tls_server_end_point(der) == hashlib.sha256(der).digest()
