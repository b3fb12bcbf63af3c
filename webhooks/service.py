"""Webhooks: producers register URLs; every program state change is delivered to each of them.

Every process hears each change on the bus (`program` topic). With several processes, one
delivery per change, not one per process: each process claims the change in the store (key:
program id, new state and version, which together name one change), and only the process whose
claim wins delivers it (SQLite: one row insert; Redis: `SET NX EX`). The store's compare-and-set
of a state change makes each change happen once; the claim makes it delivered once. A winner
that dies before its deliveries are done loses them (they live in its memory).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from datetime import UTC, datetime

from kernel.bus import Bus
from kernel.errors import ApiError
from kernel.metrics import Metrics
from kernel.topics import PROGRAM_CHANGED, ProgramChanged

from .delivery import Deliverer, Delivery
from .settings import WebhookSettings
from .store import Webhook, WebhookStore
from .targets import check_target, check_url

log = logging.getLogger("innotv.webhooks")

CLAIM_TTL_S = 24 * 3600
PROGRAM_EVENT = "program.state"
CHANGES = "innotv_webhook_changes_total"


class WebhookService:
    def __init__(self, settings: WebhookSettings, store: WebhookStore, bus: Bus,
                 deliverer: Deliverer, metrics: Metrics) -> None:
        self.metrics = metrics
        metrics.counter(CHANGES, "program changes heard while webhooks exist: claimed (this process "
                        "delivers them) or claimed_elsewhere (another process does)", labels=("outcome",))
        self.settings = settings
        self.store = store
        self.bus = bus
        self.deliverer = deliverer

    def subscribe(self) -> None:
        self.bus.subscribe(PROGRAM_CHANGED, self.on_program)

    async def add(self, url: object, created_by: str) -> Webhook:
        checked = check_url(url)
        await check_target(checked, self.settings.allow_private)
        hook = Webhook("wh_" + secrets.token_urlsafe(9), checked, "whsec_" + secrets.token_urlsafe(32),
                       created_by, time.time())
        if not await self.store.add(hook, self.settings.max_hooks):
            raise ApiError(409, "too_many_webhooks",
                           f"At most {self.settings.max_hooks} webhooks; delete one first.")
        log.info("webhook added", extra={"webhook": hook.id, "by": created_by})
        return hook

    async def remove(self, hook_id: str) -> None:
        if not await self.store.remove(hook_id):
            raise ApiError(404, "webhook_not_found", "No such webhook.")

    async def on_program(self, event: ProgramChanged) -> None:
        hooks = await self.store.list()
        if not hooks:
            return
        version = event.program.get("version")
        if not await self.store.claim(f"program:{event.id}:{event.state}:{version}", CLAIM_TTL_S):
            self.metrics.inc(CHANGES, outcome="claimed_elsewhere")
            return  # another process delivers this change
        self.metrics.inc(CHANGES, outcome="claimed")
        delivery_id = "d_" + secrets.token_urlsafe(12)
        body = json.dumps({
            "event": PROGRAM_EVENT, "delivery": delivery_id,
            "occurred_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "program": event.program,
        }, ensure_ascii=False).encode()
        for hook in hooks:
            self.deliverer.offer(Delivery(hook, PROGRAM_EVENT, delivery_id, body))
