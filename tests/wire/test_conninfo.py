"""Connection options against libpq itself.

Two oracles, both driven through ctypes:

* in-process ``PQconninfoParse`` / ``PQconndefaults`` of the system's libpq 15 and of the libpq 17 that
  psycopg2-binary bundles (parsing depends on nothing but the string);
* a subprocess running libpq 17's ``PQconnectStart`` + ``PQconninfo`` + ``PQpass`` with an environment we
  choose, for everything that reads the environment, service files or ``~/.pgpass``. Hosts are always
  socket directories under ``tmp_path`` that hold no socket, so libpq fails at once, touching neither
  the network nor a server, after having worked out (and validated) every option.

The real environment and home directory are never read: every ``resolve`` call gets ``environ=`` with
HOME and PGSYSCONFDIR pointing into ``tmp_path``.
"""

from __future__ import annotations

import ctypes
import glob
import json
import locale
import os
import pwd
import random
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenpsyco.wire.conninfo import (
    DEFAULT_SOCKET_DIR,
    ENVIRONMENT_VARIABLES,
    KEYWORDS,
    HostAttempt,
    client_encoding_from_locale,
    make_conninfo,
    parse_conninfo,
    parse_int_param,
    parse_require_auth,
    resolve,
    resolve_cached,
)
from greenpsyco.wire.errors import ConninfoError
from greenpsyco.wire.pgpass import PasswordFileWarning

# ------------------------------------------------------------------------------------- oracles

LIBPQ15_PATH = "/usr/lib/x86_64-linux-gnu/libpq.so.5"
NEWER_THAN_15 = frozenset(
    {"require_auth", "load_balance_hosts", "sslcertmode", "gssdelegation", "sslnegotiation"}
)
OS_USER = pwd.getpwuid(os.geteuid()).pw_name


def libpq17_path() -> str | None:
    """The libpq shipped inside psycopg2-binary (17.x for psycopg2-binary 2.9.10+), if installed."""
    try:
        import psycopg2
    except ImportError:
        return None
    pattern = os.path.join(os.path.dirname(psycopg2.__file__), os.pardir, "psycopg2_binary.libs", "libpq-*")
    found = sorted(glob.glob(pattern))
    return os.path.realpath(found[0]) if found else None


class _Option(ctypes.Structure):
    _fields_ = [
        ("keyword", ctypes.c_char_p),
        ("envvar", ctypes.c_char_p),
        ("compiled", ctypes.c_char_p),
        ("val", ctypes.c_char_p),
        ("label", ctypes.c_char_p),
        ("dispchar", ctypes.c_char_p),
        ("dispsize", ctypes.c_int),
    ]


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", "surrogateescape")


class Libpq:
    """A libpq loaded with ctypes, for what does not depend on the environment."""

    def __init__(self, path: str) -> None:
        self.path = path
        lib = ctypes.CDLL(path)
        lib.PQconninfoParse.restype = ctypes.POINTER(_Option)
        lib.PQconninfoParse.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
        lib.PQconndefaults.restype = ctypes.POINTER(_Option)
        lib.PQconninfoFree.argtypes = [ctypes.POINTER(_Option)]
        lib.PQfreemem.argtypes = [ctypes.c_void_p]
        self._lib = lib
        self.version: int = lib.PQlibVersion()

    def parse(self, conninfo: str) -> dict[str, str] | str:
        """PQconninfoParse: the non-null options, or the error message without its newline."""
        errmsg = ctypes.c_void_p()
        options = self._lib.PQconninfoParse(conninfo.encode("utf-8", "surrogateescape"), ctypes.byref(errmsg))
        if not options:
            message = ctypes.string_at(errmsg.value or 0).decode("utf-8", "surrogateescape")
            self._lib.PQfreemem(errmsg)
            return message.rstrip("\n")
        try:
            return {row[0]: row[3] for row in self._rows(options) if row[3] is not None}
        finally:
            self._lib.PQconninfoFree(options)

    def keywords(self) -> list[tuple[str, str | None, str | None]]:
        """(keyword, envvar, compiled default) of every option, from PQconndefaults."""
        options = self._lib.PQconndefaults()
        try:
            return [(row[0], row[1], row[2]) for row in self._rows(options)]
        finally:
            self._lib.PQconninfoFree(options)

    @staticmethod
    def _rows(options: Any) -> Iterator[tuple[str, str | None, str | None, str | None]]:
        i = 0
        while options[i].keyword:
            o = options[i]
            yield o.keyword.decode(), _text(o.envvar), _text(o.compiled), _text(o.val)
            i += 1


@pytest.fixture(scope="session")
def libpq15() -> Libpq:
    if not os.path.exists(LIBPQ15_PATH):
        pytest.skip("the system libpq 15 is not installed")
    return Libpq(LIBPQ15_PATH)


@pytest.fixture(scope="session")
def libpq17() -> Libpq:
    path = libpq17_path()
    if path is None:
        pytest.skip("psycopg2-binary (bundling libpq 17) is not installed")
    lib = Libpq(path)
    if lib.version < 170000:
        pytest.skip(f"psycopg2-binary bundles libpq {lib.version}, not 17")
    return lib


@pytest.fixture(scope="session", params=["15", "17"])
def oracle(request: pytest.FixtureRequest) -> Libpq:
    """Each libpq in turn; parsing tests must agree with both."""
    fixture: Libpq = request.getfixturevalue(f"libpq{request.param}")
    return fixture


