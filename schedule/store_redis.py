"""The program store on Redis: one hash per program and one sorted set of ids by start time.

Every write that must be atomic (create with its overlap check, update with its version
compare-and-set, an all-or-nothing import, a state compare-and-set) is one Lua script, so that
any number of processes can edit the lineup at once. The scripts build program keys from the
deployment prefix, which suits one Redis (not a Redis Cluster, where keys must be declared).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from kernel.storage import Backend

from .model import MAX_DURATION, Program, to_ms
from .store import Change, ImportMode, Overlap, ProgramExists, ProgramMissing, VersionMismatch

_MAX_MS = int(MAX_DURATION.total_seconds() * 1000)
_GROUP = 6  # id, starts_ms, ends_ms, content, state, version

# KEYS[1] = the sorted set; ARGV = prefix, max duration ms, mode, expected version, then groups.
_SAVE_LUA = """
local zset = KEYS[1]
local prefix = ARGV[1]
local maxdur = tonumber(ARGV[2])
local mode = ARGV[3]
local expected = ARGV[4]
local G = 6
local n = (#ARGV - 4) / G
local batch = {}
for i = 0, n - 1 do batch[ARGV[5 + i * G]] = true end
local todo = {}
for i = 0, n - 1 do
  local base = 5 + i * G
  local id = ARGV[base]
  local s = tonumber(ARGV[base + 1])
  local cur = redis.call('HMGET', prefix .. id, 'content', 'version')
  local exists = cur[1] ~= false
  if mode == 'create' and exists then return {'exists', id} end
  if mode == 'update' then
    if not exists then return {'missing', id} end
    if cur[2] ~= expected then return {'version', id, cur[2]} end
  end
  if not (mode == 'missing' and exists) then
    local near = redis.call('ZRANGEBYSCORE', zset, s - maxdur, '(' .. ARGV[base + 2])
    for _, other in ipairs(near) do
      if other ~= id and not (mode == 'replace' and batch[other]) then
        local oe = tonumber(redis.call('HGET', prefix .. other, 'ends_ms'))
        if oe ~= nil and oe > s then return {'overlap', id, other} end
      end
    end
    table.insert(todo, base)
  end
end
local out = {'ok'}
for _, base in ipairs(todo) do
  local id, s, e, content = ARGV[base], ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
  local key = prefix .. id
  local cur = redis.call('HMGET', key, 'content', 'version', 'starts_ms', 'ends_ms')
  if cur[1] == false then
    redis.call('HSET', key, 'id', id, 'content', content, 'starts_ms', s, 'ends_ms', e,
               'state', ARGV[base + 4], 'version', ARGV[base + 5])
    redis.call('ZADD', zset, s, id)
    table.insert(out, id)
    table.insert(out, 'created')
  elseif mode == 'update' or cur[1] ~= content or cur[3] ~= s or cur[4] ~= e then
    redis.call('HSET', key, 'content', content, 'starts_ms', s, 'ends_ms', e,
               'version', tostring(tonumber(cur[2]) + 1))
    redis.call('ZADD', zset, s, id)
    table.insert(out, id)
    table.insert(out, 'updated')
  end
end
return out
"""

# KEYS[1] = the program's hash; ARGV = new state, expected state ('' for any), '1' to bump the version.
_SET_STATE_LUA = """
local cur = redis.call('HGET', KEYS[1], 'state')
if cur == false or cur == ARGV[1] then return {} end
if ARGV[2] ~= '' and cur ~= ARGV[2] then return {} end
redis.call('HSET', KEYS[1], 'state', ARGV[1])
if ARGV[3] == '1' then redis.call('HINCRBY', KEYS[1], 'version', 1) end
return redis.call('HGETALL', KEYS[1])
"""


def _program(data: dict[Any, Any]) -> Program | None:
    if not data or "content" not in data:
        return None
    return Program.from_stored(
        str(data["id"]), str(data["content"]), int(data["starts_ms"]), int(data["ends_ms"]),
        str(data["state"]), int(data["version"]),
    )


class RedisProgramStore:
    def __init__(self, redis: aioredis.Redis, backend: Backend) -> None:
        self._r = redis
        self._zset = backend.key("programs")
        self._prefix = backend.key("program", "")
        self._save = redis.register_script(_SAVE_LUA)
        self._set_state = redis.register_script(_SET_STATE_LUA)

    async def setup(self) -> None:
        return None

    async def get(self, program_id: str) -> Program | None:
        return _program(await self._r.hgetall(self._prefix + program_id))

    async def in_range(self, start: datetime | None = None, end: datetime | None = None) -> list[Program]:
        lo: int | str = to_ms(start) - _MAX_MS if start is not None else "-inf"
        hi: int | str = f"({to_ms(end)}" if end is not None else "+inf"
        ids = [str(i) for i in await self._r.zrangebyscore(self._zset, lo, hi)]
        if not ids:
            return []
        async with self._r.pipeline(transaction=False) as pipe:
            for program_id in ids:
                pipe.hgetall(self._prefix + program_id)
            rows = await pipe.execute()
        programs = [p for p in (_program(row) for row in rows) if p is not None]
        if start is not None:
            programs = [p for p in programs if p.ends_at > start]
        return programs

    async def _run_save(self, programs: list[Program], mode: str, expected: int | None = None) -> list[Any]:
        args: list[str | int] = [self._prefix, _MAX_MS, mode, "" if expected is None else str(expected)]
        for p in programs:
            args += [p.id, str(to_ms(p.starts_at)), str(to_ms(p.ends_at)), p.content(), p.state,
                     str(p.version)]
        reply = [str(x) for x in await self._save(keys=[self._zset], args=args)]
        status = reply[0]
        if status == "exists":
            raise ProgramExists(reply[1])
        if status == "missing":
            raise ProgramMissing(reply[1])
        if status == "version":
            raise VersionMismatch(reply[1], int(reply[2]))
        if status == "overlap":
            raise Overlap(reply[1], reply[2])
        return reply[1:]

    async def create(self, program: Program) -> Program:
        await self._run_save([program], "create")
        return program

    async def update(self, program: Program, expected_version: int) -> Program:
        await self._run_save([program], "update", expected_version)
        stored = await self.get(program.id)
        if stored is None:  # deleted in between: report it as missing
            raise ProgramMissing(program.id)
        return stored

    async def delete(self, program_id: str) -> bool:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(self._prefix + program_id)
            pipe.zrem(self._zset, program_id)
            deleted, _ = await pipe.execute()
        return bool(deleted)

    async def set_state(
        self, program_id: str, new_state: str, expected_state: str | None = None,
        bump_version: bool = False,
    ) -> Program | None:
        reply = await self._set_state(
            keys=[self._prefix + program_id],
            args=[new_state, expected_state or "", "1" if bump_version else "0"],
        )
        if not reply:
            return None
        flat = [str(x) for x in reply]
        return _program(dict(zip(flat[0::2], flat[1::2], strict=True)))

    async def save_many(self, programs: list[Program], mode: ImportMode) -> list[Change]:
        if not programs:
            return []
        out = await self._run_save(programs, mode)
        return [Change(out[i], out[i + 1]) for i in range(0, len(out), 2)]
