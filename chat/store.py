"""The chat storage contract: small protocols by capability, each with two backends.

`HistoryStore` (messages), `CountersStore` (hearts and per-minute counts), `RoomSettingsStore`
(a room's moderation settings), `PollsAndQuestionsStore` (votes and Q&A), `PresenceStore`
(viewer counts across processes), `AudienceStore` (a program's peak and unique viewers, watch
time and viewers per minute, kept after it ends) and `HallHeartsStore` (one viewer's hearts per
hall per day); `store_sqlite` and `store_redis` implement each one. `make_chat_stores` builds
them for the configured backend as one `ChatStores`.

A tick writes a room's new messages, deletions and hearts in ONE call (`write_tick`): one SQLite
transaction, or one Redis round trip whatever the traffic. It counts the tick's hearts and
messages itself, so `CountersStore` reads what `write_tick` wrote. Message ids are opaque strings
that order the room's history; `recover(room, since)` returns what a client missed after `since`,
or None when that point is no longer kept.

The stores keep questions as asked, with their votes and answered mark (`StoredQuestion`);
`question_list` is the one rule that orders and shapes them for clients.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from kernel.storage import Backend

Message = dict[str, Any]  # {"id", "viewer", "nickname", "text", "ts", "role"}
Question = dict[str, Any]  # as asked: {"id", "viewer", "nickname", "text", "ts"}


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


@dataclass(frozen=True)
class StoredQuestion:
    question: Question
    votes: int
    answered: bool
    hidden: bool = False  # a host hid it: nobody is shown it any more


@dataclass(frozen=True)
class Audience:
    """Who watched a program's room while it was open (all processes together)."""

    peak: int  # the most viewers at once
    unique: int  # distinct viewer ids that joined
    watch_seconds: int  # viewer-seconds spent in the room


def question_list(stored: Iterable[StoredQuestion], limit: int) -> list[dict[str, Any]]:
    """The questions clients get: most votes first, then the oldest, then by id; at most `limit`.
    Hidden questions are left out.

    Each is the question as asked plus `votes` and `answered`."""
    shown = (s for s in stored if not s.hidden)
    ordered = sorted(shown, key=lambda s: (-s.votes, s.question["ts"], s.question["id"]))
    return [{**s.question, "votes": s.votes, "answered": s.answered} for s in ordered[:limit]]


class HistoryStore(Protocol):
    """A room's messages and deletions: the per-tick write, the snapshot and recovery."""

    async def write_tick(
        self, room: str, items: list[NewMessage], deletions: list[str], hearts: int, minute: int
    ) -> TickResult:
        """Store the tick's messages and deletions and count its hearts, in one round trip."""

    async def recent(self, room: str, limit: int, before: str | None = None) -> list[Message]:
        """The last `limit` messages not deleted (before `before` when given), oldest first."""

    async def recover(self, room: str, since: str, limit: int) -> Recovery | None:
        """What was stored after `since`; None when `since` is unknown or over `limit` back."""

    async def get_message(self, room: str, message_id: str) -> Message | None:
        """One message, None when it does not exist or is deleted."""


class CountersStore(Protocol):
    """The hearts and per-minute message counts that `HistoryStore.write_tick` keeps."""

    async def hearts(self, room: str, minute: int) -> tuple[int, int]:
        """(total hearts, hearts counted in `minute`)."""

    async def hearts_totals(self, rooms: list[str]) -> dict[str, int]:
        """Total hearts of each room (0 when none)."""

    async def per_minute(self, room: str, since_minute: int) -> list[dict[str, int]]:
        """`{"minute", "messages", "hearts", "viewers"}` of each minute from `since_minute` that
        had any (`viewers`: the most at once that minute, as `AudienceStore.record` noted)."""


class RoomSettingsStore(Protocol):
    """A room's moderation settings as names and values (`slow`, `ban:<viewer>`, `poll`, ...)."""

    async def meta(self, room: str) -> dict[str, str]:
        """Every setting of the room."""

    async def set_meta(self, room: str, name: str, value: str | None) -> None:
        """Set one setting; None removes it."""