_CONNECT_SCRIPT = r"""
import ctypes, json, os, sys

class Option(ctypes.Structure):
    _fields_ = [("keyword", ctypes.c_char_p), ("envvar", ctypes.c_char_p), ("compiled", ctypes.c_char_p),
                ("val", ctypes.c_char_p), ("label", ctypes.c_char_p), ("dispchar", ctypes.c_char_p),
                ("dispsize", ctypes.c_int)]

def rows(options):
    out, i = {}, 0
    while options[i].keyword:
        if options[i].val is not None:
            out[options[i].keyword.decode()] = options[i].val.decode("utf-8", "surrogateescape")
        i += 1
    return out

request = json.load(sys.stdin)
lib = ctypes.CDLL(request["lib"])
lib.PQconnectStart.restype = ctypes.c_void_p
lib.PQconnectStart.argtypes = [ctypes.c_char_p]
lib.PQstatus.argtypes = [ctypes.c_void_p]
lib.PQerrorMessage.restype = ctypes.c_char_p
lib.PQerrorMessage.argtypes = [ctypes.c_void_p]
lib.PQconninfo.restype = ctypes.POINTER(Option)
lib.PQconninfo.argtypes = [ctypes.c_void_p]
lib.PQconndefaults.restype = ctypes.POINTER(Option)
lib.PQpass.restype = ctypes.c_char_p
lib.PQpass.argtypes = [ctypes.c_void_p]
lib.PQfinish.argtypes = [ctypes.c_void_p]
results = []
for case in request["cases"]:
    os.environ.clear()
    os.environ.update(case["env"])
    if case["conninfo"] is None:
        results.append({"values": rows(lib.PQconndefaults())})
        continue
    conn = lib.PQconnectStart(case["conninfo"].encode())
    results.append({
        "message": lib.PQerrorMessage(conn).decode("utf-8", "replace"),
        "values": rows(lib.PQconninfo(conn)),
        "password": lib.PQpass(conn).decode("utf-8", "surrogateescape"),
    })
    lib.PQfinish(conn)
json.dump(results, sys.stdout)
"""


