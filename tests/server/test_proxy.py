"""``--forwarded-allow-ips``: whom to believe, and which X-Forwarded-For entry is the client."""

from __future__ import annotations

import pytest

from greenpsyco.server.proxy import TrustedProxies


def test_default_is_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    proxies = TrustedProxies.default()
    assert proxies.trusts("127.0.0.1")
    assert proxies.trusts("::1")
    assert proxies.trusts("::ffff:127.0.0.1")
    assert not proxies.trusts("10.0.0.1")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.0/8")
    assert TrustedProxies.default().trusts("10.1.2.3")


def test_star_and_networks() -> None:
    assert TrustedProxies.parse("*").trusts("198.51.100.1")
    proxies = TrustedProxies.parse("192.168.0.0/16, 10.0.0.1")
    assert proxies.trusts("192.168.44.2")
    assert proxies.trusts("10.0.0.1")
    assert not proxies.trusts("10.0.0.2")
    assert not proxies.trusts("not an address")


def test_client_is_the_rightmost_untrusted_hop() -> None:
    proxies = TrustedProxies.parse("127.0.0.1,10.0.0.0/8")
    assert proxies.client_address("203.0.113.9, 198.51.100.2, 10.0.0.5") == "198.51.100.2"
    assert proxies.client_address("10.0.0.7, 127.0.0.1") == "10.0.0.7"
    assert proxies.client_address(" ") is None


def test_bad_entry_is_named() -> None:
    with pytest.raises(ValueError, match=r"'example\.com' is not an IP address"):
        TrustedProxies.parse("127.0.0.1,example.com")
