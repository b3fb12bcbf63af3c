"""The captions engine of one process: lines batched per tick, stored, then sent to the room.

A line (from the console or a captioning service) waits in its program's pending batch; every
`captions_tick_ms` each program's batch is written to the store in one call, each sender is
answered once its line is stored (an acknowledged line survives a crash), and the stored lines go
to the program's room as ONE `captions` event (the chat's fan-out, every process), to the media
worker (bus topic `caption`, live slice) and to the caption URLs of the program's simulcast
destinations (`forward.py`).

Lines may be sent while the program is in the lobby or live. Each language has a turn: the
captioner holding it captions; another takes it over explicitly (both consoles see it). The last
line of a language can be corrected by its author while the show runs; producers correct any
line, any time (the replay's subtitles are written again).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from kernel.bus import Bus
from kernel.clock import Clock
from kernel.identity import User
from kernel.metrics import Metrics
from kernel.signing import sha256_hex
from kernel.tasks import cancel_and_wait
from kernel.topics import CAPTION_COMMITTED, CAPTIONS_EDITED, CaptionCommitted, CaptionsEdited

from .errors import CaptionError
from .forward import Forwarder
from .model import ROOM_PREFIX, Caption, NewCaption, Turn
from .ports import CaptionDestinations, Programs, Rooms
from .settings import CaptionSettings
from .store import CaptionStore

log = logging.getLogger("innotv.captions")

OPEN_STATES = ("lobby", "live")
OVER_STATES = ("ended", "replay")
ACK_TIMEOUT_S = 10.0
MAX_PENDING = 500  # lines waiting for the next tick, per program
# Lines per program and language, whoever sends them: a token bucket (burst, per second). A fast
# stenographer commits about one line a second; this is for scripts and stuck keys.
LINE_RATE = (20.0, 5.0)
KEY_PREFIX = "ck_"


@dataclass
class _Pending:
    item: NewCaption
    future: asyncio.Future[Caption]


@dataclass
class _Program:
    pending: list[_Pending] = field(default_factory=list)
    keys: dict[str, asyncio.Future[Caption]] = field(default_factory=dict)
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # lang -> (tokens, at)


def may_caption(user: User | None) -> bool:
    """Captioners, hosts and producers send captions."""
    return user is not None and user.can("captioner")


class CaptionService:
    def __init__(self, settings: CaptionSettings, store: CaptionStore, bus: Bus, rooms: Rooms,
                 programs: Programs, destinations: CaptionDestinations, clock: Clock,
                 metrics: Metrics) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.rooms = rooms
        self.programs = programs
        self.clock = clock
        self.metrics = metrics
        self.forwarder = Forwarder(destinations, settings.forward_timeout_s, metrics)
        self._programs: dict[str, _Program] = {}
        self._task: asyncio.Task[None] | None = None

    # ---- lifecycle ----
    async def start(self) -> None:
        await self.store.setup()
        await self.forwarder.start()
        self._task = asyncio.create_task(self._tick_loop(), name="captions-tick")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        for program_id in list(self._programs):
            with contextlib.suppress(Exception):
                await self._flush(program_id)  # what is pending is written before we go
        await self.forwarder.stop()

    def now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    # ---- checks ----
    async def require_open(self, program_id: str) -> None:
        program = await self.programs.require(program_id)
        if program.state not in OPEN_STATES:
            raise CaptionError("not_on_air", "Captions are sent while the program is in the lobby or live.",
                               status=409)

    def _rate(self, program_id: str, lang: str) -> None:
        state = self._programs.setdefault(program_id, _Program())
        burst, per_second = LINE_RATE
        now = time.monotonic()
        tokens, at = state.buckets.get(lang, (burst, now))
        tokens = min(burst, tokens + (now - at) * per_second)
        if tokens < 1.0:
            state.buckets[lang] = (tokens, now)
            raise CaptionError("rate_limited", "Too many caption lines; slow down.", status=429)
        state.buckets[lang] = (tokens - 1.0, now)

    # ---- sending ----
    async def commit(self, program_id: str, item: NewCaption) -> Caption:
        """Queue a line for the next tick and return it once stored."""
        self._rate(program_id, item.lang)
        state = self._programs.setdefault(program_id, _Program())
        if item.client_key is not None and item.client_key in state.keys:
            future = state.keys[item.client_key]
        else:
            if len(state.pending) >= MAX_PENDING:
                raise CaptionError("busy", "Too many lines waiting; try again in a moment.", status=503)
            future = asyncio.get_running_loop().create_future()
            state.pending.append(_Pending(item, future))
            if item.client_key is not None:
                state.keys[item.client_key] = future
        try:
            return await asyncio.wait_for(asyncio.shield(future), ACK_TIMEOUT_S)
        except TimeoutError:
            raise CaptionError("store_unavailable", "Not stored yet; send it again with the same client_id.",
                               status=503) from None

    async def _tick_loop(self) -> None:
        interval = self.settings.tick_ms / 1000
        while True:
            await asyncio.sleep(interval)
            busy = [p for p, s in self._programs.items() if s.pending]
            if busy:
                try:
                    await asyncio.gather(*(self._flush(p) for p in busy))
                except Exception:
                    log.exception("captions tick failed")

    async def _flush(self, program_id: str) -> None:
        state = self._programs.get(program_id)
        if state is None or not state.pending:
            return
        batch, state.pending = state.pending, []
        for pending in batch:
            if pending.item.client_key is not None:
                state.keys.pop(pending.item.client_key, None)
        try:
            stored = await self.store.append(program_id, [p.item for p in batch])
        except Exception:
            log.exception("storing captions failed", extra={"program": program_id})
            error = CaptionError("store_unavailable", "The line could not be stored; send it again.",
                                 status=503)
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(error)
                    pending.future.exception()
            return
        fresh: list[Caption] = []
        for pending, (line, is_new) in zip(batch, stored, strict=True):
            if not pending.future.done():
                pending.future.set_result(line)
            if is_new:
                fresh.append(line)
        if fresh:
            await self._announce(program_id, fresh)
            main = self.settings.languages[0]  # a caption URL takes one language: the main one
            self.forwarder.offer(program_id, [line for line in fresh if line.lang == main])

    async def _announce(self, program_id: str, lines: list[Caption]) -> None:
        """To the room (one event), and to the media worker of the program (the bus)."""
        self.metrics.inc("innotv_captions_lines_total", float(len(lines)))
        await self.rooms.emit(ROOM_PREFIX + program_id, "captions",
                              {"room": ROOM_PREFIX + program_id, "items": [c.public() for c in lines]})
        for line in lines:
            await self.bus.publish(CAPTION_COMMITTED, CaptionCommitted(
                program_id, line.id, line.rev, line.lang, line.at, line.text))

    # ---- corrections ----
    async def fix_last(self, program_id: str, lang: str, line_id: int, text: str, user: User) -> Caption:
        """The author corrects the newest line of a language while the show runs."""
        last = await self.store.last(program_id, lang)
        if last is None or last.id != line_id:
            raise CaptionError("not_last_line", "Only the newest line of a language can be corrected here.",
                               status=409)
        if last.by != user.username and not user.can("producer"):
            raise CaptionError("forbidden", "Only its captioner corrects a line during the show.", status=403)
        return await self._correct(program_id, line_id, text)

    async def correct(self, program_id: str, line_id: int, text: str) -> Caption:
        """A producer's correction of any line (during or after the show)."""
        program = await self.programs.require(program_id)
        line = await self._correct(program_id, line_id, text)
        if program.state in OVER_STATES:
            await self.bus.publish(CAPTIONS_EDITED, CaptionsEdited(program_id))
        return line

    async def _correct(self, program_id: str, line_id: int, text: str) -> Caption:
        line = await self.store.correct(program_id, line_id, text)
        if line is None:
            raise CaptionError("caption_not_found", "No such caption line.", status=404)
        await self._announce(program_id, [line])
        return line

    # ---- turns ----
    async def check_turn(self, program_id: str, lang: str, user: User) -> None:
        """Whether `user` may send a line of `lang` now; taking a free turn on the way."""
        turns = {t.lang: t for t in await self.store.turns(program_id)}
        turn = turns.get(lang)
        if turn is None or turn.holder is None:
            await self.set_turn(program_id, lang, user.username)
        elif turn.holder != user.username:
            raise CaptionError("not_your_turn", f"{turn.holder} is captioning {lang} now; take the turn "
                               "first.", status=409, holder=turn.holder)

    async def set_turn(self, program_id: str, lang: str, holder: str | None) -> Turn:
        turn = Turn(lang, holder, self.now_ms())
        await self.store.set_turn(program_id, turn)
        room = ROOM_PREFIX + program_id
        await self.rooms.emit(room, "caption:turn", {"room": room, **turn.public()}, staff_only=True)
        return turn

    # ---- reading ----
    async def transcript(self, program_id: str, since: int = 0) -> dict[str, Any]:
        await self.programs.require(program_id)
        lines = await self.store.lines(program_id, since)
        turns = await self.store.turns(program_id)
        return {"program_id": program_id, "languages": list(self.settings.languages),
                "items": [c.public() for c in lines], "turns": [t.public() for t in turns],
                "console": {"pause_ms": self.settings.pause_ms, "line_chars": self.settings.line_chars,
                            "delay_ms": self.settings.delay_ms, "hold_ms": self.settings.hold_ms}}

    async def recent(self, program_id: str, since_ms: int) -> list[Caption]:
        """Lines spoken since `since_ms` (for a media worker that starts mid-show)."""
        return [c for c in await self.store.lines(program_id) if c.at >= since_ms]

    async def all_lines(self, program_id: str) -> list[Caption]:
        return await self.store.lines(program_id)

    # ---- caption keys ----
    async def issue_key(self, program_id: str) -> str:
        await self.programs.require(program_id)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        await self.store.set_key_hash(program_id, sha256_hex(key))
        return key

    async def verify_key(self, program_id: str, key: str | None) -> bool:
        if not key or len(key) > 200:
            return False
        stored = await self.store.key_hash(program_id)
        return stored is not None and hmac.compare_digest(stored, sha256_hex(key))
