"""Which store the server runs on: the embedded SQLite database or a shared Redis.

A slice builds its store from the `Backend` it is handed: `backend.db` on the embedded default,
`backend.redis` (with `backend.key(...)` for namespaced keys) when `INNOTV_REDIS_URL` is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .settings import CoreSettings
from .sqlite import Database

# Connections to Redis per process, and how long a command waits for a free one. At 14:00 far
# more requests than connections arrive at once: they queue for a connection (a few ms each)
# instead of failing with "Too many connections" as redis-py's default pool does past its size.
REDIS_CONNECTIONS = 64
REDIS_POOL_WAIT_S = 5.0


def connect_redis(url: str) -> aioredis.Redis:
    """A Redis client with explicit timeouts and retries (redis-py's defaults moved across 5.x-8.x)."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        decode_responses=True,
        socket_timeout=5.0,
        socket_connect_timeout=3.0,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=15,
        max_connections=REDIS_CONNECTIONS,
        timeout=REDIS_POOL_WAIT_S,
    )
    client: aioredis.Redis = aioredis.Redis.from_pool(pool)  # closing the client closes the pool
    return client


@dataclass
class Backend:
    kind: Literal["sqlite", "redis"]
    db: Database | None
    redis: aioredis.Redis | None
    prefix: str

    @classmethod
    def from_settings(cls, settings: CoreSettings) -> Backend:
        if settings.redis_url:
            return cls("redis", None, connect_redis(settings.redis_url), settings.redis_prefix)
        return cls("sqlite", Database(Path(settings.data_dir) / "innotv.db"), None, settings.redis_prefix)

    def key(self, *parts: str) -> str:
        """A Redis key under this deployment's prefix, e.g. `innotv:program:42`."""
        return self.prefix + ":".join(parts)

    def require_db(self) -> Database:
        if self.db is None:
            raise RuntimeError("not on the SQLite backend")
        return self.db

    def require_redis(self) -> aioredis.Redis:
        if self.redis is None:
            raise RuntimeError("not on the Redis backend")
        return self.redis

    async def open(self) -> None:
        if self.db is not None:
            await self.db.open()
        if self.redis is not None:
            await self.redis.ping()

    async def ping(self) -> bool:
        try:
            if self.db is not None:
                await self.db.run(lambda c: c.execute("SELECT 1").fetchone())
            if self.redis is not None:
                await self.redis.ping()
        except Exception:
            return False
        return True

    async def close(self) -> None:
        if self.db is not None:
            await self.db.close()
        if self.redis is not None:
            await self.redis.aclose()
