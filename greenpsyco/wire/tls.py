"""The client side of TLS exactly as libpq configures it, for the blocking and the Twisted driver.

libpq's rules are spread over ``fe-connect.c`` (option validation), ``fe-secure-openssl.c`` (which files
are loaded, and what is verified) and ``fe-secure-common.c`` (the verify-full host-name rule). They are
reproduced here once and applied to two TLS stacks:

* the blocking driver uses the stdlib :mod:`ssl` module: :func:`stdlib_context`, then
  :func:`stdlib_handshake` (or ``wrap_socket`` followed by :func:`verify_host`);
* the Twisted driver calls ``transport.startTLS(twisted_creator(...))``: a pyOpenSSL context with the
  same files and versions, whose host check is :func:`verify_host` too, never Twisted's own
  ``optionsForClientTLS`` check (RFC 6125 there, libpq's older and different rules here).

Certificate names are read with ``cryptography`` (a dependency of pyOpenSSL, hence of ``Twisted[tls]``),
so both stacks decide host names with the same code. Option values that libpq refuses raise
:class:`~greenpsyco.wire.errors.ConninfoError` (when a :class:`TLSSettings` is made, or when a context
is built from files that are missing or unusable); failures of the handshake itself become
:class:`~greenpsyco.wire.errors.ConnectionFailure` through :func:`handshake_failure`. Messages are
libpq's wording. What to do after a failure (sslmode=prefer retries without TLS, allow retries with
TLS) is the driver's business.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import re
import secrets
import socket
import ssl
import stat
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import NameOID
from OpenSSL import SSL, crypto
from twisted.internet.error import ConnectionClosed
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator
from twisted.protocols.tls import TLSMemoryBIOProtocol
from twisted.python.failure import Failure
from zope.interface import implementer

from greenpsyco.wire.errors import LOST_MESSAGE, ConnectionFailure, ConninfoError, TLSHandshakeFailure

__all__ = [
    "PROTOCOL_VERSIONS",
    "SSLMODES",
    "TLSClientCreator",
    "TLSSettings",
    "handshake_failure",
    "peer_certificate_der_openssl",
    "peer_certificate_der_stdlib",
    "sni_name",
    "stdlib_context",
    "stdlib_handshake",
    "tls_server_end_point",
    "twisted_creator",
    "verify_host",
]

SSLMODES: Final = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# Accepted case-insensitively, as libpq's pg_strcasecmp does; ordered from oldest to newest.
PROTOCOL_VERSIONS: Final = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")

# libpq's defaults below ~/.postgresql/ (fe-secure-openssl.c).
ROOT_CERT_FILE: Final = "root.crt"
ROOT_CRL_FILE: Final = "root.crl"
USER_CERT_FILE: Final = "postgresql.crt"
USER_KEY_FILE: Final = "postgresql.key"

# libpq 17 always offers this ALPN protocol; servers before 17 ignore it.
ALPN_PROTOCOL: Final = "postgresql"

_NO_ROOT_CERT_HINT: Final = (
    "Either provide the file, use the system's trusted roots with sslrootcert=system, "
    "or change sslmode to disable server certificate verification."
)

# OpenSSL reasons after which libpq adds a hint about the protocol version range (open_client_SSL).
_PROTOCOL_VERSION_REASONS: Final = frozenset(
    {
        "NO_PROTOCOLS_AVAILABLE",
        "UNSUPPORTED_PROTOCOL",
        "BAD_PROTOCOL_VERSION_NUMBER",
        "UNKNOWN_PROTOCOL",
        "UNKNOWN_SSL_VERSION",
        "UNSUPPORTED_SSL_VERSION",
        "WRONG_SSL_VERSION",
        "WRONG_VERSION_NUMBER",
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "VERSION_TOO_HIGH",
        "VERSION_TOO_LOW",
    }
)


def _version_index(value: str | None) -> int | None:
    """Position of a protocol version name in :data:`PROTOCOL_VERSIONS`; None when unset or unknown."""
    if not value:
        return None
    lowered = value.lower()
    for index, name in enumerate(PROTOCOL_VERSIONS):
        if name.lower() == lowered:
            return index
    return None


@dataclass(frozen=True)
class TLSSettings:
    """The TLS-related connection options, validated as libpq's ``connectOptions2`` does.

    File options left at None fall back to libpq's defaults below ``<home>/.postgresql/``. Making an
    instance with a value libpq would refuse raises :class:`ConninfoError`; files are only looked at
    when a context is built (libpq reads them once the server has accepted the SSLRequest).
    """

    sslmode: str = "prefer"
    sslrootcert: str | None = None
    sslcert: str | None = None
    sslkey: str | None = None
    sslpassword: str | None = None
    sslcrl: str | None = None
    sslcrldir: str | None = None
    sslsni: bool = True
    ssl_min_protocol_version: str | None = "TLSv1.2"
    ssl_max_protocol_version: str | None = None
    home: str | None = None

    def __post_init__(self) -> None:
        if self.sslmode not in SSLMODES:
            raise ConninfoError(f'invalid sslmode value: "{self.sslmode}"')
        if self.sslrootcert == "system" and self.sslmode != "verify-full":
            # The system store trusts every public CA: only a host-name check makes that meaningful.
            raise ConninfoError(
                f'weak sslmode "{self.sslmode}" may not be used with sslrootcert=system (use "verify-full")'
            )
        for keyword, value in (
            ("ssl_min_protocol_version", self.ssl_min_protocol_version),
            ("ssl_max_protocol_version", self.ssl_max_protocol_version),
        ):
            if value and _version_index(value) is None:
                raise ConninfoError(f'invalid "{keyword}" value: "{value}"')
        minimum = _version_index(self.ssl_min_protocol_version)
        maximum = _version_index(self.ssl_max_protocol_version)
        if minimum is not None and maximum is not None and minimum > maximum:
            raise ConninfoError("invalid SSL protocol version range")

    @classmethod
    def from_params(cls, values: Mapping[str, str]) -> TLSSettings:
        """Settings from libpq keyword values (strings); other keywords in ``values`` are ignored.

        ``values`` should hold what the user gave (in the conninfo or through the environment), not
        libpq's compiled defaults: as in libpq, an absent ``sslmode`` becomes ``verify-full`` when
        ``sslrootcert=system``, and ``prefer`` otherwise. Empty file options mean "unset"; an empty
        protocol version means "no bound"; ``sslsni`` is on when its value starts with ``1``.
        """

        def file_option(keyword: str) -> str | None:
            return values.get(keyword) or None

        sslrootcert = file_option("sslrootcert")
        sslmode = values.get("sslmode")
        if sslmode is None:
            sslmode = "verify-full" if sslrootcert == "system" else "prefer"
        return cls(
            sslmode=sslmode,
            sslrootcert=sslrootcert,
            sslcert=file_option("sslcert"),
            sslkey=file_option("sslkey"),
            sslpassword=file_option("sslpassword"),
            sslcrl=file_option("sslcrl"),
            sslcrldir=file_option("sslcrldir"),
            sslsni=values.get("sslsni", "1").startswith("1"),
            ssl_min_protocol_version=values.get("ssl_min_protocol_version", "TLSv1.2") or None,
            ssl_max_protocol_version=values.get("ssl_max_protocol_version") or None,
        )

    @property
    def wants_tls(self) -> bool:
        """Whether TLS is ever attempted (every mode but ``disable``)."""
        return self.sslmode != "disable"

    @property
    def tries_plain_first(self) -> bool:
        """``allow``: connect without TLS first, and try TLS only if the server refuses that."""
        return self.sslmode == "allow"

    @property
    def requires_tls(self) -> bool:
        """Whether a connection without TLS is unacceptable (no fallback to plain text)."""
        return self.sslmode in ("require", "verify-ca", "verify-full")

    @property
    def verifies_chain(self) -> bool:
        """Whether the server's certificate chain is verified against the root certificates.

        Always for verify-ca/verify-full; and, by libpq's legacy rule, in allow/prefer/require as soon
        as the root certificate file (``sslrootcert`` or ``~/.postgresql/root.crt``) exists. This looks
        at the file system.
        """
        if self.sslmode in ("verify-ca", "verify-full"):
            return True
        if self.sslmode == "disable":
            return False
        root = self._root_cert_path()
        return root == "system" or (root is not None and _exists(root))

    @property
    def verifies_host(self) -> bool:
        """Whether the server's certificate must name the host (:func:`verify_host`)."""
        return self.sslmode == "verify-full" or self.sslrootcert == "system"

    # -- files --------------------------------------------------------------------------------

    def _home_directory(self) -> str | None:
        home = self.home if self.home is not None else os.path.expanduser("~")
        return home if home and home != "~" else None

    def _default_file(self, name: str) -> str | None:
        home = self._home_directory()
        return os.path.join(home, ".postgresql", name) if home is not None else None

    def _root_cert_path(self) -> str | None:
        return self.sslrootcert or self._default_file(ROOT_CERT_FILE)


