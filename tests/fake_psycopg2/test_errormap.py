"""The wire layer's errors mapped to psycopg2's, compared with what the real psycopg2 raises.

Every statement of the corpus fails (or, for a few, does not) on two fresh connections to the test
server: one of the real psycopg2 (libpq 17) and one of greenpsyco's blocking wire driver, whose
``ServerError`` goes through :func:`error_from_wire`. Class, ``str``, ``args``, ``pgerror``, ``pgcode``
and every ``diag`` attribute must be equal. The corpus covers every row of the reference table
(psycopg2-behaviour.md 3.8) and the shapes of libpq's caret display: later lines, CR/LF variants, tabs,
multibyte and wide characters, lines cut on the left and/or right, internal queries, non-UTF8 client
encodings.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg2
import psycopg2.extensions
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenpsyco.fake_psycopg2._errormap import (
    CONNECTION_LOST_TEXT,
    error_from_server,
    error_from_wire,
    exception_class,
    format_libpq_message,
    strip_severity,
)
from greenpsyco.fake_psycopg2._exceptions import (
    DatabaseError,
    Error,
    InterfaceError,
    InternalError,
    OperationalError,
    ProgrammingError,
)
from greenpsyco.fake_psycopg2.errors import sqlstate_errors
from greenpsyco.testing import TestServer
from greenpsyco.wire.errors import (
    ConnectionFailure,
    ConnectionLost,
    ConninfoError,
    InterfaceMisuse,
    MessageTooLong,
    ProtocolViolation,
    ServerError,
    WireError,
)
from greenpsyco.wire.io_blocking import BlockingConnection
from greenpsyco.wire.ops import LOST_MESSAGE

CLEAN_ENV = {"HOME": "/nonexistent"}
SCHEMA = "gp_errmap"
SESSION_SETUP = f"SET lc_messages TO 'C'; SET client_min_messages TO notice; SET search_path TO {SCHEMA}"
DIAG_ATTRIBUTES = [name for name in dir(psycopg2.extensions.Diagnostics) if not name.startswith("_")]

FIXTURE_SQL = f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
CREATE SCHEMA {SCHEMA};
SET search_path TO {SCHEMA};
CREATE TABLE e1 (id int PRIMARY KEY, v int NOT NULL CHECK (v >= 0));
CREATE TABLE e2 (id int REFERENCES e1);
INSERT INTO e1 VALUES (1, 1);
CREATE FUNCTION bad_plpgsql() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT nope FROM {SCHEMA}.e1);
END $$;
CREATE FUNCTION inner_raise() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'inner %', 1 USING HINT = 'from inner';
END $$;
CREATE FUNCTION outer_call() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM {SCHEMA}.inner_raise();
END $$;
CREATE FUNCTION sql_div() RETURNS int LANGUAGE sql AS 'SELECT 1/0';
"""

# A step is SQL for the connection under test; ("helper", sql) runs on a third connection in between;
# ("encoding", name) switches the client encoding (psycopg2: set_client_encoding, wire: SET).
Step = str | tuple[str, str]


def long_sum(count: int) -> str:
    return " + ".join(["1"] * count)


