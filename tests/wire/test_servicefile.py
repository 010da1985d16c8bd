"""The connection service file: where libpq looks, what it accepts, and what takes precedence.

Cases are compared with libpq 17 through the subprocess oracle of test_conninfo, with HOME, PGSYSCONFDIR
and PGSERVICEFILE pointing into ``tmp_path``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from greenpsyco.wire.conninfo import resolve
from greenpsyco.wire.errors import ConninfoError
from tests.wire.test_conninfo import comparable, libpq_connect


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "home").mkdir()
    (tmp_path / "etc").mkdir()
    return {"HOME": str(tmp_path / "home"), "PGSYSCONFDIR": str(tmp_path / "etc")}


@pytest.fixture
def sock(tmp_path: Path) -> str:
    return str(tmp_path / "nosock")


def same_as_libpq(conninfo: str, environ: Mapping[str, str]) -> dict[str, str]:
    """Resolve ``conninfo`` and check values or error against libpq 17; return our values."""
    (libpq,) = libpq_connect([(conninfo, environ)])
    if libpq.error is not None:
        with pytest.raises(ConninfoError) as excinfo:
            resolve(conninfo, environ=environ)
        assert str(excinfo.value) == libpq.error
        return {}
    values = dict(resolve(conninfo, environ=environ).values)
    assert comparable(values) == {k: v for k, v in libpq.values.items() if k != "gssencmode"}
    return values


# ------------------------------------------------------------------------------------- where libpq looks


def test_service_from_pgservicefile(env: dict[str, str], tmp_path: Path, sock: str) -> None:
    (tmp_path / "svc.conf").write_text(f"[main]\nhost={sock}\nport=6000\ndbname=maindb\n")
    environ = {**env, "PGSERVICEFILE": str(tmp_path / "svc.conf")}
    values = same_as_libpq("service=main", environ)
    assert (values["host"], values["port"], values["dbname"]) == (sock, "6000", "maindb")
    assert same_as_libpq("", {**environ, "PGSERVICE": "main"})["port"] == "6000"


def test_user_file_in_home(env: dict[str, str], sock: str) -> None:
    Path(env["HOME"], ".pg_service.conf").write_text(f"[main]\nhost={sock}\nport=6001\n")
    assert same_as_libpq("service=main", env)["port"] == "6001"


def test_system_file_is_the_fallback(env: dict[str, str], tmp_path: Path, sock: str) -> None:
    Path(env["PGSYSCONFDIR"], "pg_service.conf").write_text(
        f"[main]\nhost={sock}\nport=6002\n[other]\nport=1\n"
    )
    Path(env["HOME"], ".pg_service.conf").write_text(f"[other]\nhost={sock}\nport=6003\n")
    assert same_as_libpq("service=main", env)["port"] == "6002"  # not in the user file: system file
    assert same_as_libpq("service=other", env)["port"] == "6003"  # the user file wins
    (tmp_path / "svc.conf").write_text(f"[other]\nhost={sock}\nport=6004\n")
    environ = {**env, "PGSERVICEFILE": str(tmp_path / "svc.conf")}
    assert same_as_libpq("service=other", environ)["port"] == "6004"  # PGSERVICEFILE replaces ~/
    assert same_as_libpq("service=main", environ)["port"] == "6002"


def test_service_not_found(env: dict[str, str]) -> None:
    with pytest.raises(ConninfoError, match=r'^definition of service "nope" not found$'):
        resolve("service=nope", environ=env)
    same_as_libpq("service=nope", env)
    Path(env["PGSYSCONFDIR"], "pg_service.conf").write_text("[other]\nport=1\n")
    same_as_libpq("service=nope", env)
    same_as_libpq("", {**env, "PGSERVICE": "nope"})


def test_missing_pgservicefile_is_an_error(env: dict[str, str], tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.conf")
    with pytest.raises(ConninfoError) as excinfo:
        resolve("service=main", environ={**env, "PGSERVICEFILE": missing})
    assert str(excinfo.value) == f'service file "{missing}" not found'
    same_as_libpq("service=main", {**env, "PGSERVICEFILE": missing})


def test_no_service_no_files_read(env: dict[str, str], tmp_path: Path) -> None:
    environ = {**env, "PGSERVICEFILE": str(tmp_path / "missing.conf")}
    assert "service" not in resolve("", environ=environ).values


# ------------------------------------------------------------------------------------- precedence


def test_explicit_beats_service_beats_environment(env: dict[str, str], tmp_path: Path, sock: str) -> None:
    (tmp_path / "svc.conf").write_text(
        f"[main]\nhost={sock}\nport=6000\ndbname=svcdb\napplication_name=svcapp\nsslmode=disable\n"
    )
    environ = {
        **env,
        "PGSERVICEFILE": str(tmp_path / "svc.conf"),
        "PGPORT": "7000",
        "PGDATABASE": "envdb",
        "PGUSER": "envuser",
        "PGAPPNAME": "envapp",
        "PGSSLMODE": "require",
    }
    values = same_as_libpq("service=main application_name=explicit", environ)
    assert values["application_name"] == "explicit"
    assert (values["port"], values["dbname"], values["sslmode"]) == ("6000", "svcdb", "disable")
    assert values["user"] == "envuser"
    kwargs = resolve("service=main", environ=environ, port="8000").values
    assert kwargs["port"] == "8000"  # keyword arguments count as given


def test_empty_explicit_value_blocks_the_service(env: dict[str, str], tmp_path: Path, sock: str) -> None:
    (tmp_path / "svc.conf").write_text(f"[main]\nhost={sock}\napplication_name=svcapp\n")
    environ = {**env, "PGSERVICEFILE": str(tmp_path / "svc.conf")}
    assert same_as_libpq("service=main application_name=''", environ)["application_name"] == ""


def test_first_occurrence_in_the_section_wins(env: dict[str, str], tmp_path: Path, sock: str) -> None:
    (tmp_path / "svc.conf").write_text(f"[main]\nhost={sock}\nport=1\nport=2\n[main]\nport=3\n")
    environ = {**env, "PGSERVICEFILE": str(tmp_path / "svc.conf")}
    assert same_as_libpq("service=main", environ)["port"] == "1"


# ------------------------------------------------------------------------------------- syntax

SYNTAX_CASES = [
    "[main]\nhost = {sock}\n",
    "[main]\nhost={sock}\nport\n",
    "[main]\nhost={sock}\ncolour=blue\n",
    "[main]\nhost={sock}\nservice=other\n",
    "[main]\nhost={sock}\nrequiressl=1\n",
    "  # leading comment\n\n[main]  \n\thost={sock}   \n   port=6000\n#port=1\n",
    "[main] trailing words\nhost={sock}\n",
    "[mainly]\nport=1\n[main]\nhost={sock}\n",
    "[other]\ncolour=blue\n[main]\nhost={sock}\n",
    "[main]\nhost={sock}\noptions=-c geqo=off -c x=1\n",
    "[main]\nhost={sock}\napplication_name= spaced \n",
    "[main]\nhost={sock}\npassword=a=b\n",
    "[main]\r\nhost={sock}\r\nport=6000\r\n",
    "[main]\nhost={sock}\nport=6000",
    "[MAIN]\nhost={sock}\n",
]


@pytest.mark.parametrize("text", SYNTAX_CASES)
def test_syntax_matches_libpq(env: dict[str, str], tmp_path: Path, sock: str, text: str) -> None:
    (tmp_path / "svc.conf").write_text(text.replace("{sock}", sock))
    same_as_libpq("service=main", {**env, "PGSERVICEFILE": str(tmp_path / "svc.conf")})


def test_syntax_error_messages(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "svc.conf"
    environ = {**env, "PGSERVICEFILE": str(path)}
    path.write_text("[main]\nhost=x\nhost = y\n")
    with pytest.raises(ConninfoError, match=rf'^syntax error in service file "{path}", line 3$'):
        resolve("service=main", environ=environ)
    path.write_text("[main]\nservice=other\n")
    with pytest.raises(ConninfoError) as excinfo:
        resolve("service=main", environ=environ)
    assert (
        str(excinfo.value) == f'nested service specifications not supported in service file "{path}", line 2'
    )


@pytest.mark.parametrize(("length", "too_long"), [(1021, False), (1022, True), (1500, True)])
def test_line_length_limit(
    env: dict[str, str], tmp_path: Path, sock: str, length: int, too_long: bool
) -> None:
    line = "#" + "x" * (length - 1)
    path = tmp_path / "svc.conf"
    path.write_text(f"[main]\nhost={sock}\n{line}\n")
    environ = {**env, "PGSERVICEFILE": str(path)}
    same_as_libpq("service=main", environ)
    if too_long:
        with pytest.raises(ConninfoError, match=rf'^line 3 too long in service file "{path}"$'):
            resolve("service=main", environ=environ)


def test_ldap_entries_are_refused(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "svc.conf"
    path.write_text("[main]\nldap://ldap.example.com/dc=example?pgconnectinfo?one?(cn=main)\n")
    with pytest.raises(ConninfoError, match="LDAP"):
        resolve("service=main", environ={**env, "PGSERVICEFILE": str(path)})
