"""``encrypt_password``: the password verifiers PostgreSQL stores (md5 and SCRAM-SHA-256)."""

from __future__ import annotations

import hashlib
from typing import Any

import scramp

from greenpsyco.fake_psycopg2._exceptions import InterfaceError, ProgrammingError


def encrypt_password(password: str, user: str, scope: Any = None, algorithm: str | None = None) -> str:
    """libpq's PQencryptPasswordConn: ``algorithm`` None asks the server's password_encryption."""
    if scope is None and algorithm != "md5":
        raise ProgrammingError(
            "password encryption (other than 'md5' algorithm) requires a connection or cursor"
        )
    if algorithm is None:
        assert scope is not None
        conn = getattr(scope, "connection", scope)
        if conn.closed:
            raise InterfaceError("connection already closed")
        cursor = conn.cursor()
        cursor.execute("SHOW password_encryption")
        algorithm = cursor.fetchone()[0]
        cursor.close()
    if algorithm in ("on", "off"):
        algorithm = "md5"
    if algorithm == "md5":
        return "md5" + hashlib.md5((password + user).encode()).hexdigest()
    if algorithm == "scram-sha-256":
        mechanism = scramp.ScramMechanism("SCRAM-SHA-256")
        salt, stored_key, server_key, iterations = mechanism.make_auth_info(password, iteration_count=4096)
        import base64

        def b64(data: bytes) -> str:
            return base64.b64encode(data).decode("ascii")

        return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"
    raise ProgrammingError(
        f'password encryption failed: unrecognized password encryption algorithm "{algorithm}"\n'
    )
