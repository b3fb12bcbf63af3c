"""Response hardening and CSRF protection, as aiohttp middlewares.

- Every response carries a strict Content-Security-Policy (no inline script) and the usual
  companions (nosniff, no framing, no referrer to other sites). Only the embeddable player may
  be framed, by the origins the operator lists (`INNOTV_EMBED_ORIGINS`).
- A state-changing request that could ride on a browser's ambient cookies must prove it comes from
  one of our pages: its Origin (or Referer) must be ours, or, when a client sends neither, it must
  carry the session's CSRF token in `X-CSRF-Token`. Bearer-token routes (WHIP) are exempt: no
  cookie authorises them.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from typing import Protocol
from urllib.parse import urlsplit

from aiohttp import web

from .errors import ApiError, Handler, error_response


def content_security_policy(frame_ancestors: tuple[str, ...] = ()) -> str:
    """Our policy; `frame_ancestors`: the origins that may frame the page (none: no one)."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            # data: for the empty `data:,WEBVTT` <track> hls.js gives each subtitle rendition.
            "media-src 'self' blob: data:",
            "worker-src 'self' blob:",
            "connect-src 'self' ws: wss:",
            "object-src 'none'",
            "base-uri 'none'",
            f"frame-ancestors {' '.join(frame_ancestors) if frame_ancestors else NO_FRAMING}",
            "form-action 'self'",
        ]
    )


NO_FRAMING = "'none'"
CSP = content_security_policy()
# An origin a page may be framed by: scheme, host (a leading `*.` for every subdomain), port.
FRAMING_ORIGIN = re.compile(r"^https?://(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$")

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if f"frame-ancestors {NO_FRAMING}" in headers["Content-Security-Policy"]:
        # For browsers that predate frame-ancestors; a page that may be framed (the embed, with
        # origins configured) sends its own policy and no X-Frame-Options.
        headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if isinstance(response, web.HTTPException):
        raise response
    return response


def request_origin(request: web.Request) -> str:
    """The origin the request was addressed to, as a browser on our page would send it."""
    return f"{request.scheme}://{request.host}"


def origin_allowed(origin: str, request: web.Request, extra: Iterable[str]) -> bool:
    origin = origin.rstrip("/").lower()
    if origin == request_origin(request).lower():
        return True
    return origin in {o.rstrip("/").lower() for o in extra}


class CsrfSessions(Protocol):
    """Where the CSRF middleware finds a login session's token (the accounts slice)."""

    def has_session_cookie(self, request: web.Request) -> bool: ...

    async def csrf_token(self, request: web.Request) -> str | None:
        """The CSRF token of the request's login session; None without a valid session."""


def make_csrf_middleware(
    sessions: CsrfSessions, allowed: tuple[str, ...], exempt_prefixes: tuple[str, ...]
) -> web.middleware:  # type: ignore[valid-type]
    @web.middleware
    async def csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in _SAFE_METHODS or request.path.startswith(exempt_prefixes):
            return await handler(request)
        origin = request.headers.get("Origin")
        if origin is not None and origin != "null":
            if not origin_allowed(origin, request, allowed):
                return error_response(_refused("The request came from another site."))
            return await handler(request)
        referer = request.headers.get("Referer")
        if referer:
            parts = urlsplit(referer)
            if not origin_allowed(f"{parts.scheme}://{parts.netloc}", request, allowed):
                return error_response(_refused("The request came from another site."))
            return await handler(request)
        if origin == "null" or sessions.has_session_cookie(request):
            expected = await sessions.csrf_token(request)
            token = request.headers.get("X-CSRF-Token", "")
            if expected is None or not hmac.compare_digest(token, expected):
                return error_response(
                    _refused("Send the X-CSRF-Token header from GET /api/session.")
                )
        return await handler(request)

    return csrf


def _refused(message: str) -> ApiError:
    return ApiError(403, "csrf_failed", message)