class LibpqResult:
    """What libpq 17 made of one connection attempt that it could not complete."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        message: str = raw.get("message", "")
        # Failing to reach the (absent) socket means every option was accepted.
        reached_connect = message.startswith("connection to server on socket ")
        self.error: str | None = None if reached_connect or not message else message.rstrip("\n")
        self.values: dict[str, str] = raw["values"]
        self.password: str = raw.get("password", "")


def libpq_connect(cases: list[tuple[str | None, Mapping[str, str]]]) -> list[LibpqResult]:
    """Run each (conninfo, environment) through libpq 17 in a subprocess; None means PQconndefaults."""
    path = libpq17_path()
    if path is None or Libpq(path).version < 170000:
        pytest.skip("psycopg2-binary with libpq 17 is needed for this oracle")
    request = {"lib": path, "cases": [{"conninfo": c, "env": dict(e)} for c, e in cases]}
    proc = subprocess.run(
        [sys.executable, "-c", _CONNECT_SCRIPT],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env={},
        timeout=60,
        check=True,
    )
    return [LibpqResult(raw) for raw in json.loads(proc.stdout)]


def comparable(values: Mapping[str, str], explicit: str = "") -> dict[str, str]:
    """Our resolved values minus what differs by design from a GSSAPI-enabled libpq's PQconninfo."""
    out = dict(values)
    for key in ("gssencmode", "keepalives"):
        if key not in explicit:
            out.pop(key, None)
    return out


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An environment that points HOME and PGSYSCONFDIR into tmp_path and sets nothing else."""
    home = tmp_path / "home"
    home.mkdir()
    return {"HOME": str(home), "PGSYSCONFDIR": str(tmp_path / "etc")}


@pytest.fixture
def sockdir(tmp_path: Path) -> str:
    """A socket directory with no server in it."""
    return str(tmp_path / "nosock")


# ------------------------------------------------------------------------------------- keywords


def test_keywords_are_libpq17s(libpq17: Libpq) -> None:
    assert {kw for kw, _, _ in libpq17.keywords()} == KEYWORDS


def test_keywords_cover_libpq15s(libpq15: Libpq) -> None:
    assert {kw for kw, _, _ in libpq15.keywords()} == KEYWORDS - NEWER_THAN_15


def test_environment_variables_are_libpq17s(libpq17: Libpq) -> None:
    assert {kw: env for kw, env, _ in libpq17.keywords() if env} == dict(ENVIRONMENT_VARIABLES)
    assert ENVIRONMENT_VARIABLES["require_auth"] == "PGREQUIREAUTH"


# ------------------------------------------------------------------------------------- key=value

KEY_VALUE_CASES = [
    "",
    "   ",
    "host=localhost",
    "host=localhost port=5432 dbname=mydb",
    "  host = localhost  port= 5432\tdbname =mydb\n",
    "host='local host'",
    "host='it\\'s' password='back\\\\slash'",
    "password=it\\'s",
    "password=a\\ b",
    "password=tail\\",
    "password='tail\\",
    "dbname=''",
    "dbname= user=bob",
    "dbname=",
    "dbname='a'user=bob",
    "dbname=x dbname=y",
    "options='-c geqo=off -c statement_timeout=5000'",
    "application_name=caf\u00e9 password=\u2603",
    "password=\x01\x7f",
    "host=a\u00a0b",
    "requiressl=1",
    "requiressl=0",
    "requiressl=yes sslmode=verify-full",
    "host",
    "host port=5432",
    "=value",
    "host=x junk",
    "host='unterminated",
    "host='a' 'b'=c",
    "foo=bar",
    "host=x Host=y",
    "sslmode=require sslnegotiation=direct",
    "sslmode",
    "a=b=c",
    "hostaddr=127.0.0.1,::1 host=a,b port=1,",
]


@pytest.mark.parametrize("conninfo", KEY_VALUE_CASES)
def test_key_value_matches_libpq(oracle: Libpq, conninfo: str) -> None:
    expected = oracle.parse(conninfo)
    if oracle.version < 170000 and any(kw in conninfo for kw in NEWER_THAN_15):
        pytest.skip("keyword unknown to libpq 15")
    if isinstance(expected, str):
        with pytest.raises(ConninfoError) as excinfo:
            parse_conninfo(conninfo)
        assert str(excinfo.value) == expected
    else:
        assert parse_conninfo(conninfo) == expected


def test_key_value_messages() -> None:
    with pytest.raises(ConninfoError, match=r'^missing "=" after "foo" in connection info string$'):
        parse_conninfo("foo")
    with pytest.raises(ConninfoError, match=r"^unterminated quoted string in connection info string$"):
        parse_conninfo("host='x")
    with pytest.raises(ConninfoError, match=r'^invalid connection option "foo"$'):
        parse_conninfo("foo=bar")


def test_nul_is_refused() -> None:
    with pytest.raises(ConninfoError, match="NUL"):
        parse_conninfo("host=a\0b")


# ------------------------------------------------------------------------------------- URIs

# Mostly libpq's src/interfaces/libpq/t/001_uri.pl, plus multi-host and socket-directory forms.
URI_CASES = [
    "postgresql://uri-user:secret@host:12345/db",
    "postgresql://uri-user@host:12345/db",
    "postgresql://uri-user@host/db",
    "postgresql://host:12345/db",
    "postgresql://host/db",
    "postgresql://uri-user@host:12345/",
    "postgresql://uri-user@host/",
    "postgresql://uri-user@",
    "postgresql://host:12345/",
    "postgresql://host:12345",
    "postgresql://host/",
    "postgresql://host",
    "postgresql://",
    "postgresql://?hostaddr=127.0.0.1",
    "postgresql://example.com?hostaddr=63.1.2.4",
    "postgresql://%68ost/",
    "postgresql://host/db?user=uri-user",
    "postgresql://host/db?user=uri-user&port=12345",
    "postgresql://host/db?u%73er=someotheruser&port=12345",
    "postgresql://host/db?u%7aer=someotheruser&port=12345",
    "postgresql://host:12345?user=uri-user",
    "postgresql://host?user=uri-user",
    "postgresql://host?",
    "postgresql://[::1]:12345/db",
    "postgresql://[::1]/db",
    "postgresql://[2001:db8::1234]/",
    "postgresql://[200z:db8::1234]/",
    "postgresql://[::1]",
    "postgres://",
    "postgres:///",
    "postgres:///db",
    "postgres://uri-user@/db",
    "postgres://?host=/path/to/socket/dir",
    "postgresql://host?uzer=",
    "postgre://",
    "postgres://[::1",
    "postgres://[]",
    "postgres://[::1]z",
    "postgres://[::1]\u00e9",
    "postgresql://host?zzz",
    "postgresql://host?value1&value2",
    "postgresql://host?key=key=value",
    "postgres://host?dbname=%XXfoo",
    "postgresql://a%00b",
    "postgresql://%zz",
    "postgresql://%1",
    "postgresql://%",
    "postgres://@host",
    "postgres://host:/",
    "postgres://:12345/",
    "postgres://otheruser@?host=/no/such/directory",
    "postgres://otheruser@/?host=/no/such/directory",
    "postgres://otheruser@:12345?host=/no/such/socketdir",
    "postgres://otheruser@:12345/db?host=/path/to/socket",
    "postgres://:12345/db?host=/path/to/socket",
    "postgres://:12345?host=/path/to/socket",
    "postgres://%2Fvar%2Flib%2Fpostgresql/dbname",
    "postgresql://%2Fvar%2Flib%2Fpostgresql/dbname",
    "postgresql:///dbname?host=/var/lib/postgresql",
    "postgresql://host1:123,host2:456/somedb?target_session_attrs=any&application_name=myapp",
    "postgresql://host1,host2:456,[::1]:789/db",
    "postgresql://host1:1,host2/db",
    "postgresql://,,/db",
    "postgresql://:1,:2/db",
    "postgresql://user:p%40ss%3Aw%2Ford@host/db",
    "postgresql://us%3Aer:pa:ss@host/db",
    "postgresql://user:@host",
    "postgresql://:pw@host",
    "postgresql://user@host@other/db",
    "postgresql://host/db/more?sslmode=require",
    "postgresql://host/%64b%20name",
    "postgresql://h/d b",
    "postgresql:// h",
    "postgresql://host/db?application_name=caf%C3%A9&options=-c%20geqo%3Doff",
    "postgresql://host/db?ssl=true",
    "postgresql://host/db?ssl=false",
    "postgresql://host/db?requiressl=1",
    "postgresql://host/db?host=other&port=1&dbname=x&user=u&password=p",
    "postgresql://host/db?sslmode=verify-full&sslrootcert=system",
    "postgresql://host/db?&",
    "postgresql://host/db?a=1&&b=2",
    "postgresql://host/db?=x",
    "postgresql://host/db?%zz=1",
    "postgresql://host/db?dbname=%zz",
    "postgresql://host/db?%73slmode=%72equire",
    "postgresql://host/db?load_balance_hosts=random",
    "postgresql://h%2Cx/db",
]


@pytest.mark.parametrize("uri", URI_CASES)
def test_uri_matches_libpq(oracle: Libpq, uri: str) -> None:
    if oracle.version < 170000 and any(kw in uri for kw in NEWER_THAN_15):
        pytest.skip("keyword unknown to libpq 15")
    expected = oracle.parse(uri)
    if isinstance(expected, str):
        with pytest.raises(ConninfoError) as excinfo:
            parse_conninfo(uri)
        assert str(excinfo.value) == expected
    else:
        assert parse_conninfo(uri) == expected


def test_uri_examples() -> None:
    assert parse_conninfo("postgresql://%2Fvar%2Flib%2Fpostgresql/dbname") == {
        "host": "/var/lib/postgresql",
        "dbname": "dbname",
    }
    assert parse_conninfo("postgresql://host1:123,host2:456/somedb?application_name=myapp") == {
        "host": "host1,host2",
        "port": "123,456",
        "dbname": "somedb",
        "application_name": "myapp",
    }
    assert parse_conninfo("postgresql://h?ssl=true") == {"host": "h", "sslmode": "require"}
    with pytest.raises(ConninfoError, match=r'^invalid URI query parameter: "foo"$'):
        parse_conninfo("postgresql://h?foo=1")
    with pytest.raises(ConninfoError, match=r'^invalid percent-encoded token: "%zz"$'):
        parse_conninfo("postgresql://%zz")


def test_uri_undecodable_bytes_survive() -> None:
    """Bytes that are not UTF-8 come back surrogate-escaped, so encoding them restores libpq's bytes."""
    host = parse_conninfo("postgresql://%FF%FE/db")["host"]
    assert host.encode("utf-8", "surrogateescape") == b"\xff\xfe"


