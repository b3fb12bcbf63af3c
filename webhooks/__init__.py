"""The webhooks slice: producers register URLs that receive program state changes, signed,
retried and delivered once per change however many processes run (see service.py).

`setup(app, kernel, settings, gate)` builds the store, the deliverer and the service, adds the
routes and starts and stops the senders with the app.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from kernel.core import Kernel
from kernel.identity import Gate

from .delivery import Deliverer
from .routes import setup_routes
from .service import WebhookService
from .settings import WebhookSettings
from .store import make_webhook_store

__all__ = ["WebhookSettings", "Webhooks", "setup"]


@dataclass(frozen=True)
class Webhooks:
    service: WebhookService


def setup(app: web.Application, kernel: Kernel, settings: WebhookSettings, gate: Gate) -> Webhooks:
    store = make_webhook_store(kernel.backend)
    deliverer = Deliverer(settings, kernel.metrics)
    service = WebhookService(settings, store, kernel.bus, deliverer, kernel.metrics)
    service.subscribe()
    setup_routes(app, service, gate)

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await store.setup()
        await deliverer.start()
        yield
        await deliverer.stop()

    app.cleanup_ctx.append(lifecycle)
    return Webhooks(service)
