"""What the captions slice needs from others, as small typed interfaces the root passes in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from kernel.identity import User


class ProgramView(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def state(self) -> str: ...


class Programs(Protocol):
    async def require(self, program_id: str) -> ProgramView:
        """The program, or ApiError 404 `program_not_found`."""


class Sender(Protocol):
    """The Socket.IO connection an event came from (the chat's)."""

    @property
    def user(self) -> User | None: ...

    @property
    def viewer(self) -> str: ...

    def joined(self, room: str) -> bool: ...

    async def current_user(self) -> User | None:
        """The user with the role their session holds now (read again from the store)."""


EventHandler = Callable[[Sender, dict[str, Any]], Awaitable[dict[str, Any]]]


class Rooms(Protocol):
    """The chat's connections and fan-out: our own Socket.IO events, our events to a room."""

    def on(self, event: str, handler: EventHandler, *, family: str, burst: float,
           per_second: float) -> None: ...

    async def emit(self, room: str, event: str, data: Any, *, staff_only: bool = False) -> None:
        """To the room's members in every process, one frame per process."""


class CaptionDestinations(Protocol):
    """Where a program's captions are forwarded: the caption URLs of its simulcast destinations."""

    async def caption_urls(self, program_id: str) -> Sequence[str]: ...
