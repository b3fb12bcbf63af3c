"""Simulcast destinations: RTMP URLs per program (e.g. the ministry's YouTube channel), each with
an optional caption URL (YouTube's live caption ingestion URL) to which the program's captions are
forwarded (the captions slice reads them through `caption_urls`).

Stored on either backend (one contract). A destination URL carries the platform's secret stream
key, so it is never shown back in full (`redact`). Every process keeps a snapshot of each
program's URLs for its media workers, refreshed from the store when a broadcast starts and on the
bus topic `"simulcast"` whenever a producer changes them.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import redis.asyncio as aioredis

from kernel.bus import Bus
from kernel.errors import ApiError
from kernel.sqlite import Database
from kernel.storage import Backend

from .ports import Programs
from .rtmp import redact
from .topics import SIMULCAST_CHANGED, SimulcastChanged

MAX_DESTINATIONS = 5
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


@dataclass(frozen=True)
class Destination:
    id: str
    url: str
    created_at: float
    caption_url: str | None = None

    def public(self, state: str = "idle") -> dict[str, Any]:
        return {"id": self.id, "url": redact(self.url), "state": state,
                "caption_url": redact_query(self.caption_url) if self.caption_url else None}


def redact_query(url: str) -> str:
    """A caption URL without its query (which carries the platform's caption key)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?…" if parts.query else "")


def check_caption_url(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 1000 or _CONTROL.search(value):
        raise ApiError(400, "invalid_caption_url",
                       "caption_url is too long or contains spaces or control characters.")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(400, "invalid_caption_url", "caption_url must be http:// or https:// with a host.")
    return value


def check_url(value: object) -> str:
    if not isinstance(value, str):
        raise ApiError(400, "invalid_url", "url must be a string like rtmp://host/app/key.")
    if len(value) > 1000 or _CONTROL.search(value):
        raise ApiError(400, "invalid_url", "url is too long or contains spaces or control characters.")
    parts = urlsplit(value)
    if parts.scheme not in ("rtmp", "rtmps") or not parts.hostname or len(parts.path) < 2:
        raise ApiError(400, "invalid_url", "url must be rtmp:// or rtmps:// with a host and a path.")
    return value


class SimulcastStore(Protocol):
    async def setup(self) -> None: ...

    async def list(self, program_id: str) -> list[Destination]: ...

    async def add(self, program_id: str, dest: Destination) -> None: ...

    async def delete(self, program_id: str, dest_id: str) -> bool: ...


class SqliteSimulcastStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def setup(self) -> None:
        await self._db.migrate("simulcast", [
            "CREATE TABLE simulcast (program_id TEXT NOT NULL, id TEXT NOT NULL, url TEXT NOT NULL, "
            "created_at REAL NOT NULL, PRIMARY KEY (program_id, id))",
            "ALTER TABLE simulcast ADD COLUMN caption_url TEXT",
        ])

    async def list(self, program_id: str) -> list[Destination]:
        rows = await self._db.run(lambda c: c.execute(
            "SELECT id, url, created_at, caption_url FROM simulcast WHERE program_id = ? "
            "ORDER BY created_at, id", (program_id,)).fetchall())
        return [Destination(str(r[0]), str(r[1]), float(r[2]), None if r[3] is None else str(r[3]))
                for r in rows]

    async def add(self, program_id: str, dest: Destination) -> None:
        def _add(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO simulcast(program_id, id, url, created_at, caption_url) "
                         "VALUES (?, ?, ?, ?, ?)",
                         (program_id, dest.id, dest.url, dest.created_at, dest.caption_url))

        await self._db.run(_add)

    async def delete(self, program_id: str, dest_id: str) -> bool:
        def _delete(conn: sqlite3.Connection) -> bool:
            cur = conn.execute("DELETE FROM simulcast WHERE program_id = ? AND id = ?", (program_id, dest_id))
            return cur.rowcount > 0

        return bool(await self._db.run(_delete))


class RedisSimulcastStore:
    def __init__(self, redis: aioredis.Redis, backend: Backend) -> None:
        self._r = redis
        self._backend = backend

    def _key(self, program_id: str) -> str:
        return self._backend.key("simulcast", program_id)

    async def setup(self) -> None:
        return None

    async def list(self, program_id: str) -> list[Destination]:
        raw = await self._r.hgetall(self._key(program_id))
        items = []
        for dest_id, value in raw.items():
            try:
                data = json.loads(value)
                caption_url = data.get("caption_url")
                items.append(Destination(str(dest_id), str(data["url"]), float(data["created_at"]),
                                         None if caption_url is None else str(caption_url)))
            except (ValueError, KeyError, TypeError):
                continue
        return sorted(items, key=lambda d: (d.created_at, d.id))

    async def add(self, program_id: str, dest: Destination) -> None:
        await self._r.hset(self._key(program_id), dest.id, json.dumps(
            {"url": dest.url, "created_at": dest.created_at, "caption_url": dest.caption_url}))

    async def delete(self, program_id: str, dest_id: str) -> bool:
        return bool(await self._r.hdel(self._key(program_id), dest_id))


def make_simulcast_store(backend: Backend) -> SimulcastStore:
    if backend.kind == "redis":
        return RedisSimulcastStore(backend.require_redis(), backend)
    return SqliteSimulcastStore(backend.require_db())


class Simulcast:
    def __init__(self, store: SimulcastStore, bus: Bus, programs: Programs) -> None:
        self.store = store
        self.bus = bus
        self.programs = programs
        self.urls: dict[str, tuple[str, ...]] = {}  # what each program's worker is told

    def urls_for(self, program_id: str) -> tuple[str, ...]:
        return self.urls.get(program_id, ())

    async def refresh(self, program_id: str) -> None:
        self.urls[program_id] = tuple(d.url for d in await self.store.list(program_id))

    async def list(self, program_id: str) -> list[Destination]:
        await self.programs.require(program_id)
        return await self.store.list(program_id)

    async def caption_urls(self, program_id: str) -> tuple[str, ...]:
        """The caption URLs of the program's destinations (the captions slice forwards to them)."""
        return tuple(d.caption_url for d in await self.store.list(program_id) if d.caption_url)

    async def add(self, program_id: str, url: object, caption_url: object = None) -> Destination:
        await self.programs.require(program_id)
        checked = check_url(url)
        captions_to = check_caption_url(caption_url)
        current = await self.store.list(program_id)
        if len(current) >= MAX_DESTINATIONS:
            raise ApiError(409, "too_many_destinations",
                           f"A program has at most {MAX_DESTINATIONS} destinations.")
        if any(d.url == checked for d in current):
            raise ApiError(409, "duplicate_destination", "This destination is already there.")
        dest = Destination(secrets.token_urlsafe(8), checked, time.time(), captions_to)
        await self.store.add(program_id, dest)
        await self.bus.publish(SIMULCAST_CHANGED, SimulcastChanged(program_id))
        return dest

    async def delete(self, program_id: str, dest_id: str) -> bool:
        await self.programs.require(program_id)
        removed = await self.store.delete(program_id, dest_id)
        if removed:
            await self.bus.publish(SIMULCAST_CHANGED, SimulcastChanged(program_id))
        return removed