WIDE = "日本語のテキスト"
CORPUS: dict[str, Sequence[Step]] = {
    # -- the reference table (psycopg2-behaviour.md 3.8), in its order
    "unique": ["INSERT INTO e1 VALUES (1, 1)"],
    "not-null": ["INSERT INTO e1 VALUES (2, NULL)"],
    "check": ["INSERT INTO e1 VALUES (3, -1)"],
    "foreign-key": ["BEGIN; INSERT INTO e2 VALUES (99); COMMIT"],
    "division": ["SELECT 1/0"],
    "text-representation": ["SELECT 'x'::int"],
    "out-of-range": ["SELECT 99999999999::int"],
    "date-hint": ["SELECT '2024-13-01'::date"],
    "syntax": ["SELEC 1"],
    "undefined-table": ["SELECT * FROM nope"],
    "undefined-column": ["SELECT nope FROM e1"],
    "drop-missing": ['DROP TABLE "X"'],
    "duplicate-database": ["CREATE DATABASE template1"],
    "set-role": ["SET ROLE django_nonexistent_role"],
    "for-update-catalog": ["SELECT * FROM pg_catalog.pg_authid FOR UPDATE"],
    "raise-detail-hint": ["DO $$BEGIN RAISE EXCEPTION 'boom' USING HINT = 'h', DETAIL = 'd'; END$$"],
    "raise-sqlstate": ["DO $$BEGIN RAISE SQLSTATE '22023' USING MESSAGE = 'custom'; END$$"],
    "raise-unknown-class": ["DO $$BEGIN RAISE SQLSTATE 'ZZ999' USING MESSAGE = 'unknown class'; END$$"],
    "statement-timeout": ["SET statement_timeout = 50; SELECT pg_sleep(1)"],
    "lock-nowait": ["SET lock_timeout = 0; LOCK TABLE e1 IN ACCESS EXCLUSIVE MODE NOWAIT"],
    "advisory-division": ["SELECT pg_advisory_lock(1/0)"],
    "xml": ["SELECT xmlparse(document '<')"],
    "commit-outside": ["COMMIT"],  # a WARNING notice, not an error
    "savepoint-outside": ["SAVEPOINT s"],
    "rollback-to-outside": ["ROLLBACK TO SAVEPOINT nope"],
    "varchar-cast": ["SELECT repeat('x', 10)::varchar(3)"],
    "unique-in-batch": ["INSERT INTO e1 VALUES (5, 1), (5, 2)"],
    "lo-import": ["SELECT lo_import('/nonexistent')"],
    "fetch-missing": ["FETCH ALL FROM nope"],
    "duplicate-table": ["CREATE TABLE e1 (x int)"],
    "cardinality": ["SELECT (SELECT 1 UNION SELECT 2)"],
    "aborted-transaction": ["BEGIN", "SELECT 1/0", "SELECT 1"],
    "serialization": [
        "BEGIN ISOLATION LEVEL SERIALIZABLE",
        "SELECT * FROM e1 WHERE id = 1",
        ("helper", "UPDATE e1 SET v = v WHERE id = 1"),
        "UPDATE e1 SET v = v WHERE id = 1",
    ],
    "cancel-self": ["SELECT pg_cancel_backend(pg_backend_pid()), pg_sleep(1)"],
    # -- notices are not errors
    "notice-and-warning": ["DO $$BEGIN RAISE NOTICE 'n'; RAISE WARNING 'w' USING DETAIL = 'd'; END$$"],
    # -- the statement position: lines, line ends, tabs, multibyte and wide characters
    "later-line": ["SELECT 1,\n  2,\n  nope\nFROM e1"],
    "crlf-lines": ["SELECT 1,\r\n  2,\r\n  nope\r\nFROM e1"],
    "cr-lines": ["SELECT 1,\r  nope\rFROM e1"],
    "blank-lines-first": ["\n\n\nSELECT nope FROM e1"],
    "after-tabs": ["SELECT\t1,\t\tnope FROM e1"],
    "tab-line-later": ["SELECT 1,\n\t\tnope\tFROM e1"],
    "form-feed": ["SELECT 1,\f nope FROM e1"],
    "after-multibyte": ["SELECT 'héllo wörld ñ € ✓', nope FROM e1"],
    "after-combining": ["SELECT 'e\u0301e\u0301e\u0301', nope FROM e1"],
    "after-wide": [f"SELECT '{WIDE}', nope FROM e1"],
    "after-emoji": ["SELECT '\U0001f600\U0001f600 ok', nope FROM e1"],
    "end-of-input": ["SELECT 1 +"],
    "end-of-input-newline": ["SELECT 1 +\n"],
    "end-of-input-after-lines": ["SELECT 1,\n2,\n3 +   "],
    "second-statement": ["SELECT 1; SELECT nope FROM e1"],
    "second-statement-next-line": ["SELECT 1;\nSELECT 2;\n  SELECT nope FROM e1"],
    "position-and-hint": ["SELECT nofunc(1, 'a')"],
    "operator-hint": ["SELECT 'a'::text + 1"],
    # -- long lines: cut on the right, on the left, on both sides
    "long-error-at-end": [f"SELECT {long_sum(30)} + nope FROM e1"],
    "long-error-at-start": [f"SELECT nope + {long_sum(30)} FROM e1"],
    "long-error-in-middle": [f"SELECT {long_sum(20)} + nope + {long_sum(20)} FROM e1"],
    "long-later-line": [f"SELECT 1,\n  {long_sum(25)} + nope + {long_sum(5)}\nFROM e1"],
    "long-wide-before": [f"SELECT '{WIDE * 6}' || nope FROM e1"],
    "long-wide-after": [f"SELECT nope || '{WIDE * 6}' FROM e1"],
    "long-wide-around": [f"SELECT '{WIDE * 3}' || nope || '{WIDE * 3}' FROM e1"],
    "long-tabs": [f"SELECT\t{long_sum(12)}\t+\tnope\t+ {long_sum(12)} FROM e1"],
    "long-multibyte": [f"SELECT '{'é' * 50}' || nope || '{'ü' * 50}' FROM e1"],
    "long-end-of-input": [f"SELECT {long_sum(40)} +"],
    # -- internal queries (fields q and p) and contexts
    "plpgsql-internal-query": ["SELECT bad_plpgsql()"],
    "sql-function-body-syntax": ["CREATE FUNCTION gp_never() RETURNS int LANGUAGE sql AS 'SELEC 1'"],
    "sql-function-runtime": ["SELECT sql_div()"],
    "execute-multiline": ["DO $$BEGIN EXECUTE 'SELECT 1,' || chr(10) || '  nope FROM gp_errmap.e1'; END$$"],
    "execute-long": [f"DO $$BEGIN EXECUTE 'SELECT {long_sum(30)} + nope'; END$$"],
    "nested-context": ["SELECT outer_call()"],
    "raise-every-field": [
        "DO $$BEGIN RAISE EXCEPTION 'all %', 'fields' USING DETAIL = 'd', HINT = 'h', ERRCODE = '23505',"
        " COLUMN = 'c', CONSTRAINT = 'k', DATATYPE = 't', TABLE = 'tb', SCHEMA = 's'; END$$"
    ],
    "raise-multiline-message": [
        "DO $$BEGIN RAISE EXCEPTION E'line one\\nline two' USING DETAIL = E'a\\nb'; END$$"
    ],
    "assert": ["DO $$BEGIN ASSERT 1 = 2, 'assertion text'; END$$"],
    # -- client encodings other than UTF8
    "latin1": [("encoding", "LATIN1"), "SELECT 'été à Noël', nope FROM e1"],
    "latin1-long": [("encoding", "LATIN1"), f"SELECT '{'é' * 40}' || nope || '{'è' * 40}' FROM e1"],
    "sjis": [("encoding", "SJIS"), f"SELECT '{WIDE}ｶﾀｶﾅ', nope FROM e1"],
    "sjis-long": [("encoding", "SJIS"), f"SELECT '{WIDE * 4}ｶﾀｶﾅ' || nope || '{WIDE * 3}' FROM e1"],
    "euc-jp-long": [("encoding", "EUC_JP"), f"SELECT '{WIDE * 4}ｶﾀｶﾅ' || nope || '{WIDE * 3}' FROM e1"],
    "big5-long": [("encoding", "BIG5"), f"SELECT '{'中文字' * 12}' || nope || '{'中文字' * 5}' FROM e1"],
    "gbk-long": [("encoding", "GBK"), f"SELECT '{'中文字' * 12}' || nope FROM e1"],
    "uhc-long": [("encoding", "UHC"), f"SELECT '{'한국어' * 12}' || nope FROM e1"],
}
# Sweeps across the 60-column display limit and the 10-column right margin.
for _n in range(12, 20):
    CORPUS[f"sweep-end-{_n}"] = [f"SELECT {'1 + ' * _n}nope FROM e1"]
    CORPUS[f"sweep-start-{_n}"] = [f"SELECT nope{' + 1' * _n} FROM e1"]
