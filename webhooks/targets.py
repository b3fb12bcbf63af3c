"""Where a webhook may point: checked when it is registered and again at every delivery (SSRF).

A URL is http or https, with a host, without credentials or a fragment, at most 2,048
characters. Unless `INNOTV_WEBHOOK_ALLOW_PRIVATE` is on, every address it resolves to must be a
public one: loopback, private (RFC 1918, unique local), link-local (cloud metadata at
169.254.169.254), carrier-grade NAT, multicast, reserved and unspecified addresses are refused,
IPv4-mapped IPv6 included. At delivery the connection goes through `PublicOnlyResolver`, so the
addresses checked are the addresses connected to: a name that resolves to a public address at
registration and to a private one later (DNS rebinding) is refused then. Redirects are not
followed.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from kernel.errors import ApiError

MAX_URL = 2048
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


class TargetForbidden(Exception):
    """The target resolves to an address webhooks may not reach."""


def is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(value: object) -> str:
    """The URL when its form is acceptable; ApiError 400 `invalid_url` otherwise."""
    if not isinstance(value, str) or not value:
        raise ApiError(400, "invalid_url", "url must be a string like https://portal.example.kr/hook.")
    if len(value) > MAX_URL or _CONTROL.search(value):
        raise ApiError(400, "invalid_url", f"url is longer than {MAX_URL} characters or has spaces.")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ApiError(400, "invalid_url", "url is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(400, "invalid_url", "url must be http:// or https:// with a host.")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise ApiError(400, "invalid_url", "url must not carry credentials or a fragment.")
    if port == 0:
        raise ApiError(400, "invalid_url", "url has no valid port.")
    return value


def literal_address(url: str) -> str | None:
    """The URL's host when it is an IP address (connections to it skip the resolver)."""
    host = urlsplit(url).hostname or ""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


class PublicOnlyResolver(AbstractResolver):
    """aiohttp's resolver, less the addresses webhooks may not reach (all private: refused)."""

    def __init__(self, allow_private: bool) -> None:
        self._inner = DefaultResolver()
        self._allow_private = allow_private

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        if self._allow_private:
            return found
        public = [entry for entry in found if is_public(str(entry["host"]))]
        if len(public) != len(found):
            raise TargetForbidden(f"{host} resolves to a non-public address")
        return public

    async def close(self) -> None:
        await self._inner.close()


async def check_target(url: str, allow_private: bool, resolver: Any | None = None) -> None:
    """Refuse (400) a URL whose host is, or resolves to, an address webhooks may not reach."""
    if allow_private:
        return
    literal = literal_address(url)
    if literal is not None:
        if not is_public(literal):
            raise ApiError(400, "webhook_target_forbidden",
                           "Webhooks may not point to loopback, private or link-local addresses.")
        return
    host = urlsplit(url).hostname or ""
    guard = resolver or PublicOnlyResolver(allow_private=False)
    try:
        await guard.resolve(host, 0, socket.AF_UNSPEC)
    except TargetForbidden:
        raise ApiError(400, "webhook_target_forbidden",
                       "Webhooks may not point to loopback, private or link-local addresses.") from None
    except OSError:
        raise ApiError(400, "webhook_unresolvable", f"The host {host[:100]} does not resolve.") from None
    finally:
        if resolver is None:
            await guard.close()