# ------------------------------------------------------------------------------------- make_conninfo

_values = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\0"), max_size=30)
_params = st.dictionaries(st.sampled_from(sorted(KEYWORDS)), _values, max_size=8)


@settings(max_examples=300, deadline=None)
@given(params=_params)
def test_make_conninfo_round_trips(params: dict[str, str]) -> None:
    assert parse_conninfo(make_conninfo(params)) == params


@settings(max_examples=200, deadline=None)
@given(params=_params)
def test_make_conninfo_agrees_with_libpq17(libpq17: Libpq, params: dict[str, str]) -> None:
    assert libpq17.parse(make_conninfo(params)) == params


@settings(max_examples=200, deadline=None)
@given(params=_params)
def test_make_conninfo_agrees_with_libpq15(libpq15: Libpq, params: dict[str, str]) -> None:
    known = {k: v for k, v in params.items() if k not in NEWER_THAN_15}
    assert libpq15.parse(make_conninfo(known)) == known


def test_make_conninfo_rendering() -> None:
    assert make_conninfo({"host": "h", "port": 5432, "password": None}) == "host=h port=5432"
    assert make_conninfo({"dbname": ""}) == "dbname=''"
    assert make_conninfo({"password": "a b'c\\"}) == "password='a b\\'c\\\\'"
    assert make_conninfo({"options": "-c\u2003x"}) == "options='-c\u2003x'"
    with pytest.raises(ConninfoError, match=r'^invalid connection option "nope"$'):
        make_conninfo({"nope": "x"})
    with pytest.raises(ConninfoError, match="NUL"):
        make_conninfo({"host": "a\0"})


# ------------------------------------------------------------------------------------- integers


@pytest.mark.parametrize(
    ("text", "value"),
    [("5", 5), (" 5 ", 5), ("+7", 7), ("-3", -3), ("0", 0), ("\t10\n", 10), ("2147483647", 2**31 - 1)],
)
def test_parse_int_param(text: str, value: int) -> None:
    assert parse_int_param(text, "connect_timeout") == value


@pytest.mark.parametrize("text", ["", " ", "x", "5x", "5 5", "0x10", "1.5", "2147483648", "\u0665"])
def test_parse_int_param_errors(text: str) -> None:
    with pytest.raises(ConninfoError) as excinfo:
        parse_int_param(text, "connect_timeout")
    assert str(excinfo.value) == f'invalid integer value "{text}" for connection option "connect_timeout"'


# ------------------------------------------------------------------------------------- defaults


def test_defaults(env: dict[str, str]) -> None:
    params = resolve("", environ=env, os_user="alice")
    values = params.values
    assert values["user"] == "alice"
    assert values["dbname"] == "alice"
    assert values["host"] == DEFAULT_SOCKET_DIR == "/var/run/postgresql"
    assert values["port"] == "5432"
    assert values["sslmode"] == "prefer"
    assert values["channel_binding"] == "prefer"
    assert values["target_session_attrs"] == "any"
    assert values["load_balance_hosts"] == "disable"
    assert values["sslsni"] == "1"
    assert values["gssencmode"] == "disable"
    assert values["ssl_min_protocol_version"] == "TLSv1.2"
    assert values["keepalives"] == "1"
    assert values["sslcertmode"] == "allow"
    assert values["sslnegotiation"] == "postgres"
    assert values["passfile"] == f"{env['HOME']}/.pgpass"
    assert "password" not in values
    assert params.attempts == (
        HostAttempt(
            host="/var/run/postgresql",
            hostaddr=None,
            port=5432,
            unix_socket="/var/run/postgresql/.s.PGSQL.5432",
            password=None,
        ),
    )
    assert dict(params.startup) == {"user": "alice", "database": "alice"}
    assert params.connect_timeout is None


def test_defaults_match_pqconndefaults(env: dict[str, str]) -> None:
    (libpq,) = libpq_connect([(None, env)])
    ours = resolve("", environ=env).values
    for keyword, value in libpq.values.items():
        if keyword != "gssencmode":  # this libpq has GSSAPI, we behave as a build without it
            assert ours[keyword] == value, keyword


def test_default_os_user_is_the_effective_user(env: dict[str, str]) -> None:
    assert resolve("", environ=env).values["user"] == OS_USER


def test_empty_user_and_dbname_fall_back_to_defaults(env: dict[str, str]) -> None:
    values = resolve(
        "user='' dbname=''", environ={**env, "PGUSER": "u", "PGDATABASE": "d"}, os_user="o"
    ).values
    assert (values["user"], values["dbname"]) == ("o", "o")  # given-but-empty blocks the environment


# ------------------------------------------------------------------------------------- precedence