for _n in range(4, 10):
    CORPUS[f"sweep-wide-{_n}"] = [f"SELECT '{'字' * (3 * _n)}' || nope || '{'字' * _n}' FROM e1"]


@pytest.fixture(scope="module")
def dsn(pg_server: TestServer) -> str:
    """A DSN for the test server, with this module's schema created afresh."""
    dsn = pg_server.dsn()
    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True
        conn.cursor().execute(FIXTURE_SQL)
    finally:
        conn.close()
    return dsn


@pytest.fixture
def helper(dsn: str) -> Iterator[Any]:
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    conn.cursor().execute(SESSION_SETUP)
    yield conn
    conn.close()


CURSOR = object()  # stands for the cursor psycopg2 attaches to the error


def run_psycopg2(dsn: str, steps: Sequence[Step], helper: Any) -> tuple[psycopg2.Error | None, Any]:
    """The error of the last statement on a real psycopg2 connection (None if it succeeded)."""
    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True
        cursor = conn.cursor()
        cursor.execute(SESSION_SETUP)
        error: psycopg2.Error | None = None
        for step in steps:
            if isinstance(step, tuple):
                if step[0] == "helper":
                    helper.cursor().execute(step[1])
                else:
                    conn.set_client_encoding(step[1])
                continue
            try:
                cursor.execute(step)
                error = None
            except psycopg2.Error as exc:
                error = exc
        return error, cursor
    finally:
        conn.close()


