"""What the live slice's routes share: CORS for publishers, the Bearer token, program ids from
the path, and reading an SDP offer (size-capped, checked before aiortc sees it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from kernel.body import read_limited
from kernel.errors import ApiError

from .media import SAFE_ID
from .sdp import validate_offer

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


async def read_sdp(request: web.Request, limit: int, publishing: bool = True) -> str:
    """The request body as an SDP offer: 415 unless application/sdp, 413 beyond `limit` bytes."""
    if request.content_type != "application/sdp":
        raise ApiError(415, "unsupported_media_type", "Send the offer as Content-Type: application/sdp.")
    body = await read_limited(request, limit, "offer")
    validate_offer(body, publishing)
    return body.decode("utf-8")
