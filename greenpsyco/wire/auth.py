"""Client authentication, sans-I/O: answer the server's Authentication requests, enforce the client's
own requirements (``require_auth``, ``channel_binding``) the way libpq does, with libpq's messages.

Methods: trust (nothing to answer), cleartext password, MD5, SCRAM-SHA-256 and SCRAM-SHA-256-PLUS with
``tls-server-end-point`` channel binding (via ``scramp``). GSSAPI, SSPI and Kerberos are refused with a
clear "not supported" error: a pure-Python driver without a GSS library cannot do them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import scramp

from greenpsyco.wire import messages as m
from greenpsyco.wire.errors import ConnectionFailure
from greenpsyco.wire.tls import tls_server_end_point

SCRAM = "SCRAM-SHA-256"
SCRAM_PLUS = "SCRAM-SHA-256-PLUS"

_METHOD_OF_REQUEST = {
    m.AUTH_CLEARTEXT_PASSWORD: "password",
    m.AUTH_MD5_PASSWORD: "md5",
    m.AUTH_GSS: "gss",
    m.AUTH_SSPI: "sspi",
    m.AUTH_SASL: "scram-sha-256",
}
_REASON_OF_METHOD = {
    "password": "server requested a cleartext password",
    "md5": "server requested a hashed password",
    "gss": "server requested GSSAPI authentication",
    "sspi": "server requested SSPI authentication",
    "scram-sha-256": "server requested SASL authentication",
}


def md5_password(user: bytes, password: bytes, salt: bytes) -> bytes:
    """PostgreSQL's MD5 answer: ``"md5" + md5(md5(password + user) + salt)`` in hex."""
    inner = hashlib.md5(password + user).hexdigest().encode("ascii")
    return b"md5" + hashlib.md5(inner + salt).hexdigest().encode("ascii")


@dataclass(frozen=True)
class AuthRequirements:
    """What the client insists on. ``require_auth`` is (methods, negated) as parsed from the option."""

    require_auth: frozenset[str] = frozenset()
    require_auth_negated: bool = False
    require_auth_text: str = ""
    channel_binding: str = "prefer"  # disable, prefer, require

    def allows(self, method: str) -> bool:
        if not self.require_auth:
            return True
        return (method in self.require_auth) != self.require_auth_negated