def run_wire(dsn: str, steps: Sequence[Step], helper: Any) -> Error | None:
    """The same on greenpsyco's wire driver, its error mapped to psycopg2's."""
    with BlockingConnection.connect(dsn, environ=CLEAN_ENV) as conn:
        conn.execute(SESSION_SETUP)
        error: Error | None = None
        for step in steps:
            if isinstance(step, tuple):
                if step[0] == "helper":
                    helper.cursor().execute(step[1])
                else:
                    conn.execute(f"SET client_encoding TO '{step[1]}'")
                continue
            try:
                conn.execute(step)
                error = None
            except WireError as exc:
                encoding = conn.state.parameters["client_encoding"]
                error = error_from_wire(exc, step, CURSOR, encoding=encoding)
        return error


def summary(error: BaseException | None) -> dict[str, Any] | None:
    """Everything psycopg2 code can observe of an error, except the cursor."""
    if error is None:
        return None
    cls = type(error)
    result: dict[str, Any] = {
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "mro": [f"{c.__module__}.{c.__qualname__}" for c in cls.__mro__],
        "str": str(error),
        "args": error.args,
    }
    if isinstance(error, (psycopg2.Error, Error)):
        result["pgerror"] = error.pgerror
        result["pgcode"] = error.pgcode
        result["diag"] = {name: getattr(error.diag, name) for name in DIAG_ATTRIBUTES}
    return result


@pytest.mark.parametrize("steps", list(CORPUS.values()), ids=list(CORPUS))
def test_server_errors_match_psycopg2(dsn: str, helper: Any, steps: Sequence[Step]) -> None:
    theirs, their_cursor = run_psycopg2(dsn, steps, helper)
    ours = run_wire(dsn, steps, helper)
    assert summary(ours) == summary(theirs)
    if theirs is not None:
        assert theirs.cursor is their_cursor
        assert ours is not None
        assert ours.cursor is CURSOR


def test_the_corpus_is_large_and_mostly_failing(dsn: str, helper: Any) -> None:
    assert len(CORPUS) >= 40
    assert sum(1 for steps in CORPUS.values() if "nope" in str(steps[-1])) >= 40