class PollsAndQuestionsStore(Protocol):
    """Poll votes (one per viewer) and a room's questions with their upvotes (one per viewer)."""

    async def vote(self, poll_id: str, viewer: str, choice: int) -> bool:
        """Count the vote; False when the viewer voted in this poll already."""

    async def has_voted(self, poll_id: str, viewer: str) -> bool:
        """Whether the viewer voted in this poll."""

    async def poll_counts(self, poll_id: str, choices: int) -> list[int]:
        """Votes per choice, `choices` long."""

    async def add_question(self, room: str, question: Question, max_questions: int) -> bool:
        """Store the question; False (nothing stored) when the room has `max_questions` already."""

    async def upvote(self, room: str, question_id: str, viewer: str) -> bool | None:
        """True when counted, False when the viewer upvoted it already, None: no such question."""

    async def answer_question(self, room: str, question_id: str) -> bool:
        """Mark it answered; False when there is no such question."""

    async def hide_question(self, room: str, question_id: str) -> bool:
        """Hide it from every list; False when there is no such question."""

    async def questions(self, room: str) -> list[StoredQuestion]:
        """Every question of the room, in no particular order (see `question_list`)."""


class PresenceStore(Protocol):
    """Viewer counts across processes."""

    async def report_viewers(self, process: str, counts: dict[str, int]) -> dict[str, int]:
        """Report this process's connections per room; the totals of all live processes."""


class AudienceStore(Protocol):
    """A program room's audience, reported by every process about once a second while it is open."""

    async def record(self, room: str, minute: int, viewers: int, watch_seconds: int,
                     newcomers: list[str]) -> None:
        """Note `viewers` (all processes, now) towards the peak and `minute`'s most, add this
        process's `watch_seconds` since its last report, and the viewer ids that joined."""

    async def audience(self, room: str) -> Audience:
        """The room's peak, unique viewers and watch time (zeros when nothing was recorded)."""


class HallHeartsStore(Protocol):
    """How many hearts each viewer gave each hall on each day, so a viewer counts once a day."""

    async def admit(self, room: str, day: str, viewer: str, count: int, per_day: int) -> int:
        """Count up to `count` more of the viewer's hearts for `room` on `day` (YYYY-MM-DD), at
        most `per_day` in all that day; how many of them count."""

    async def given(self, room: str, day: str, viewer: str) -> int:
        """The viewer's hearts that counted for `room` on `day`."""


@dataclass(frozen=True)
class ChatStores:
    """The chat's stores on one backend; `setup()` once before use (creates the SQLite tables)."""

    history: HistoryStore
    counters: CountersStore
    room_settings: RoomSettingsStore
    polls_and_questions: PollsAndQuestionsStore
    presence: PresenceStore
    audience: AudienceStore
    hall_hearts: HallHeartsStore
    setup: Callable[[], Awaitable[None]]


def make_chat_stores(backend: Backend, history_max: int) -> ChatStores:
    """The stores on `backend`; `history_max` bounds the Redis streams (0 keeps all)."""
    if backend.kind == "redis":
        from . import store_redis as on_redis

        async def nothing_to_set_up() -> None:
            return None

        return ChatStores(
            history=on_redis.RedisHistory(backend, history_max),
            counters=on_redis.RedisCounters(backend),
            room_settings=on_redis.RedisRoomSettings(backend),
            polls_and_questions=on_redis.RedisPollsAndQuestions(backend),
            presence=on_redis.RedisPresence(backend),
            audience=on_redis.RedisAudience(backend),
            hall_hearts=on_redis.RedisHallHearts(backend),
            setup=nothing_to_set_up,
        )
    from . import store_sqlite as on_sqlite

    db = backend.require_db()

    async def create_tables() -> None:
        await on_sqlite.migrate(db)

    return ChatStores(
        history=on_sqlite.SqliteHistory(db),
        counters=on_sqlite.SqliteCounters(db),
        room_settings=on_sqlite.SqliteRoomSettings(db),
        polls_and_questions=on_sqlite.SqlitePollsAndQuestions(db),
        presence=on_sqlite.SqlitePresence(),
        audience=on_sqlite.SqliteAudience(db),
        hall_hearts=on_sqlite.SqliteHallHearts(db),
        setup=create_tables,
    )