def _exists(path: str) -> bool:
    """libpq's ``stat(path) == 0``."""
    try:
        os.stat(path)
    except (OSError, ValueError):
        return False
    return True


def _strerror(exc: OSError) -> str:
    return exc.strerror or str(exc)


# -- building a context: one sequence, two TLS stacks --------------------------------------------


class _LoadError(Exception):
    """A TLS library refused a file; the message is its reason, for libpq's "could not read ...: %s"."""


class _Backend(Protocol):
    """The operations of ``initialize_SSL`` that differ between the stdlib and pyOpenSSL."""

    def set_protocol_range(self, minimum: int | None, maximum: int | None) -> None: ...

    def load_system_roots(self) -> None: ...

    def load_root_file(self, path: str) -> None: ...

    def load_crls(self, crl_file: str | None, crl_dir: str | None) -> bool: ...

    def load_client_certificate(self, client: _ClientCertificate) -> None: ...

    def set_verify_peer(self, verify: bool) -> None: ...


@dataclass(frozen=True)
class _ClientCertificate:
    """A client certificate file and its private key, already read and checked against each other."""

    cert_path: str
    key_path: str
    key: PrivateKeyTypes
    key_is_pem: bool


def _configure(settings: TLSSettings, backend: _Backend) -> None:
    """Apply libpq's ``initialize_SSL`` to a backend, in libpq's order (so the same error wins)."""
    backend.set_protocol_range(
        _version_index(settings.ssl_min_protocol_version),
        _version_index(settings.ssl_max_protocol_version),
    )
    root = settings._root_cert_path()
    have_root = False
    if root == "system":
        backend.load_system_roots()
        have_root = True
    elif root is not None and _exists(root):
        try:
            backend.load_root_file(root)
        except _LoadError as exc:
            raise ConninfoError(f'could not read root certificate file "{root}": {exc}') from None
        crl_file = settings.sslcrl or None
        crl_dir = settings.sslcrldir or None
        if crl_file is None and crl_dir is None:
            crl_file = settings._default_file(ROOT_CRL_FILE)
        if crl_file is not None or crl_dir is not None:
            # A CRL that cannot be loaded is silently ignored: libpq does not require one.
            backend.load_crls(crl_file, crl_dir)
        have_root = True
    elif settings.sslmode.startswith("verify-"):
        if root is None:
            raise ConninfoError(
                "could not get home directory to locate root certificate file\n" + _NO_ROOT_CERT_HINT
            )
        raise ConninfoError(f'root certificate file "{root}" does not exist\n' + _NO_ROOT_CERT_HINT)
    client = _client_certificate(settings)
    if client is not None:
        backend.load_client_certificate(client)
    backend.set_verify_peer(have_root)