def test_environment_fills_unset_options(env: dict[str, str], sockdir: str) -> None:
    environ = {
        **env,
        "PGHOST": "/elsewhere",
        "PGPORT": "6543",
        "PGDATABASE": "envdb",
        "PGUSER": "envuser",
        "PGPASSWORD": "envpass",
        "PGOPTIONS": "-c geqo=off",
        "PGAPPNAME": "envapp",
        "PGSSLMODE": "require",
        "PGCONNECT_TIMEOUT": "7",
        "PGCLIENTENCODING": "LATIN1",
        "PGTARGETSESSIONATTRS": "read-write",
        "PGREQUIREAUTH": "scram-sha-256",
        "PGCHANNELBINDING": "require",
        "PGLOADBALANCEHOSTS": "disable",
        "PGSSLNEGOTIATION": "direct",
        "PGSSLCERTMODE": "disable",
        "PGSSLROOTCERT": "/ca.pem",
        "PGSSLCERT": "/cert.pem",
        "PGSSLKEY": "/key.pem",
        "PGSSLCRL": "/crl.pem",
        "PGSSLCRLDIR": "/crl",
        "PGSSLSNI": "0",
        "PGSSLCOMPRESSION": "1",
        "PGREQUIREPEER": "postgres",
        "PGSSLMINPROTOCOLVERSION": "TLSv1.3",
        "PGSSLMAXPROTOCOLVERSION": "TLSv1.3",
        "PGKRBSRVNAME": "pg",
        "PGGSSLIB": "gssapi",
        "PGGSSDELEGATION": "1",
        "PGGSSENCMODE": "disable",
    }
    conninfo = f"host={sockdir} dbname=given"
    (libpq,) = libpq_connect([(conninfo, environ)])
    assert libpq.error is None
    params = resolve(conninfo, environ=environ)
    assert comparable(params.values) == {k: v for k, v in libpq.values.items() if k != "gssencmode"}
    assert params.values["dbname"] == "given"
    assert params.values["port"] == "6543"
    assert params.connect_timeout == 7.0
    assert params.attempts[0].password == "envpass"
    assert dict(params.startup) == {
        "user": "envuser",
        "database": "given",
        "options": "-c geqo=off",
        "application_name": "envapp",
        "client_encoding": "LATIN1",
    }


def test_kwargs_override_conninfo(env: dict[str, str]) -> None:
    params = resolve("host=a port=1 dbname=x", environ=env, os_user="o", port=2, dbname=None, user="u")
    assert (params.values["host"], params.values["port"], params.values["dbname"]) == ("a", "2", "x")
    assert params.values["user"] == "u"
    assert resolve("dbname=x", environ=env, os_user="o", database="y").values["dbname"] == "y"
    assert resolve("", environ=env, os_user="o", requiressl=1).values["sslmode"] == "require"
    with pytest.raises(TypeError):
        resolve("", environ=env, database="a", dbname="b")
    with pytest.raises(ConninfoError, match=r'^invalid connection option "colour"$'):
        resolve("", environ=env, colour="blue")


def test_empty_kwarg_counts_as_given(env: dict[str, str]) -> None:
    params = resolve("", environ={**env, "PGAPPNAME": "env"}, os_user="o", application_name="")
    assert params.values["application_name"] == ""
    assert "application_name" not in params.startup


def test_pgrequiressl(env: dict[str, str], sockdir: str) -> None:
    cases: list[tuple[str | None, Mapping[str, str]]] = [
        (f"host={sockdir}", {**env, "PGREQUIRESSL": "1"}),
        (f"host={sockdir}", {**env, "PGREQUIRESSL": "0"}),
        (f"host={sockdir}", {**env, "PGREQUIRESSL": "1", "PGSSLMODE": "allow"}),
        (f"host={sockdir} sslmode=disable", {**env, "PGREQUIRESSL": "1"}),
    ]
    for (conninfo, environ), libpq in zip(cases, libpq_connect(cases), strict=True):
        assert resolve(conninfo or "", environ=environ).values["sslmode"] == libpq.values["sslmode"]
    assert [resolve(c or "", environ=e).values["sslmode"] for c, e in cases] == [
        "require",
        "prefer",
        "allow",
        "disable",
    ]


def test_sslrootcert_system_strengthens_the_default_sslmode(env: dict[str, str], sockdir: str) -> None:
    assert resolve(f"host={sockdir} sslrootcert=system", environ=env).values["sslmode"] == "verify-full"
    with pytest.raises(ConninfoError) as excinfo:
        resolve(f"host={sockdir} sslrootcert=system", environ={**env, "PGSSLMODE": "require"})
    assert (
        str(excinfo.value)
        == 'weak sslmode "require" may not be used with sslrootcert=system (use "verify-full")'
    )


# ------------------------------------------------------------------------------------- validation

INVALID_CASES = [
    "sslmode=foo",
    "sslmode=''",
    "sslmode=Require",
    "channel_binding=foo",
    "target_session_attrs=foo",
    "target_session_attrs=read-only load_balance_hosts=foo",
    "load_balance_hosts=foo",
    "load_balance_hosts=foo channel_binding=bar",
    "sslnegotiation=foo",
    "sslnegotiation=direct",
    "sslnegotiation=direct sslmode=allow",
    "sslcertmode=foo",
    "gssencmode=foo",
    "sslrootcert=system sslmode=require",
    "sslrootcert=system sslmode=verify-ca",
    "ssl_min_protocol_version=TLSv1.4",
    "ssl_max_protocol_version=SSLv3",
    "ssl_min_protocol_version=TLSv1.3 ssl_max_protocol_version=TLSv1.2",
    "ssl_min_protocol_version=TLSv1.1 ssl_max_protocol_version=TLSv1",
    "require_auth=foo",
    "require_auth=password,!md5",
    "require_auth=!md5,password",
    "require_auth=md5,md5",
    "require_auth=!none,!none",
    "require_auth=password,",
    "require_auth=!",
    "port=x",
    "port=0",
    "port=65536",
    "port=-1",
    "port=' 5432 '",
    "port=5432,",
    "port=1,2,3",
    "host=a,b,c port=1,2",
    "hostaddr=127.0.0.1 host=a,b",
    "hostaddr=127.0.0.1,127.0.0.2 host=a",
    "hostaddr=127.0.0.1,127.0.0.2 host=a,b,c",
]


