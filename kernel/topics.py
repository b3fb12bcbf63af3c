"""The bus topics more than one slice uses: the events of the lineup, and accounts whose
sessions ended.

The schedule slice publishes the lineup's events; chat and live react. The accounts slice
publishes `SessionsEnded`; the chat takes that person's sockets off their staff rights at once.
A slice's private topics live in that slice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .bus import Topic


@dataclass(frozen=True)
class ProgramChanged:
    """A program moved to a new state (scheduled, lobby, live, ended, replay)."""

    id: str
    state: str
    kind: str
    program: dict[str, Any]  # the program's public JSON, as `GET /api/programs/{id}` answers


@dataclass(frozen=True)
class LineupChanged:
    """A producer created, edited or deleted a program."""

    id: str
    action: str  # "created" | "updated" | "deleted"
    program: dict[str, Any] | None  # the public JSON after the change; None when deleted


PROGRAM_CHANGED = Topic("program", ProgramChanged)
LINEUP_CHANGED = Topic("lineup", LineupChanged)


@dataclass(frozen=True)
class SessionsEnded:
    """Every login session of `username` was ended on the server: the account was removed, its
    role changed or its password reset. Whatever that person still has open (Socket.IO
    connections) must stop acting with the old rights now."""

    username: str
    reason: str  # "removed" | "role_changed" | "password_reset"


SESSIONS_ENDED = Topic("sessions_ended", SessionsEnded)
