"""Who runs the scheduler: always this process on SQLite, one lease holder on Redis.

The Redis lease is `SET key token NX PX lease_ms`; the holder renews it (a Lua check of the
token, then PEXPIRE) and gives it up on shutdown (check, then DEL). A process that dies simply
stops renewing: the key expires and another process's next attempt takes it. Lease timing is
real time (asyncio), never the program clock.
"""

from __future__ import annotations

import os
import secrets
import socket
from typing import Protocol

import redis.asyncio as aioredis

_RENEW_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Leadership(Protocol):
    # True when holding it needs renewing (a lease); False when this process always leads.
    renewable: bool

    async def acquire(self) -> bool: ...

    async def renew(self) -> bool: ...

    async def release(self) -> None: ...

    async def time_left(self) -> float | None:
        """Seconds until the current holder's lease runs out (None: no lease to wait for)."""


class SoleLeader:
    """The embedded store serves one process: it always leads."""

    renewable = False

    async def acquire(self) -> bool:
        return True

    async def renew(self) -> bool:
        return True

    async def release(self) -> None:
        return None

    async def time_left(self) -> float | None:
        return None


class RedisLease:
    renewable = True

    def __init__(self, redis: aioredis.Redis, key: str, lease_ms: int) -> None:
        self._r = redis
        self.key = key
        self.lease_ms = lease_ms
        # Names the holder for operators (and tests): host, pid, then a random part.
        self.token = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(8)}"
        self._renew = redis.register_script(_RENEW_LUA)
        self._release = redis.register_script(_RELEASE_LUA)

    async def acquire(self) -> bool:
        return bool(await self._r.set(self.key, self.token, nx=True, px=self.lease_ms))

    async def renew(self) -> bool:
        return bool(await self._renew(keys=[self.key], args=[self.token, self.lease_ms]))

    async def release(self) -> None:
        await self._release(keys=[self.key], args=[self.token])

    async def time_left(self) -> float | None:
        ttl_ms = int(await self._r.pttl(self.key))
        return max(0.0, ttl_ms / 1000) if ttl_ms >= 0 else 0.0