def _client_certificate(settings: TLSSettings) -> _ClientCertificate | None:
    """The client certificate to present, with libpq's checks; None to present none.

    A certificate file that does not exist is skipped silently, be it the default
    ``~/.postgresql/postgresql.crt`` or an explicit ``sslcert`` (libpq only complains about other
    ``stat`` errors). Once there is a certificate, its key must exist, be a regular file and not be
    readable by group or others.
    """
    cert_path = settings.sslcert or settings._default_file(USER_CERT_FILE)
    if cert_path is None:
        return None
    try:
        os.stat(cert_path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise ConninfoError(f'could not open certificate file "{cert_path}": {_strerror(exc)}') from None
    leaf = _read_certificate_file(cert_path)
    key_path = settings.sslkey or settings._default_file(USER_KEY_FILE)
    if key_path is None:
        raise ConninfoError(
            "certificate present, but could not get home directory to locate private key file "
            f'"{USER_KEY_FILE}"'
        )
    _check_key_file(key_path)
    key, is_pem = _read_private_key(key_path, settings.sslpassword)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, spki) != leaf.public_key().public_bytes(
        serialization.Encoding.DER, spki
    ):
        raise ConninfoError(f'could not load private key file "{key_path}": key values mismatch')
    return _ClientCertificate(cert_path, key_path, key, is_pem)


def _read_certificate_file(path: str) -> x509.Certificate:
    """The first (leaf) certificate of a PEM chain file, as ``SSL_CTX_use_certificate_chain_file`` reads."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as exc:
        raise ConninfoError(f'could not read certificate file "{path}": {_strerror(exc)}') from None
    if b"-----BEGIN" not in data:
        raise ConninfoError(f'could not read certificate file "{path}": no start line')
    try:
        return x509.load_pem_x509_certificates(data)[0]
    except ValueError as exc:
        raise ConninfoError(f'could not read certificate file "{path}": {exc}') from None


def _check_key_file(path: str) -> None:
    """libpq's checks before it reads a private key: exists, regular file, private enough."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ConninfoError(f'certificate present, but not private key file "{path}"') from None
    except OSError as exc:
        raise ConninfoError(f'could not stat private key file "{path}": {_strerror(exc)}') from None
    if not stat.S_ISREG(info.st_mode):
        raise ConninfoError(f'private key file "{path}" is not a regular file')
    if os.name == "nt":
        return
    # Root-owned keys may be group-readable (system-wide keys read through a group membership).
    if info.st_uid == 0:
        too_open = info.st_mode & (stat.S_IWGRP | stat.S_IXGRP | stat.S_IRWXO)
    else:
        too_open = info.st_mode & (stat.S_IRWXG | stat.S_IRWXO)
    if too_open:
        raise ConninfoError(
            f'private key file "{path}" has group or world access; file must have permissions u=rw (0600) '
            "or less if owned by the current user, or permissions u=rw,g=r (0640) or less if owned by root"
        )


