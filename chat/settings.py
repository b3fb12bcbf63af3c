"""The chat slice's settings: the fan-out tick, per-address caps, buffers, history, rate scale."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from kernel.settings import ConfigError


@dataclass(frozen=True)
class ChatSettings:
    PREFIX: ClassVar[str] = "chat_"

    # The fan-out tick: a room's messages go out (and are stored) once per tick.
    tick_ms: int = field(default=100, metadata={"name": "tick_ms"})
    # Open Socket.IO connections allowed from one client address.
    max_conns_per_ip: int = 200
    # Unsent bytes a chat connection may hold before it is dropped from its rooms (KiB).
    buffer_kib: int = 256
    # Redis: stream entries (ticks) kept per room, approximately; 0 keeps everything.
    history_max: int = 0
    # Questions a room keeps: each refresh of the question list loads and orders them all.
    max_questions: int = 2000
    # Multiplies every per-connection rate limit (burst and refill); for load tests, not production.
    rate_scale: float = 1.0

    def validate(self) -> None:
        if not 10 <= self.tick_ms <= 5000:
            raise ConfigError("tick_ms: must be between 10 and 5000")
        if not 1 <= self.max_conns_per_ip <= 1_000_000:
            raise ConfigError("chat_max_conns_per_ip: must be between 1 and 1000000")
        if not 16 <= self.buffer_kib <= 65_536:
            raise ConfigError("chat_buffer_kib: must be between 16 and 65536")
        if not 0 <= self.history_max <= 100_000_000:
            raise ConfigError("chat_history_max: must be between 0 and 100000000")
        if not 1 <= self.max_questions <= 100_000:
            raise ConfigError("chat_max_questions: must be between 1 and 100000")
        if not 0.01 <= self.rate_scale <= 10_000:
            raise ConfigError("chat_rate_scale: must be between 0.01 and 10000")
