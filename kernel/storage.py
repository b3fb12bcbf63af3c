"""Which store the server runs on: the embedded SQLite database or a shared Redis.

A slice builds its store from the `Backend` it is handed: `backend.db` on the embedded default,
`backend.redis` (with `backend.key(...)` for namespaced keys) when `INNOTV_REDIS_URL` is set.

Redis is a network peer that can vanish or hang, so: every command has a deadline
(`redis_timeout_s`; a timed-out command is not retried, it may have run), a refused or reset
connection is retried once; at startup `open` waits for Redis up to `redis_wait_s` (one log line
while it waits) and then raises `StoreUnavailable`; `ping` answers within `READY_TIMEOUT_S`
whatever Redis does. `is_store_outage` tells the error middleware and the chat which exceptions
mean "the store does not answer" (503 `store_unavailable`, not a 500).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .outage import StoreUnavailable, is_store_outage
from .settings import CoreSettings
from .sqlite import Database
from .tasks import cancel_and_wait

__all__ = ["Backend", "StoreUnavailable", "connect_redis", "is_store_outage", "redis_address"]

log = logging.getLogger("innotv.storage")

READY_TIMEOUT_S = 0.8  # /readyz answers within this, whatever the store does
_WAIT_RETRY_S = 0.5

# Connections to Redis per process, and how long a command waits for a free one. At 14:00 far
# more requests than connections arrive at once: they queue for a connection (a few ms each)
# instead of failing with "Too many connections" as redis-py's default pool does past its size.
REDIS_CONNECTIONS = 64
REDIS_POOL_WAIT_S = 5.0


def connect_redis(url: str, timeout_s: float = 1.5) -> aioredis.Redis:
    """A Redis client with explicit timeouts and retries (redis-py's defaults moved across 5.x-8.x):
    each command (and each connection attempt) has `timeout_s`; only a refused or reset
    connection is retried, once."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        decode_responses=True,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), retries=1,
                    supported_errors=(RedisConnectionError,)),
        health_check_interval=15,
        max_connections=REDIS_CONNECTIONS,
        timeout=REDIS_POOL_WAIT_S,
    )
    client: aioredis.Redis = aioredis.Redis.from_pool(pool)  # closing the client closes the pool
    return client


def redis_address(url: str) -> str:
    """Where a Redis URL points, without its credentials (for log lines and errors)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"


@dataclass
class Backend:
    kind: Literal["sqlite", "redis"]
    db: Database | None
    redis: aioredis.Redis | None
    prefix: str
    where: str = ""  # the Redis address, for messages
    wait_s: float = 0.0  # how long `open` waits for Redis
    _stragglers: set[asyncio.Future[None]] = field(default_factory=set)  # stopping late pings

    @classmethod
    def from_settings(cls, settings: CoreSettings) -> Backend:
        if settings.redis_url:
            return cls("redis", None, connect_redis(settings.redis_url, settings.redis_timeout_s),
                       settings.redis_prefix, redis_address(settings.redis_url), settings.redis_wait_s)
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
            await self._wait_for_redis(self.redis)

    async def _wait_for_redis(self, redis: aioredis.Redis) -> None:
        """Until Redis answers a PING; StoreUnavailable once `wait_s` has passed without one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        waiting = False
        while True:
            try:
                await redis.ping()
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                reason = str(exc) or type(exc).__name__
            else:
                if waiting:
                    log.warning("Redis at %s answers now", self.where)
                return
            left = deadline - loop.time()
            if left <= 0:
                raise StoreUnavailable(f"Redis at {self.where} did not answer within {self.wait_s:g} s "
                                       f"({reason}); check INNOTV_REDIS_URL and that Redis runs")
            if not waiting:
                waiting = True
                log.warning("waiting for Redis at %s (%s); giving up after %g s",
                            self.where, reason, self.wait_s)
            await asyncio.sleep(min(_WAIT_RETRY_S, left))

    async def ping(self, timeout_s: float = READY_TIMEOUT_S) -> bool:
        """Whether the store answers, known within `timeout_s` (a late ping is stopped in the
        background: redis-py can swallow a cancellation, so it is cancelled until it ends)."""
        task: asyncio.Task[object] = asyncio.ensure_future(self._ping())
        done, _ = await asyncio.wait({task}, timeout=timeout_s)
        if task in done:
            return bool(task.result())
        stopper = asyncio.ensure_future(cancel_and_wait(task))
        self._stragglers.add(stopper)
        stopper.add_done_callback(self._stragglers.discard)
        return False

    async def _ping(self) -> bool:
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
