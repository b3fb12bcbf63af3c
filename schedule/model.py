"""The program model: one broadcast slot in the lineup, and the times it passes through.

A `Program` is immutable; edits build a new one. Times are aware datetimes kept to the whole
second; `public()` is the JSON shape clients rely on (PROTOCOL.md), with times in Asia/Seoul
(`+09:00`). `target_state` and `next_transition` are the scheduler's arithmetic, kept here so
that routes, the scheduler and tests agree on it.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")
KINDS = ("live", "premiere")
STATES = ("scheduled", "lobby", "live", "ended", "replay")
# States the scheduler never leaves: `ended` is final, `replay` is set later by the live domain.
FINAL_STATES = ("ended", "replay")
MIN_DURATION = timedelta(minutes=1)
MAX_DURATION = timedelta(hours=12)
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
# Path words that must never be a program id (they are routes of their own).
RESERVED_IDS = frozenset({"current"})


def new_program_id() -> str:
    """A short, URL-safe, random id for a program created through the API."""
    while True:
        candidate = secrets.token_urlsafe(8)
        if ID_RE.fullmatch(candidate) and candidate not in RESERVED_IDS:
            return candidate


def iso_seoul(when: datetime) -> str:
    """ISO 8601 in Asia/Seoul, e.g. `2020-12-02T14:00:00+09:00`."""
    return when.astimezone(SEOUL).isoformat()


def to_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass(frozen=True)
class Program:
    id: str
    title: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    title_en: str | None = None
    description: str = ""
    hosts: tuple[str, ...] = ()
    state: str = "scheduled"
    version: int = 1

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "title_en": self.title_en,
            "description": self.description,
            "kind": self.kind,
            "starts_at": iso_seoul(self.starts_at),
            "ends_at": iso_seoul(self.ends_at),
            "hosts": list(self.hosts),
            "state": self.state,
            "version": self.version,
        }

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    def overlaps(self, other: Program) -> bool:
        """Half-open intervals: one program may start the second another ends."""
        return self.id != other.id and self.starts_at < other.ends_at and other.starts_at < self.ends_at

    def content(self) -> str:
        """The editable fields other than the times, as canonical JSON (what storage keeps)."""
        return json.dumps(
            {
                "title": self.title,
                "title_en": self.title_en,
                "description": self.description,
                "kind": self.kind,
                "hosts": list(self.hosts),
            },
            ensure_ascii=False,
            sort_keys=True,
        )

    @classmethod
    def from_stored(
        cls, program_id: str, content: str, starts_ms: int, ends_ms: int, state: str, version: int
    ) -> Program:
        data = json.loads(content)
        return cls(
            id=program_id,
            title=str(data["title"]),
            title_en=data.get("title_en"),
            description=str(data.get("description", "")),
            kind=str(data["kind"]),
            hosts=tuple(str(h) for h in data.get("hosts", ())),
            starts_at=from_ms(starts_ms),
            ends_at=from_ms(ends_ms),
            state=state,
            version=version,
        )

    def with_state(self, state: str) -> Program:
        return replace(self, state=state)


STATE_ORDER = {"scheduled": 0, "lobby": 1, "live": 2, "ended": 3, "replay": 4}


def is_backwards(current: str, new: str) -> bool:
    """True when `new` comes before `current` (e.g. live -> lobby)."""
    return STATE_ORDER[new] < STATE_ORDER[current]


def target_state(program: Program, now: datetime, lobby: timedelta) -> str:
    """The state `program` should be in at `now` (final states stay as they are)."""
    if program.state in FINAL_STATES:
        return program.state
    if now >= program.ends_at:
        return "ended"
    if now >= program.starts_at:
        return "live"
    if now >= program.starts_at - lobby:
        return "lobby"
    return "scheduled"


def next_transition(program: Program, now: datetime, lobby: timedelta) -> datetime | None:
    """The first moment after `now` at which `program`'s target state changes, if any."""
    if program.state in FINAL_STATES:
        return None
    for moment in (program.starts_at - lobby, program.starts_at, program.ends_at):
        if moment > now:
            return moment
    return None


def first_overlap(programs: list[Program]) -> tuple[Program, Program] | None:
    """Two programs of `programs` that overlap each other, if any (sorted sweep)."""
    ordered = sorted(programs, key=lambda p: (p.starts_at, p.ends_at))
    latest: Program | None = None
    for program in ordered:
        if latest is not None and program.starts_at < latest.ends_at:
            return latest, program
        if latest is None or program.ends_at > latest.ends_at:
            latest = program
    return None
