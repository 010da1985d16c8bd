"""``cursor.executemany``: psycopg2's semantics, with the statements pipelined where that cannot show.

psycopg2 runs one statement at a time: mogrify, send, wait for the result, and it stops at the first
error. Here, inside a transaction block, INSERT/UPDATE/DELETE/MERGE statements (no ``RETURNING``) are
sent in batches ahead of their results (:func:`greenpsyco.wire.ops.pipeline`): once one fails, the
server refuses every later one in the aborted transaction, so the database, the exception, the cursor
and the connection end up exactly as psycopg2 leaves them. A statement with a ``;`` (an adapter that
wrote more than one statement) runs alone, after the earlier ones succeeded and before any later one
is sent. Everything else - autocommit, other statements, a parameter iterator rather than a list or
tuple (reading ahead would run its code early) - runs one statement at a time, as psycopg2 does.

The one thing pipelining changes that a program could see: after a statement fails, the values of up
to one batch of later parameter sets may already have been adapted (which calls only custom adapters'
code; the builtin ones have no side effects).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from greenpsyco.fake_psycopg2 import _exceptions as exc
from greenpsyco.fake_psycopg2._adapt import interpolate
from greenpsyco.wire import ops
from greenpsyco.wire.errors import WireError

_PIPELINED_VERBS = frozenset((b"insert", b"update", b"delete", b"merge"))
PACK = 64  # statements per Query message
_END: Any = object()


def executemany(cur: Any, query: Any, vars_list: Iterable[Any]) -> None:
    conn = cur._check()
    if cur.name is not None:
        error = exc.ProgrammingError("can't call .executemany() on named cursors")
        error.cursor = cur
        raise error
    with conn._lock:
        cur.rowcount = -1
        items = iter(vars_list)
        first = next(items, _END)
        if first is _END:
            cur.rowcount = 0
            return
        template = cur._query_bytes(query)
        sql = _statement(cur, conn, template, first)
        if type(vars_list) in (list, tuple) and pipelinable(template):
            conn._begin_if_needed()  # the BEGIN psycopg2 sends before the first statement
            if conn._check_open().state.transaction_status == "T":
                _pipelined(cur, conn, template, sql, items)
                return
        total = _run_one(cur, sql)
        for params in items:
            total = _add(total, _run_one(cur, _statement(cur, conn, cur._query_bytes(query), params)))
        cur.rowcount = total


def pipelinable(template: bytes) -> bool:
    """One INSERT/UPDATE/DELETE/MERGE statement returning no rows (a small, fixed-size result)."""
    words = template.split(None, 1)
    if not words or words[0].lower() not in _PIPELINED_VERBS:
        return False
    return b";" not in template and b"returning" not in template.lower()


def _statement(cur: Any, conn: Any, template: bytes, params: Any) -> bytes:
    """One statement's text, as psycopg2 makes it: the previous result and query dropped first."""
    cur._rows = None
    cur.query = None
    if params is None:
        return template
    return interpolate(template, params, conn, cursor=cur, method="executemany")


def _add(total: int, rowcount: int) -> int:
    """psycopg2's sum: -1 once any statement has no row count."""
    if rowcount == -1:
        return -1
    return total + rowcount if total >= 0 else total


def _run_one(cur: Any, sql: bytes) -> int:
    cur._execute(sql)
    cur._rows = None  # psycopg2 runs each statement with no_result
    cur._casts = cur._caster = None
    cur.description = None
    return int(cur.rowcount)


def _pipelined(cur: Any, conn: Any, template: bytes, first: bytes, items: Iterator[Any]) -> None:
    from greenpsyco.fake_psycopg2._cursor import _rows_affected

    sent: list[bytes] = [first]

    def statements() -> Iterator[bytes | None]:
        sql = first
        while True:
            if b";" in sql:
                yield None
                yield sql
                yield None
            else:
                yield sql
            params = next(items, _END)
            if params is _END:
                return
            sql = _statement(cur, conn, template, params)
            sent.append(sql)

    def done(index: int) -> None:
        if index + 1 < len(sent):
            conn._current_query = sent[index + 1]

    cur._reset_result()
    conn._current_query = first
    wire = conn._check_open()
    try:
        pack = PACK if conn.server_version >= 130000 else 1  # statement_timeout per statement from 13
        outcome = wire.run(ops.pipeline(wire.state, statements(), done, pack))
    except WireError as error:
        raise conn._error(error, None, cur) from None
    except BaseException:
        if wire.broken:
            conn.closed = 2
        raise
    tags = outcome.tags
    cur.description = None
    cur._rows = None
    if outcome.failure is not None:
        assert outcome.failed_at is not None
        failed = sent[outcome.failed_at]
        cur.query = failed
        cur.rowcount = -1
        cur.statusmessage = ""
        if isinstance(outcome.failure, WireError):
            raise conn._error(outcome.failure, failed.decode(conn._py_encoding, "replace"), cur) from None
        raise outcome.failure
    counts = [_rows_affected(tag) for tag in tags]
    cur.statusmessage = tags[-1]
    if outcome.source_error is not None:
        cur.query = None
        cur.rowcount = counts[-1]
        raise outcome.source_error
    cur.query = sent[-1]
    total = 0
    for count in counts:
        total = _add(total, count)
    cur.rowcount = total
