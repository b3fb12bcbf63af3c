"""Stream health for hosts and producers (`GET /api/programs/{id}/health`): what feeds the
program now (a publisher, the demo source or nothing), the publisher's connection, what it sends
(picture size, frame rate and bitrate over the last 5 s, measured by the media worker), and
what was lost (frames dropped before the worker, packets that failed to decode, frames that
failed to encode, worker restarts).

A program's media lives in the process that took its publisher. With Redis, each process writes
the health of its broadcasts every second to `<prefix>live:health:<id>` (kept 5 s), so any
process can answer; on SQLite there is one process and nothing is written.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from kernel.storage import Backend

from .service import Broadcast, LiveService

log = logging.getLogger("innotv.live")

SHARE_EVERY_S = 1.0
SHARED_TTL_S = 5


def idle_health(program_id: str) -> dict[str, Any]:
    """Nothing feeds the program (no publisher, no demo source, no worker)."""
    return {"program_id": program_id, "source": "none", "mode": "idle", "session_kind": None,
            "publisher": None, "input": None, "dropped": 0, "decode_errors": 0, "errors": 0,
            "restarts": 0, "previews": 0}


def broadcast_health(bc: Broadcast, now: float | None = None) -> dict[str, Any]:
    """The health of one broadcast of this process, from its publisher and the worker's report."""
    now = time.time() if now is None else now
    worker = bc.worker
    status: dict[str, Any] = dict(worker.status) if worker is not None and not worker.done.done() else {}
    health = idle_health(bc.program_id)
    pub = bc.publisher
    if pub is not None:
        health["source"] = "publisher"
        health["publisher"] = {
            "connection": pub.pc.connectionState,
            "ice": pub.pc.iceConnectionState,
            "video_codec": pub.video_codec,
            "since": round(pub.started_at, 3),
            "seconds_since_media": round(max(0.0, time.monotonic() - pub.last_frame), 1),
        }
        health["previews"] = len(pub.previews)
    elif bc.generator is not None:
        health["source"] = "demo"
    if status:
        health["mode"] = status.get("mode", "idle")
        health["session_kind"] = status.get("session_kind") or None
        health["input"] = status.get("input")
        health["decode_errors"] = int(status.get("decode_errors", 0))
        health["errors"] = int(status.get("errors", 0))
    dropped_here = worker.dropped if worker is not None else 0
    health["dropped"] = dropped_here + int(status.get("dropped", 0))
    health["restarts"] = bc.restarts
    health["updated_at"] = round(now, 3)
    return health


class HealthBoard:
    """Answers a program's health from this process, or (Redis) from the process that has it."""

    def __init__(self, live: LiveService, backend: Backend) -> None:
        self.live = live
        self.backend = backend

    async def get(self, program_id: str) -> dict[str, Any]:
        bc = self.live.broadcasts.get(program_id)
        if bc is not None and (bc.publisher is not None or bc.generator is not None
                               or bc.worker is not None):
            return broadcast_health(bc)
        redis = self.backend.redis
        if redis is not None:
            raw = await redis.get(self._key(program_id))
            if raw:
                try:
                    shared = json.loads(raw)
                except ValueError:
                    shared = None
                if isinstance(shared, dict):
                    return shared
        return idle_health(program_id)

    async def share(self) -> None:
        """Every second, this process's broadcasts' health for the other processes (Redis)."""
        redis = self.backend.redis
        if redis is None:
            return
        while True:
            await asyncio.sleep(SHARE_EVERY_S)
            casts = [bc for bc in list(self.live.broadcasts.values())
                     if bc.publisher is not None or bc.generator is not None]
            if not casts:
                continue
            try:
                async with redis.pipeline(transaction=False) as pipe:
                    for bc in casts:
                        pipe.set(self._key(bc.program_id), json.dumps(broadcast_health(bc)),
                                 ex=SHARED_TTL_S)
                    await pipe.execute()
            except Exception:
                log.warning("sharing the stream health failed", exc_info=True)

    def _key(self, program_id: str) -> str:
        return self.backend.key("live", "health", program_id)