NOTICE_SQL = [
    "DO $$BEGIN RAISE NOTICE 'n'; RAISE WARNING 'w' USING DETAIL = 'd', HINT = 'h'; END$$",
    "COMMIT",
    "CREATE TABLE IF NOT EXISTS e1 (x int)",
    "SELECT outer_call_notice()",
]


def test_notices_are_formatted_like_psycopg2s(dsn: str) -> None:
    """Notices are not errors: psycopg2 keeps libpq's text in ``connection.notices``, without CONTEXT."""
    setup = (
        "CREATE OR REPLACE FUNCTION outer_call_notice() RETURNS void LANGUAGE plpgsql AS $$"
        "BEGIN RAISE NOTICE 'from a function' USING HINT = 'with context'; END $$"
    )
    real = psycopg2.connect(dsn)
    real.autocommit = True
    cursor = real.cursor()
    cursor.execute(SESSION_SETUP)
    cursor.execute(setup)
    del real.notices[:]
    for sql in NOTICE_SQL:
        cursor.execute(sql)
    theirs = list(real.notices)
    real.close()
    ours: list[str] = []
    with BlockingConnection.connect(dsn, environ=CLEAN_ENV) as wire:
        wire.execute(SESSION_SETUP)
        wire.state.notices.clear()
        for sql in NOTICE_SQL:
            wire.execute(sql)
            ours.extend(format_libpq_message(fields, sql, is_error=False) for fields in wire.state.notices)
            wire.state.notices.clear()
    assert ours == theirs
    assert len(theirs) == 5


def test_every_sqlstate_and_unknown_classes_map_like_psycopg2(dsn: str) -> None:
    """Raise each SQLSTATE from PL/pgSQL on both sides: the class (specific, or the base psycopg2 picks
    for the code's class) must be the same for all 254 known codes and for unknown ones."""
    unknown = [f"{cls}ZZZ" for cls in ("01", "02", "0A", "0B", "20", "21", "22", "23", "24", "25", "26")]
    unknown += [f"{cls}ZZZ" for cls in ("27", "28", "2B", "2D", "2F", "2Z", "34", "38", "39", "3B", "3D")]
    unknown += [f"{cls}ZZZ" for cls in ("3F", "3Z", "40", "42", "44", "4Z", "53", "57", "5Z", "F0", "FZ")]
    unknown += [f"{cls}ZZZ" for cls in ("HV", "HZ", "P0", "PZ", "XX", "XZ", "ZZ", "99", "AA", "0Z")]
    codes = list(sqlstate_errors) + unknown
    real = psycopg2.connect(dsn)
    real.autocommit = True
    cursor = real.cursor()
    with BlockingConnection.connect(dsn, environ=CLEAN_ENV) as wire:
        for code in codes:
            sql = f"DO $$BEGIN RAISE SQLSTATE '{code}' USING MESSAGE = 'm {code}'; END$$"
            with pytest.raises(psycopg2.Error) as info:
                cursor.execute(sql)
            with pytest.raises(ServerError) as wire_info:
                wire.execute(sql)
            ours = error_from_server(wire_info.value, sql)
            assert summary(ours) == summary(info.value), code
            assert exception_class(code) is type(ours)
    real.close()


# -- connection lost -----------------------------------------------------------------------------


