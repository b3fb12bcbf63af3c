"""What the live slice's routes share: CORS for publishers, the Bearer token, program ids from
the path, reading an SDP offer (size-capped, checked before aiortc sees it) and the picture size
a publisher announces."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from kernel.body import read_limited
from kernel.errors import ApiError

from .media import SAFE_ID
from .sdp import OfferSummary, validate_offer

_SIZE = re.compile(r"^(\d{2,4})x(\d{2,4})$", re.ASCII)
MIN_SIDE, MAX_SIDE = 16, 4096

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match",
    "Access-Control-Expose-Headers": "Location, Link, ETag",
    "Access-Control-Max-Age": "600",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def with_cors(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            response = await handler(request)
        except ApiError as err:
            err.headers.update(CORS)
            raise
        response.headers.update(CORS)
        return response

    return wrapped


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def program_id_of(request: web.Request) -> str:
    program_id = request.match_info["id"]
    if not SAFE_ID.match(program_id):
        raise ApiError(404, "program_not_found", "No such program.")
    return program_id


async def read_sdp(request: web.Request, limit: int,
                   publishing: bool = True) -> tuple[str, OfferSummary]:
    """The request body as an SDP offer and what it sends: 415 unless application/sdp, 413 beyond
    `limit` bytes, 400 when it is not an offer we take (sdp.py)."""
    if request.content_type != "application/sdp":
        raise ApiError(415, "unsupported_media_type", "Send the offer as Content-Type: application/sdp.")
    body = await read_limited(request, limit, "offer")
    summary = validate_offer(body, publishing)
    return body.decode("utf-8"), summary


def announced_size(request: web.Request) -> tuple[int, int] | None:
    """The largest picture the publisher says it sends (`?size=1280x720`), if it said; 400
    `invalid_size` when the value is not WIDTHxHEIGHT with sides of 16 to 4096 pixels."""
    values = request.query.getall("size", [])
    if not values:
        return None
    match = _SIZE.match(values[0]) if len(values) == 1 else None
    if match is None or not all(MIN_SIDE <= int(v) <= MAX_SIDE for v in match.groups()):
        raise ApiError(400, "invalid_size",
                       f"size must be WIDTHxHEIGHT in pixels, each {MIN_SIDE}-{MAX_SIDE}, e.g. 1280x720.")
    return int(match.group(1)), int(match.group(2))
