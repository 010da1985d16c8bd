"""Small value classes of psycopg2.extensions: ``Notify``, ``Column`` and ``Xid``.

They are not tuples (psycopg2's are C types), but index, compare and unpack the way psycopg2's do:
``Notify`` compares equal to ``(pid, channel)`` for compatibility with psycopg2 < 2.3, ``Column``
behaves as the 7-item DB-API description sequence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any


class Notify:
    """A NOTIFY received from the server: ``pid``, ``channel`` and ``payload``."""

    __slots__ = ("channel", "payload", "pid")

    def __init__(self, pid: int, channel: str, payload: str = "") -> None:
        self.pid = pid
        self.channel = channel
        self.payload = payload

    def _key(self) -> tuple[int, str, str]:
        return (self.pid, self.channel, self.payload)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Notify):
            return self._key() == other._key()
        if isinstance(other, tuple):
            return (self.pid, self.channel) == other
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return hash((self.pid, self.channel))

    def __getitem__(self, index: int) -> Any:
        return (self.pid, self.channel)[index]

    def __len__(self) -> int:
        return 2

    def __repr__(self) -> str:
        return f"Notify({self.pid!r}, {self.channel!r}, {self.payload!r})"


class Column:
    """One entry of ``cursor.description``: the 7 DB-API items plus ``table_oid`` and ``table_column``.

    Read-only, as psycopg2's are ("readonly attribute"): the cursor shares one list of Columns between
    every result of the same shape.
    """

    __slots__ = (
        "display_size",
        "internal_size",
        "name",
        "null_ok",
        "precision",
        "scale",
        "table_column",
        "table_oid",
        "type_code",
    )
    _FIELDS = (
        "name",
        "type_code",
        "display_size",
        "internal_size",
        "precision",
        "scale",
        "null_ok",
        "table_oid",
        "table_column",
    )
    name: str | None
    type_code: int | None
    display_size: int | None
    internal_size: int | None
    precision: int | None
    scale: int | None
    null_ok: bool | None
    table_oid: int | None
    table_column: int | None

    def __init__(
        self,
        name: str | None = None,
        type_code: int | None = None,
        display_size: int | None = None,
        internal_size: int | None = None,
        precision: int | None = None,
        scale: int | None = None,
        null_ok: bool | None = None,
        table_oid: int | None = None,
        table_column: int | None = None,
    ) -> None:
        init = object.__setattr__
        init(self, "name", name)
        init(self, "type_code", type_code)
        init(self, "display_size", display_size)
        init(self, "internal_size", internal_size)
        init(self, "precision", precision)
        init(self, "scale", scale)
        init(self, "null_ok", null_ok)
        init(self, "table_oid", table_oid)
        init(self, "table_column", table_column)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in Column.__slots__:
            raise AttributeError("readonly attribute")
        raise AttributeError(f"'psycopg2.extensions.Column' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        self.__setattr__(name, None)

    def _items(self) -> tuple[Any, ...]:
        return (
            self.name,
            self.type_code,
            self.display_size,
            self.internal_size,
            self.precision,
            self.scale,
            self.null_ok,
        )

    def __getitem__(self, index: int | slice) -> Any:
        return self._items()[index]

    def __len__(self) -> int:
        return 7

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Column):
            return self._items() == other._items()
        if isinstance(other, tuple):
            return self._items() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._items())

    def __repr__(self) -> str:
        return f"Column(name={self.name!r}, type_code={self.type_code!r})"

    def __getstate__(self) -> tuple[Any, ...]:
        # psycopg2's state is the 7 DB-API items: a pickled Column loses table_oid and table_column.
        return self._items()

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        if not isinstance(state, tuple):
            raise TypeError("state is not a tuple")
        # as psycopg2: the fields the state leaves out keep their values (None on a new Column)
        for index, name in enumerate(Column._FIELDS):
            if index < len(state):
                object.__setattr__(self, name, state[index])
            elif not hasattr(self, name):  # made by copy/pickle without __init__
                object.__setattr__(self, name, None)


_XID_STRING = re.compile(r"^(\d+)_([^_]*)_([^_]*)$")


class Xid:
    """A two-phase-commit transaction id: ``format_id``, ``gtrid``, ``bqual`` (or a plain string)."""

    __slots__ = ("bqual", "database", "format_id", "gtrid", "owner", "prepared")

    def __init__(self, format_id: int | None, gtrid: str, bqual: str | None = None) -> None:
        if format_id is not None:
            if not 0 <= format_id < 0x80000000:
                raise ValueError("format_id must be a non-negative 32-bit integer")
            if len(gtrid) > 64:
                raise ValueError("gtrid must be a string no longer than 64 characters")
            if bqual is None or len(bqual) > 64:
                raise ValueError("bqual must be a string no longer than 64 characters")
            for value in (gtrid, bqual):
                if any(not 0x20 <= ord(ch) < 0x7F for ch in value):
                    raise ValueError("gtrid and bqual must contain only printable characters")
        self.format_id = format_id
        self.gtrid = gtrid
        self.bqual = bqual
        self.prepared: Any = None
        self.owner: str | None = None
        self.database: str | None = None

    @classmethod
    def from_string(cls, text: str) -> Xid:
        """Parse the form psycopg2 writes (``format_base64gtrid_base64bqual``), else an unparsed xid."""
        import base64
        import binascii

        match = _XID_STRING.match(text)
        if match is not None:
            try:
                gtrid = base64.b64decode(match.group(2), validate=True).decode("ascii")
                bqual = base64.b64decode(match.group(3), validate=True).decode("ascii")
                return cls(int(match.group(1)), gtrid, bqual)
            except (binascii.Error, UnicodeDecodeError, ValueError):
                pass
        return cls(None, text, None)

    def as_tid(self) -> str:
        """The transaction id string sent in PREPARE TRANSACTION (psycopg2's encoding)."""
        import base64

        if self.format_id is None:
            return self.gtrid
        assert self.bqual is not None
        gtrid = base64.b64encode(self.gtrid.encode("ascii")).decode("ascii")
        bqual = base64.b64encode(self.bqual.encode("ascii")).decode("ascii")
        return f"{self.format_id}_{gtrid}_{bqual}"

    def __getitem__(self, index: int) -> Any:
        return (self.format_id, self.gtrid, self.bqual)[index]

    def __len__(self) -> int:
        return 3

    def __iter__(self) -> Iterator[Any]:
        return iter((self.format_id, self.gtrid, self.bqual))

    def __str__(self) -> str:
        return self.as_tid()

    def __repr__(self) -> str:
        if self.format_id is None:
            return f"<Xid: {self.gtrid!r} (unparsed)>"
        return f"<Xid: ({self.format_id!r}, {self.gtrid!r}, {self.bqual!r})>"


for _cls in (Notify, Column, Xid):
    _cls.__module__ = "psycopg2.extensions"
del _cls
