"""The schedule slice's settings: the lobby before a program, the scheduler's Redis lease."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kernel.settings import ConfigError


@dataclass(frozen=True)
class ScheduleSettings:
    PREFIX: ClassVar[str] = ""

    # Minutes before a program's start when its lobby (chat, countdown) opens.
    lobby_minutes: int = 15
    # The scheduler's lease on Redis: a dead leader is replaced within this time.
    scheduler_lease_ms: int = 10_000

    def validate(self) -> None:
        if not 0 <= self.lobby_minutes <= 240:
            raise ConfigError("lobby_minutes: must be between 0 and 240")
        if not 1000 <= self.scheduler_lease_ms <= 600_000:
            raise ConfigError("scheduler_lease_ms: must be between 1000 and 600000")
