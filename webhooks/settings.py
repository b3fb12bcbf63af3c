"""The webhooks slice's settings (`INNOTV_WEBHOOK_*`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kernel.settings import ConfigError


@dataclass(frozen=True)
class WebhookSettings:
    PREFIX: ClassVar[str] = "webhook_"

    # Deliver to loopback, private, link-local and other non-public addresses too. Off: a
    # producer's URL cannot reach the server's own network (SSRF). For tests and closed networks.
    allow_private: bool = False
    # Tries per delivery (the first included); retries wait backoff_s, doubling, at most 5 minutes.
    max_attempts: int = 6
    backoff_s: float = 2.0
    # One try's limit: connecting, sending, and the receiver's answer.
    timeout_s: float = 5.0
    # Deliveries waiting (queued or between two tries) in this process; beyond, new ones are dropped.
    queue_max: int = 1000
    # Webhooks a deployment may register.
    max_hooks: int = 20

    def validate(self) -> None:
        if not 1 <= self.max_attempts <= 20:
            raise ConfigError("webhook_max_attempts: must be between 1 and 20")
        if not 0.1 <= self.backoff_s <= 300:
            raise ConfigError("webhook_backoff_s: must be between 0.1 and 300")
        if not 0.5 <= self.timeout_s <= 60:
            raise ConfigError("webhook_timeout_s: must be between 0.5 and 60")
        if not 1 <= self.queue_max <= 100_000:
            raise ConfigError("webhook_queue_max: must be between 1 and 100000")
        if not 1 <= self.max_hooks <= 1000:
            raise ConfigError("webhook_max_hooks: must be between 1 and 1000")