def _is_pem(data: bytes) -> bool:
    return data.lstrip().startswith(b"-----BEGIN")


def _read_private_key(path: str, password: str | None) -> tuple[PrivateKeyTypes, bool]:
    """The private key (PEM or DER, encrypted with ``sslpassword`` or not) and whether it is PEM.

    Unlike libpq, an encrypted key without ``sslpassword`` never prompts on the terminal.
    """
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as exc:
        raise ConninfoError(f'could not load private key file "{path}": {_strerror(exc)}') from None
    is_pem = _is_pem(data)
    load = serialization.load_pem_private_key if is_pem else serialization.load_der_private_key
    secret = password.encode() if password else None
    try:
        try:
            key = load(data, secret)
        except TypeError:
            if secret is None:
                raise
            key = load(data, None)  # a password for a key that is not encrypted: OpenSSL ignores it
    except TypeError:
        raise ConninfoError(
            f'could not load private key file "{path}": the key is encrypted and no sslpassword was given'
        ) from None
    except ValueError as exc:
        detail = "bad decrypt" if "decrypt" in str(exc).lower() else "unsupported"
        raise ConninfoError(f'could not load private key file "{path}": {detail}') from None
    except UnsupportedAlgorithm:
        raise ConninfoError(f'could not load private key file "{path}": unsupported') from None
    return key, is_pem


# -- the stdlib ssl module -------------------------------------------------------------------------

_STDLIB_VERSIONS: Final = (
    ssl.TLSVersion.TLSv1,
    ssl.TLSVersion.TLSv1_1,
    ssl.TLSVersion.TLSv1_2,
    ssl.TLSVersion.TLSv1_3,
)
_SSL_MESSAGE = re.compile(r"^\[[^\]]*\]\s*(?P<text>.*?)(?:\s*\(_ssl\.c:\d+\))?$")


def _ssl_error_text(exc: ssl.SSLError) -> str:
    """OpenSSL's reason string (what libpq's ``SSLerrmessage`` shows) from a stdlib ``SSLError``."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "certificate verify failed"
    text = exc.strerror if isinstance(exc.strerror, str) else str(exc)
    match = _SSL_MESSAGE.match(text)
    return match.group("text") if match else text


class _StdlibBackend:
    """Builds an :class:`ssl.SSLContext` like libpq's ``SSL_CTX``."""

    def __init__(self, password: str | None) -> None:
        self._password_bytes = password.encode() if password else b""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False  # libpq's own rule applies: verify_host()
        context.verify_mode = ssl.CERT_NONE
        context.verify_flags = ssl.VERIFY_X509_TRUSTED_FIRST  # OpenSSL's default, no STRICT/PARTIAL_CHAIN
        context.set_ciphers("DEFAULT")  # libpq keeps OpenSSL's default cipher list
        context.set_alpn_protocols([ALPN_PROTOCOL])
        self.context = context

    def set_protocol_range(self, minimum: int | None, maximum: int | None) -> None:
        with warnings.catch_warnings():
            # TLSv1 and TLSv1.1 are deprecated in the ssl module, but libpq still accepts them.
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                self.context.minimum_version = (
                    ssl.TLSVersion.MINIMUM_SUPPORTED if minimum is None else _STDLIB_VERSIONS[minimum]
                )
            except (ValueError, ssl.SSLError) as exc:
                raise ConninfoError(f"could not set minimum SSL protocol version: {exc}") from None
            try:
                self.context.maximum_version = (
                    ssl.TLSVersion.MAXIMUM_SUPPORTED if maximum is None else _STDLIB_VERSIONS[maximum]
                )
            except (ValueError, ssl.SSLError) as exc:
                raise ConninfoError(f"could not set maximum SSL protocol version: {exc}") from None

    def load_system_roots(self) -> None:
        self.context.set_default_verify_paths()

    def load_root_file(self, path: str) -> None:
        try:
            self.context.load_verify_locations(cafile=path)
        except ssl.SSLError as exc:
            raise _LoadError(_ssl_error_text(exc)) from None
        except OSError as exc:
            raise _LoadError(_strerror(exc)) from None

    def load_crls(self, crl_file: str | None, crl_dir: str | None) -> bool:
        try:
            self.context.load_verify_locations(cafile=crl_file, capath=crl_dir)
        except (ssl.SSLError, OSError):
            return False
        self.context.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN
        return True

    def load_client_certificate(self, client: _ClientCertificate) -> None:
        try:
            if client.key_is_pem:
                self.context.load_cert_chain(client.cert_path, client.key_path, password=self._password)
            else:
                # The ssl module reads PEM keys only: hand it the DER key re-encrypted with a one-time
                # password, so no usable key material touches the disk.
                one_time = secrets.token_bytes(32)
                pem = client.key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.BestAvailableEncryption(one_time),
                )
                with tempfile.NamedTemporaryFile(prefix="greenpsyco-key-", suffix=".pem") as file:
                    file.write(pem)
                    file.flush()
                    self.context.load_cert_chain(client.cert_path, file.name, password=one_time)
        except ssl.SSLError as exc:
            raise ConninfoError(
                f'could not load private key file "{client.key_path}": {_ssl_error_text(exc)}'
            ) from None
        except (OSError, ValueError) as exc:
            raise ConninfoError(f'could not load private key file "{client.key_path}": {exc}') from None

    def _password(self) -> bytes:
        # A callable, so that OpenSSL never falls back to prompting on the terminal.
        return self._password_bytes

    def set_verify_peer(self, verify: bool) -> None:
        self.context.verify_mode = ssl.CERT_REQUIRED if verify else ssl.CERT_NONE


