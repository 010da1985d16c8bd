"""Which peers may tell us the real client (``--forwarded-allow-ips``), and who that client is.

A reverse proxy in front of the server says who the client was (``X-Forwarded-For``) and whether it
spoke HTTPS (``X-Forwarded-Proto``). Anybody can send those headers, so they are believed only from
the addresses the operator lists, gunicorn's default being the loopback addresses. The client is the
right-most ``X-Forwarded-For`` entry that is not itself a trusted proxy: entries further left were
written by the client and prove nothing.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

ENVIRONMENT_VARIABLE = "FORWARDED_ALLOW_IPS"
DEFAULT = "127.0.0.1,::1"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class TrustedProxies:
    """A parsed ``--forwarded-allow-ips`` value: ``*`` (everyone), or addresses and CIDR networks."""

    everyone: bool
    networks: tuple[Network, ...]

    @classmethod
    def parse(cls, text: str) -> TrustedProxies:
        """Parse a comma-separated list; raises ValueError naming the entry that is not an address."""
        entries = [entry.strip() for entry in text.split(",") if entry.strip()]
        if "*" in entries:
            return cls(everyone=True, networks=())
        networks: list[Network] = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(
                    f"--forwarded-allow-ips: {entry!r} is not an IP address, a network (10.0.0.0/8) or '*'"
                ) from None
        return cls(everyone=False, networks=tuple(networks))

    @classmethod
    def default(cls) -> TrustedProxies:
        """``$FORWARDED_ALLOW_IPS``, else the loopback addresses (gunicorn's and uvicorn's default)."""
        return cls.parse(os.environ.get(ENVIRONMENT_VARIABLE) or DEFAULT)

    def trusts(self, address: str) -> bool:
        """Whether ``address`` (a peer's IP) may set the forwarded headers. Unix sockets count as local."""
        if self.everyone:
            return True
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)

    def client_address(self, forwarded_for: str) -> str | None:
        """The client named by an ``X-Forwarded-For`` value from a trusted peer (None if it names none)."""
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.trusts(hop):
                return hop
        return hops[0] if hops else None


__all__ = ["DEFAULT", "ENVIRONMENT_VARIABLE", "TrustedProxies"]
