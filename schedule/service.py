"""ProgramService: the lineup's one entry point for routes, the scheduler, the CLI and other domains.

It checks what needs the store (hosts exist, overlaps, versions), turns store refusals into API
errors that name the program in the way, and announces every change on the bus
(`kernel.topics`): `ProgramChanged` on every state change, `LineupChanged` on every edit.
Other slices reach it through their own small interfaces (`get`, `require`, `list_programs`,
`set_state`), which the composition root satisfies with this service.

Going on and off the air by hand (`start_now`, `end_now`) rewrites the program's times to what
happened, so the lineup tells the truth and the scheduler, which follows the times, agrees.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from kernel.bus import Bus
from kernel.clock import Clock
from kernel.errors import ApiError
from kernel.identity import User
from kernel.topics import LINEUP_CHANGED, PROGRAM_CHANGED, LineupChanged, ProgramChanged

from .model import FINAL_STATES, MAX_DURATION, MIN_DURATION, STATES, Program, first_overlap, iso_seoul
from .ports import Accounts
from .store import Change, ImportMode, Overlap, ProgramExists, ProgramMissing, ProgramStore, VersionMismatch
from .validation import apply_patch

log = logging.getLogger("innotv.schedule")


def not_found(program_id: str) -> ApiError:
    """The one answer to "no such program", wherever a program id is looked up."""
    return ApiError(404, "program_not_found", f"No program with id {program_id[:80]!r}.")


class ProgramService:
    def __init__(self, store: ProgramStore, bus: Bus, clock: Clock, accounts: Accounts) -> None:
        self.store = store
        self._bus = bus
        self._clock = clock
        self._accounts = accounts

    async def setup(self) -> None:
        await self.store.setup()

    # ---- reading --------------------------------------------------------------------------
    async def get(self, program_id: str) -> Program | None:
        return await self.store.get(program_id)

    async def require(self, program_id: str) -> Program:
        """The program, or ApiError 404 `program_not_found`."""
        program = await self.store.get(program_id)
        if program is None:
            raise not_found(program_id)
        return program

    async def list_programs(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[Program]:
        return await self.store.in_range(start, end)

    async def current(self) -> Program | None:
        """The program live now, else the next one to start (lobby or scheduled)."""
        now = self._clock.now()
        upcoming = await self.store.in_range(now, None)
        for program in upcoming:
            if program.state == "live":
                return program
        waiting = [p for p in upcoming if p.state in ("scheduled", "lobby") and p.starts_at >= now]
        return waiting[0] if waiting else None

    def current_minute(self) -> datetime:
        """The earliest start a new program may have: the start of the current minute (a form
        that picks minutes can still say "14:00" at 14:00:40)."""
        return self._clock.now().replace(second=0, microsecond=0)

    # ---- editing --------------------------------------------------------------------------
    async def create(self, program: Program, not_before: datetime | None = None) -> Program:
        """Store a new program; with `not_before`, one that starts earlier is refused (400
        `starts_in_past`)."""
        if not_before is not None and program.starts_at < not_before:
            raise _in_past(program)
        await self._check_hosts(program)
        try:
            stored = await self.store.create(program)
        except ProgramExists:
            raise ApiError(409, "program_exists", f"A program with id {program.id!r} exists.") from None
        except Overlap as exc:
            raise await self._conflict(exc) from None
        await self._announce(stored.id, "created", stored)
        return stored

    async def update(self, program_id: str, version: int, changes: dict[str, Any]) -> Program:
        current = await self.require(program_id)
        if current.version != version:
            raise self._stale(program_id, current.version)
        edited = apply_patch(current, changes)
        if "hosts" in changes:
            await self._check_hosts(edited)
        try:
            stored = await self.store.update(edited, version)
        except ProgramMissing:
            raise not_found(program_id) from None
        except VersionMismatch as exc:
            raise self._stale(program_id, exc.current) from None
        except Overlap as exc:
            raise await self._conflict(exc) from None
        await self._announce(program_id, "updated", stored)
        return stored

    async def delete(self, program_id: str) -> None:
        if not await self.store.delete(program_id):
            raise not_found(program_id)
        await self._announce(program_id, "deleted", None)

    async def save_many(self, programs: list[Program], mode: ImportMode,
                        not_before: datetime | None = None) -> list[Change]:
        """An import or the expo lineup: all of it or nothing (see ProgramStore.save_many). With
        `not_before`, a program the batch creates, or whose start it moves, may not start earlier."""
        seen: set[str] = set()
        for program in programs:
            if program.id in seen:
                raise ApiError(400, "duplicate_id", f"The id {program.id!r} appears twice.")
            seen.add(program.id)
            await self._check_hosts(program)
            if not_before is not None and program.starts_at < not_before:
                stored = await self.store.get(program.id)
                if stored is None or stored.starts_at != program.starts_at:
                    raise _in_past(program)
        pair = first_overlap(programs)
        if pair is not None:
            first, second = pair
            raise ApiError(
                409, "program_conflict",
                f"{_name(second)} overlaps {_name(first)} in the same lineup.",
                details={"program": second.id, "conflict": _summary(first)},
            )
        try:
            changes = await self.store.save_many(programs, mode)
        except Overlap as exc:
            raise await self._conflict(exc) from None
        by_id = {p.id: p for p in programs}
        for change in changes:
            stored = await self.store.get(change.id)
            await self._announce(change.id, change.action, stored or by_id[change.id])
        return changes

    # ---- on the air by hand ---------------------------------------------------------------
    async def start_now(self, program_id: str, user: User) -> Program:
        """Put the program on the air now: `starts_at` becomes now (its end is kept, or its
        length when the end is less than a minute away), state `live`. Already live: unchanged."""
        for _ in range(3):
            current = await self.require(program_id)
            _check_runner(current, user)
            if current.state == "live":
                return current
            if current.state in FINAL_STATES:
                raise ApiError(409, "program_over", "This program has ended; it cannot start again.")
            now = self._clock.now().replace(microsecond=0)
            ends = current.ends_at if current.ends_at - now >= MIN_DURATION else now + current.duration
            if ends - now > MAX_DURATION:
                raise ApiError(400, "invalid_duration", "Starting now would make the program "
                               "longer than 12 hours; move its end first.", details={"field": "ends_at"})
            stored = await self._retime(current, now, ends)
            if stored is None:
                continue  # edited meanwhile: look again
            await self.set_state(program_id, "live", expected_state=current.state)
            return await self.require(program_id)
        raise self._stale(program_id, (await self.require(program_id)).version)

    async def end_now(self, program_id: str, user: User) -> Program:
        """Take the program off the air now: `ends_at` becomes now, state `ended`. Already over:
        unchanged. A program that has not started cannot end (409 `program_not_started`)."""
        for _ in range(3):
            current = await self.require(program_id)
            _check_runner(current, user)
            if current.state in FINAL_STATES:
                return current
            if current.state != "live":
                raise ApiError(409, "program_not_started",
                               "This program has not started; start it, or move or delete it instead.")
            now = self._clock.now().replace(microsecond=0)
            ends = max(now, current.starts_at + timedelta(seconds=1))
            if ends < current.ends_at and await self._retime(current, current.starts_at, ends) is None:
                continue
            await self.set_state(program_id, "ended", expected_state="live")
            return await self.require(program_id)
        raise self._stale(program_id, (await self.require(program_id)).version)

    async def _retime(self, current: Program, starts: datetime, ends: datetime) -> Program | None:
        """Store new times for `current` (version + 1, announced); None when it was edited meanwhile."""
        try:
            edited = replace(current, starts_at=starts, ends_at=ends)
            stored = await self.store.update(edited, current.version)
        except VersionMismatch:
            return None
        except ProgramMissing:
            raise not_found(current.id) from None
        except Overlap as exc:
            raise await self._conflict(exc) from None
        await self._announce(current.id, "updated", stored)
        return stored

    # ---- states ---------------------------------------------------------------------------
    async def set_state(
        self, program_id: str, new_state: str, expected_state: str | None = None,
        bump_version: bool = False,
    ) -> Program | None:
        """Compare-and-set the state; publishes `"program"` and returns the program when it
        changed, None when the program is missing, not in `expected_state`, or already there.
        `bump_version`: the change counts as an edit (version + 1), for a state that goes back
        (a replay hidden or deleted), so that clients, which take a copy with the same version
        and an earlier state for an old one, take it as the newer one."""
        if new_state not in STATES:
            raise ValueError(f"unknown state {new_state!r}")
        changed = await self.store.set_state(program_id, new_state, expected_state, bump_version)
        if changed is not None:
            log.info("program state", extra={"program": program_id, "state": new_state})
            await self._bus.publish(
                PROGRAM_CHANGED, ProgramChanged(changed.id, changed.state, changed.kind, changed.public())
            )
        return changed

    # ---- helpers --------------------------------------------------------------------------
    async def _announce(self, program_id: str, action: str, program: Program | None) -> None:
        await self._bus.publish(
            LINEUP_CHANGED, LineupChanged(program_id, action, program.public() if program else None)
        )

    async def _check_hosts(self, program: Program) -> None:
        for host in program.hosts:
            if not await self._accounts.exists(host):
                raise ApiError(
                    400, "unknown_host", f"No account named {host!r} (hosts are usernames).",
                    details={"field": "hosts", "host": host},
                )

    @staticmethod
    def _stale(program_id: str, current: int) -> ApiError:
        return ApiError(
            409, "version_conflict",
            f"The program {program_id!r} was changed meanwhile (now version {current}); "
            "reload it and edit again.",
            details={"current_version": current},
        )

    async def _conflict(self, exc: Overlap) -> ApiError:
        other = await self.store.get(exc.other_id)
        name = _name(other) if other else f"the program {exc.other_id!r}"
        summary = _summary(other) if other else {"id": exc.other_id}
        return ApiError(
            409, "program_conflict",
            f"The times overlap {name}.",
            details={"program": exc.program_id, "conflict": summary},
        )


def _check_runner(program: Program, user: User) -> None:
    """Producers run every program; a host only the programs that list them."""
    if user.role != "producer" and user.username not in program.hosts:
        raise ApiError(403, "forbidden", "Only a producer or a host of this program can start or end it.")


def _in_past(program: Program) -> ApiError:
    return ApiError(
        400, "starts_in_past",
        f"{_name(program)} would start in the past; give a time from the current minute on, "
        'or "now" to start it at once.',
        details={"field": "starts_at", "program": program.id},
    )


def _name(program: Program) -> str:
    return (
        f"「{program.title}」 (id {program.id}, {iso_seoul(program.starts_at)} – "
        f"{iso_seoul(program.ends_at)})"
    )


def _summary(program: Program) -> dict[str, Any]:
    return {
        "id": program.id,
        "title": program.title,
        "starts_at": iso_seoul(program.starts_at),
        "ends_at": iso_seoul(program.ends_at),
    }
