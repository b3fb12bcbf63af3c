"""The chat's bus topics, on the bus's own "chat" channel: what one process tells the others.

With Redis every process runs its own tick; these events make N processes one chat: a stored
tick's messages, events for a room's members, moderation settings, a notice to one viewer, and
"look again" hints for polls and questions. `process` lets a process skip its own relays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kernel.bus import Topic


@dataclass(frozen=True)
class TickStored:
    process: str
    room: str
    items: list[dict[str, Any]]
    deleted: list[str]
    hearts_total: int
    hearts_minute: int


@dataclass(frozen=True)
class RoomEvent:
    """Send `event` with `data` to the room's members on every process."""

    room: str
    event: str
    data: Any
    staff_only: bool = False  # to hosts', producers' and captioners' connections only


@dataclass(frozen=True)
class RoomSettingChanged:
    """A moderation setting of the room (`meta`) changed: None removes it."""

    room: str
    name: str
    value: str | None


@dataclass(frozen=True)
class ViewerNotice:
    room: str
    viewer: str
    notice: dict[str, Any]


@dataclass(frozen=True)
class RoomDirty:
    """The room's poll counts or question list changed: send them again at the next chance."""

    process: str
    room: str
    what: str  # "poll" | "questions"


TICK_STORED = Topic("chat.tick", TickStored, channel="chat")
ROOM_EVENT = Topic("chat.event", RoomEvent, channel="chat")
ROOM_SETTING = Topic("chat.setting", RoomSettingChanged, channel="chat")
VIEWER_NOTICE = Topic("chat.notice", ViewerNotice, channel="chat")
ROOM_DIRTY = Topic("chat.dirty", RoomDirty, channel="chat")
