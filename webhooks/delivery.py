"""Sending webhook deliveries: signed, retried with backoff, off the request path, bounded.

`offer` never waits: a delivery goes into this process's queue, or is dropped (and counted) when
`queue_max` deliveries are already waiting, queued or between two tries. A few sender tasks take
them in turn; a try that fails on the network, times out, or gets 408, 425, 429 or a 5xx is tried
again after `backoff_s`, doubling (at most 5 minutes), up to `max_attempts` tries; between tries a
delivery holds no sender. Any other answer ends it: 2xx delivered, another status rejected.
Redirects are not followed.

Each try is signed: `X-Innotv-Signature: sha256=<hex>` is HMAC-SHA256 with the webhook's secret
over `<X-Innotv-Timestamp>.<body>` (the timestamp, a dot, the raw body bytes), so a receiver can
refuse old or replayed requests by their timestamp. `X-Innotv-Delivery` stays the same across the
tries of one delivery (receivers drop repeats by it).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass, replace

import aiohttp

from kernel.metrics import Metrics

from .settings import WebhookSettings
from .store import Webhook
from .targets import PublicOnlyResolver, TargetForbidden, is_public, literal_address

log = logging.getLogger("innotv.webhooks")

SENDERS = 4
MAX_BACKOFF_S = 300.0
RETRY_STATUSES = frozenset({408, 425, 429})
DELIVERIES = "innotv_webhook_deliveries_total"
USER_AGENT = "innotv-webhooks"


@dataclass(frozen=True)
class Delivery:
    hook: Webhook
    event: str
    delivery_id: str
    body: bytes
    attempt: int = 1


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class Deliverer:
    def __init__(self, settings: WebhookSettings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue()
        self._waiting = 0  # deliveries between two tries
        self._retries: set[asyncio.TimerHandle] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        metrics.counter(DELIVERIES, "webhook deliveries by outcome: delivered, retried (a try failed, "
                        "another follows), failed (no try left), rejected (the receiver answered 4xx "
                        "or 3xx), refused (the target resolved to a forbidden address), dropped (the "
                        "queue was full)", labels=("outcome",))
        metrics.gauge("innotv_webhook_queue", "webhook deliveries waiting in this process (queued or "
                      "between tries)", lambda: float(self.pending))

    @property
    def pending(self) -> int:
        return self._queue.qsize() + self._waiting

    def offer(self, delivery: Delivery) -> bool:
        if self.pending >= self.settings.queue_max:
            self.metrics.inc(DELIVERIES, outcome="dropped")
            log.warning("webhook queue full: delivery dropped", extra={"webhook": delivery.hook.id})
            return False
        self._queue.put_nowait(delivery)
        return True

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(resolver=PublicOnlyResolver(self.settings.allow_private),
                                         limit_per_host=4)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=self.settings.timeout_s),
            headers={"User-Agent": USER_AGENT}, trust_env=False)
        self._tasks = [asyncio.create_task(self._send_loop(), name=f"webhook-sender-{n}")
                       for n in range(SENDERS)]

    async def stop(self) -> None:
        for handle in self._retries:
            handle.cancel()
        self._retries.clear()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _send_loop(self) -> None:
        while True:
            delivery = await self._queue.get()
            try:
                await self._try(delivery)
            except Exception:
                log.exception("webhook delivery failed unexpectedly", extra={"webhook": delivery.hook.id})

    async def _try(self, delivery: Delivery) -> None:
        outcome = await self._post(delivery)
        if outcome == "retry":
            if delivery.attempt >= self.settings.max_attempts:
                self.metrics.inc(DELIVERIES, outcome="failed")
                log.warning("webhook delivery gave up", extra={
                    "webhook": delivery.hook.id, "delivery": delivery.delivery_id, "tries": delivery.attempt})
                return
            self.metrics.inc(DELIVERIES, outcome="retried")
            delay = min(MAX_BACKOFF_S, self.settings.backoff_s * 2 ** (delivery.attempt - 1))
            self._later(delay, replace(delivery, attempt=delivery.attempt + 1))
            return
        self.metrics.inc(DELIVERIES, outcome=outcome)
        if outcome != "delivered":
            log.warning("webhook delivery %s", outcome, extra={
                "webhook": delivery.hook.id, "delivery": delivery.delivery_id})

    def _later(self, delay: float, delivery: Delivery) -> None:
        self._waiting += 1
        loop = asyncio.get_running_loop()

        def again() -> None:
            self._retries.discard(handle)
            self._waiting -= 1
            self._queue.put_nowait(delivery)

        handle = loop.call_later(delay, again)
        self._retries.add(handle)

    async def _post(self, delivery: Delivery) -> str:
        """One try: delivered, retry, rejected or refused."""
        session = self._session
        if session is None:
            return "retry"
        url = delivery.hook.url
        literal = literal_address(url)
        if literal is not None and not self.settings.allow_private and not is_public(literal):
            return "refused"
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Innotv-Event": delivery.event,
            "X-Innotv-Delivery": delivery.delivery_id,
            "X-Innotv-Timestamp": timestamp,
            "X-Innotv-Signature": signature(delivery.hook.secret, timestamp, delivery.body),
        }
        try:
            async with session.post(url, data=delivery.body, headers=headers, allow_redirects=False) as resp:
                await resp.content.readany()  # the answer's start; the rest is not ours to read
                status = resp.status
        except TargetForbidden:
            return "refused"
        except (aiohttp.ClientError, TimeoutError, OSError):
            return "retry"
        if 200 <= status < 300:
            return "delivered"
        if status >= 500 or status in RETRY_STATUSES:
            return "retry"
        return "rejected"
