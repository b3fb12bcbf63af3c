"""Replays: written when a program ends, shown, cut, hidden or deleted by producers, and the
program's media removed when the program is deleted.

The program's state says whether viewers have a replay: `replay` while one is visible, `ended`
otherwise (being written, never aired, hidden or deleted); every change of it is the usual
`program` event. What the replay is lives beside its media in `replay.json` (replay_files.py), so
every process sharing the data directory serves the same thing. File work runs in a thread,
under the program's media lock (no worker writes the program meanwhile); edits of one program in
this process run one at a time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

from kernel.errors import ApiError
from kernel.topics import CaptionsEdited

from .media import ProgramMedia, lock_media
from .ports import Captions, Programs, ProgramView
from .replay_files import ReplayEdit, has_recording, read_edit, replay_span, write_edit, write_replay
from .subtitles import Cue, ReplayCaptions

log = logging.getLogger("innotv.live.replay")

TRASH = ".trash"  # under the media root; never a program id (ids start with a letter or digit)
_OVER = ("ended", "replay")
_EDITABLE = ("in", "out", "hidden", "thumbnail_at")
MAX_SECONDS = 24 * 3600.0


def _ms(program: ProgramView) -> tuple[int, int]:
    return int(program.starts_at.timestamp() * 1000), int(program.ends_at.timestamp() * 1000)


class Replays:
    def __init__(self, root: Path, programs: Programs, segment_s: float, window: int,
                 captions: Captions) -> None:
        self.root = root
        self.programs = programs
        self.captions = captions
        self.segment_s = segment_s
        self.window = window
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, program_id: str) -> asyncio.Lock:
        return self._locks.setdefault(program_id, asyncio.Lock())

    async def _captions(self, program_id: str) -> ReplayCaptions:
        """The program's caption lines as they are now (corrections included)."""
        lines = await self.captions.all_lines(program_id)
        cues = tuple(Cue(c.id, c.rev, c.lang, c.at, c.at, c.text) for c in lines)
        return ReplayCaptions(tuple(self.captions.languages), self.captions.hold_ms, cues)

    def _media(self, program_id: str) -> ProgramMedia:
        media = ProgramMedia(self.root, program_id, self.segment_s, self.window)
        media.load()
        return media

    # ---- after the program ends ----
    async def publish(self, program_id: str) -> ReplayEdit | None:
        """Write the replay of a program that is over (its times are its window) and show it
        (state `replay`) when anything aired; None when there is nothing here to write (nothing
        recorded, or another process's worker still holds the media: it writes it)."""
        program = await self.programs.get(program_id)
        if program is None or program.state not in _OVER:
            return None
        captions = await self._captions(program_id)
        async with self._lock(program_id):
            edit = await asyncio.to_thread(self._write_first, program_id, _ms(program), captions)
            if edit is not None and edit.status == "ready" and not edit.hidden:
                await self.programs.set_state(program_id, "replay", expected_state="ended")
            return edit

    def _write_first(self, program_id: str, window: tuple[int, int],
                     captions: ReplayCaptions) -> ReplayEdit | None:
        directory = self.root / program_id
        if not has_recording(directory):
            return None
        fd = lock_media(directory)
        if fd is None:
            return None
        try:
            previous = read_edit(directory)
            if previous is not None and previous.status == "deleted":
                return previous
            kept = previous is not None and previous.status == "ready"
            edit = previous if kept and previous is not None else ReplayEdit(window=window)
            return write_replay(self._media(program_id), edit, captions)
        finally:
            os.close(fd)

    async def resume(self) -> None:
        """At startup: replays of programs that ended while nothing wrote them (a crash)."""
        for program in await self.programs.list_programs():
            if program.state == "ended":
                try:
                    await self.publish(program.id)
                except Exception:
                    log.exception("the replay of %s could not be written", program.id)

    # ---- reading ----
    async def describe(self, program_id: str, producer: bool) -> dict[str, Any]:
        """`GET /api/programs/{id}/replay`: the state, and for producers the cut."""
        program = await self.programs.require(program_id)
        edit, recorded = await asyncio.to_thread(
            lambda: (read_edit(self.root / program_id), has_recording(self.root / program_id)))
        if program.state not in _OVER:
            state = "pending"
        elif edit is None:
            state = "pending" if recorded else "none"
        elif edit.status == "ready":
            state = "hidden" if edit.hidden else "ready"
        else:
            state = edit.status
        ready = edit is not None and edit.status == "ready"
        base = f"/vod/{program_id}"
        out: dict[str, Any] = {
            "program_id": program_id,
            "state": state,
            "duration": edit.duration if ready and edit else None,
            "master": f"{base}/master.m3u8" if state == "ready" else None,
            "thumbnail": f"{base}/{edit.thumbnail}" if state == "ready" and edit and edit.thumbnail else None,
        }
        if producer:
            out.update({
                "hidden": bool(edit and edit.hidden),
                "recorded": edit.recorded if ready and edit else None,
                "in": (edit.in_s or 0.0) if ready and edit else None,
                "out": (edit.out_s if edit.out_s is not None else edit.recorded) if ready and edit else None,
                "thumbnail_at": edit.thumbnail_at if ready and edit else None,
                "thumbnail_file": f"{base}/{edit.thumbnail}" if ready and edit and edit.thumbnail else None,
            })
        return out

    # ---- producers' edits ----
    async def edit(self, program_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Cut (`in`, `out`: seconds of the show, null for its start/end, snapped to segment
        boundaries), hide or show, pick the thumbnail (`thumbnail_at`: seconds into the replay)."""
        changes = _parse_edit(body)
        await self.programs.require(program_id)
        captions = await self._captions(program_id)
        async with self._lock(program_id):
            written = await asyncio.to_thread(self._edit, program_id, changes, captions)
            # hidden: back to `ended`, an edit for clients (version + 1), which otherwise take a
            # same-version copy at an earlier state for an old one; shown: `replay` again
            if written.hidden:
                await self.programs.set_state(program_id, "ended", "replay", bump_version=True)
            else:
                await self.programs.set_state(program_id, "replay", expected_state="ended")
        return await self.describe(program_id, producer=True)

    def _edit(self, program_id: str, changes: dict[str, Any], captions: ReplayCaptions) -> ReplayEdit:
        directory = self.root / program_id
        current = read_edit(directory)
        if current is None or current.status != "ready":
            raise _not_ready(current)
        fd = lock_media(directory)
        if fd is None:
            raise ApiError(409, "replay_busy", "The replay's media is busy; try again in a moment.")
        try:
            wanted = dataclasses.replace(
                current,
                in_s=changes.get("in", current.in_s),
                out_s=changes.get("out", current.out_s),
                hidden=changes.get("hidden", current.hidden),
                thumbnail_at=changes.get("thumbnail_at", current.thumbnail_at),
            )
            media = self._media(program_id)
            start = wanted.in_s or 0.0
            end = wanted.out_s if wanted.out_s is not None else current.recorded
            if start >= current.recorded or end <= start:
                raise ApiError(400, "invalid_trim",
                               f"The cut must keep something of the {current.recorded:.1f} s recorded: "
                               "out after in, in before the end.",
                               details={"field": "in" if "in" in changes else "out"})
            in_s, out_s, _ = replay_span(media, wanted)
            if "thumbnail_at" in changes and changes["thumbnail_at"] > out_s - in_s + 1e-3:
                raise ApiError(400, "invalid_field", "thumbnail_at is after the replay's end "
                               f"({out_s - in_s:.1f} s).", details={"field": "thumbnail_at"})
            if "thumbnail_at" not in changes and ("in" in changes or "out" in changes):
                wanted = dataclasses.replace(wanted, thumbnail_at=None)  # the default picture of the new cut
            return write_replay(media, wanted, captions)
        finally:
            os.close(fd)

    async def on_captions_edited(self, event: CaptionsEdited) -> None:
        """A producer corrected captions after the show: the replay's subtitles again."""
        captions = await self._captions(event.program_id)
        async with self._lock(event.program_id):
            await asyncio.to_thread(self._rewrite_subtitles, event.program_id, captions)

    def _rewrite_subtitles(self, program_id: str, captions: ReplayCaptions) -> None:
        directory = self.root / program_id
        current = read_edit(directory)
        if current is None or current.status != "ready":
            return  # not written yet: it will be, with these lines
        fd = lock_media(directory)
        if fd is None:
            return  # another process writes this program's media: it writes the replay too
        try:
            write_replay(self._media(program_id), current, captions)
        finally:
            os.close(fd)

    async def delete(self, program_id: str) -> None:
        """Remove the replay's media (the program stays, `ended`, its replay state `deleted`)."""
        program = await self.programs.require(program_id)
        async with self._lock(program_id):
            current = await asyncio.to_thread(read_edit, self.root / program_id)
            if current is not None and current.status == "deleted":
                return
            if current is None or current.status != "ready":
                raise _not_ready(current)
            await self.remove_media(program_id)
            await asyncio.to_thread(write_edit, self.root / program_id,
                                    ReplayEdit(status="deleted", window=_ms(program)))
            await self.programs.set_state(program_id, "ended", "replay", bump_version=True)

    async def remove_media(self, program_id: str) -> None:
        """Take the program's folder out of what is served at once (a rename), then delete it in
        a thread; nothing of it is served from then on, in any process sharing the directory."""
        source = self.root / program_id
        trash = self.root / TRASH / f"{program_id}.{secrets.token_hex(4)}"

        def move() -> bool:
            if not source.exists():
                return False
            trash.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, trash)
            return True

        if await asyncio.to_thread(move):
            await asyncio.to_thread(shutil.rmtree, trash, True)
            log.info("media of %s removed", program_id)


def _not_ready(current: ReplayEdit | None) -> ApiError:
    why = {None: "it is being written or nothing was recorded", "none": "the program never aired",
           "deleted": "it was deleted"}.get(current.status if current else None, "")
    return ApiError(409, "replay_not_ready", f"This program has no replay to change: {why}.")


def _parse_edit(body: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name, value in body.items():
        if name not in _EDITABLE:
            raise ApiError(400, "unknown_field", f"Unknown field {name!r}; one of {', '.join(_EDITABLE)}.",
                           details={"field": name})
        if name == "hidden":
            if not isinstance(value, bool):
                raise ApiError(400, "invalid_type", "hidden must be true or false.", details={"field": name})
            changes[name] = value
            continue
        if value is None and name in ("in", "out"):
            changes[name] = None
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ApiError(400, "invalid_type", f"{name} must be a number of seconds.",
                           details={"field": name})
        if not math.isfinite(value) or not 0 <= value <= MAX_SECONDS:
            raise ApiError(400, "invalid_field", f"{name} must be between 0 and {MAX_SECONDS:.0f} seconds.",
                           details={"field": name})
        changes[name] = float(value)
    return changes