def stdlib_context(settings: TLSSettings) -> ssl.SSLContext | None:
    """An :class:`ssl.SSLContext` for the blocking driver; None when ``sslmode=disable``.

    Chain verification is on when :attr:`TLSSettings.verifies_chain` says so; host names are not
    checked by :mod:`ssl` (``check_hostname`` is False): call :func:`verify_host` after the handshake
    when :attr:`TLSSettings.verifies_host` (as :func:`stdlib_handshake` does). Pass
    ``server_hostname=sni_name(host, settings)`` to ``wrap_socket``. Raises :class:`ConninfoError`
    for missing or unusable files.
    """
    if not settings.wants_tls:
        return None
    backend = _StdlibBackend(settings.sslpassword)
    _configure(settings, backend)
    return backend.context


def stdlib_handshake(
    sock: socket.socket,
    settings: TLSSettings,
    host: str,
    hostaddr: str | None = None,
    context: ssl.SSLContext | None = None,
) -> ssl.SSLSocket:
    """Run the TLS handshake on a socket whose SSLRequest the server accepted (answered ``S``).

    Does what libpq's ``open_client_SSL`` does: handshake with SNI, then the verify-full host check.
    Any failure raises :class:`ConnectionFailure` with libpq's message and closes the socket.
    ``context`` defaults to ``stdlib_context(settings)``.
    """
    if context is None:
        context = stdlib_context(settings)
    if context is None:
        raise ValueError("sslmode=disable: there is no TLS to start")
    try:
        # Ragged EOFs raise (SSLEOFError) instead of reading as end of data: libpq words a stream cut
        # without the server's close_notify differently from a clean close.
        tls = context.wrap_socket(sock, server_hostname=sni_name(host, settings), suppress_ragged_eofs=False)
    except (ssl.SSLError, OSError) as exc:
        sock.close()
        raise handshake_failure(exc, settings) from exc
    except ValueError as exc:  # a host name the ssl module cannot send as SNI
        sock.close()
        raise ConnectionFailure(f"could not set SSL Server Name Indication (SNI): {exc}") from exc
    if settings.verifies_host:
        try:
            verify_host(peer_certificate_der_stdlib(tls), host, hostaddr)
        except ConnectionFailure:
            tls.close()
            raise
    return tls


def peer_certificate_der_stdlib(sock: ssl.SSLSocket) -> bytes:
    """The server's certificate (DER), also when the chain was not verified."""
    der = sock.getpeercert(binary_form=True)
    if not der:
        raise ConnectionFailure("certificate could not be obtained: no SSL error reported")
    return der


# -- pyOpenSSL, for Twisted ------------------------------------------------------------------------

_OPENSSL_VERSIONS: Final = (SSL.TLS1_VERSION, SSL.TLS1_1_VERSION, SSL.TLS1_2_VERSION, SSL.TLS1_3_VERSION)
_OPENSSL_KEY_TYPES: Final = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
    dsa.DSAPrivateKey,
)


def _openssl_error_text(exc: BaseException) -> str:
    """The first OpenSSL reason of a pyOpenSSL error (libpq reports the first one queued)."""
    entries = exc.args[0] if exc.args else None
    if isinstance(entries, list) and entries and isinstance(entries[0], tuple) and len(entries[0]) == 3:
        return str(entries[0][2])
    return str(exc)


