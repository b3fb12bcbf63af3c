"""The app factory: builds the kernel and every slice, and wires them into one aiohttp app.

`create_app(config)` is the only place that knows all the parts. Each slice's `setup` gets its
own settings, the kernel, and the small interfaces it declared (`ports.py`), satisfied here by the
other slices' services; it returns its parts, kept in `app[PARTS]` for the server, the CLI and
the tests.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

import accounts
import captions
import chat
import events
import live
import schedule
import webhooks
from kernel.access_log import ACCESS_LOG, AccessLog
from kernel.client_address import Network, forwarded_middleware, in_networks, parse_address, parse_networks
from kernel.clock import Clock
from kernel.core import Kernel, build_kernel
from kernel.errors import ApiError, json_errors
from kernel.http_metrics import make_http_metrics
from kernel.metrics import CONTENT_TYPE
from kernel.security import make_csrf_middleware, security_headers

from . import __version__
from .config import Config
from .pages import setup_pages

if TYPE_CHECKING:
    from live.simulcast import Simulcast

# Request bodies beyond this are refused before a handler runs; uploads stream past it.
CLIENT_MAX_SIZE = 256 * 1024


@dataclass(frozen=True)
class Parts:
    config: Config
    kernel: Kernel
    auth: accounts.Auth
    schedule: schedule.Schedule
    chat: chat.Chat
    live: live.Live
    captions: captions.Captions
    webhooks: webhooks.Webhooks
    events: events.EventsParts


PARTS = web.AppKey("parts", Parts)


def create_app(config: Config, clock: Clock | None = None) -> web.Application:
    kernel = build_kernel(config.core, clock)
    auth = accounts.build(kernel, config.accounts)
    middlewares = [
        security_headers,
        json_errors,
        # No cookie authorises these: a stream key (WHIP) or a caption key (captioning services).
        make_csrf_middleware(auth, config.core.allowed_origins, exempt_prefixes=("/whip/", "/captions/")),
    ]
    proxies = config.core.proxies()
    if proxies.enabled:
        middlewares.insert(0, forwarded_middleware(proxies))
    middlewares.insert(0, make_http_metrics(kernel.metrics))  # outermost: sees every final status
    app = web.Application(middlewares=middlewares, client_max_size=CLIENT_MAX_SIZE)

    async def kernel_lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await kernel.open()
        yield
        await kernel.close()

    app.cleanup_ctx.append(kernel_lifecycle)
    if config.core.access_log:
        access = AccessLog(proxies, config.core.access_log_summary_s)
        app[ACCESS_LOG] = access
        app.cleanup_ctx.append(access.run)
    _setup_core_routes(app, kernel)
    accounts.setup(app, auth)
    lineup = schedule.setup(app, kernel, config.schedule, accounts=auth, gate=auth)
    today = events.build(kernel, config.events, programs=lineup.service, visitors=auth)
    talk = chat.setup(app, kernel, config.chat, programs=lineup.service, visitors=auth, staff=auth,
                      gate=auth, participation=today.mileage)
    events.setup(app, today, rooms=talk.service, gate=auth, public_url=config.core.public_url)
    destinations = _CaptionDestinations()
    lines = captions.setup(app, kernel, config.captions, programs=lineup.service, rooms=talk.events,
                           destinations=destinations, gate=auth)
    media = live.setup(app, kernel, config.live, programs=lineup.service, gate=auth,
                       captions=_CaptionLines(lines.service))
    destinations.simulcast = media.simulcast
    hooks = webhooks.setup(app, kernel, config.webhooks, gate=auth)
    setup_pages(app, auth, config.core.embed_origins)
    app.cleanup_ctx.append(lineup.running)  # last: programs change state once every store is ready
    app[PARTS] = Parts(config, kernel, auth, lineup, talk, media, lines, hooks, today)
    return app


class _CaptionDestinations:
    """The captions' port to the live slice's simulcast destinations (built after the captions)."""

    simulcast: Simulcast | None = None

    async def caption_urls(self, program_id: str) -> tuple[str, ...]:
        return await self.simulcast.caption_urls(program_id) if self.simulcast is not None else ()


class _CaptionLines:
    """The live slice's port to the captions: their languages, timing and lines."""

    def __init__(self, service: captions.CaptionService) -> None:
        self._service = service

    @property
    def languages(self) -> tuple[str, ...]:
        return self._service.settings.languages

    @property
    def hold_ms(self) -> int:
        return self._service.settings.hold_ms

    async def recent(self, program_id: str, since_ms: int) -> list[captions.Caption]:
        return await self._service.recent(program_id, since_ms)

    async def all_lines(self, program_id: str) -> list[captions.Caption]:
        return await self._service.all_lines(program_id)


def _setup_core_routes(app: web.Application, kernel: Kernel) -> None:
    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "version": __version__})

    async def readyz(_request: web.Request) -> web.Response:
        if await kernel.backend.ping():
            return web.json_response({"ok": True, "store": kernel.backend.kind})
        return web.json_response(
            {"error": {"code": "store_unreachable", "message": "The store does not answer."}},
            status=503,
        )

    networks = parse_networks(kernel.settings.metrics_networks)
    token = kernel.settings.metrics_token

    async def metrics(request: web.Request) -> web.Response:
        if not _may_read_metrics(request, networks, token):
            raise ApiError(403, "forbidden",
                           "Metrics are for the operator: ask from an allowed network or with the token.")
        return web.Response(body=kernel.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)


def _may_read_metrics(request: web.Request, networks: tuple[Network, ...], token: str) -> bool:
    """From an allowed network (the client's address, behind trusted proxies), or with the token."""
    if in_networks(parse_address(request.remote or ""), networks):
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )
