"""The program store: one async contract, two backends (`store_sqlite`, `store_redis`).

Every write that could race is decided inside the store in one atomic step: creating checks the
id and overlaps, updating checks the version (compare-and-set) and overlaps, `set_state` checks
the expected state, and `save_many` writes a whole import or none of it. Failures come back as
the exceptions below; the service turns them into API errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from kernel.storage import Backend

from .model import Program

ImportMode = Literal["replace", "missing"]


class StoreError(Exception):
    """A write the store refused; nothing was written."""


class ProgramExists(StoreError):
    def __init__(self, program_id: str) -> None:
        super().__init__(f"program {program_id} exists")
        self.program_id = program_id


class ProgramMissing(StoreError):
    def __init__(self, program_id: str) -> None:
        super().__init__(f"program {program_id} does not exist")
        self.program_id = program_id


class VersionMismatch(StoreError):
    def __init__(self, program_id: str, current: int) -> None:
        super().__init__(f"program {program_id} is at version {current}")
        self.program_id = program_id
        self.current = current


class Overlap(StoreError):
    """`program_id` (being written) overlaps the stored program `other_id`."""

    def __init__(self, program_id: str, other_id: str) -> None:
        super().__init__(f"program {program_id} overlaps {other_id}")
        self.program_id = program_id
        self.other_id = other_id


@dataclass(frozen=True)
class Change:
    """One program a `save_many` wrote: `action` is "created" or "updated"."""

    id: str
    action: str


class ProgramStore(Protocol):
    async def setup(self) -> None: ...

    async def get(self, program_id: str) -> Program | None: ...

    async def in_range(self, start: datetime | None = None, end: datetime | None = None) -> list[Program]:
        """Programs that overlap [start, end) (either bound optional), ordered by start."""

    async def create(self, program: Program) -> Program:
        """Insert `program` (state and version as given); ProgramExists or Overlap otherwise."""

    async def update(self, program: Program, expected_version: int) -> Program:
        """Replace the program's editable fields and times if its stored version is
        `expected_version`; it is stored with version `expected_version + 1` and keeps its stored
        state. ProgramMissing, VersionMismatch or Overlap otherwise."""

    async def delete(self, program_id: str) -> bool: ...

    async def set_state(
        self, program_id: str, new_state: str, expected_state: str | None = None,
        bump_version: bool = False,
    ) -> Program | None:
        """Move to `new_state` when the stored state is `expected_state` (any state when None)
        and differs from `new_state` (with `bump_version`, version + 1 in the same step); the
        stored program after the change, or None if no change."""

    async def save_many(self, programs: list[Program], mode: ImportMode) -> list[Change]:
        """Write all of `programs` or none (Overlap with a program outside the batch).

        "replace": programs whose id exists get the given fields and times (version + 1 when
        anything differs, state kept); the others are inserted as given.
        "missing": only programs whose id does not exist are inserted; existing ones are kept
        as they are and count for the overlap check.
        The caller checks the batch against itself (`model.first_overlap`)."""


def make_program_store(backend: Backend) -> ProgramStore:
    if backend.kind == "redis":
        from .store_redis import RedisProgramStore

        return RedisProgramStore(backend.require_redis(), backend)
    from .store_sqlite import SqliteProgramStore

    return SqliteProgramStore(backend.require_db())
