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