@pytest.mark.parametrize("sslmode", ["disable", "require"])
@pytest.mark.parametrize("idle", [False, True], ids=["during-query", "while-idle"])
def test_connection_lost_matches_psycopg2(own_server: TestServer, sslmode: str, idle: bool) -> None:
    """pg_terminate_backend: the server sends FATAL 57P01 then closes; libpq 17 reports only the loss."""
    if sslmode == "require" and not own_server.ssl:
        pytest.skip("the server binaries have no TLS support")
    dsn = own_server.dsn(sslmode=sslmode)
    killer = psycopg2.connect(dsn)
    killer.autocommit = True
    terminate = "SELECT pg_terminate_backend(pg_backend_pid())"

    def kill(pid: int) -> str:
        killer.cursor().execute("SELECT pg_terminate_backend(%s)", (pid,))
        time.sleep(0.3)
        return "SELECT 1"

    real = psycopg2.connect(dsn)
    real.autocommit = True
    sql = kill(real.get_backend_pid()) if idle else terminate
    with pytest.raises(psycopg2.Error) as info:
        real.cursor().execute(sql)
    assert real.closed == 2

    wire = BlockingConnection.connect(dsn, environ=CLEAN_ENV)
    assert wire.state.backend_pid is not None
    sql = kill(wire.state.backend_pid) if idle else terminate
    with pytest.raises(ConnectionLost) as wire_info:
        wire.execute(sql)
    wire.close()
    killer.close()
    ours = error_from_wire(wire_info.value, sql, CURSOR, tls=sslmode == "require")
    assert summary(ours) == summary(info.value)
    assert ours.cursor is CURSOR


def test_connection_lost_texts() -> None:
    lost = error_from_wire(ConnectionLost(LOST_MESSAGE))
    assert type(lost) is OperationalError
    assert str(lost) == lost.pgerror == CONNECTION_LOST_TEXT
    assert lost.pgcode is None
    assert lost.diag.sqlstate is None
    fatal = ServerError(
        {"S": "FATAL", "C": "57P01", "M": "terminating connection due to administrator command"}
    )
    assert str(error_from_wire(ConnectionLost("FATAL:  x\n" + LOST_MESSAGE, fatal))) == CONNECTION_LOST_TEXT
    assert str(error_from_wire(ConnectionLost(f"{LOST_MESSAGE}\n(reset)"))) == CONNECTION_LOST_TEXT
    tls = error_from_wire(ConnectionLost(LOST_MESSAGE), tls=True)
    assert str(tls) == tls.pgerror == "SSL connection has been closed unexpectedly\n"
    other = error_from_wire(ConnectionLost("the connection is broken"))
    assert (type(other), str(other)) == (OperationalError, "the connection is broken\n")


# -- connection failures and connection strings ---------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        "port=1",
        "dbname=gp_no_such_db",
        "user=gp_no_such_user",
        "foo_bar=1",
        "host='x",
        "dbname",
        "sslmode=bogus",
        "port=abc",
        "target_session_attrs=zz",
        "host=a,b hostaddr=127.0.0.1",
    ],
)
def test_connect_errors_match_psycopg2(own_server: TestServer, extra: str) -> None:
    dsn = own_server.dsn(sslmode="disable") + " " + extra
    with pytest.raises(psycopg2.Error) as info:
        psycopg2.connect(dsn)
    with pytest.raises(WireError) as wire_info:
        BlockingConnection.connect(dsn, environ=CLEAN_ENV)
    assert summary(error_from_wire(wire_info.value)) == summary(info.value)


def test_wrong_password_matches_psycopg2(own_server: TestServer) -> None:
    dsn = own_server.dsn("scram-sha-256", password="wrong", sslmode="disable")
    with pytest.raises(psycopg2.Error) as info:
        psycopg2.connect(dsn)
    with pytest.raises(ConnectionFailure) as wire_info:
        BlockingConnection.connect(dsn, environ=CLEAN_ENV)
    assert summary(error_from_wire(wire_info.value)) == summary(info.value)


@pytest.mark.parametrize(
    "uri",
    [
        "postgresql://[::1",
        "postgresql://[]/db",
        "postgresql://h/db?x",
        "postgresql://h/db?a=b=c",
        "postgresql://h/%zz",
        "postgresql://h/db?fooz=1",
        "postgresql://h:5432!/db",
    ],
)
def test_uri_errors_match_psycopg2(uri: str) -> None:
    with pytest.raises(psycopg2.Error) as info:
        psycopg2.connect(uri)
    with pytest.raises(ConninfoError) as wire_info:
        BlockingConnection.connect(uri, environ=CLEAN_ENV)
    assert summary(error_from_wire(wire_info.value)) == summary(info.value)


