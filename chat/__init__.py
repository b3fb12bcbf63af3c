"""chat domain (placeholder until built)."""

from __future__ import annotations

from aiohttp import web

from innotv.deps import Deps


def setup(app: web.Application, deps: Deps) -> None:
    """Register this domain with the app (placeholder)."""
