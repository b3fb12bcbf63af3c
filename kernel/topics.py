"""The bus topics more than one slice uses: the events of the lineup, changes of who may do
what, and live captions.

The schedule slice publishes the lineup's events; chat and live react. The accounts slice
publishes `AccessChanged` (a logout, or an account changed or removed); the chat takes the role
off (or changes it on) that person's open connections, in every process, and tells them. A
slice's private topics live in that slice.
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


@dataclass(frozen=True)
class AccessChanged:
    """A user's login session ended (logout), or their role changed or went (an account edit):
    what their open connections may do changes now, not at their next login."""

    username: str
    session: str | None  # the session that ended (its store key); None: every session of the user
    role: str | None  # the role they hold now; None: none (logged out, or no account any more)
    reason: str  # "logout" | "removed" | "role_changed" | "password_reset"


@dataclass(frozen=True)
class CaptionCommitted:
    """A caption line was stored (rev 0) or corrected (rev + 1), in any process."""

    program_id: str
    id: int  # the line's number in the program (all languages), from 1
    rev: int  # how often its text was corrected
    lang: str  # BCP 47, e.g. "ko"
    at: int  # when the words were spoken: wall clock, ms since the epoch (commit minus the delay)
    text: str


@dataclass(frozen=True)
class CaptionsEdited:
    """A producer corrected captions of a program whose replay may already be written."""

    program_id: str


PROGRAM_CHANGED = Topic("program", ProgramChanged)
LINEUP_CHANGED = Topic("lineup", LineupChanged)
ACCESS_CHANGED = Topic("access", AccessChanged)
CAPTION_COMMITTED = Topic("caption", CaptionCommitted)
CAPTIONS_EDITED = Topic("captions.edited", CaptionsEdited)
