"""Registered webhooks and delivery claims: one contract, a SQLite and a Redis backend.

A webhook is a URL and the secret its deliveries are signed with (kept as given: the server
needs it to sign; shown once, when it is made). `claim(key, ttl_s)` answers True to exactly one
caller per key while the key lives: the processes that all hear one program change claim it, and
only the winner delivers it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis

from kernel.sqlite import Database
from kernel.storage import Backend


@dataclass(frozen=True)
class Webhook:
    id: str
    url: str
    secret: str
    created_by: str
    created_at: float

    def public(self) -> dict[str, Any]:
        """What producers see (never the secret)."""
        return {"id": self.id, "url": self.url, "created_by": self.created_by,
                "created_at": round(self.created_at, 3)}

    def stored(self) -> str:
        return json.dumps({"url": self.url, "secret": self.secret, "created_by": self.created_by,
                           "created_at": self.created_at})

    @classmethod
    def from_stored(cls, hook_id: str, raw: str) -> Webhook:
        data = json.loads(raw)
        return cls(hook_id, str(data["url"]), str(data["secret"]), str(data["created_by"]),
                   float(data["created_at"]))


class WebhookStore(Protocol):
    async def setup(self) -> None: ...

    async def add(self, hook: Webhook, limit: int) -> bool:
        """Store `hook` unless `limit` webhooks exist already (False then); atomic."""

    async def list(self) -> list[Webhook]:
        """Every webhook, oldest first."""

    async def remove(self, hook_id: str) -> bool: ...

    async def claim(self, key: str, ttl_s: int) -> bool:
        """True for the first caller with `key` within `ttl_s` seconds, False for the others."""


class SqliteWebhookStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def setup(self) -> None:
        await self._db.migrate("webhooks", [
            """
            CREATE TABLE webhooks (id TEXT PRIMARY KEY, content TEXT NOT NULL, created_at REAL NOT NULL);
            CREATE TABLE webhook_claims (key TEXT PRIMARY KEY, expires_at REAL NOT NULL)
            """,
        ])

    async def add(self, hook: Webhook, limit: int) -> bool:
        def _add(conn: sqlite3.Connection) -> bool:
            (count,) = conn.execute("SELECT COUNT(*) FROM webhooks").fetchone()
            if count >= limit:
                return False
            conn.execute("INSERT INTO webhooks(id, content, created_at) VALUES (?, ?, ?)",
                         (hook.id, hook.stored(), hook.created_at))
            return True

        return bool(await self._db.transaction(_add))

    async def list(self) -> list[Webhook]:
        rows = await self._db.run(lambda c: c.execute(
            "SELECT id, content FROM webhooks ORDER BY created_at, id").fetchall())
        return [Webhook.from_stored(str(r[0]), str(r[1])) for r in rows]

    async def remove(self, hook_id: str) -> bool:
        def _remove(conn: sqlite3.Connection) -> bool:
            return conn.execute("DELETE FROM webhooks WHERE id = ?", (hook_id,)).rowcount > 0

        return bool(await self._db.run(_remove))

    async def claim(self, key: str, ttl_s: int) -> bool:
        def _claim(conn: sqlite3.Connection) -> bool:
            now = time.time()
            conn.execute("DELETE FROM webhook_claims WHERE expires_at <= ?", (now,))
            cur = conn.execute("INSERT OR IGNORE INTO webhook_claims(key, expires_at) VALUES (?, ?)",
                               (key, now + ttl_s))
            return cur.rowcount == 1

        return bool(await self._db.transaction(_claim))


# HLEN and HSET in one step: two producers adding at once cannot pass the limit together.
_ADD_WITHIN_LIMIT = """
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


class RedisWebhookStore:
    def __init__(self, redis: aioredis.Redis, backend: Backend) -> None:
        self._r = redis
        self._hooks = backend.key("webhooks")
        self._claims = backend.key("webhook", "claim")
        self._add_script = redis.register_script(_ADD_WITHIN_LIMIT)

    async def setup(self) -> None:
        return None

    async def add(self, hook: Webhook, limit: int) -> bool:
        return bool(await self._add_script(keys=[self._hooks], args=[hook.id, hook.stored(), limit]))

    async def list(self) -> list[Webhook]:
        raw = await self._r.hgetall(self._hooks)
        hooks = []
        for hook_id, value in raw.items():
            try:
                hooks.append(Webhook.from_stored(str(hook_id), str(value)))
            except (ValueError, KeyError, TypeError):
                continue
        return sorted(hooks, key=lambda h: (h.created_at, h.id))

    async def remove(self, hook_id: str) -> bool:
        return bool(await self._r.hdel(self._hooks, hook_id))

    async def claim(self, key: str, ttl_s: int) -> bool:
        return bool(await self._r.set(f"{self._claims}:{key}", "1", nx=True, ex=ttl_s))


def make_webhook_store(backend: Backend) -> WebhookStore:
    if backend.kind == "redis":
        return RedisWebhookStore(backend.require_redis(), backend)
    return SqliteWebhookStore(backend.require_db())
