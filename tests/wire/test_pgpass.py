"""The password file: line matching as libpq's pwdfMatchesString does it, permissions, per-host look-up.

Environment-dependent cases are checked against libpq 17 through the subprocess oracle of
test_conninfo (``PQpass`` after ``PQconnectStart``), with HOME pointing into ``tmp_path``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from greenpsyco.wire.conninfo import DEFAULT_SOCKET_DIR, resolve
from greenpsyco.wire.pgpass import PasswordFileWarning, password_from_file
from tests.wire.test_conninfo import libpq_connect


def write(path: Path, text: str, mode: int = 0o600) -> str:
    path.write_bytes(text.encode())
    path.chmod(mode)
    return str(path)


def lookup(
    path: str, host: str = "db", port: str = "5432", dbname: str = "app", user: str = "bob"
) -> str | None:
    return password_from_file(
        path, host=host, port=port, dbname=dbname, user=user, default_socket_dir=DEFAULT_SOCKET_DIR
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return {"HOME": str(home), "PGSYSCONFDIR": str(tmp_path / "etc")}


# ------------------------------------------------------------------------------------- line matching

LINES = (
    "# comment:5432:app:bob:no\n"
    "\n"
    "other:5432:app:bob:wrong-host\n"
    "db:5433:app:bob:wrong-port\n"
    "db:5432:app:bob:first\n"
    "db:5432:app:bob:second\n"
)


def test_first_matching_line_wins(tmp_path: Path) -> None:
    path = write(tmp_path / "pgpass", LINES)
    assert lookup(path) == "first"
    assert lookup(path, port="5433") == "wrong-port"
    assert lookup(path, host="other") == "wrong-host"
    assert lookup(path, user="alice") is None


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("*:*:*:*:star", "star"),
        ("db:*:app:*:star", "star"),
        ("d*:5432:app:bob:no", None),  # * is a wildcard only as a whole field
        ("*db:5432:app:bob:no", None),
        ("db:5432:app:bob:pa\\:ss\\\\word", "pa:ss\\word"),
        ("db:5432:app:bob:pass:extra", "pass"),
        ("db:5432:app:bob:", ""),
        ("db:5432:app:bob", None),
        ("db:5432:app", None),
        ("db:5432:app:bob:p\\w", "pw"),
        ("db:5432:app:bob:trailing\\", "trailing\\"),
        ("d\\b:5432:app:bob:escaped-char", "escaped-char"),
        ("db :5432:app:bob:space", None),
        ("DB:5432:app:bob:case", None),
        ("db:5432:app:bob:crlf\r", "crlf"),
        ("db:5432:app:bob:caf\u00e9", "caf\u00e9"),
    ],
)
def test_line_syntax(tmp_path: Path, line: str, expected: str | None) -> None:
    assert lookup(write(tmp_path / "pgpass", line + "\n")) == expected
    assert lookup(write(tmp_path / "pgpass2", line)) == expected  # no final newline


def test_escaped_colon_in_host(tmp_path: Path) -> None:
    path = write(tmp_path / "pgpass", "fe80\\:\\:1:5432:app:bob:v6\n")
    assert lookup(path, host="fe80::1") == "v6"


def test_localhost_stands_for_the_default_socket_and_no_host(tmp_path: Path) -> None:
    path = write(tmp_path / "pgpass", "localhost:5432:app:bob:local\n/tmp/sock:5432:app:bob:other-dir\n")
    assert lookup(path, host=DEFAULT_SOCKET_DIR) == "local"
    assert lookup(path, host="") == "local"
    assert lookup(path, host="/tmp/sock") == "other-dir"
    assert lookup(path, host="localhost", port="") == "local"  # no port means 5432


def test_no_lookup_without_database_or_user(tmp_path: Path) -> None:
    path = write(tmp_path / "pgpass", "*:*:*:*:star\n")
    assert lookup(path, dbname="") is None
    assert lookup(path, user="") is None


# ------------------------------------------------------------------------------------- permissions


def test_missing_file_is_silently_ignored(tmp_path: Path) -> None:
    assert lookup(str(tmp_path / "absent")) is None


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o601])
def test_group_or_world_access_is_ignored_with_a_warning(tmp_path: Path, mode: int) -> None:
    path = write(tmp_path / "pgpass", "*:*:*:*:star\n", mode)
    with pytest.warns(PasswordFileWarning, match="has group or world access; permissions should be u=rw"):
        assert lookup(path) is None


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_private_file_is_used(tmp_path: Path, mode: int) -> None:
    assert lookup(write(tmp_path / "pgpass", "*:*:*:*:star\n", mode)) == "star"


def test_directory_is_not_a_plain_file(tmp_path: Path) -> None:
    directory = tmp_path / "dir"
    directory.mkdir(mode=0o700)
    with pytest.warns(PasswordFileWarning, match="is not a plain file"):
        assert lookup(str(directory)) is None


# ------------------------------------------------------------------------------------- in resolve()


def test_default_file_comes_from_home(env: dict[str, str]) -> None:
    write(Path(env["HOME"]) / ".pgpass", "*:*:*:*:from-home\n")
    params = resolve("host=db user=bob dbname=app", environ=env)
    assert params.attempts[0].password == "from-home"
    assert "password" not in params.values  # as PQconninfo: only an explicit password is an option


def test_passfile_option_and_environment(env: dict[str, str], tmp_path: Path) -> None:
    write(Path(env["HOME"]) / ".pgpass", "*:*:*:*:from-home\n")
    option = write(tmp_path / "option", "*:*:*:*:from-option\n")
    variable = write(tmp_path / "variable", "*:*:*:*:from-variable\n")
    environ = {**env, "PGPASSFILE": variable}
    assert resolve("host=db", environ=environ).attempts[0].password == "from-variable"
    assert resolve(f"host=db passfile={option}", environ=environ).attempts[0].password == "from-option"


def test_explicit_password_wins_but_empty_does_not(env: dict[str, str]) -> None:
    write(Path(env["HOME"]) / ".pgpass", "*:*:*:*:from-file\n")
    assert resolve("host=db password=given", environ=env).attempts[0].password == "given"
    assert resolve("host=db", environ={**env, "PGPASSWORD": "env"}).attempts[0].password == "env"
    assert resolve("host=db password=''", environ=env).attempts[0].password == "from-file"


def test_each_host_gets_its_own_entry(env: dict[str, str]) -> None:
    write(
        Path(env["HOME"]) / ".pgpass",
        "a:5432:app:bob:pw-a\nb:6000:app:bob:pw-b\n10.0.0.3:5432:app:bob:pw-addr\nlocalhost:5432:app:bob:pw-local\n",
    )
    params = resolve(
        "host=a,b,c,,x hostaddr=,,,,10.0.0.3 port=5432,6000,5432,5432,5432 user=bob dbname=app", environ=env
    )
    assert [a.password for a in params.attempts] == ["pw-a", "pw-b", None, "pw-local", None]
    addr_only = resolve("hostaddr=10.0.0.3 user=bob dbname=app", environ=env)
    assert addr_only.attempts[0].password == "pw-addr"  # no host name: the address is the key


def test_database_and_user_defaults_are_used_for_the_lookup(env: dict[str, str]) -> None:
    write(Path(env["HOME"]) / ".pgpass", "db:5432:carol:carol:defaults\n")
    assert resolve("host=db", environ=env, os_user="carol").attempts[0].password == "defaults"


def test_insecure_file_is_ignored_in_resolve(env: dict[str, str]) -> None:
    write(Path(env["HOME"]) / ".pgpass", "*:*:*:*:star\n", 0o644)
    with pytest.warns(PasswordFileWarning):
        assert resolve("host=db", environ=env).attempts[0].password is None


def test_lookups_match_libpq(env: dict[str, str], tmp_path: Path) -> None:
    sock1, sock2 = str(tmp_path / "s1"), str(tmp_path / "s2")
    pgpass = (
        f"{sock1}:5432:app:bob:one\n"
        f"{sock2}:6000:app:bob:two\n"
        f"{sock1}:*:other:*:wild\\:card\n"
        "*:*:*:carol:carol's\n"
    )
    write(Path(env["HOME"]) / ".pgpass", pgpass)
    cases: list[str] = [
        f"host={sock1} user=bob dbname=app",
        f"host={sock1},{sock2} port=5432,6000 user=bob dbname=app",  # PQpass reports the last host tried
        f"host={sock1} user=alice dbname=other",
        f"host={sock1} user=carol",
        f"host={sock1} user=bob dbname=app password=explicit",
        f"host={sock1} user=nobody dbname=app",
    ]
    for conninfo, libpq in zip(cases, libpq_connect([(c, env) for c in cases]), strict=True):
        assert libpq.error is None
        ours = resolve(conninfo, environ=env).attempts[-1].password
        assert (ours or "") == libpq.password, conninfo


def test_insecure_file_matches_libpq(env: dict[str, str], tmp_path: Path) -> None:
    sock = str(tmp_path / "s")
    write(Path(env["HOME"]) / ".pgpass", "*:*:*:*:star\n", 0o644)
    (libpq,) = libpq_connect([(f"host={sock}", env)])
    assert libpq.password == ""
    with pytest.warns(PasswordFileWarning):
        assert resolve(f"host={sock}", environ=env).attempts[0].password is None


def test_warning_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "pgpass", "", 0o666)
    with pytest.warns(PasswordFileWarning) as record:
        lookup(path)
    assert str(record[0].message) == (
        f'WARNING: password file "{path}" has group or world access; '
        "permissions should be u=rw (0600) or less"
    )
    assert os.stat(path).st_mode & 0o777 == 0o666
