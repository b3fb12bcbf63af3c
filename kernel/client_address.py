"""Who the client is, by address: the right address behind trusted reverse proxies, and the key
that per-address limits count under.

Behind proxies, each proxy appends the address it received the request from to
`X-Forwarded-For`; anything left of that was written by whoever sent the request and proves
nothing. So the client is found by walking the chain from the right — the TCP peer first, then
the header's entries from right to left — past the hops we trust, and taking the first address we
do not trust. A hop is trusted when it is one of the first `hops` hops counted from the server
(the TCP peer being the first) or its address is in one of the trusted `networks`. When the TCP
peer itself is not trusted, the headers are ignored. When every hop is trusted, the left-most is
the farthest we can see. An entry that is not an address (`unknown`, a name, garbage) stops the
walk: the trusted hop that passed it on is taken as the client, since that address at least was
not chosen by the sender. `X-Forwarded-Proto` is believed from a trusted peer (its right-most
value, set by the nearest proxy).

aiohttp-remotes (1.4.0) was considered and not used: `XForwardedRelaxed(num)` does not check the
peer and answers 500 when the header has fewer entries than `num`; `XForwardedFiltered` believes
the header from any peer and takes `X-Forwarded-Host` from the client; `XForwardedStrict` answers
400 whenever the chain is longer than the configured proxies (any office proxy that adds its own
entry) or holds a non-address entry.

IPv6 clients are counted per /64 (`limit_key`): one subscriber or host usually holds a whole /64,
so counting single IPv6 addresses would let one machine pose as 2^64 clients.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web

from .errors import Handler

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Entries of X-Forwarded-For looked at, from the right: more hops than this are not a real chain.
MAX_HOPS = 32


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDR networks (`10.0.0.0/8`, `::1`); ValueError naming the bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or network") from None
    return tuple(networks)


def parse_address(text: str) -> Address | None:
    """An address as proxies write it (`1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]:443`,
    `2001:db8::1`); None for anything else. IPv4-mapped IPv6 addresses become IPv4."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def in_networks(address: Address | None, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def limit_key(remote: str | None) -> str:
    """What per-address limits count under: the IPv4 address, or the IPv6 address's /64."""
    address = parse_address(remote or "")
    if address is None:
        return remote or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass(frozen=True)
class TrustedProxies:
    networks: tuple[Network, ...] = ()
    hops: int = 0

    @property
    def enabled(self) -> bool:
        return bool(self.networks) or self.hops > 0

    def _trusted(self, address: Address, depth: int) -> bool:
        return depth < self.hops or in_networks(address, self.networks)

    def peer_trusted(self, peer: str | None) -> bool:
        address = parse_address(peer or "")
        return address is not None and self._trusted(address, 0)

    def client(self, peer: str | None, forwarded_for: list[str]) -> str | None:
        """The client's address, given the TCP peer and the X-Forwarded-For header values (in
        the order received; several headers count as one list)."""
        address = parse_address(peer or "")
        if address is None or not self._trusted(address, 0):
            return peer
        entries = [e for value in forwarded_for for e in value.split(",") if e.strip()]
        last = address
        for depth, entry in enumerate(reversed(entries[-MAX_HOPS:]), start=1):
            hop = parse_address(entry)
            if hop is None:
                return str(last)
            if not self._trusted(hop, depth):
                return str(hop)
            last = hop
        return str(last)

    def scheme(self, peer: str | None, forwarded_proto: list[str]) -> str | None:
        """`http`/`https` from a trusted peer's X-Forwarded-Proto, else None."""
        if not forwarded_proto or not self.peer_trusted(peer):
            return None
        values = [v.strip().lower() for value in forwarded_proto for v in value.split(",")]
        proto = values[-1] if values else ""
        return proto if proto in ("http", "https") else None


def forwarded_middleware(proxies: TrustedProxies) -> web.middleware:  # type: ignore[valid-type]
    """Behind the trusted proxies: the request as the client made it (its address and scheme).

    Only installed when proxies are configured; otherwise X-Forwarded-* headers are ignored,
    since anyone can send them."""

    @web.middleware
    async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        peer = request.remote
        headers = request.headers
        changes: dict[str, str] = {}
        remote = proxies.client(peer, headers.getall("X-Forwarded-For", []))
        if remote is not None and remote != peer:
            changes["remote"] = remote
        scheme = proxies.scheme(peer, headers.getall("X-Forwarded-Proto", []))
        if scheme is not None and scheme != request.scheme:
            changes["scheme"] = scheme
        if changes:
            request = request.clone(**changes)  # type: ignore[arg-type]
        return await handler(request)

    return forwarded
