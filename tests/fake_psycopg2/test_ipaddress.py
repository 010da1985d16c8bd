"""psycopg2._ipaddress against the real psycopg2 (the oracle) and the real server.

inet and cidr values (and arrays) are fetched as the same ``ipaddress`` objects once registered, on
a connection, a cursor or globally; ``ipaddress`` objects adapt to the same literals; the module's
functions behave as psycopg2's, including before registration.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import psycopg2
import psycopg2._ipaddress
import psycopg2.extensions
import psycopg2.extras
import pytest

import greenpsyco.fake_psycopg2 as fake
import greenpsyco.fake_psycopg2._ipaddress as fake_ipaddress
import greenpsyco.fake_psycopg2.extensions as fake_ext
import greenpsyco.fake_psycopg2.extras as fake_extras
from greenpsyco.testing import TestServer

REAL = SimpleNamespace(
    psycopg2=psycopg2, ext=psycopg2.extensions, extras=psycopg2.extras, ipaddress=psycopg2._ipaddress
)
FAKE = SimpleNamespace(psycopg2=fake, ext=fake_ext, extras=fake_extras, ipaddress=fake_ipaddress)

ADDRESSES = (
    "SELECT '10.0.0.1/8'::inet, '10.0.0.1'::inet, '::1'::inet, 'fe80::1/64'::inet,"
    " '10.0.0.0/8'::cidr, '2001:db8::/32'::cidr, null::inet, null::cidr,"
    " ARRAY['192.168.0.1/24'::inet, null], ARRAY['::/0'::cidr], '{}'::inet[]"
)
PYTHON_VALUES = [
    ipaddress.ip_interface("10.0.0.1/8"),
    ipaddress.ip_interface("::1"),
    ipaddress.ip_network("10.0.0.0/8"),
    ipaddress.ip_network("2001:db8::/32"),
    [ipaddress.ip_interface("192.168.0.1/24"), None],
]


def outcome(call: Callable[[], Any]) -> Any:
    """What a call did: its result, or the exception's class name and message."""
    try:
        return ("ok", call())
    except Exception as error:
        return ("raised", type(error).__name__, str(error))


def differential(scenario: Callable[[SimpleNamespace], list[Any]]) -> None:
    """Run ``scenario`` with psycopg2 then with greenpsyco's: the observations must be equal."""
    expected = scenario(REAL)
    actual = scenario(FAKE)
    assert len(actual) == len(expected)
    for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
        assert got == want, f"observation {index}: psycopg2 {want!r}, greenpsyco {got!r}"


@pytest.fixture(autouse=True)
def restore_registries() -> Iterator[None]:
    """Undo whatever a test registered globally, in both libraries' typecaster and adapter registries."""
    saved = [
        (registry, dict(registry))
        for lib in (REAL, FAKE)
        for registry in (lib.ext.string_types, lib.ext.adapters)
    ]
    yield
    for registry, content in saved:
        registry.clear()
        registry.update(content)


@pytest.fixture(scope="module")
def dsn(pg_server: TestServer) -> str:
    return pg_server.dsn()


def fetch(conn_or_cur: Any, sql: str = ADDRESSES, params: Any = None) -> list[Any]:
    cur = conn_or_cur if hasattr(conn_or_cur, "execute") else conn_or_cur.cursor()
    cur.execute(sql, params)
    return [repr(value) for value in cur.fetchone()]


def test_registered_on_a_connection_like_psycopg2(dsn: str) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        conn = lib.psycopg2.connect(dsn)
        other = lib.psycopg2.connect(dsn)
        try:
            seen: list[Any] = [fetch(conn)]  # before: strings (arrays as lists of strings)
            assert lib.extras.register_ipaddress(conn) is None
            seen.append(fetch(conn))
            seen.append(fetch(other))  # only ``conn`` got the typecasters
            cur = conn.cursor()
            for value in PYTHON_VALUES:
                seen.append(cur.mogrify("SELECT %s", (value,)))
                cur.execute("SELECT %s::inet[]" if isinstance(value, list) else "SELECT %s", (value,))
                seen.append(repr(cur.fetchone()[0]))
            seen.append(other.cursor().mogrify("SELECT %s", (PYTHON_VALUES[0],)))  # adapters are global
        finally:
            conn.close()
            other.close()
        return seen

    differential(scenario)


def test_registered_on_a_cursor_or_globally_like_psycopg2(dsn: str) -> None:
    def scenario(lib: SimpleNamespace) -> list[Any]:
        conn = lib.psycopg2.connect(dsn)
        try:
            cur = conn.cursor()
            lib.ipaddress.register_ipaddress(cur)
            seen: list[Any] = [fetch(cur), fetch(conn.cursor())]
            lib.ipaddress.register_ipaddress()
            fresh = lib.psycopg2.connect(dsn)
            seen.append(fetch(fresh))
            fresh.close()
        finally:
            conn.close()
        return seen

    differential(scenario)


def test_module_functions_like_psycopg2(monkeypatch: pytest.MonkeyPatch) -> None:
    for lib in (REAL, FAKE):
        monkeypatch.setattr(lib.ipaddress, "ipaddress", None)  # as before any register_ipaddress()

    def scenario(lib: SimpleNamespace) -> list[Any]:
        m = lib.ipaddress
        seen: list[Any] = [
            m.ipaddress,
            outcome(lambda: m.cast_interface("10.0.0.1/8")),
            m.cast_interface(None),
            m.cast_network(None, None),
        ]
        m.register_ipaddress()
        seen += [
            m.ipaddress is ipaddress,
            repr(m.cast_interface("10.0.0.1/8")),
            repr(m.cast_network(b"10.0.0.0/8".decode())),
            outcome(lambda: m.cast_network("10.0.0.1/8")),
            outcome(lambda: m.cast_interface("nonsense")),
            [(c.name, c.values) for c in m._casters],
            m._make_casters()[0].name,
            type(m.adapt_ipaddress(ipaddress.ip_network("::/0"))).__name__,
            m.adapt_ipaddress(ipaddress.ip_network("::/0")).getquoted(),
            [lib.ext.adapters[(t, lib.ext.ISQLQuote)].__name__ for t in (ipaddress.IPv4Interface,)],
        ]
        return seen

    differential(scenario)


def test_names_like_psycopg2() -> None:
    assert fake_extras.register_ipaddress is fake_ipaddress.register_ipaddress
    for name in ("register_ipaddress", "cast_interface", "cast_network", "adapt_ipaddress"):
        assert getattr(fake_ipaddress, name).__module__ == "psycopg2._ipaddress"
    ours: dict[str, Any] = {}
    theirs: dict[str, Any] = {}
    exec("from greenpsyco.fake_psycopg2._ipaddress import *", ours)
    exec("from psycopg2._ipaddress import *", theirs)
    assert sorted(ours) == sorted(theirs)
