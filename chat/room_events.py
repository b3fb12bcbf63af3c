"""Other slices' Socket.IO events on the chat's connections, and their room events on its fan-out.

A slice (the captions) declares what it needs in its own ports; `RoomEvents` is the chat's side:
`on(event, handler, ...)` registers an event on both transports with the chat's wrapping (payload
checks, its own rate-limit family, refusals counted and logged), and `emit` sends an event to a
room's members in every process, as one pre-encoded frame per process (the chat's fan-out).

A handler gets a `Sender` (who is asking, which rooms it joined) and the payload, and answers the
ack; an ack `{"ok": false, "error": {"code", "message", ...}}` counts as a refusal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from kernel.identity import User

from .errors import ChatError
from .events import Handlers
from .service import ChatService, Conn


class Sender:
    """The connection an event came from, as another slice sees it."""

    __slots__ = ("_conn", "_service")

    def __init__(self, conn: Conn, service: ChatService) -> None:
        self._conn = conn
        self._service = service

    @property
    def user(self) -> User | None:
        return self._conn.user

    @property
    def viewer(self) -> str:
        return self._conn.viewer

    def joined(self, room: str) -> bool:
        return room in self._conn.member.rooms

    async def current_user(self) -> User | None:
        """The signed-in user with the role their session holds now (read again from the store)."""
        await self._service.refresh_user(self._conn)
        return self._conn.user


Handler = Callable[[Sender, dict[str, Any]], Awaitable[dict[str, Any]]]


class RoomEvents:
    def __init__(self, handlers: Handlers, service: ChatService) -> None:
        self._handlers = handlers
        self._service = service

    def on(self, event: str, handler: Handler, *, family: str, burst: float, per_second: float) -> None:
        """Handle `event` (a name the chat does not use) with its own rate-limit bucket `family`
        (several events may share one) of `burst` events refilled at `per_second`."""
        if event in self._handlers.handlers:
            raise ValueError(f"the chat already handles {event!r}")
        service = self._service

        async def run(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
            ack = await handler(Sender(conn, service), data)
            if ack.get("ok") is False:
                error = dict(ack.get("error") or {})
                code = str(error.pop("code", "refused"))
                message = str(error.pop("message", "Refused."))
                raise ChatError(code, message, **error)
            return ack

        self._handlers.add(event, run, (family, burst, per_second))

    async def emit(self, room: str, event: str, data: Any, *, staff_only: bool = False) -> None:
        """To the room's members in every process (staff only: hosts, producers, captioners)."""
        await self._service.emit(room, event, data, staff_only=staff_only)
