"""HTTP figures per route: how long handlers take, how responses end, which ones failed.

Label values are bounded: `route` is the matched route's pattern (`/api/programs/{id}`, never
the path a client sent; `unmatched` for a 404 that matched no route), `method` one of the
standard methods (anything else is `other`), `status` a status class (`2xx` … `5xx`) or, for the
error counter, the status code of a server error (500–599). A WebSocket connection is counted
(its upgrade's status) but not timed: it lasts as long as the viewer stays.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from .errors import Handler
from .metrics import Metrics

DURATION = "innotv_http_request_duration_seconds"
RESPONSES = "innotv_http_responses_total"
ERRORS = "innotv_http_errors_total"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_label(request: web.BaseRequest) -> str:
    """The pattern of the route that matched `request`, or `unmatched`."""
    match_info = getattr(request, "match_info", None)
    route = getattr(match_info, "route", None)
    resource = getattr(route, "resource", None)
    return resource.canonical if resource is not None else "unmatched"


def make_http_metrics(metrics: Metrics) -> web.middleware:  # type: ignore[valid-type]
    metrics.histogram(DURATION, "time from the request's arrival at the app to its response being "
                      "ready (a file's bytes are sent after), by route and method",
                      labels=("route", "method"))
    metrics.counter(RESPONSES, "HTTP responses by route and status class", labels=("route", "status"))
    metrics.counter(ERRORS, "HTTP responses with status >= 500, by route and status",
                    labels=("route", "status"))

    def record(request: web.Request, status: int, started: float, timed: bool) -> None:
        route = route_label(request)
        if timed:
            method = request.method if request.method in _METHODS else "other"
            metrics.observe(DURATION, time.perf_counter() - started, route=route, method=method)
        metrics.inc(RESPONSES, route=route, status=f"{min(max(status // 100, 1), 5)}xx")
        if status >= 500:
            metrics.inc(ERRORS, route=route, status=str(min(status, 599)))

    @web.middleware
    async def http_metrics(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            record(request, exc.status, started, True)
            raise
        except asyncio.CancelledError:
            raise  # the client went away: no response at all
        except Exception:
            record(request, 500, started, True)
            raise
        record(request, response.status, started, not isinstance(response, web.WebSocketResponse))
        return response

    return http_metrics
