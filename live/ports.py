"""What the live slice needs from others, as small typed interfaces the root passes in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol


class ProgramView(Protocol):
    """A program as the live slice sees it."""

    @property
    def id(self) -> str: ...

    @property
    def kind(self) -> str: ...  # "live" | "premiere"

    @property
    def state(self) -> str: ...

    @property
    def starts_at(self) -> datetime: ...

    @property
    def ends_at(self) -> datetime: ...


class Programs(Protocol):
    async def get(self, program_id: str) -> ProgramView | None: ...

    async def require(self, program_id: str) -> ProgramView:
        """The program, or ApiError 404 `program_not_found`."""

    async def list_programs(self) -> Sequence[ProgramView]: ...

    async def current(self) -> ProgramView | None:
        """The program live now, else the next one to start."""

    async def set_state(
        self, program_id: str, new_state: str, expected_state: str | None = None,
        bump_version: bool = False,
    ) -> ProgramView | None:
        """Compare-and-set the program's state; the program when it changed. `bump_version`:
        the change also counts as an edit (version + 1), for a state that goes back."""


class CaptionLine(Protocol):
    """A stored caption line, as the live slice writes it into the HLS and the replay."""

    @property
    def id(self) -> int: ...

    @property
    def rev(self) -> int: ...

    @property
    def lang(self) -> str: ...

    @property
    def at(self) -> int: ...  # when the words were spoken: wall clock, ms since the epoch

    @property
    def text(self) -> str: ...


class Captions(Protocol):
    """The captions slice: its languages (a subtitle rendition each) and a program's lines."""

    @property
    def languages(self) -> tuple[str, ...]: ...

    @property
    def hold_ms(self) -> int: ...  # how long a line stays on screen

    async def recent(self, program_id: str, since_ms: int) -> Sequence[CaptionLine]:
        """The lines spoken since `since_ms` (for a media worker that starts mid-show)."""

    async def all_lines(self, program_id: str) -> Sequence[CaptionLine]:
        """Every line of the program, corrected text, in order (for the replay)."""
