"""The client's address behind trusted proxies: the right-most address we do not trust, never an
entry the client wrote itself; IPv6 clients count per /64."""

from __future__ import annotations

import pytest

from kernel.client_address import TrustedProxies, limit_key, parse_networks
from kernel.settings import ConfigError
from tests.helpers import make_config

NGINX = TrustedProxies(parse_networks(["10.0.0.5"]))
ONE_HOP = TrustedProxies((), hops=1)
CDN_AND_NGINX = TrustedProxies(parse_networks(["10.0.0.0/8", "198.51.100.0/24"]))


@pytest.mark.parametrize(
    ("proxies", "peer", "header", "client"),
    [
        # nothing trusted: the TCP peer, whatever the header says
        (TrustedProxies(), "10.0.0.5", ["6.6.6.6"], "10.0.0.5"),
        # one proxy by address: the entry it appended
        (NGINX, "10.0.0.5", ["203.0.113.7"], "203.0.113.7"),
        # the client sent its own header: its entries are left of the proxy's and ignored
        (NGINX, "10.0.0.5", ["6.6.6.6, 203.0.113.7"], "203.0.113.7"),
        (NGINX, "10.0.0.5", ["127.0.0.1", "203.0.113.7"], "203.0.113.7"),  # two header lines
        (NGINX, "10.0.0.5", ["10.0.0.5, 203.0.113.7"], "203.0.113.7"),  # posing as the proxy
        # a peer that is not the proxy: its header proves nothing
        (NGINX, "203.0.113.8", ["6.6.6.6"], "203.0.113.8"),
        # no header from the proxy: the proxy itself is the farthest hop we know
        (NGINX, "10.0.0.5", [], "10.0.0.5"),
        # one hop, counted: the right-most entry, whatever the proxy's address
        (ONE_HOP, "172.16.0.9", ["6.6.6.6, 203.0.113.7"], "203.0.113.7"),
        # a CDN in front of nginx, both trusted by network
        (CDN_AND_NGINX, "10.0.0.5", ["6.6.6.6, 203.0.113.7, 198.51.100.20"], "203.0.113.7"),
        # garbage where an address should be: the trusted hop that passed it on
        (NGINX, "10.0.0.5", ["unknown"], "10.0.0.5"),
        (NGINX, "10.0.0.5", ["garbage, 203.0.113.7"], "203.0.113.7"),
        # ports and brackets as some proxies write them; IPv4-mapped peers
        (NGINX, "10.0.0.5", ["203.0.113.7:5123"], "203.0.113.7"),
        (NGINX, "10.0.0.5", ["[2001:db8::7]:443"], "2001:db8::7"),
        (NGINX, "::ffff:10.0.0.5", ["203.0.113.7"], "203.0.113.7"),
    ],
)
def test_client_is_the_rightmost_untrusted_hop(
    proxies: TrustedProxies, peer: str, header: list[str], client: str
) -> None:
    assert proxies.client(peer, header) == client


def test_forwarded_scheme_only_from_a_trusted_peer() -> None:
    assert NGINX.scheme("10.0.0.5", ["https"]) == "https"
    assert NGINX.scheme("203.0.113.8", ["https"]) is None
    assert NGINX.scheme("10.0.0.5", ["gopher"]) is None


def test_ipv6_clients_count_per_64() -> None:
    assert limit_key("2001:db8:1:2:aaaa::1") == limit_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert limit_key("2001:db8:1:3::1") != limit_key("2001:db8:1:2::1")
    assert limit_key("203.0.113.7") == "203.0.113.7"


def test_proxy_settings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert not make_config("sqlite", tmp_path, None).core.proxies().enabled
    assert make_config("sqlite", tmp_path, None, trust_proxy=True).core.proxies().hops == 1
    both = make_config("sqlite", tmp_path, None, trusted_proxies="10.0.0.0/8, ::1", trusted_hops=2)
    assert both.core.proxies().hops == 2 and len(both.core.proxies().networks) == 2
    for bad in ({"trusted_proxies": "10.0.0.0/33"}, {"trusted_proxies": "nginx"}, {"trusted_hops": 11},
                {"metrics_networks": "everyone"}, {"metrics_token": "short"}):
        with pytest.raises(ConfigError):
            make_config("sqlite", tmp_path, None, **bad)