def test_conninfo_errors_by_phase() -> None:
    parse = error_from_wire(ConninfoError('invalid connection option "foo_bar"'))
    assert (type(parse), str(parse)) == (
        ProgrammingError,
        'invalid dsn: invalid connection option "foo_bar"\n',
    )
    assert parse.pgerror is None
    later = error_from_wire(ConninfoError('invalid sslmode value: "bogus"'))
    assert (type(later), str(later)) == (OperationalError, 'invalid sslmode value: "bogus"\n')


# -- client-side errors ---------------------------------------------------------------------------


def test_client_side_errors() -> None:
    closed = error_from_wire(InterfaceMisuse("connection already closed"))
    assert (type(closed), closed.args, closed.pgerror) == (
        InterfaceError,
        ("connection already closed",),
        None,
    )
    busy = error_from_wire(InterfaceMisuse("another operation is in progress on this connection"))
    assert type(busy) is ProgrammingError
    too_long = error_from_wire(MessageTooLong("message of 2000000000 bytes exceeds PostgreSQL's limit"))
    assert type(too_long) is OperationalError
    assert str(too_long).endswith("limit\n")
    broken = error_from_wire(ProtocolViolation("unknown backend message type b'!'"))
    assert type(broken) is OperationalError
    assert str(broken) == broken.pgerror == "unknown backend message type b'!'\n"
    failure = error_from_wire(ConnectionFailure('connection to server at "h", port 1 failed: refused'))
    assert (type(failure), str(failure), failure.pgerror) == (
        OperationalError,
        'connection to server at "h", port 1 failed: refused\n',
        None,
    )


# -- the message text on its own -------------------------------------------------------------------


def test_format_without_query_text_appends_the_position() -> None:
    fields = {"S": "ERROR", "C": "42601", "M": 'syntax error at or near "x"', "P": "8"}
    assert format_libpq_message(fields, None) == 'ERROR:  syntax error at or near "x" at character 8\n'
    internal = {"S": "ERROR", "M": "m", "p": "3"}
    assert format_libpq_message(internal, "SELECT 1") == "ERROR:  m at character 3\n"


def test_format_prefers_the_statement_position_to_the_internal_one() -> None:
    fields = {"S": "ERROR", "M": "m", "P": "8", "p": "1", "q": "SELEC 1"}
    assert format_libpq_message(fields, "SELECT nope") == (
        "ERROR:  m\nLINE 1: SELECT nope\n               ^\nQUERY:  SELEC 1\n"
    )


def test_format_positions_outside_the_text_draw_nothing() -> None:
    for position in ("0", "-1", "x", "13"):
        assert format_libpq_message({"S": "ERROR", "M": "m", "P": position}, "SELECT nope") == "ERROR:  m\n"
    assert format_libpq_message({"S": "ERROR", "M": "m", "P": " 12"}, "SELECT nope") == (
        "ERROR:  m\nLINE 1: SELECT nope\n                   ^\n"
    )


def test_format_of_a_notice_leaves_out_the_context() -> None:
    fields = {"S": "WARNING", "M": "w", "D": "d", "W": "PL/pgSQL function inline_code_block line 1 at RAISE"}
    assert format_libpq_message(fields, None, is_error=False) == "WARNING:  w\nDETAIL:  d\n"
    assert format_libpq_message(fields, None).endswith(
        "CONTEXT:  PL/pgSQL function inline_code_block line 1 at RAISE\n"
    )


def test_format_without_severity_or_message() -> None:
    assert format_libpq_message({}, None) == "\n"
    assert format_libpq_message({"M": "m", "H": "h"}, None) == "m\nHINT:  h\n"


