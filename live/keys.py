"""Stream keys: one secret per program that a publisher presents to go live.

A producer issues or rotates a key; it is shown once and stored only as a SHA-256 hash (the key
is 256 random bits, so a plain hash is as strong as a slow one). Verification compares hashes in
constant time. An RTMP publisher names no program, only its key (`rtmp://host/live/<key>`):
`program_for` finds the program by the key's hash (an index on SQLite; on Redis a second hash
from key hash to program, written with the key in one transaction).
"""

from __future__ import annotations

import hmac
import secrets
import sqlite3
from typing import Protocol

import redis.asyncio as aioredis

from kernel.signing import sha256_hex
from kernel.sqlite import Database
from kernel.storage import Backend

KEY_PREFIX = "sk_"


class StreamKeyStore(Protocol):
    async def setup(self) -> None: ...

    async def set_hash(self, program_id: str, key_hash: str) -> None: ...

    async def get_hash(self, program_id: str) -> str | None: ...

    async def program_for_hash(self, key_hash: str) -> str | None: ...


class StreamKeys:
    def __init__(self, store: StreamKeyStore) -> None:
        self.store = store

    async def issue(self, program_id: str) -> str:
        """A new key for the program (any older one stops working); returned only here."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        await self.store.set_hash(program_id, sha256_hex(key))
        return key

    async def verify(self, program_id: str, key: str | None) -> bool:
        if not key or len(key) > 200:
            return False
        stored = await self.store.get_hash(program_id)
        return stored is not None and hmac.compare_digest(stored, sha256_hex(key))

    async def program_for(self, key: str | None) -> str | None:
        """The program whose current key this is (None: no program's)."""
        if not key or len(key) > 200:
            return None
        key_hash = sha256_hex(key)
        program_id = await self.store.program_for_hash(key_hash)
        if program_id is None:
            return None
        stored = await self.store.get_hash(program_id)  # the current key, not a rotated one
        return program_id if stored is not None and hmac.compare_digest(stored, key_hash) else None


def make_stream_key_store(backend: Backend) -> StreamKeyStore:
    if backend.kind == "redis":
        return RedisStreamKeyStore(backend.require_redis(), backend)
    return SqliteStreamKeyStore(backend.require_db())


class SqliteStreamKeyStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def setup(self) -> None:
        await self._db.migrate(
            "stream_keys",
            ["CREATE TABLE stream_keys (program_id TEXT PRIMARY KEY, key_hash TEXT NOT NULL)",
             "CREATE INDEX stream_keys_by_hash ON stream_keys(key_hash)"],
        )

    async def set_hash(self, program_id: str, key_hash: str) -> None:
        def _upsert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO stream_keys(program_id, key_hash) VALUES (?, ?) "
                "ON CONFLICT(program_id) DO UPDATE SET key_hash = excluded.key_hash",
                (program_id, key_hash),
            )

        await self._db.run(_upsert)

    async def get_hash(self, program_id: str) -> str | None:
        row = await self._db.run(
            lambda c: c.execute(
                "SELECT key_hash FROM stream_keys WHERE program_id = ?", (program_id,)
            ).fetchone()
        )
        return str(row[0]) if row else None

    async def program_for_hash(self, key_hash: str) -> str | None:
        row = await self._db.run(
            lambda c: c.execute(
                "SELECT program_id FROM stream_keys WHERE key_hash = ?", (key_hash,)
            ).fetchone()
        )
        return str(row[0]) if row else None


class RedisStreamKeyStore:
    def __init__(self, redis: aioredis.Redis, backend: Backend) -> None:
        self._r = redis
        self._key = backend.key("stream_keys")
        self._by_hash = backend.key("stream_key_programs")

    async def setup(self) -> None:
        return None

    async def set_hash(self, program_id: str, key_hash: str) -> None:
        old = await self._r.hget(self._key, program_id)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hset(self._key, program_id, key_hash)
            if old is not None:
                pipe.hdel(self._by_hash, str(old))
            pipe.hset(self._by_hash, key_hash, program_id)
            await pipe.execute()

    async def get_hash(self, program_id: str) -> str | None:
        value = await self._r.hget(self._key, program_id)
        return None if value is None else str(value)

    async def program_for_hash(self, key_hash: str) -> str | None:
        value = await self._r.hget(self._by_hash, key_hash)
        if value is not None:
            return str(value)
        # a key issued before the index existed: look through the programs' keys (a few dozen)
        for program_id, stored in (await self._r.hgetall(self._key)).items():
            if hmac.compare_digest(str(stored), key_hash):
                return str(program_id)
        return None
