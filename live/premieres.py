"""The premiere service: uploads, their transcoding jobs, and the clock that reveals them.

One reveal task per premiere with ready media sleeps on the program clock until the next segment has
"played", rewrites the live playlists (in a thread) and sleeps again; a lineup edit wakes it so a
moved start time is honoured. Tasks are rebuilt at startup from the media directories.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from kernel.clock import Clock
from kernel.errors import ApiError
from kernel.topics import LineupChanged

from .media import ProgramMedia
from .ports import Programs
from .premiere_media import (
    SOURCE_FILE,
    probe,
    read_status,
    reveal,
    reveal_count,
    segment_durations,
    write_status,
)
from .service import LiveService

log = logging.getLogger("innotv.live.premiere")

_CHUNK = 1 << 20


class ByteSource(Protocol):
    """Where an upload's bytes come from (an HTTP request's body stream)."""

    async def read(self, n: int = -1) -> bytes: ...


class Premieres:
    def __init__(self, live: LiveService, programs: Programs, clock: Clock) -> None:
        self.live = live
        self.programs = programs
        self.clock = clock
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.wakes: dict[str, asyncio.Event] = {}
        self.jobs: dict[str, asyncio.Task[None]] = {}

    # ---- upload ----
    async def upload(self, program_id: str, body: ByteSource, content_type: str,
                     content_length: int | None) -> dict[str, Any]:
        """Store the file `body` streams, probe it and start its transcode; 4xx ApiErrors for a
        program that cannot take one or a file that is not a video."""
        program = await self.programs.require(program_id)
        if program.kind != "premiere":
            raise ApiError(409, "not_a_premiere", "Only a premiere program takes a media file.")
        if program.state in ("live", "ended", "replay") or self.clock.now() >= program.starts_at:
            raise ApiError(409, "premiere_started",
                           "The premiere has started; its file can no longer change.")
        if program_id in self.jobs and not self.jobs[program_id].done():
            raise ApiError(409, "transcoding", "A file for this premiere is still being prepared.")
        if content_type.startswith("multipart/"):
            raise ApiError(415, "unsupported_media_type",
                           "Send the file itself as the request body (e.g. Content-Type: video/mp4).")
        limit = self.live.settings.max_upload_mb * 1024 * 1024
        if content_length is not None and content_length > limit:
            raise ApiError(413, "payload_too_large", f"The file is larger than {limit // (1 << 20)} MB.")
        directory = self.live.media_dir(program_id)
        await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
        part = directory / "upload.part"
        size = 0
        fh = await asyncio.to_thread(open, part, "wb")
        try:
            while True:
                chunk = await body.read(_CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise ApiError(413, "payload_too_large",
                                   f"The file is larger than {limit // (1 << 20)} MB.")
                await asyncio.to_thread(fh.write, chunk)
        except BaseException:
            await asyncio.to_thread(fh.close)
            await asyncio.to_thread(part.unlink, True)
            raise
        await asyncio.to_thread(fh.close)
        if size == 0:
            await asyncio.to_thread(part.unlink, True)
            raise ApiError(400, "empty_upload", "The request body is empty: send the media file.")
        try:
            info = await asyncio.to_thread(probe, part)
        except ApiError:
            await asyncio.to_thread(part.unlink, True)
            raise
        source = directory / SOURCE_FILE
        await asyncio.to_thread(os.replace, part, source)
        status = {"state": "transcoding", "bytes": size, **info.public()}
        await asyncio.to_thread(write_status, directory, **status)
        self.jobs[program_id] = asyncio.create_task(self._transcode(program_id, source, dict(status)))
        return status

    async def _transcode(self, program_id: str, source: Path, status: dict[str, Any]) -> None:
        """Transcode in a process of its own (transcode_main.py), killed if the server stops."""
        directory = self.live.media_dir(program_id)
        live, core = self.live, self.live.core
        job = {"root": str(live.root), "program_id": program_id, "source": str(source),
               "settings": live.worker_settings.to_json(), "window": live.settings.window_segments,
               "log_level": core.log_level, "log_format": core.log_format,
               "nice": live.settings.worker_nice}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "live.transcode_main",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        try:
            out, _ = await proc.communicate(json.dumps(job).encode())
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise
        try:
            result = json.loads(out.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            result = {}
        if proc.returncode != 0 or not isinstance(result.get("encoded"), (int, float)):
            error = result.get("error") or f"the transcoder exited with {proc.returncode}"
            log.error("premiere transcode failed: %s", error, extra={"program": program_id})
            status.update(state="failed", error=f"The file could not be transcoded: {error}")
            await asyncio.to_thread(write_status, directory, **status)
            return
        status.update(state="ready", encoded=round(float(result["encoded"]), 3))
        await asyncio.to_thread(write_status, directory, **status)
        self.start_reveal(program_id)

    async def status(self, program_id: str) -> dict[str, Any]:
        await self.programs.require(program_id)
        return await asyncio.to_thread(read_status, self.live.media_dir(program_id)) or {"state": "none"}

    # ---- reveal by the clock ----
    def start_reveal(self, program_id: str) -> None:
        old = self.tasks.get(program_id)
        if old is not None:
            old.cancel()
        self.wakes[program_id] = asyncio.Event()
        self.tasks[program_id] = asyncio.create_task(self._reveal(program_id))

    def wake(self, program_id: str) -> None:
        event = self.wakes.get(program_id)
        if event is not None:
            event.set()

    async def _reveal(self, program_id: str) -> None:
        clock = self.clock
        live = self.live

        def _load() -> ProgramMedia:
            media = ProgramMedia(live.root, program_id, live.worker_settings.segment_s,
                                 live.settings.window_segments)
            media.load()
            return media

        media = await asyncio.to_thread(_load)
        durations = segment_durations(media) if media.rungs else []
        if not durations:
            return
        shown = -1
        while True:
            wake = self.wakes[program_id]
            wake.clear()
            program = await self.programs.get(program_id)
            if program is None or program.kind != "premiere" or program.state in ("ended", "replay"):
                return
            start = program.starts_at
            now = clock.now()
            if now < start:
                await clock.sleep_until(start, wake)
                continue
            count, next_end = reveal_count(durations, (now - start).total_seconds())
            ended = next_end is None
            if count != shown:
                await asyncio.to_thread(reveal, media, count, ended)
                shown = count
            if ended:
                log.info("premiere played to its end", extra={"program": program_id})
                return
            assert next_end is not None
            await clock.sleep_until(start + timedelta(seconds=next_end), wake)

    async def on_lineup(self, event: LineupChanged) -> None:
        if event.action == "deleted":  # its media goes (service.py): no transcode writes it again
            for task in (self.jobs.pop(event.id, None), self.tasks.pop(event.id, None)):
                if task is not None:
                    task.cancel()
            return
        self.wake(event.id)

    async def resume(self) -> None:
        """At startup: a reveal task for every premiere whose media is ready."""
        for program in await self.programs.list_programs():
            if program.kind != "premiere" or program.state in ("ended", "replay"):
                continue
            status = await asyncio.to_thread(read_status, self.live.media_dir(program.id))
            if status and status.get("state") == "ready":
                self.start_reveal(program.id)

    async def close(self) -> None:
        for task in [*self.tasks.values(), *self.jobs.values()]:
            task.cancel()
        for task in [*self.tasks.values(), *self.jobs.values()]:
            with contextlib.suppress(BaseException):
                await task