@pytest.mark.parametrize("conninfo", INVALID_CASES)
def test_validation_matches_libpq(env: dict[str, str], sockdir: str, conninfo: str) -> None:
    if "host" not in conninfo:
        conninfo = f"host={sockdir} {conninfo}"
    (libpq,) = libpq_connect([(conninfo, env)])
    if libpq.error is None:
        resolve(conninfo, environ=env)
    else:
        with pytest.raises(ConninfoError) as excinfo:
            resolve(conninfo, environ=env)
        assert str(excinfo.value) == libpq.error


VALID_CASES = [
    "sslmode=verify-full sslnegotiation=direct",
    "sslrootcert=system sslmode=verify-full",
    "ssl_min_protocol_version=tlsv1.3 ssl_max_protocol_version=TLSV1.3",
    "ssl_min_protocol_version=TLSv1 ssl_max_protocol_version=TLSv1",
    "ssl_min_protocol_version='' ssl_max_protocol_version=TLSv1",
    "require_auth=!password,!md5,!none",
    "require_auth=scram-sha-256,none,gss,sspi",
    "require_auth=''",
    "target_session_attrs=prefer-standby load_balance_hosts=random",
    "sslcertmode=require channel_binding=disable",
    "port=' 6000'",
    "port=''",
    "connect_timeout=x",
]


@pytest.mark.parametrize("conninfo", VALID_CASES)
def test_valid_settings_match_libpq(env: dict[str, str], sockdir: str, conninfo: str) -> None:
    conninfo = f"host={sockdir} {conninfo}"
    (libpq,) = libpq_connect([(conninfo, env)])
    assert libpq.error is None
    if "connect_timeout" in conninfo:
        # PQconnectStart does not look at connect_timeout; PQconnectdb rejects it once connecting.
        with pytest.raises(ConninfoError, match=r'^invalid integer value "x" for connection option'):
            resolve(conninfo, environ=env)
        return
    values = resolve(conninfo, environ=env).values
    assert comparable(values) == {k: v for k, v in libpq.values.items() if k != "gssencmode"}


def test_gssencmode_require_is_refused_without_gssapi(env: dict[str, str]) -> None:
    with pytest.raises(ConninfoError) as excinfo:
        resolve("gssencmode=require", environ=env)
    assert str(excinfo.value) == 'gssencmode value "require" invalid when GSSAPI support is not compiled in'
    assert resolve("gssencmode=prefer", environ=env).values["gssencmode"] == "prefer"


_PSYCOPG2_SCRIPT = r"""
import json, sys, psycopg2
messages = []
for dsn in json.load(sys.stdin):
    try:
        psycopg2.connect(dsn).close()
        messages.append(None)
    except psycopg2.OperationalError as exc:
        messages.append(str(exc))
json.dump(messages, sys.stdout)
"""


def test_messages_match_psycopg2(env: dict[str, str]) -> None:
    """psycopg2's OperationalError text (libpq 17's message) for options refused before connecting."""
    pytest.importorskip("psycopg2")
    dsns = [
        f"{conninfo} user=u dbname=d"
        for conninfo in (
            "sslmode=foo",
            "host=a,b port=1,2,3",
            "require_auth=!md5,md5",
            "load_balance_hosts=x",
        )
    ]
    proc = subprocess.run(
        [sys.executable, "-c", _PSYCOPG2_SCRIPT],
        input=json.dumps(dsns),
        capture_output=True,
        text=True,
        env=env,  # psycopg2 reads the environment: give it ours, not the real one
        timeout=60,
        check=True,
    )
    for dsn, expected in zip(dsns, json.loads(proc.stdout), strict=True):
        with pytest.raises(ConninfoError) as ours:
            resolve(dsn, environ=env)
        assert str(ours.value) == expected.rstrip("\n")


# ------------------------------------------------------------------------------------- require_auth


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", (frozenset(), True)),
        ("password", (frozenset({"password"}), False)),
        ("scram-sha-256,md5", (frozenset({"scram-sha-256", "md5"}), False)),
        ("none", (frozenset({"none"}), False)),
        ("!password,!md5", (frozenset({"password", "md5"}), True)),
        ("!none", (frozenset({"none"}), True)),
        ("gss,sspi", (frozenset({"gss", "sspi"}), False)),
    ],
)
def test_parse_require_auth(value: str, expected: tuple[frozenset[str], bool]) -> None:
    assert parse_require_auth(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("password,!md5", 'negative require_auth method "!md5" cannot be mixed with non-negative methods'),
        ("!md5,password", 'require_auth method "password" cannot be mixed with negative methods'),
        ("!md5,foo", 'require_auth method "foo" cannot be mixed with negative methods'),
        ("foo", 'invalid require_auth value: "foo"'),
        ("!foo", 'invalid require_auth value: "foo"'),
        ("MD5", 'invalid require_auth value: "MD5"'),
        ("md5,", 'invalid require_auth value: ""'),
        (" md5", 'invalid require_auth value: " md5"'),
        ("md5,md5", 'require_auth method "md5" is specified more than once'),
        ("!none,!none", 'require_auth method "!none" is specified more than once'),
        ("none,none", 'require_auth method "none" is specified more than once'),
    ],
)
def test_parse_require_auth_errors(value: str, message: str) -> None:
    with pytest.raises(ConninfoError) as excinfo:
        parse_require_auth(value)
    assert str(excinfo.value) == message


# ------------------------------------------------------------------------------------- hosts


def _attempts(conninfo: str, environ: Mapping[str, str]) -> list[tuple[str, str | None, int, str | None]]:
    return [(a.host, a.hostaddr, a.port, a.unix_socket) for a in resolve(conninfo, environ=environ).attempts]


