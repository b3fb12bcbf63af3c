"""오늘의 이벤트 (today's event): viewer accounts, mileage earned by taking part, donations with
an exact ledger, live quizzes and provable prize draws.

`build(kernel, settings, programs=..., visitors=...)` makes the parts before the chat exists (the
chat calls `parts.mileage.took_part`, its `Participation` port); `setup(app, parts, rooms=...,
gate=..., public_url=...)` registers the routes, hands quizzes, draws and the thermometer the
chat's rooms, and starts and stops the slice with the app.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from kernel.core import Kernel
from kernel.identity import Gate
from kernel.tasks import cancel_and_wait

from .campaigns import Campaigns
from .draws import Draws
from .members import Members
from .mileage import Mileage
from .oidc import OidcClient
from .parts import EventsParts
from .ports import Programs, Rooms, Visitors
from .quiz import Quizzes
from .routes_activity import setup_activity_routes
from .routes_members import CALLBACK_PATH, setup_member_routes
from .settings import EventsSettings
from .store import make_events_store
from .watch import WatchCredit

__all__ = ["EventsParts", "EventsSettings", "build", "setup"]


def build(kernel: Kernel, settings: EventsSettings, *, programs: Programs, visitors: Visitors) -> EventsParts:
    store = make_events_store(kernel.backend)
    clock = kernel.clock
    mileage = Mileage(store, settings, clock, programs, kernel.bus)
    members = Members(store, settings, clock, visitors, kernel.bus, linked=mileage.forget)
    watch = WatchCredit(mileage, programs, clock, settings.watch_interval_s, lambda: members.secret)
    campaigns = Campaigns(store, kernel.bus, clock, settings.thermometer_ms)
    campaigns.subscribe()
    quizzes = Quizzes(store, mileage, programs, clock)
    draws = Draws(store, programs, clock, settings.max_claim_days)
    return EventsParts(settings, store, clock, members, mileage, watch, campaigns, quizzes, draws)


def setup(
    app: web.Application, parts: EventsParts, *, rooms: Rooms, gate: Gate, public_url: str = ""
) -> None:
    """`public_url`: the operator's public address, if set (OIDC's redirect URI starts with it;
    without it and without `events_oidc_redirect_url`, the address the request came to)."""
    parts.campaigns.rooms = rooms
    parts.quizzes.rooms = rooms
    parts.draws.rooms = rooms
    redirect = parts.settings.oidc_redirect_url or (
        public_url.rstrip("/") + CALLBACK_PATH if public_url else ""
    )
    oidc = OidcClient(parts.settings, redirect)
    setup_member_routes(app, parts, oidc)
    setup_activity_routes(app, parts, gate)

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await parts.store.setup()
        await parts.members.start()
        sweeper = asyncio.create_task(parts.draws.sweep_forever(), name="events-claims-sweep")
        yield
        await cancel_and_wait(sweeper)
        parts.campaigns.stop()
        await oidc.close()

    app.cleanup_ctx.append(lifecycle)
