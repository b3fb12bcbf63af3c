"""Programs and the lineup: model, validation, scheduler, REST routes, ICS feed, lineup CLI."""

from __future__ import annotations

import argparse

from aiohttp import web

from innotv.deps import Deps


def setup(app: web.Application, deps: Deps) -> None:
    """Register the schedule's routes and its scheduler with the app (placeholder)."""


async def run_lineup_command(deps: Deps, args: argparse.Namespace) -> int:
    """`innotv lineup import|export|expo` (placeholder)."""
    raise NotImplementedError