def test_multi_host_attempts(env: dict[str, str]) -> None:
    assert _attempts("host=a,b,/tmp/s port=1,2,3", env) == [
        ("a", None, 1, None),
        ("b", None, 2, None),
        ("/tmp/s", None, 3, "/tmp/s/.s.PGSQL.3"),
    ]
    assert _attempts("host=a,b port=6000", env) == [("a", None, 6000, None), ("b", None, 6000, None)]
    assert _attempts("host=a,,b port=1,,3", env) == [
        ("a", None, 1, None),
        (DEFAULT_SOCKET_DIR, None, 5432, f"{DEFAULT_SOCKET_DIR}/.s.PGSQL.5432"),
        ("b", None, 3, None),
    ]
    assert _attempts("host=@abstract", env) == [("@abstract", None, 5432, "@abstract/.s.PGSQL.5432")]
    assert _attempts("postgresql://h1:5433,[::1],h3:7/db", env) == [
        ("h1", None, 5433, None),
        ("::1", None, 5432, None),
        ("h3", None, 7, None),
    ]


def test_hostaddr_attempts(env: dict[str, str]) -> None:
    assert _attempts("hostaddr=10.0.0.1,10.0.0.2", env) == [
        ("", "10.0.0.1", 5432, None),
        ("", "10.0.0.2", 5432, None),
    ]
    assert _attempts("hostaddr=10.0.0.1,10.0.0.2 host=db1,/tmp/s", env) == [
        ("db1", "10.0.0.1", 5432, None),
        ("/tmp/s", "10.0.0.2", 5432, None),
    ]
    assert _attempts("hostaddr=10.0.0.1, host=db1,", env) == [
        ("db1", "10.0.0.1", 5432, None),
        (DEFAULT_SOCKET_DIR, None, 5432, f"{DEFAULT_SOCKET_DIR}/.s.PGSQL.5432"),
    ]
    values = resolve("hostaddr=10.0.0.1", environ=env).values
    assert "host" not in values


def test_port_matching_errors(env: dict[str, str]) -> None:
    with pytest.raises(ConninfoError, match=r"^could not match 2 port numbers to 3 hosts$"):
        resolve("host=a,b,c port=1,2", environ=env)
    with pytest.raises(ConninfoError, match=r"^could not match 3 host names to 2 hostaddr values$"):
        resolve("host=a,b,c hostaddr=1.1.1.1,2.2.2.2", environ=env)
    with pytest.raises(ConninfoError, match=r'^invalid port number: "70000"$'):
        resolve("host=a port=70000", environ=env)
    with pytest.raises(ConninfoError, match=r'^invalid integer value "p" for connection option "port"$'):
        resolve("host=a port=p", environ=env)


def test_socket_path_length(env: dict[str, str]) -> None:
    long_dir = "/" + "d" * 94  # 95 + len("/.s.PGSQL.5432") == 109 bytes, one too many with the NUL
    with pytest.raises(ConninfoError, match="is too long"):
        resolve(f"host={long_dir}", environ=env)
    assert resolve(f"host={long_dir[:-2]}", environ=env).attempts[0].unix_socket is not None


def test_load_balance_hosts_random_is_seeded_shuffle(env: dict[str, str]) -> None:
    conninfo = "host=h1,h2,h3,h4,h5 port=1,2,3,4,5 load_balance_hosts=random"

    def order(seed: int) -> list[tuple[str, int]]:
        attempts = resolve(conninfo, environ=env, rng=random.Random(seed)).attempts
        return [(a.host, a.port) for a in attempts]

    expected = [("h1", 1), ("h2", 2), ("h3", 3), ("h4", 4), ("h5", 5)]
    rng = random.Random(42)
    for i in range(1, len(expected)):  # libpq's inside-out Fisher-Yates
        j = rng.randint(0, i)
        expected[i], expected[j] = expected[j], expected[i]
    assert order(42) == expected  # ports travel with their hosts
    assert len({tuple(order(seed)) for seed in range(30)}) > 5
    assert [a.host for a in resolve("host=h1,h2,h3", environ=env, rng=random.Random(1)).attempts] == [
        "h1",
        "h2",
        "h3",
    ]


# ------------------------------------------------------------------------------------- connect_timeout


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("10", 10.0), (" 3 ", 3.0), ("2", 2.0), ("1", 1.0), ("0", None), ("-5", None)],
)
def test_connect_timeout(env: dict[str, str], value: str | None, expected: float | None) -> None:
    # libpq 17 waits exactly N seconds; the "1 means 2" rounding rule of libpq <= 16 is gone.
    assert resolve("", environ=env, connect_timeout=value).connect_timeout == expected


@pytest.mark.parametrize("value", ["", "x", "1.5", "10s"])
def test_connect_timeout_errors(env: dict[str, str], value: str) -> None:
    with pytest.raises(ConninfoError) as excinfo:
        resolve("", environ=env, connect_timeout=value)
    assert str(excinfo.value) == f'invalid integer value "{value}" for connection option "connect_timeout"'
    with pytest.raises(ConninfoError):
        resolve("", environ={**env, "PGCONNECT_TIMEOUT": value})


# ------------------------------------------------------------------------------------- startup packet


def test_startup_parameters(env: dict[str, str]) -> None:
    environ = {**env, "PGDATESTYLE": "ISO, DMY", "PGTZ": "UTC", "PGGEQO": "DEFAULT"}
    conninfo = "user=u dbname=d options='-c x=1' fallback_application_name=fb client_encoding=UTF8"
    params = resolve(f"{conninfo} replication=database", environ=environ)
    assert list(params.startup.items()) == [
        ("user", "u"),
        ("database", "d"),
        ("replication", "database"),
        ("options", "-c x=1"),
        ("application_name", "fb"),
        ("client_encoding", "UTF8"),
        ("datestyle", "ISO, DMY"),
        ("timezone", "UTC"),
    ]
    with_app = resolve("application_name=app fallback_application_name=fb", environ=env, os_user="o")
    assert with_app.startup["application_name"] == "app"
    from_env = resolve("fallback_application_name=fb", environ={**env, "PGAPPNAME": "envapp"}, os_user="o")
    assert from_env.startup["application_name"] == "envapp"


