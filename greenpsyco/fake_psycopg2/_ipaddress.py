"""psycopg2._ipaddress: ``ipaddress`` objects to and from PostgreSQL's inet and cidr types.

Nothing is registered at import: ``register_ipaddress()`` does it (psycopg2's inet and cidr values are
strings until then). As in psycopg2, the module attribute ``ipaddress`` is None until the first call.
"""

from __future__ import annotations

import ipaddress as _stdlib_ipaddress
from typing import Any

from greenpsyco.fake_psycopg2._adapt import QuotedString, register_adapter
from greenpsyco.fake_psycopg2._typecast import new_array_type, new_type, register_type

# The standard module, bound by register_ipaddress() (psycopg2 imports it there, lazily).
ipaddress: Any = None

# The four typecasters (inet, inet[], cidr, cidr[]), made once, by the first register_ipaddress().
_casters: list[Any] | None = None


def register_ipaddress(conn_or_curs: Any = None) -> None:
    """Cast inet to ``IPv4Interface``/``IPv6Interface`` and cidr to ``IPv4Network``/``IPv6Network``
    (with their arrays) on ``conn_or_curs``, or globally for None; adapt those four types globally."""
    global ipaddress, _casters
    ipaddress = _stdlib_ipaddress
    if _casters is None:
        _casters = _make_casters()
    for caster in _casters:
        register_type(caster, conn_or_curs)
    for typ in (
        _stdlib_ipaddress.IPv4Interface,
        _stdlib_ipaddress.IPv6Interface,
        _stdlib_ipaddress.IPv4Network,
        _stdlib_ipaddress.IPv6Network,
    ):
        register_adapter(typ, adapt_ipaddress)


def _make_casters() -> list[Any]:
    """The inet and cidr typecasters and their arrays, with psycopg2's names."""
    inet = new_type((869,), "INET", cast_interface)
    cidr = new_type((650,), "CIDR", cast_network)
    return [inet, new_array_type((1041,), "INET[]", inet), cidr, new_array_type((651,), "CIDR[]", cidr)]


def cast_interface(s: Any, cur: Any = None) -> Any:
    """An inet value as ``ipaddress.ip_interface`` (an address with its netmask)."""
    if s is None:
        return None
    return ipaddress.ip_interface(str(s))


def cast_network(s: Any, cur: Any = None) -> Any:
    """A cidr value as ``ipaddress.ip_network``."""
    if s is None:
        return None
    return ipaddress.ip_network(str(s))


def adapt_ipaddress(obj: Any) -> QuotedString:
    """An ``ipaddress`` object as a quoted string literal (the server casts it on use)."""
    return QuotedString(str(obj))


for _func in (register_ipaddress, _make_casters, cast_interface, cast_network, adapt_ipaddress):
    _func.__module__ = "psycopg2._ipaddress"
del _func

# psycopg2's module has no __all__: this lists its public names, so that a star import gives the same.
__all__ = [
    "QuotedString",
    "adapt_ipaddress",
    "cast_interface",
    "cast_network",
    "ipaddress",
    "new_array_type",
    "new_type",
    "register_adapter",
    "register_ipaddress",
    "register_type",
]