def test_strip_severity_like_psycopg2() -> None:
    assert strip_severity("ERROR:  x\n") == "x\n"
    assert strip_severity("FATAL:  x\n") == "x\n"
    assert strip_severity("PANIC:  x") == "x"
    assert strip_severity("ERROR:  ") == "ERROR:  "  # nothing after the prefix: kept
    assert strip_severity("ERREUR:  x\n") == "ERREUR:  x\n"  # a localized severity is kept
    assert strip_severity("WARNING:  x\n") == "WARNING:  x\n"


def test_error_without_sqlstate_is_a_database_error() -> None:
    error = error_from_server(ServerError({"S": "ERROR", "M": "odd"}), "SELECT 1")
    assert type(error) is DatabaseError
    assert (str(error), error.pgerror, error.pgcode) == ("odd\n", "ERROR:  odd\n", None)
    assert exception_class(None) is DatabaseError
    assert exception_class("") is DatabaseError
    assert exception_class("XX000").__name__ == "InternalError_"
    assert issubclass(exception_class("P9999"), InternalError)


# -- the caret display against a literal port of libpq's loop ---------------------------------------


def libpq_report_error_position(query: str, loc: int, encoding: str) -> str:
    """reportErrorPosition (fe-protocol3.c) transcribed statement by statement, character-indexed."""
    from greenpsyco.fake_psycopg2._errormap import _columns

    loc -= 1
    if loc < 0:
        return ""
    widths = [_columns(ch, encoding)[1] for ch in query]
    chars = list(query)
    scridx = [0] * (len(chars) + 1)
    scroffset, loc_line, ibeg, iend, cno = 0, 1, 0, -1, 0
    while cno < len(chars):
        ch = chars[cno]
        scridx[cno] = scroffset
        if ch == "\t":
            chars[cno] = " "
        elif ch in "\r\n":
            if cno < loc:
                if ch == "\r" or cno == 0 or chars[cno - 1] != "\r":
                    loc_line += 1
                ibeg = cno + 1
            else:
                iend = cno
                break
        scroffset += widths[cno]
        cno += 1
    if iend < 0:
        iend = cno
        scridx[iend] = scroffset
    if loc > cno:
        return ""
    beg_trunc = end_trunc = False
    if scridx[iend] - scridx[ibeg] > 60:
        if scridx[ibeg] + 60 >= scridx[loc] + 10:
            while scridx[iend] - scridx[ibeg] > 60:
                iend -= 1
            end_trunc = True
        else:
            while scridx[loc] + 10 < scridx[iend]:
                iend -= 1
                end_trunc = True
            while scridx[iend] - scridx[ibeg] > 60:
                ibeg += 1
                beg_trunc = True
    prefix = f"LINE {loc_line}: " + ("..." if beg_trunc else "")
    line = prefix + "".join(chars[ibeg:iend]) + ("..." if end_trunc else "") + "\n"
    return line + " " * (len(prefix) + scridx[loc] - scridx[ibeg]) + "^\n"


@st.composite
def query_and_position(draw: st.DrawFn) -> tuple[str, int]:
    """A statement text whose lines often exceed 60 columns, and a position in it or just outside."""
    rnd = draw(st.randoms(use_true_random=False))
    alphabet = [*"ab \t;é字ｶ\u0301" * 5, "\r", "\n"]
    query = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 300)))
    return query, rnd.randint(-1, len(query) + 2)


@settings(max_examples=500, deadline=None)
@given(case=query_and_position(), encoding=st.sampled_from(["UTF8", "SJIS", "LATIN1"]))
def test_caret_display_equals_libpqs_loop(case: tuple[str, int], encoding: str) -> None:
    query, position = case
    if encoding != "UTF8":
        query = query.replace("\u0301", "")
    if encoding == "LATIN1":
        query = query.replace("字", "").replace("ｶ", "")
    fields = {"S": "ERROR", "M": "m", "P": str(position)}
    display = libpq_report_error_position(query, position, encoding) if position > 0 else ""
    expected = "ERROR:  m\n" + display
    assert format_libpq_message(fields, query, encoding=encoding) == expected
