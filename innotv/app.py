"""The app factory: builds the store, bus, auth and every domain, and wires them into one aiohttp app.

`create_app(config)` is the only place that knows all the parts; each domain gets what it needs
through `Deps` and registers itself with its own `setup(app, deps)`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

import chat
import live
import schedule

from .auth_routes import setup_routes as setup_auth_routes
from .clock import Clock
from .config import Config
from .deps import Deps, build_deps
from .errors import json_errors
from .pages import setup_pages
from .security import forwarded_proto, make_csrf_middleware, security_headers

DEPS = web.AppKey("deps", Deps)

# Request bodies beyond this are refused before a handler runs; uploads stream past it.
CLIENT_MAX_SIZE = 256 * 1024


def create_app(config: Config, clock: Clock | None = None) -> web.Application:
    deps = build_deps(config, clock)
    middlewares = [
        security_headers,
        json_errors,
        make_csrf_middleware(deps.auth, exempt_prefixes=("/whip/",)),
    ]
    if config.trust_proxy:
        middlewares.insert(0, forwarded_proto)
    app = web.Application(middlewares=middlewares, client_max_size=CLIENT_MAX_SIZE)
    app[DEPS] = deps

    async def core_lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await deps.backend.open()
        await deps.auth.start()
        await deps.bus.start()
        yield
        await deps.bus.close()
        await deps.backend.close()

    app.cleanup_ctx.append(core_lifecycle)
    _setup_core_routes(app, deps)
    setup_auth_routes(app, deps.auth)
    schedule.setup(app, deps)
    live.setup(app, deps)
    chat.setup(app, deps)
    setup_pages(app, deps)
    return app


def _setup_core_routes(app: web.Application, deps: Deps) -> None:
    deps.metrics.counter("innotv_http_errors_total", "HTTP responses with status >= 500")

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def readyz(_request: web.Request) -> web.Response:
        if await deps.backend.ping():
            return web.json_response({"ok": True, "store": deps.backend.kind})
        return web.json_response(
            {"error": {"code": "store_unreachable", "message": "The store does not answer."}},
            status=503,
        )

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(
            text=deps.metrics.render(), content_type="text/plain", charset="utf-8"
        )

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