class _OpenSSLBackend:
    """Builds a pyOpenSSL :class:`OpenSSL.SSL.Context` like libpq's ``SSL_CTX``."""

    def __init__(self) -> None:
        context = SSL.Context(SSL.TLS_CLIENT_METHOD)
        context.set_options(SSL.OP_ALL | SSL.OP_NO_COMPRESSION)
        context.set_alpn_protos([ALPN_PROTOCOL.encode()])
        context.set_verify(SSL.VERIFY_NONE)
        self.context = context

    def set_protocol_range(self, minimum: int | None, maximum: int | None) -> None:
        try:
            if minimum is not None:
                self.context.set_min_proto_version(_OPENSSL_VERSIONS[minimum])
        except SSL.Error as exc:
            raise ConninfoError(
                f"could not set minimum SSL protocol version: {_openssl_error_text(exc)}"
            ) from None
        try:
            if maximum is not None:
                self.context.set_max_proto_version(_OPENSSL_VERSIONS[maximum])
        except SSL.Error as exc:
            raise ConninfoError(
                f"could not set maximum SSL protocol version: {_openssl_error_text(exc)}"
            ) from None

    def load_system_roots(self) -> None:
        try:
            self.context.set_default_verify_paths()
        except SSL.Error as exc:
            raise ConninfoError(
                f"could not load system root certificate paths: {_openssl_error_text(exc)}"
            ) from None

    def load_root_file(self, path: str) -> None:
        try:
            self.context.load_verify_locations(path)
        except SSL.Error as exc:
            raise _LoadError(_openssl_error_text(exc)) from None

    def load_crls(self, crl_file: str | None, crl_dir: str | None) -> bool:
        store = self.context.get_cert_store()
        if store is None:
            return False
        try:
            store.load_locations(crl_file, crl_dir)
        except (crypto.Error, SSL.Error):
            return False
        store.set_flags(crypto.X509StoreFlags.CRL_CHECK | crypto.X509StoreFlags.CRL_CHECK_ALL)
        return True

    def load_client_certificate(self, client: _ClientCertificate) -> None:
        try:
            self.context.use_certificate_chain_file(client.cert_path)
        except SSL.Error as exc:
            raise ConninfoError(
                f'could not read certificate file "{client.cert_path}": {_openssl_error_text(exc)}'
            ) from None
        key = client.key
        if not isinstance(key, _OPENSSL_KEY_TYPES):
            raise ConninfoError(f'could not load private key file "{client.key_path}": unsupported')
        try:
            self.context.use_privatekey(key)
            self.context.check_privatekey()
        except SSL.Error as exc:
            raise ConninfoError(
                f'could not load private key file "{client.key_path}": {_openssl_error_text(exc)}'
            ) from None

    def set_verify_peer(self, verify: bool) -> None:
        self.context.set_verify(SSL.VERIFY_PEER if verify else SSL.VERIFY_NONE)


@implementer(IOpenSSLClientConnectionCreator)
class TLSClientCreator:
    """What ``transport.startTLS`` takes: makes the client :class:`OpenSSL.SSL.Connection`.

    The context is built by :func:`twisted_creator`. When the mode verifies the host, the info
    callback runs :func:`verify_host` on the peer certificate as soon as the handshake is done; a
    mismatch aborts the connection through ``TLSMemoryBIOProtocol.failVerification``, so the
    protocol's ``connectionLost`` receives the :class:`ConnectionFailure` (the mechanism Twisted's
    own ``ClientTLSOptions`` uses, with libpq's rule instead of Twisted's).
    """

    def __init__(self, context: SSL.Context, settings: TLSSettings, host: str, hostaddr: str | None) -> None:
        self.context = context
        self.settings = settings
        self.host = host
        self.hostaddr = hostaddr
        sni = sni_name(host, settings)
        self._sni = sni.encode("utf-8") if sni is not None else None
        if settings.verifies_host:
            context.set_info_callback(self._info_callback)

    def clientConnectionForTLS(self, tlsProtocol: TLSMemoryBIOProtocol) -> SSL.Connection:
        connection = SSL.Connection(self.context, None)
        connection.set_app_data(tlsProtocol)
        if self._sni is not None:
            connection.set_tlsext_host_name(self._sni)
        connection.set_connect_state()
        return connection

    def _info_callback(self, connection: SSL.Connection, where: int, ret: int) -> None:
        if not where & SSL.SSL_CB_HANDSHAKE_DONE:
            return
        # Exceptions must not escape: pyOpenSSL would print and drop them, and the unverified
        # connection would go on.
        try:
            verify_host(peer_certificate_der_openssl(connection), self.host, self.hostaddr)
        except BaseException:
            failure = Failure()  # type: ignore[no-untyped-call]
            protocol = connection.get_app_data()
            try:
                protocol.failVerification(failure)
            except BaseException:
                with contextlib.suppress(BaseException):
                    protocol.transport.abortConnection()
                    connection.shutdown()


def twisted_creator(settings: TLSSettings, host: str, hostaddr: str | None) -> TLSClientCreator:
    """A connection creator (``IOpenSSLClientConnectionCreator``) for ``transport.startTLS``.

    It carries libpq's configuration: root certificates (file, or the system store), CRLs, the client
    certificate and key (decrypted with ``sslpassword``), the protocol version range, SNI and ALPN;
    chain verification as :attr:`TLSSettings.verifies_chain` says; the verify-full host check with
    :func:`verify_host`. Raises :class:`ConninfoError` for missing or unusable files, and
    ``ValueError`` for ``sslmode=disable``. Handshake failures reach the protocol's
    ``connectionLost``: turn ``reason.value`` into libpq's message with :func:`handshake_failure`.
    """
    if not settings.wants_tls:
        raise ValueError("sslmode=disable: there is no TLS to start")
    backend = _OpenSSLBackend()
    _configure(settings, backend)
    return TLSClientCreator(backend.context, settings, host, hostaddr)


