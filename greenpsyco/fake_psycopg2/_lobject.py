"""``psycopg2.extensions.lobject``: large objects through the server's ``lo_*`` functions.

psycopg2 uses libpq's fast-path large-object calls; the same server functions are reachable with
plain SQL, which keeps this pure Python and works through any driver mode. Large objects live in
transactions: as in psycopg2, they cannot be used in autocommit mode.
"""

from __future__ import annotations

from typing import Any

from greenpsyco.fake_psycopg2 import _exceptions as exc

INV_WRITE = 0x00020000
INV_READ = 0x00040000
SEEK_SET, SEEK_CUR, SEEK_END = 0, 1, 2


_BASE_FLAGS = {"r": INV_READ, "w": INV_WRITE, "rw": INV_READ | INV_WRITE, "n": 0, "": INV_READ}


def _mode_flags(mode: str, creating: bool) -> tuple[int, bool, str]:
    """psycopg2's reading of an lobject mode: (libpq flags, text mode?, the mode it reports).

    Text mode unless ``b`` is given. A new object is always opened for writing, as psycopg2 does
    (``lobject()`` and ``lobject(0, "r")`` both report ``"wt"``).
    """
    if any(ch not in "rwnbt" for ch in mode) or ("b" in mode and "t" in mode):
        raise ValueError(f"bad mode for lobject: '{mode}'")
    text = "b" not in mode
    base = mode.replace("t", "").replace("b", "")
    flags = _BASE_FLAGS.get(base)
    if flags is None:
        raise ValueError(f"bad mode for lobject: '{mode}'")
    if creating and not flags & INV_WRITE:
        flags, base = INV_WRITE, "w"
    return flags, text, (base or "r") + ("t" if text else "b")


class lobject:
    """A large object opened on a connection (``connection.lobject()``)."""

    def __init__(
        self, conn: Any, oid: int = 0, mode: str = "", new_oid: int = 0, new_file: str | None = None
    ) -> None:
        if conn.autocommit:
            raise exc.ProgrammingError("can't use a lobject outside of transactions")
        flags, self._text, self.mode = _mode_flags(mode, creating=oid == 0)
        self.conn = conn
        self._cursor = conn.cursor()
        self.closed = False
        if oid == 0:
            if new_file is not None:
                oid = self._scalar("SELECT lo_import(%s, %s)", (new_file, new_oid))
            else:
                oid = self._scalar("SELECT lo_create(%s)", (new_oid,))
        self.oid = oid
        self._fd = -1 if flags == 0 else self._scalar("SELECT lo_open(%s, %s)", (oid, flags))
        if self._fd == -1 and flags == 0:
            self.closed = True

    def _scalar(self, sql: str, params: tuple[Any, ...]) -> Any:
        self._cursor.execute(sql, params)
        return self._cursor.fetchone()[0]

    def _check(self) -> None:
        if self.closed:
            raise exc.InterfaceError("lobject already closed")
        if self.conn.closed:
            raise exc.InterfaceError("lobject isn't valid anymore")

    def read(self, size: int = -1) -> str | bytes:
        self._check()
        if size < 0:
            here = self.tell()
            end = self.seek(0, SEEK_END)
            self.seek(here, SEEK_SET)
            size = end - here
        data = bytes(self._scalar("SELECT loread(%s, %s)", (self._fd, size)))
        return data.decode(self.conn._py_encoding) if self._text else data

    def write(self, data: str | bytes) -> int:
        self._check()
        raw = data.encode(self.conn._py_encoding) if isinstance(data, str) else bytes(data)
        from greenpsyco.fake_psycopg2._adapt import Binary

        return int(self._scalar("SELECT lowrite(%s, %s)", (self._fd, Binary(raw))))

    def seek(self, offset: int, whence: int = SEEK_SET) -> int:
        self._check()
        return int(self._scalar("SELECT lo_lseek64(%s, %s, %s)", (self._fd, offset, whence)))

    def tell(self) -> int:
        self._check()
        return int(self._scalar("SELECT lo_tell64(%s)", (self._fd,)))

    def truncate(self, length: int = 0) -> None:
        self._check()
        self._scalar("SELECT lo_truncate64(%s, %s)", (self._fd, length))

    def export(self, filename: str) -> None:
        self._check()
        self._scalar("SELECT lo_export(%s, %s)", (self.oid, filename))

    def close(self) -> None:
        if self.closed:
            return
        if not self.conn.closed and self.conn.status != 1 and self._fd >= 0:
            self._scalar("SELECT lo_close(%s)", (self._fd,))
        self.closed = True

    def unlink(self) -> None:
        self.close()
        self._scalar("SELECT lo_unlink(%s)", (self.oid,))

    def __enter__(self) -> lobject:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<lobject object at {id(self):#x}; closed: {int(self.closed)}>"


lobject.__module__ = "psycopg2.extensions"
