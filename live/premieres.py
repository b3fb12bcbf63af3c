"""The premiere service: uploads, their transcoding jobs, and the clock that reveals them.

One reveal task per premiere with ready media sleeps on `deps.clock` until the next segment has
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
from typing import Any

from aiohttp import web

from innotv.deps import Deps
from innotv.errors import ApiError

from .media import ProgramMedia
from .premiere import (
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


class Premieres:
    def __init__(self, deps: Deps, live: LiveService) -> None:
        self.deps = deps
        self.live = live
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.wakes: dict[str, asyncio.Event] = {}
        self.jobs: dict[str, asyncio.Task[None]] = {}

    def _programs(self) -> Any:
        programs = self.deps.services.get("programs")
        if programs is None:
            raise ApiError(503, "unavailable", "The lineup is not available.")
        return programs

    # ---- upload ----
    async def upload(self, request: web.Request, program_id: str) -> dict[str, Any]:
        program = await self._programs().get(program_id)
        if program is None:
            raise ApiError(404, "program_not_found", f"No program with id {program_id!r}.")
        if program.kind != "premiere":
            raise ApiError(409, "not_a_premiere", "Only a premiere program takes a media file.")
        if program.state in ("live", "ended", "replay") or self.deps.clock.now() >= program.starts_at:
            raise ApiError(409, "premiere_started",
                           "The premiere has started; its file can no longer change.")
        if program_id in self.jobs and not self.jobs[program_id].done():
            raise ApiError(409, "transcoding", "A file for this premiere is still being prepared.")
        if request.content_type.startswith("multipart/"):
            raise ApiError(415, "unsupported_media_type",
                           "Send the file itself as the request body (e.g. Content-Type: video/mp4).")
        limit = self.deps.config.live_max_upload_mb * 1024 * 1024
        if request.content_length is not None and request.content_length > limit:
            raise ApiError(413, "payload_too_large", f"The file is larger than {limit // (1 << 20)} MB.")
        directory = self.live.media_dir(program_id)
        await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
        part = directory / "upload.part"
        size = 0
        fh = await asyncio.to_thread(open, part, "wb")
        try:
            while True:
                chunk = await request.content.read(_CHUNK)
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
        cfg = self.deps.config
        job = {"root": str(self.live.root), "program_id": program_id, "source": str(source),
               "settings": self.live.settings.to_json(), "window": cfg.live_window_segments,
               "log_level": cfg.log_level, "log_format": cfg.log_format, "nice": cfg.live_worker_nice}
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
        if await self._programs().get(program_id) is None:
            raise ApiError(404, "program_not_found", f"No program with id {program_id!r}.")
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
        clock = self.deps.clock
        live = self.live

        def _load() -> ProgramMedia:
            media = ProgramMedia(live.root, program_id, live.settings.segment_s,
                                 self.deps.config.live_window_segments)
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
            program = await self._programs().get(program_id)
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

    async def on_lineup(self, payload: dict[str, Any]) -> None:
        program_id = payload.get("id")
        if isinstance(program_id, str):
            self.wake(program_id)

    async def resume(self) -> None:
        """At startup: a reveal task for every premiere whose media is ready."""
        programs = self.deps.services.get("programs")
        if programs is None:
            return
        for program in await programs.list_programs():
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
