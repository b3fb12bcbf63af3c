"""Time as the events slice counts it: milliseconds from the injectable clock, the member's day in
Asia/Seoul (what the daily cap counts), and ISO 8601 in Seoul for the wire."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from kernel.clock import Clock

SEOUL = ZoneInfo("Asia/Seoul")


def now_ms(clock: Clock) -> int:
    return int(clock.now().timestamp() * 1000)


def seoul_day(clock: Clock) -> str:
    return clock.now().astimezone(SEOUL).date().isoformat()


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(SEOUL).isoformat(timespec="milliseconds")


def to_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)