class Authenticator:
    """Answers one connection's authentication exchange.

    ``peer_certificate`` is the server certificate (DER) when the connection uses TLS, else None; the
    operation sets it before SASL starts, for SCRAM-SHA-256-PLUS channel binding. ``tls_in_use`` says
    whether the connection is encrypted (set by the operation before the exchange starts).
    """

    def __init__(
        self,
        user: str,
        password: str | None,
        requirements: AuthRequirements,
        encoding: str = "utf-8",
    ) -> None:
        self.user = user
        self.password = password
        self.requirements = requirements
        self.peer_certificate: bytes | None = None
        self.tls_in_use = False
        self._encoding = encoding
        self._scram: scramp.ScramClient | None = None
        self._method_used: str | None = None
        self._sasl_done = False
        self.channel_bound = False

    def _fail(self, reason: str) -> ConnectionFailure:
        return ConnectionFailure(
            f'authentication method requirement "{self.requirements.require_auth_text}" failed: {reason}'
        )

    def _check_allowed(self, method: str) -> None:
        if not self.requirements.allows(method):
            raise self._fail(_REASON_OF_METHOD[method])

    def _password_bytes(self) -> bytes:
        if self.password is None or self.password == "":
            raise ConnectionFailure("fe_sendauth: no password supplied")
        return self.password.encode(self._encoding)

    def respond(self, request: m.AuthenticationRequest) -> bytes | None:
        """The message to send in answer to ``request``, or None when nothing is to be sent."""
        code = request.code
        if code == m.AUTH_OK:
            self._check_complete()
            return None
        if code in (m.AUTH_KERBEROS_V5, m.AUTH_GSS, m.AUTH_GSS_CONTINUE, m.AUTH_SSPI):
            method = {m.AUTH_KERBEROS_V5: "Kerberos 5", m.AUTH_SSPI: "SSPI"}.get(code, "GSSAPI")
            if code in _METHOD_OF_REQUEST:
                self._check_allowed(_METHOD_OF_REQUEST[code])
            raise ConnectionFailure(f"{method} authentication is not supported by greenpsyco")
        if self.requirements.channel_binding == "require" and code in (
            m.AUTH_CLEARTEXT_PASSWORD,
            m.AUTH_MD5_PASSWORD,
        ):
            raise ConnectionFailure(
                "channel binding required but not supported by server's authentication request"
            )
        if code == m.AUTH_CLEARTEXT_PASSWORD:
            self._check_allowed("password")
            self._method_used = "password"
            return m.password_message(self._password_bytes())
        if code == m.AUTH_MD5_PASSWORD:
            self._check_allowed("md5")
            self._method_used = "md5"
            return m.password_message(
                md5_password(self.user.encode(self._encoding), self._password_bytes(), request.data)
            )
        if code == m.AUTH_SASL:
            return self._sasl_start(request.mechanisms)
        if code == m.AUTH_SASL_CONTINUE:
            return self._sasl_continue(request.data)
        if code == m.AUTH_SASL_FINAL:
            self._sasl_final(request.data)
            return None
        raise ConnectionFailure(f"authentication method {code} not supported")

    def _sasl_start(self, mechanisms: tuple[str, ...]) -> bytes:
        self._check_allowed("scram-sha-256")
        if self.requirements.channel_binding == "require" and not self.tls_in_use:
            # libpq's check in pg_SASL_init, before any mechanism is chosen or anything is sent
            raise ConnectionFailure("channel binding required, but SSL not in use")
        self._method_used = "scram-sha-256"
        password = self._password_bytes().decode(self._encoding)
        binding: tuple[str, bytes] | None = None
        wants_binding = self.requirements.channel_binding != "disable"
        certificate = self.peer_certificate if wants_binding else None
        if certificate is not None and SCRAM_PLUS in mechanisms:
            binding = ("tls-server-end-point", tls_server_end_point(certificate))
            choices = [SCRAM_PLUS]
        elif SCRAM in mechanisms:
            if self.requirements.channel_binding == "require":
                raise ConnectionFailure(
                    "channel binding is required, but server did not offer an authentication method"
                    " that supports channel binding"
                )
            choices = [SCRAM]
            if certificate is not None:
                # We could bind but the server offers no -PLUS: say so ("y" flag) to detect downgrades.
                binding = ("tls-server-end-point", tls_server_end_point(certificate))
        else:
            raise ConnectionFailure(
                "none of the server's SASL authentication mechanisms are supported: " + ", ".join(mechanisms)
            )
        try:
            # PostgreSQL ignores the SCRAM user name (the startup packet names the role); scramp needs one.
            self._scram = scramp.ScramClient(choices, "*", password, channel_binding=binding)
            first = self._scram.get_client_first()
        except scramp.ScramException as exc:
            raise ConnectionFailure(f"SCRAM authentication failed: {exc}") from exc
        self.channel_bound = choices == [SCRAM_PLUS]
        return m.sasl_initial_response(choices[0], first.encode("utf-8"))

    def _sasl_continue(self, data: bytes) -> bytes:
        if self._scram is None:
            raise ConnectionFailure("server sent SASLContinue before SASL was started")
        try:
            self._scram.set_server_first(data.decode("utf-8"))
            final = self._scram.get_client_final()
        except (scramp.ScramException, UnicodeDecodeError) as exc:
            raise ConnectionFailure(f"malformed SCRAM message from server: {exc}") from exc
        return m.sasl_response(final.encode("utf-8"))

    def _sasl_final(self, data: bytes) -> None:
        if self._scram is None:
            raise ConnectionFailure("server sent SASLFinal before SASL was started")
        try:
            self._scram.set_server_final(data.decode("utf-8"))
        except (scramp.ScramException, UnicodeDecodeError) as exc:
            raise ConnectionFailure(f"incorrect server signature: {exc}") from exc
        self._sasl_done = True

    def _check_complete(self) -> None:
        """On AuthenticationOk: did the exchange satisfy what the client required?"""
        if self._method_used == "scram-sha-256" and not self._sasl_done:
            raise ConnectionFailure("server sent AuthenticationOk before the SCRAM exchange completed")
        if self.requirements.channel_binding == "require" and not self.channel_bound:
            raise ConnectionFailure(
                "channel binding required, but server authenticated client without channel binding"
            )
        if self._method_used is None and not self.requirements.allows("none"):
            raise self._fail("server did not complete authentication")