def peer_certificate_der_openssl(connection: SSL.Connection) -> bytes:
    """The server's certificate (DER) of a pyOpenSSL connection, also when it was not verified."""
    cert = connection.get_peer_certificate(as_cryptography=True)
    if cert is None:
        raise ConnectionFailure("certificate could not be obtained: no SSL error reported")
    return cert.public_bytes(serialization.Encoding.DER)


# -- handshake failures ----------------------------------------------------------------------------


def handshake_failure(error: BaseException, settings: TLSSettings) -> ConnectionFailure:
    """libpq's message for a failed TLS handshake, from what either TLS stack raised.

    Accepts stdlib ``ssl`` errors, pyOpenSSL errors, OS errors and Twisted's connection-closed
    reasons; a :class:`ConnectionFailure` (a host-name mismatch) is returned unchanged.
    """
    if isinstance(error, ConnectionFailure):
        return error
    eof = TLSHandshakeFailure("SSL SYSCALL error: EOF detected")
    if isinstance(error, (ssl.SSLEOFError, ssl.SSLZeroReturnError, SSL.ZeroReturnError, ConnectionClosed)):
        return eof
    if isinstance(error, SSL.SysCallError):
        code = error.args[0] if error.args else -1
        if isinstance(code, int) and code > 0:
            return TLSHandshakeFailure(f"SSL SYSCALL error: {os.strerror(code)}")
        return eof
    if isinstance(error, ssl.SSLSyscallError):
        return eof
    if isinstance(error, ssl.SSLError):
        reason = _ssl_error_text(error)
    elif isinstance(error, SSL.Error):
        reason = _openssl_error_text(error)
    elif isinstance(error, OSError):
        if isinstance(error, TimeoutError):
            return TLSHandshakeFailure("SSL SYSCALL error: timed out")
        if error.errno in (None, 0):
            return eof
        if error.errno in (errno.ECONNRESET, errno.EPIPE):
            return handshake_reset(error.errno)
        return TLSHandshakeFailure(f"SSL SYSCALL error: {os.strerror(error.errno)}")
    else:
        reason = str(error) or type(error).__name__
    message = f"SSL error: {reason}"
    if reason.upper().replace(" ", "_") in _PROTOCOL_VERSION_REASONS:
        message += (
            "\nThis may indicate that the server does not support any SSL protocol version between "
            f"{settings.ssl_min_protocol_version or PROTOCOL_VERSIONS[0]} and "
            f"{settings.ssl_max_protocol_version or PROTOCOL_VERSIONS[-1]}."
        )
    return TLSHandshakeFailure(message)


def handshake_reset(code: int = errno.ECONNRESET) -> TLSHandshakeFailure:
    """A reset during the handshake: libpq 17's socket layer and then its TLS layer both report it."""
    return TLSHandshakeFailure(f"{LOST_MESSAGE}\nSSL SYSCALL error: {os.strerror(code)}")


# -- SNI and the verify-full host-name rule -------------------------------------------------------


def sni_name(host: str, settings: TLSSettings) -> str | None:
    """The Server Name Indication libpq sends: ``host`` itself, or None for no SNI.

    None when ``sslsni`` is off, for a Unix-socket path (no TLS there anyway), and for what libpq
    takes as an IP literal: only digits and dots, or any colon (RFC 6066 forbids IP addresses).
    """
    if not settings.sslsni or not host or host.startswith(("/", "@")):
        return None
    if not host.strip("0123456789.") or ":" in host:
        return None
    return host


class _NameError(Exception):
    """A certificate name that stops the comparison (libpq's -1 result)."""


def _is_ip_address(host: str) -> bool:
    """libpq's ``is_ip_address``: ``inet_aton`` (so ``127.1`` counts) or an IPv6 literal."""
    return _inet_aton(host) is not None or _inet6(host) is not None


def _inet_aton(host: str) -> bytes | None:
    try:
        return socket.inet_aton(host)
    except (OSError, ValueError):
        return None


def _inet6(host: str) -> bytes | None:
    try:
        return socket.inet_pton(socket.AF_INET6, host)
    except (OSError, ValueError):
        return None


def _wildcard_matches(pattern: bytes, string: bytes) -> bool:
    """libpq's ``wildcard_certificate_match``: ``*.`` prefix only, and ``*`` never spans a dot."""
    lenpat, lenstr = len(pattern), len(string)
    if lenpat < 3 or not pattern.startswith(b"*."):
        return False
    if lenpat > lenstr:
        return False
    if pattern[1:].lower() != string[lenstr - lenpat + 1 :].lower():
        return False
    return string.find(b".") >= lenstr - lenpat


