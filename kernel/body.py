"""Reading request bodies safely: size-capped, JSON objects only, clear errors for bad input."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .errors import ApiError
from .untrusted_json import UntrustedJsonError, loads_untrusted

MAX_JSON_BYTES = 64 * 1024


async def read_limited(request: web.Request, max_bytes: int, what: str = "body") -> bytes:
    """The whole body, or 413 as soon as it is known to exceed `max_bytes` (declared or sent)."""
    too_large = ApiError(413, "payload_too_large", f"The {what} is larger than {max_bytes} bytes.")
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large
    # `read(n)` returns what has arrived so far, not n bytes: a body sent in several TCP segments
    # is read until the end of the body (or one byte past the limit).
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(max_bytes + 1 - size)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        chunks.append(chunk)


async def read_json_object(request: web.Request, max_bytes: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """The body as a JSON object, or an ApiError (400 malformed, 413 too large, 415 wrong type)."""
    ctype = request.content_type
    if ctype not in ("application/json", "application/octet-stream", ""):
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    raw = await read_limited(request, max_bytes)
    try:
        value = loads_untrusted(raw)
    except UntrustedJsonError as exc:
        raise ApiError(400, "invalid_json", f"The body is not JSON we accept: {exc.reason}.") from None
    if not isinstance(value, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    return value