def test_client_encoding_auto(env: dict[str, str], sockdir: str) -> None:
    params = resolve("client_encoding=auto", environ=env, os_user="o")
    assert params.values["client_encoding"] == client_encoding_from_locale()
    assert params.startup.get("client_encoding", "") == client_encoding_from_locale()
    (libpq,) = libpq_connect([(f"host={sockdir} client_encoding=auto", env)])
    assert libpq.values["client_encoding"] == "UTF8"  # the oracle runs in C.UTF-8, as Python coerces C
    if locale.nl_langinfo(locale.CODESET) == "UTF-8":
        assert params.values["client_encoding"] == "UTF8"


@pytest.mark.parametrize(
    ("ctype", "codeset", "expected"),
    [
        ("C", "ANSI_X3.4-1968", "SQL_ASCII"),
        ("POSIX", "ANSI_X3.4-1968", "SQL_ASCII"),
        ("C.UTF-8", "UTF-8", "UTF8"),
        ("de_DE", "ISO-8859-1", "LATIN1"),
        ("de_DE@euro", "ISO-8859-15", "LATIN9"),
        ("ru_RU.KOI8-R", "KOI8-R", "KOI8R"),
        ("ja_JP.eucJP", "EUC-JP", "EUC_JP"),
        ("zh_TW.big5", "BIG5", "BIG5"),
        ("xx_XX", "NOT-A-CODESET", ""),
    ],
)
def test_client_encoding_from_locale(
    monkeypatch: pytest.MonkeyPatch, ctype: str, codeset: str, expected: str
) -> None:
    monkeypatch.setattr(locale, "setlocale", lambda category, value=None: ctype)
    monkeypatch.setattr(locale, "nl_langinfo", lambda item: codeset)
    assert client_encoding_from_locale() == expected


# ------------------------------------------------------------------------------ resolve_cached


@pytest.fixture
def cached_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """os.environ (which resolve_cached reads) without PG* variables, HOME and PGSYSCONFDIR in tmp_path."""
    for name in list(os.environ):
        if name.startswith("PG"):
            monkeypatch.delenv(name)
    (tmp_path / "etc").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PGSYSCONFDIR", str(tmp_path / "etc"))
    return tmp_path


def test_resolve_cached_gives_the_same_parameters_while_nothing_changes(cached_env: Path) -> None:
    conninfo = f"host={cached_env} dbname=d user=u password=p"
    first = resolve_cached(conninfo)
    assert first == resolve(conninfo, environ=dict(os.environ))
    assert resolve_cached(conninfo) is first
    assert resolve_cached(conninfo + " ") is not first  # another string: resolved on its own


def test_resolve_cached_sees_environment_changes(cached_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conninfo = f"host={cached_env} dbname=d user=u"
    assert resolve_cached(conninfo).attempts[0].password is None
    monkeypatch.setenv("PGPASSWORD", "secret")
    assert resolve_cached(conninfo).attempts[0].password == "secret"
    monkeypatch.setenv("PGPASSWORD", "other")
    assert resolve_cached(conninfo).attempts[0].password == "other"
    monkeypatch.setenv("PGAPPNAME", "app")
    assert resolve_cached(conninfo).startup["application_name"] == "app"
    monkeypatch.setenv("PGTZ", "UTC")
    assert resolve_cached(conninfo).startup["timezone"] == "UTC"


def test_resolve_cached_sees_password_file_changes(cached_env: Path) -> None:
    conninfo = f"host={cached_env} dbname=d user=u"
    passfile = cached_env / ".pgpass"
    assert resolve_cached(conninfo).attempts[0].password is None
    for password in ("first", "other", "third!"):  # the same size, then another size
        passfile.write_text(f"*:*:d:u:{password}\n")
        passfile.chmod(0o600)
        assert resolve_cached(conninfo).attempts[0].password == password
    replacement = cached_env / "new"
    replacement.write_text("*:*:d:u:fourth!\n")  # renamed over it: another inode
    replacement.chmod(0o600)
    replacement.rename(passfile)
    assert resolve_cached(conninfo).attempts[0].password == "fourth!"
    passfile.chmod(0o644)  # libpq ignores (and warns about) a file others may read, every time
    for _ in range(2):
        with pytest.warns(PasswordFileWarning, match="group or world access"):
            assert resolve_cached(conninfo).attempts[0].password is None
    passfile.unlink()
    assert resolve_cached(conninfo).attempts[0].password is None


def test_resolve_cached_sees_service_file_changes(cached_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conninfo = "service=svc"
    system_file = cached_env / "etc" / "pg_service.conf"
    with pytest.raises(ConninfoError, match='definition of service "svc" not found'):
        resolve_cached(conninfo)
    system_file.write_text(f"[svc]\nhost={cached_env}\ndbname=system\n")
    assert resolve_cached(conninfo).values["dbname"] == "system"
    user_file = cached_env / ".pg_service.conf"
    user_file.write_text(f"[svc]\nhost={cached_env}\ndbname=user\n")
    assert resolve_cached(conninfo).values["dbname"] == "user"
    user_file.write_text(f"[svc]\nhost={cached_env}\ndbname=mine\n")
    assert resolve_cached(conninfo).values["dbname"] == "mine"
    monkeypatch.setenv("PGSERVICEFILE", str(system_file))
    assert resolve_cached(conninfo).values["dbname"] == "system"


def test_resolve_cached_keeps_nothing_that_may_differ_between_calls(cached_env: Path) -> None:
    shuffled = "host=/a,/b,/c,/d dbname=d user=u password=p load_balance_hosts=random"
    assert resolve_cached(shuffled) is not resolve_cached(shuffled)  # a new shuffle each time
    auto = f"host={cached_env} dbname=d user=u password=p client_encoding=auto"
    assert resolve_cached(auto) is not resolve_cached(auto)  # the locale of the moment
