"""What the chat slice needs from others, as small typed interfaces the root passes in."""

from __future__ import annotations

from typing import Any, Protocol

from kernel.identity import User


class ProgramView(Protocol):
    """A program as the chat sees it."""

    @property
    def id(self) -> str: ...

    @property
    def state(self) -> str: ...

    def public(self) -> dict[str, Any]:
        """The program's public JSON (PROTOCOL.md), sent in join acks and `program` events."""


class Programs(Protocol):
    async def require(self, program_id: str) -> ProgramView:
        """The program, or ApiError 404 `program_not_found`."""


class Visitors(Protocol):
    """Who a Socket.IO handshake comes from, read from its raw Cookie header."""

    def viewer_id_from_cookie_header(self, cookie_header: str | None) -> str | None: ...

    async def session_from_cookie_header(self, cookie_header: str | None) -> tuple[User, str] | None:
        """The signed-in user and their session's key (as `kernel.topics.AccessChanged` names it)."""

    async def user_of_session(self, session_key: str) -> User | None:
        """The user of a live session with their current role; None once it has ended."""


class Staff(Protocol):
    """Who the staff are, so viewers cannot take their names."""

    async def usernames(self) -> list[str]:
        """Every host's and producer's account name."""


class Participation(Protocol):
    """Who earns for taking part (the events slice): told once, by the process that handled it,
    when a viewer voted, asked a question, chatted in a program room or commented in a hall."""

    async def took_part(self, viewer: str, kind: str, room: str, ref: str) -> dict[str, Any] | None:
        """`kind`: vote | question | chat | comment; `ref`: the poll, question or message id.
        What the viewer earned, sent back in the ack as `mileage`; None when nothing. Never raises."""
