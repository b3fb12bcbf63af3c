"""What the events slice needs from others, as small typed interfaces the root passes in."""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web


class ProgramView(Protocol):
    """A program as the events slice sees it."""

    @property
    def id(self) -> str: ...

    @property
    def state(self) -> str: ...


class Programs(Protocol):
    async def require(self, program_id: str) -> ProgramView:
        """The program, or ApiError 404 `program_not_found`."""

    async def current(self) -> ProgramView | None:
        """The program live now, else the next one to start."""


class Rooms(Protocol):
    """The chat's rooms, to show quizzes, draws and the thermometer to the people watching."""

    async def emit(self, room: str, event: str, data: Any) -> None:
        """Send an event to a room's members in every process."""

    def broadcast_local(self, prefix: str, event: str, data: Any) -> int:
        """Send an event to the members of this process's rooms whose name starts with `prefix`;
        how many were written to."""


class Visitors(Protocol):
    """The anonymous viewer id the chat knows a browser by (accounts slice)."""

    def viewer_id(self, request: web.Request) -> str | None: ...

    def ensure_viewer_cookie(self, request: web.Request, response: web.StreamResponse) -> str:
        """The request's viewer id, minting one (and setting its cookie) on a first visit."""
