"""psycopg2.sql: compose SQL statements from fragments, identifiers and literals, safely.

``SQL`` holds trusted query text, ``Identifier`` names quoted with ``quote_ident``, ``Literal`` values quoted
with the normal adaptation rules, ``Placeholder`` a ``%s``/``%(name)s`` marker; ``+``, ``*``, ``join`` and
``format`` combine them into ``Composed`` objects, and ``as_string(context)`` renders the result for a
connection or cursor. Behaviour, reprs and error messages are psycopg2 2.9's.

Django assigns ``sql.quote`` on this module (its connection-less literal quoting): a plain module attribute
is all that needs, so nothing here prevents it.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Iterator
from typing import Any, cast

from greenpsyco.fake_psycopg2 import _adapt

__all__ = ["DEFAULT", "NULL", "SQL", "Composable", "Composed", "Identifier", "Literal", "Placeholder"]

_formatter = string.Formatter()


class Composable:
    """Base of the objects that compose an SQL string.

    ``Composable`` objects can be passed to ``cursor.execute()``, ``executemany()`` and ``copy_expert()``
    instead of a query string. ``a + b`` joins two of them into a ``Composed``; ``a * n`` repeats one.
    """

    def __init__(self, wrapped: Any) -> None:
        self._wrapped = wrapped

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._wrapped!r})"

    def as_string(self, context: Any) -> str:
        """The SQL text of the object for ``context`` (a connection or a cursor)."""
        raise NotImplementedError

    def __add__(self, other: Any) -> Composed:
        if isinstance(other, Composed):
            return Composed([self]) + other
        if isinstance(other, Composable):
            return Composed([self]) + Composed([other])
        return NotImplemented

    def __mul__(self, n: Any) -> Composed:
        return Composed([self] * n)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._wrapped == other._wrapped

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)


class Composed(Composable):
    """A sequence of ``Composable`` objects, rendered one after the other; iterable."""

    def __init__(self, seq: Iterable[Any]) -> None:
        items: list[Composable] = []
        for item in seq:
            if not isinstance(item, Composable):
                raise TypeError(f"Composed elements must be Composable, got {item!r} instead")
            items.append(item)
        super().__init__(items)

    @property
    def seq(self) -> list[Composable]:
        """The list of the content of the ``Composed``."""
        return list(self._wrapped)

    def as_string(self, context: Any) -> str:
        return "".join([item.as_string(context) for item in self._wrapped])

    def __iter__(self) -> Iterator[Composable]:
        return iter(self._wrapped)

    def __add__(self, other: Any) -> Composed:
        if isinstance(other, Composed):
            return Composed(self._wrapped + other._wrapped)
        if isinstance(other, Composable):
            return Composed([*self._wrapped, other])
        return NotImplemented

    def join(self, joiner: Any) -> Composed:
        """A new ``Composed`` with ``joiner`` (an ``SQL`` or a string) between the items."""
        if isinstance(joiner, str):
            joiner = SQL(joiner)
        elif not isinstance(joiner, SQL):
            raise TypeError("Composed.join() argument must be a string or an SQL")
        joined: Composed = joiner.join(self)
        return joined


class SQL(Composable):
    """A snippet of SQL text, included as it is (never escaped: only for trusted text).

    ``format()`` merges ``Composable`` objects into ``{}``/``{0}``/``{name}`` placeholders; ``join()``
    puts the text between the items of a sequence.
    """

    def __init__(self, string: Any) -> None:
        if not isinstance(string, str):
            raise TypeError("SQL values must be strings")
        super().__init__(string)

    @property
    def string(self) -> str:
        """The string wrapped by the ``SQL`` object."""
        return cast(str, self._wrapped)

    def as_string(self, context: Any) -> str:
        return cast(str, self._wrapped)

    def format(self, *args: Any, **kwargs: Any) -> Composed:
        """Merge ``Composable`` objects into the template, like ``str.format()`` without specs/conversions.

        Auto-numbered (``{}``) and numbered (``{0}``) fields take positional arguments, named fields
        (``{name}``) keywords; the two numbering styles cannot be mixed.
        """
        parts: list[Any] = []
        auto: int | None = 0
        for literal, name, spec, conversion in _formatter.parse(self._wrapped):
            if spec:
                raise ValueError("no format specification supported by SQL")
            if conversion:
                raise ValueError("no format conversion supported by SQL")
            if literal:
                parts.append(SQL(literal))
            if name is None:
                continue
            if name.isdigit():
                if auto:
                    raise ValueError("cannot switch from automatic field numbering to manual")
                parts.append(args[int(name)])
                auto = None
            elif not name:
                if auto is None:
                    raise ValueError("cannot switch from manual field numbering to automatic")
                parts.append(args[auto])
                auto += 1
            else:
                parts.append(kwargs[name])
        return Composed(parts)

    def join(self, seq: Iterable[Any]) -> Composed:
        """The items of ``seq`` with this SQL text between each pair."""
        parts: list[Any] = []
        for item in seq:
            if parts:
                parts.append(self)
            parts.append(item)
        return Composed(parts)


class Identifier(Composable):
    """An SQL identifier, or a dot-separated qualified name when given several strings."""

    def __init__(self, *strings: Any) -> None:
        if not strings:
            raise TypeError("Identifier cannot be empty")
        for part in strings:
            if not isinstance(part, str):
                raise TypeError("SQL identifier parts must be strings")
        super().__init__(strings)

    @property
    def strings(self) -> tuple[str, ...]:
        """A tuple with the strings wrapped by the ``Identifier``."""
        return cast(tuple[str, ...], self._wrapped)

    @property
    def string(self) -> str:
        """The string wrapped by the ``Identifier`` (only when it wraps exactly one)."""
        if len(self._wrapped) == 1:
            return cast(str, self._wrapped[0])
        raise AttributeError("the Identifier wraps more than one than one string")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self._wrapped))})"

    def as_string(self, context: Any) -> str:
        return ".".join(_adapt.quote_ident(part, context) for part in self._wrapped)


class Literal(Composable):
    """A value included in the query as an SQL literal, quoted by the normal adaptation rules."""

    @property
    def wrapped(self) -> Any:
        """The object wrapped by the ``Literal``."""
        return self._wrapped

    def as_string(self, context: Any) -> str:
        conn = _adapt._context_connection(context)
        if conn is None:
            raise TypeError("context must be a connection or a cursor")
        adapted = _adapt.adapt(self._wrapped)
        if hasattr(adapted, "prepare"):
            adapted.prepare(conn)
        quoted = adapted.getquoted()
        if isinstance(quoted, bytes):
            quoted = quoted.decode(_adapt._conn_codec(conn))
        return cast(str, quoted)


class Placeholder(Composable):
    """A query parameter placeholder: ``%(name)s`` when named, ``%s`` otherwise."""

    def __init__(self, name: Any = None) -> None:
        if isinstance(name, str):
            if ")" in name:
                raise ValueError(f"invalid name: {name!r}")
        elif name is not None:
            raise TypeError(f"expected string or None as name, got {name!r}")
        super().__init__(name)

    @property
    def name(self) -> str | None:
        """The name of the ``Placeholder``."""
        return cast(str | None, self._wrapped)

    def __repr__(self) -> str:
        if self._wrapped is None:
            return f"{type(self).__name__}()"
        return f"{type(self).__name__}({self._wrapped!r})"

    def as_string(self, context: Any) -> str:
        return "%s" if self._wrapped is None else f"%({self._wrapped})s"


for _cls in (Composable, Composed, SQL, Identifier, Literal, Placeholder):
    _cls.__module__ = "psycopg2.sql"
del _cls

NULL = SQL("NULL")
DEFAULT = SQL("DEFAULT")
