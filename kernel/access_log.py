"""The access log: one JSON line per request, except for the crowd's routes, which are summed up.

A line says the method, the path without its query (one-time links carry their token there),
the route's pattern, the status, the time taken until the response was sent, the bytes sent and
the client's address as innotv believes it (behind trusted proxies: the client the proxies saw,
`kernel.client_address`). Requests on the routes every viewer hits many times a minute — HLS and
replay files, Socket.IO long-polling and upgrades, static files — are not logged one by one: at
the end of every interval (`INNOTV_ACCESS_LOG_SUMMARY_S`) one line counts them per route and
status, with their bytes and slowest time. Nothing is sampled away: every request is in a line or
in a count. What remains is still logged when the server stops.

aiohttp calls `AccessLogger.log` after each response; the logger finds the app's `AccessLog`
(built by the app factory, one per app) through the request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from .client_address import TrustedProxies
from .http_metrics import route_label

SUMMARISED_PREFIXES = ("/hls/", "/vod/", "/socket.io/", "/static")


@dataclass
class _Tally:
    requests: int = 0
    bytes: int = 0
    slowest_ms: float = 0.0


class AccessLog:
    def __init__(self, proxies: TrustedProxies, summary_s: float,
                 logger: logging.Logger | None = None) -> None:
        self.proxies = proxies
        self.summary_s = summary_s
        self.logger = logger or logging.getLogger("innotv.access")
        self._tallies: dict[tuple[str, int], _Tally] = {}
        self._since = time.time()

    def record(self, request: web.BaseRequest, response: web.StreamResponse, seconds: float) -> None:
        route = route_label(request)
        sent = response.body_length
        ms = round(seconds * 1000, 2)
        if route.startswith(SUMMARISED_PREFIXES):
            tally = self._tallies.setdefault((route, response.status), _Tally())
            tally.requests += 1
            tally.bytes += sent
            tally.slowest_ms = max(tally.slowest_ms, ms)
            return
        remote = self.proxies.client(request.remote, request.headers.getall("X-Forwarded-For", []))
        self.logger.info("request", extra={
            "method": request.method, "path": request.path, "route": route, "status": response.status,
            "ms": ms, "bytes": sent, "remote": remote,
        })

    def flush(self) -> None:
        """One line with the counts since the last one (none when nothing was counted)."""
        tallies, self._tallies = self._tallies, {}
        since, self._since = self._since, time.time()
        if not tallies:
            return
        counts = [{"route": route, "status": status, "requests": t.requests, "bytes": t.bytes,
                   "slowest_ms": t.slowest_ms}
                  for (route, status), t in sorted(tallies.items())]
        self.logger.info("requests summary", extra={
            "seconds": round(self._since - since, 1),
            "requests": sum(t.requests for t in tallies.values()), "counts": counts,
        })

    async def run(self, _app: web.Application) -> AsyncIterator[None]:
        """The app's cleanup context: a summary every interval, and the rest at shutdown."""
        task = asyncio.create_task(self._every_interval(), name="access-log-summary")
        yield
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        self.flush()

    async def _every_interval(self) -> None:
        while True:
            await asyncio.sleep(self.summary_s)
            self.flush()


ACCESS_LOG = web.AppKey("access_log", AccessLog)


class AccessLogger(AbstractAccessLogger):
    """aiohttp's hook: hands each finished request to the app's `AccessLog`."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        app = getattr(request, "app", None)
        access = app.get(ACCESS_LOG) if app is not None else None
        if access is not None:
            access.record(request, response, time)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
