"""Programs and the lineup: model, validation, scheduler, REST routes, ICS feed, lineup CLI.

`setup(app, kernel, settings, accounts=..., gate=...)` registers the routes, runs the scheduler
(on Redis only in the process holding the lease) and returns the `Schedule` (its service and
scheduler) for the composition root to hand to other slices. On startup, before the app serves,
the store is migrated, `--demo` loads its lineup and the scheduler catches up.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web

from kernel.core import Kernel
from kernel.identity import Gate
from kernel.topics import LINEUP_CHANGED, LineupChanged

from . import lineup
from .demo import load_demo
from .lease import Leadership, RedisLease, SoleLeader
from .ports import Accounts
from .routes import setup_routes
from .scheduler import Scheduler
from .service import ProgramService
from .settings import ScheduleSettings
from .store import make_program_store

__all__ = ["ProgramService", "Schedule", "ScheduleSettings", "build_service", "run_lineup_command", "setup"]


@dataclass(frozen=True)
class Schedule:
    service: ProgramService
    scheduler: Scheduler

    async def running(self, _app: web.Application) -> AsyncIterator[None]:
        """The scheduler's lifetime: the root appends it after every slice's own (an aiohttp
        cleanup context), so it starts last and stops first."""
        await self.scheduler.start()
        yield
        await self.scheduler.stop()


def build_service(kernel: Kernel, accounts: Accounts) -> ProgramService:
    return ProgramService(make_program_store(kernel.backend), kernel.bus, kernel.clock, accounts)


def setup(
    app: web.Application, kernel: Kernel, settings: ScheduleSettings, *, accounts: Accounts, gate: Gate
) -> Schedule:
    """Register the schedule's routes and its scheduler with the app."""
    service = build_service(kernel, accounts)
    leadership: Leadership
    if kernel.backend.redis is not None:
        leadership = RedisLease(
            kernel.backend.redis, kernel.backend.key("scheduler", "lease"), settings.scheduler_lease_ms
        )
    else:
        leadership = SoleLeader()
    scheduler = Scheduler(
        service, kernel.clock, timedelta(minutes=settings.lobby_minutes), leadership,
        settings.scheduler_lease_ms,
    )

    async def on_lineup(_event: LineupChanged) -> None:
        scheduler.poke()

    kernel.bus.subscribe(LINEUP_CHANGED, on_lineup)

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        # The scheduler is started by the composition root once every slice's store is ready
        # (`Schedule.running`): its first tick ends or starts programs, and their subscribers
        # (replays, captions, simulcast) read their own tables.
        await service.setup()
        if kernel.settings.demo:
            await load_demo(service, kernel.clock)
        yield

    app.cleanup_ctx.append(lifecycle)
    setup_routes(app, service, gate, kernel.clock, kernel.settings.link_base())
    return Schedule(service, scheduler)


async def run_lineup_command(kernel: Kernel, accounts: Accounts, args: argparse.Namespace) -> int:
    """`innotv lineup import|export|expo` on the configured store."""
    service = build_service(kernel, accounts)
    await service.setup()
    return await lineup.run(service, args)
