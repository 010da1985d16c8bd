"""Query templates parsed once: the literal chunks between ``%s`` (or ``%(name)s``) placeholders.

psycopg2 scans the query for placeholders on every ``execute``; an application sends the same few
query texts again and again, so here a query text is parsed once and remembered (a bounded cache).
Only plainly well-formed templates get one: ``%s`` placeholders only, or ``%(name)s`` only, and ``%%``.
Anything psycopg2 would treat specially (no placeholder at all, mixed kinds, an unknown ``%x``, a NUL
byte, an unclosed or odd ``%(``) gets none, and the caller takes the general path, whose behaviour and
errors are psycopg2's in every detail.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class Template(NamedTuple):
    """``chunks`` surround the placeholders (one more chunk than placeholders, ``%%`` already made
    ``%``); ``keys`` names each placeholder for ``%(name)s`` queries and is None for ``%s`` ones."""

    chunks: tuple[bytes, ...]
    keys: tuple[str, ...] | None


CACHE_SIZE: Final = 1024
_cache: dict[bytes, Template | None] = {}


def lookup(query: bytes) -> Template | None:
    """The template of ``query``, or None when it must take the general path."""
    try:
        return _cache[query]
    except KeyError:
        pass
    template = parse(query)
    if len(_cache) >= CACHE_SIZE:
        _cache.clear()
    _cache[query] = template
    return template


def parse(query: bytes) -> Template | None:
    if b"\x00" in query:
        return None
    chunks: list[bytes] = []
    keys: list[str] = []
    pending: list[bytes] = []
    kind = 0  # 1: %(name)s seen, 2: %s seen
    size = len(query)
    pos = 0
    while True:
        percent = query.find(b"%", pos)
        if percent < 0:
            pending.append(query[pos:])
            break
        pending.append(query[pos:percent])
        if percent + 1 >= size:
            return None
        char = query[percent + 1]
        if char == 0x25:  # %%
            pending.append(b"%")
            pos = percent + 2
        elif char == 0x73:  # %s
            if kind == 1:
                return None
            kind = 2
            chunks.append(b"".join(pending))
            pending = []
            pos = percent + 2
        elif char == 0x28:  # %(name)s
            if kind == 2:
                return None
            close = query.find(b")", percent + 2)
            if close < 0 or close + 1 >= size or query[close + 1] != 0x73:
                return None
            raw = query[percent + 2 : close]
            if b"%" in raw or b"(" in raw:
                return None
            try:
                keys.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                return None
            kind = 1
            chunks.append(b"".join(pending))
            pending = []
            pos = close + 2
        else:
            return None
    if kind == 0:
        return None
    chunks.append(b"".join(pending))
    return Template(tuple(chunks), tuple(keys) if kind == 1 else None)
