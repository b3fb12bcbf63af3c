"""Programs and the lineup: model, validation, scheduler, REST routes, ICS feed, lineup CLI.

`setup(app, deps)` registers the routes, puts the ProgramService into `deps.services["programs"]`
and runs the scheduler (on Redis only in the process holding the lease). On startup, before the
app serves, the store is migrated, `--demo` loads its lineup and the scheduler catches up.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from aiohttp import web

from innotv.deps import Deps

from . import lineup
from .demo import load_demo
from .lease import Leadership, RedisLease, SoleLeader
from .routes import setup_routes
from .scheduler import Scheduler
from .service import ProgramService
from .store import make_program_store

__all__ = ["ProgramService", "build_service", "run_lineup_command", "setup"]


def build_service(deps: Deps) -> ProgramService:
    async def account_exists(username: str) -> bool:
        return await deps.auth.store.get_account(username) is not None

    return ProgramService(make_program_store(deps.backend), deps.bus, deps.clock, account_exists)


def setup(app: web.Application, deps: Deps) -> None:
    """Register the schedule's routes and its scheduler with the app."""
    service = build_service(deps)
    deps.services["programs"] = service
    leadership: Leadership
    if deps.backend.redis is not None:
        leadership = RedisLease(
            deps.backend.redis, deps.backend.key("scheduler", "lease"), deps.config.scheduler_lease_ms
        )
    else:
        leadership = SoleLeader()
    scheduler = Scheduler(
        service,
        deps.clock,
        timedelta(minutes=deps.config.lobby_minutes),
        leadership,
        deps.config.scheduler_lease_ms,
    )
    deps.services["scheduler"] = scheduler

    async def on_lineup(_payload: dict[str, Any]) -> None:
        scheduler.poke()

    deps.bus.subscribe("lineup", on_lineup)

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await service.setup()
        if deps.config.demo:
            await load_demo(service, deps.clock)
        await scheduler.start()
        yield
        await scheduler.stop()

    app.cleanup_ctx.append(lifecycle)
    setup_routes(app, deps, service)


async def run_lineup_command(deps: Deps, args: argparse.Namespace) -> int:
    """`innotv lineup import|export|expo` on the configured store."""
    service = build_service(deps)
    await service.setup()
    return await lineup.run(service, args)