def _name_matches(name: str, host: bytes) -> bool:
    """A DNS name or CN against the host: exact (ASCII case-insensitive) or by wildcard."""
    data = name.encode("utf-8", "surrogateescape")
    if b"\0" in data:
        raise _NameError("SSL certificate's name contains embedded null")
    return data.lower() == host.lower() or _wildcard_matches(data, host)


def _ip_text(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """An address as PostgreSQL's ``pg_inet_net_ntop`` prints it (for the mismatch message)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"::ffff:{address.ipv4_mapped}"
        packed = address.packed
        if packed[:12] == bytes(12) and packed[12:14] != b"\0\0":
            return f"::{ipaddress.IPv4Address(packed[12:])}"
    return str(address)


def _ip_matches(value: object, host: str) -> tuple[bool, str]:
    """An iPAddress SAN against the host (compared as bytes), and the address as text."""
    if isinstance(value, ipaddress.IPv4Address):
        return _inet_aton(host) == value.packed, _ip_text(value)
    if isinstance(value, ipaddress.IPv6Address):
        return _inet6(host) == value.packed, _ip_text(value)
    if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        length = 2 * len(value.network_address.packed)
        raise _NameError(f"certificate contains IP address with invalid length {length}")
    raise _NameError("SSL certificate's address entry is missing")


def _load_certificate(cert_der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(cert_der)
    except ValueError as exc:
        raise ConnectionFailure(f"could not parse server certificate: {exc}") from None


def verify_host(cert_der: bytes, host: str, hostaddr: str | None) -> None:
    """libpq's verify-full rule: raise :class:`ConnectionFailure` unless the certificate names ``host``.

    The names compared are the dNSName and iPAddress subject alternative names, in order; the
    subject's (first) Common Name is only consulted when there is no SAN of the host's own type (so
    with an IP literal host, a CN is still used next to DNS SANs, as libpq does). DNS names match
    case-insensitively, or as a wildcard ``*.rest`` whose ``*`` covers exactly one leftmost label;
    IP SANs match an IP literal host byte for byte. ``host`` is what the user gave as ``host``, never
    ``hostaddr``: with only ``hostaddr`` there is nothing to verify against and libpq refuses.
    """
    del hostaddr  # libpq matches the certificate against the host name only
    if not host:
        raise ConnectionFailure("host name must be specified for a verified SSL connection")
    cert = _load_certificate(cert_der)
    host_bytes = host.encode("utf-8", "surrogateescape")
    host_is_ip = _is_ip_address(host)
    try:
        alt_names = list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        alt_names = []
    except (ValueError, x509.DuplicateExtension) as exc:
        raise ConnectionFailure(f"could not parse server certificate: {exc}") from None
    examined = 0
    first_name: str | None = None
    check_cn = True
    try:
        for name in alt_names:
            if isinstance(name, x509.DNSName):
                if not host_is_ip:
                    check_cn = False
                examined += 1
                text = name.value
                matched = _name_matches(text, host_bytes)
            elif isinstance(name, x509.IPAddress):
                if host_is_ip:
                    check_cn = False
                examined += 1
                matched, text = _ip_matches(name.value, host)
            else:
                continue
            if first_name is None:
                first_name = text
            if matched:
                return
        if check_cn:
            common_names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
            if common_names:
                value = common_names[0].value
                text = value if isinstance(value, str) else value.decode("utf-8", "replace")
                examined += 1
                if first_name is None:
                    first_name = text
                if _name_matches(text, host_bytes):
                    return
    except _NameError as exc:
        raise ConnectionFailure(str(exc)) from None
    if examined > 1:
        others = examined - 1
        raise ConnectionFailure(
            f'server certificate for "{first_name}" (and {others} other name{"" if others == 1 else "s"}) '
            f'does not match host name "{host}"'
        )
    if examined == 1:
        raise ConnectionFailure(f'server certificate for "{first_name}" does not match host name "{host}"')
    raise ConnectionFailure("could not get server's host name from server certificate")


# -- channel binding -------------------------------------------------------------------------------


def tls_server_end_point(cert_der: bytes) -> bytes:
    """RFC 5929 ``tls-server-end-point`` data for SCRAM-SHA-256-PLUS: a hash of the server certificate.

    The hash is the one of the certificate's signature algorithm, with MD5 and SHA-1 upgraded to
    SHA-256; a signature without a separate hash (Ed25519, Ed448) has no such data, as in libpq.
    """
    cert = _load_certificate(cert_der)
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        raise ConnectionFailure("could not determine server certificate signature algorithm") from None
    if algorithm is None:
        raise ConnectionFailure("could not find digest for NID UNDEF")
    if isinstance(algorithm, (hashes.MD5, hashes.SHA1)):
        algorithm = hashes.SHA256()
    digest = hashes.Hash(algorithm)
    digest.update(cert_der)
    return digest.finalize()
