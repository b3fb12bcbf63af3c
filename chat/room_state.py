"""Per-room state a process keeps: settings (meta) mirrored from the store, program state, the
pending batch of the current tick and the counters last seen.

Moderation settings live in the store (`meta`), and every change is announced on the bus so each
process updates its mirror: `slow`, `pinned`, `words`, `poll`, `ban:<viewer>`, `timeout:<viewer>`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from .store import Message, NewMessage

OPEN_STATES = ("lobby", "live")


@dataclass
class Pending:
    item: NewMessage
    future: asyncio.Future[str]


@dataclass
class RoomState:
    name: str
    kind: str  # "program" | "hall"
    ident: str
    meta: dict[str, str] = field(default_factory=dict)
    program: dict[str, Any] | None = None
    pending: list[Pending] = field(default_factory=list)
    pending_keys: dict[str, asyncio.Future[str]] = field(default_factory=dict)
    deletions: list[tuple[str, asyncio.Future[str]]] = field(default_factory=list)
    hearts_pending: int = 0
    hearts_total: int = 0
    hearts_minute: int = 0
    hearts_sent: int = -1
    hearts_sent_at: float = 0.0
    viewers: int = 0
    viewers_sent: int = -1
    poll_dirty: bool = False
    poll_sent_at: float = 0.0
    questions_dirty: bool = False
    questions_sent_at: float = 0.0
    last_chat: dict[str, float] = field(default_factory=dict)
    # The join snapshot kept in memory (None until first loaded), so a join storm costs no store
    # round trip; `version` counts the changes that may race with a load.
    recent: list[Message] | None = None
    questions_cache: list[dict[str, Any]] | None = None
    version: int = 0
    # A program room's audience, reported with each viewer count (ChatService._record_audience):
    # viewers who joined since the last report, viewer-seconds not reported yet, the last report.
    newcomers: set[str] = field(default_factory=set)
    watch_carry: float = 0.0
    audience_at: float = 0.0

    def apply(self, items: list[Message], deleted: list[str], keep: int) -> None:
        """Keep the in-memory snapshot in step with what was stored and broadcast."""
        self.version += 1
        if self.recent is None:
            return
        if deleted:
            gone = set(deleted)
            self.recent = [m for m in self.recent if m["id"] not in gone]
        if items:
            seen = {m["id"] for m in self.recent[-len(items):]}
            self.recent.extend(m for m in items if m["id"] not in seen)
            del self.recent[:-keep]

    @property
    def read_only(self) -> bool:
        if self.kind == "hall":
            return False
        return self.program is None or self.program.get("state") not in OPEN_STATES

    @property
    def slow(self) -> int:
        try:
            return int(self.meta.get("slow", "0"))
        except ValueError:
            return 0

    @property
    def pinned(self) -> Message | None:
        raw = self.meta.get("pinned")
        return json.loads(raw) if raw else None

    @property
    def words(self) -> list[str]:
        raw = self.meta.get("words")
        return list(json.loads(raw)) if raw else []

    @property
    def poll(self) -> dict[str, Any] | None:
        raw = self.meta.get("poll")
        return json.loads(raw) if raw else None

    def banned(self, viewer: str) -> bool:
        return ("ban:" + viewer) in self.meta

    def timed_out_until(self, viewer: str, now_ms: int) -> int | None:
        raw = self.meta.get("timeout:" + viewer)
        if raw is None:
            return None
        until = int(raw)
        return until if until > now_ms else None

    def busy(self) -> bool:
        return bool(self.pending or self.deletions or self.hearts_pending)
