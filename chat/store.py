"""The chat storage contract: one protocol, two backends (SQLite rows, Redis Streams).

A tick writes a room's new messages, deletions and hearts in ONE call (`write_tick`): one SQLite
transaction, or one Redis pipeline with a fixed number of commands whatever the traffic. Message
ids are opaque strings that order the room's history; `recover(room, since)` returns what a
client missed after `since`, or None when that point is no longer kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from kernel.storage import Backend

Message = dict[str, Any]  # {"id", "viewer", "nickname", "text", "ts", "role"}


@dataclass(frozen=True)
class NewMessage:
    viewer: str
    nickname: str
    text: str
    ts: int  # milliseconds since the epoch
    role: str  # "viewer" | "host" | "producer"
    client_key: str | None = None  # "<viewer>/<client_id>" for retry deduplication

    def public(self, message_id: str) -> Message:
        return {
            "id": message_id,
            "viewer": self.viewer,
            "nickname": self.nickname,
            "text": self.text,
            "ts": self.ts,
            "role": self.role,
        }


@dataclass
class TickResult:
    ids: list[str]  # one per item, in order
    fresh: list[bool]  # False where the item was a retry of a message stored before
    hearts_total: int
    hearts_minute: int  # hearts counted in the current UTC minute (all processes)


@dataclass
class Recovery:
    messages: list[Message] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


class ChatStore(Protocol):
    async def setup(self) -> None: ...

    async def write_tick(
        self, room: str, items: list[NewMessage], deletions: list[str], hearts: int, minute: int
    ) -> TickResult: ...

    async def recent(self, room: str, limit: int, before: str | None = None) -> list[Message]: ...

    async def recover(self, room: str, since: str, limit: int) -> Recovery | None: ...

    async def get_message(self, room: str, message_id: str) -> Message | None: ...

    async def hearts(self, room: str, minute: int) -> tuple[int, int]: ...

    async def hearts_totals(self, rooms: list[str]) -> dict[str, int]: ...

    async def per_minute(self, room: str, since_minute: int) -> list[dict[str, int]]: ...

    async def meta(self, room: str) -> dict[str, str]: ...

    async def set_meta(self, room: str, name: str, value: str | None) -> None: ...

    async def vote(self, poll_id: str, viewer: str, choice: int) -> bool: ...

    async def has_voted(self, poll_id: str, viewer: str) -> bool: ...

    async def poll_counts(self, poll_id: str, choices: int) -> list[int]: ...

    async def add_question(self, room: str, question: dict[str, Any]) -> None: ...

    async def upvote(self, room: str, question_id: str, viewer: str) -> bool | None: ...

    async def answer_question(self, room: str, question_id: str) -> bool: ...

    async def questions(self, room: str, limit: int) -> list[dict[str, Any]]: ...

    async def report_viewers(self, process: str, counts: dict[str, int]) -> dict[str, int]: ...


def make_chat_store(backend: Backend, history_max: int) -> ChatStore:
    if backend.kind == "redis":
        from .store_redis import RedisChatStore

        return RedisChatStore(backend, history_max)
    from .store_sqlite import SqliteChatStore

    return SqliteChatStore(backend)
