"""JSON errors: the one error shape every route answers with, and the middleware that enforces it.

Every failure, ours or aiohttp's (404, 405, 413, a crash), leaves as
`{"error": {"code": "<snake_case>", "message": "<human>"}}` with the right status, never as HTML or
a traceback. A store that does not answer is 503 `store_unavailable` (with `Retry-After`).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .outage import is_store_outage

log = logging.getLogger("innotv.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}

_MESSAGES_BY_STATUS = {
    404: "No such resource.",
    405: "This method is not allowed here.",
    413: "The request body is too large.",
    500: "Something went wrong on our side; it has been logged.",
}


class ApiError(Exception):
    """An error to show the caller: an HTTP status, a stable snake_case code and a human message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
        close_connection: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details or {}
        # The body was not read (or cannot be trusted): answer, then close the TCP connection
        # instead of keeping it alive (aiohttp would read on through the unread body).
        self.close_connection = close_connection

    def payload(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        error.update(self.details)
        return {"error": error}


def error_response(err: ApiError) -> web.Response:
    response = web.json_response(
        err.payload(), status=err.status, headers=err.headers, dumps=_dumps_readable
    )
    if err.close_connection:
        response.force_close()
    return response


def _dumps_readable(value: Any) -> str:
    """JSON with Korean left as text rather than \\uXXXX escapes; escaped after all when a message
    quotes a lone surrogate someone sent (it has no UTF-8 form)."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value)
    return text


def _from_http_exception(exc: web.HTTPException) -> ApiError:
    status = exc.status
    code = _CODES_BY_STATUS.get(status, "http_error")
    message = _MESSAGES_BY_STATUS.get(status) or exc.reason or "Request failed."
    headers: dict[str, str] = {}
    if isinstance(exc, web.HTTPMethodNotAllowed):
        headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
    if status == 413:
        message = "The request body is too large."
    return ApiError(status, code, message, headers=headers)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as err:
        return error_response(err)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(_from_http_exception(exc))
    except Exception as exc:
        if is_store_outage(exc):
            # Redis hangs or is gone: the caller may retry; no traceback, it is not a bug of ours
            log.warning("store unavailable", extra={"path": request.path, "error": type(exc).__name__})
            return error_response(ApiError(503, "store_unavailable",
                                           "The store does not answer right now; try again shortly.",
                                           headers={"Retry-After": "2"}))
        incident = uuid.uuid4().hex[:12]
        log.exception(
            "unhandled error", extra={"incident": incident, "path": request.path}
        )
        return error_response(
            ApiError(
                500,
                "internal_error",
                f"Something went wrong on our side (incident {incident}); it has been logged.",
            )
        )
