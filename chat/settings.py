"""The chat slice's settings: the fan-out tick, per-address limits, buffers, history, rate scale,
the nicknames kept for staff and how the halls' hearts count."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from kernel.settings import ConfigError

RESERVED_NICKNAMES = (
    "진행자", "사회자", "제작자", "관리자", "운영자", "운영진", "스태프", "혁신TV", "행정안전부",
    "host", "producer", "admin", "moderator", "staff", "official", "innotv", "operator",
)


@dataclass(frozen=True)
class ChatSettings:
    PREFIX: ClassVar[str] = "chat_"

    # The fan-out tick: a room's messages go out (and are stored) once per tick.
    tick_ms: int = field(default=100, metadata={"name": "tick_ms"})
    # Open Socket.IO connections allowed from one client address (an IPv6 /64): high, since
    # offices and mobile carriers put thousands of people behind one address.
    max_conns_per_ip: int = 10_000
    # New connections from one address: a token bucket of `conn_burst_per_ip` refilled at
    # `conn_rate_per_ip` a second (an office arriving at 14:00 passes, a connection flood does not).
    conn_burst_per_ip: int = 1000
    conn_rate_per_ip: float = 200.0
    # Unsent bytes a chat connection may hold before it is dropped from its rooms (KiB); answers
    # to a connection over it are dropped, and one that stays over it for `stall_grace_s` is cut.
    buffer_kib: int = 256
    stall_grace_s: float = 10.0
    # A connection refused by its rate limits, without a pause, for longer than this is cut.
    flood_cut_s: float = 5.0
    # Redis: stream entries (ticks) kept per room, approximately; 0 keeps everything.
    history_max: int = 0
    # Questions a room keeps: each refresh of the question list loads and orders them all.
    max_questions: int = 2000
    # Multiplies every per-connection rate limit (burst and refill); for load tests, not production.
    rate_scale: float = 1.0
    # Words a viewer's nickname may not contain (compared as skeletons, see chat/nicknames.py);
    # hosts' and producers' account names are refused too.
    reserved_nicknames: tuple[str, ...] = RESERVED_NICKNAMES
    # Hearts of one viewer that count for one hall per day (Asia/Seoul): the halls' ranking is a
    # popularity vote, not a tapping contest. 0 counts every tap.
    hall_hearts_per_day: int = 1
    # The operator's titles of the halls' cases (JSON, see chat/hall_cases.py); empty: placeholders.
    halls_file: str = ""

    def validate(self) -> None:
        if not 10 <= self.tick_ms <= 5000:
            raise ConfigError("tick_ms: must be between 10 and 5000")
        if not 1 <= self.max_conns_per_ip <= 1_000_000:
            raise ConfigError("chat_max_conns_per_ip: must be between 1 and 1000000")
        if not 1 <= self.conn_burst_per_ip <= 1_000_000:
            raise ConfigError("chat_conn_burst_per_ip: must be between 1 and 1000000")
        if not 0.01 <= self.conn_rate_per_ip <= 1_000_000:
            raise ConfigError("chat_conn_rate_per_ip: must be between 0.01 and 1000000")
        if not 16 <= self.buffer_kib <= 65_536:
            raise ConfigError("chat_buffer_kib: must be between 16 and 65536")
        if not 0.5 <= self.stall_grace_s <= 600:
            raise ConfigError("chat_stall_grace_s: must be between 0.5 and 600")
        if not 0.5 <= self.flood_cut_s <= 600:
            raise ConfigError("chat_flood_cut_s: must be between 0.5 and 600")
        if not 0 <= self.history_max <= 100_000_000:
            raise ConfigError("chat_history_max: must be between 0 and 100000000")
        if not 1 <= self.max_questions <= 100_000:
            raise ConfigError("chat_max_questions: must be between 1 and 100000")
        if not 0.01 <= self.rate_scale <= 10_000:
            raise ConfigError("chat_rate_scale: must be between 0.01 and 10000")
        if len(self.reserved_nicknames) > 500 or any(
            not 1 <= len(word) <= 40 for word in self.reserved_nicknames
        ):
            raise ConfigError("chat_reserved_nicknames: at most 500 words of 1-40 characters")
        if not 0 <= self.hall_hearts_per_day <= 1000:
            raise ConfigError("chat_hall_hearts_per_day: must be between 0 and 1000")
        if self.halls_file:
            # Checked once when the settings load (before the server's event loop runs).
            from .hall_cases import CasesFileError, load_cases
            from .halls import HALLS

            try:
                load_cases(Path(self.halls_file), set(HALLS))
            except CasesFileError as exc:
                raise ConfigError(f"chat_halls_file: {self.halls_file}: {exc}") from None
