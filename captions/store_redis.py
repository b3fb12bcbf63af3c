"""Captions on Redis (see store.py for the contract).

Per program: `captions:<id>:seq` (the last number given), `captions:<id>:lines` (number -> the
line as JSON), `captions:<id>:keys` (client_key -> number, for retries), `captions:<id>:last`
(language -> its newest number), `captions:<id>:turns` (language -> the turn as JSON); and one
hash `caption_keys` (program -> key hash). A tick's lines go in with one script call.
"""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis

from kernel.storage import Backend

from .model import Caption, NewCaption, Turn

# KEYS: seq, lines, keys, last. ARGV: one JSON array of [lang, at, text, by, client_key|""].
# Returns [[json, fresh], ...] in order.
_APPEND = """
local out = {}
for _, item in ipairs(cjson.decode(ARGV[1])) do
  local existing = false
  if item[5] ~= '' then
    local id = redis.call('HGET', KEYS[3], item[5])
    if id then
      table.insert(out, {redis.call('HGET', KEYS[2], id), 0})
      existing = true
    end
  end
  if not existing then
    local id = redis.call('INCR', KEYS[1])
    local line = cjson.encode({id = id, lang = item[1], at = item[2], text = item[3], by = item[4], rev = 0})
    redis.call('HSET', KEYS[2], id, line)
    redis.call('HSET', KEYS[4], item[1], id)
    if item[5] ~= '' then redis.call('HSET', KEYS[3], item[5], id) end
    table.insert(out, {line, 1})
  end
end
return out
"""

# KEYS: lines. ARGV: id, text. Returns the corrected line's JSON, or false.
_CORRECT = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
local line = cjson.decode(raw)
line.text = ARGV[2]
line.rev = line.rev + 1
raw = cjson.encode(line)
redis.call('HSET', KEYS[1], ARGV[1], raw)
return raw
"""


def _line(raw: Any) -> Caption:
    data = json.loads(raw)
    return Caption(int(data["id"]), str(data["lang"]), int(data["at"]), str(data["text"]), str(data["by"]),
                   int(data["rev"]))


class RedisCaptionStore:
    def __init__(self, redis: aioredis.Redis, backend: Backend) -> None:
        self._r = redis
        self._backend = backend
        self._append = redis.register_script(_APPEND)
        self._correct = redis.register_script(_CORRECT)

    def _keys(self, program_id: str, *names: str) -> list[str]:
        return [self._backend.key("captions", program_id, name) for name in names]

    async def setup(self) -> None:
        return None

    async def append(self, program_id: str, items: list[NewCaption]) -> list[tuple[Caption, bool]]:
        args = json.dumps([[i.lang, i.at, i.text, i.by, i.client_key or ""] for i in items],
                          ensure_ascii=False)
        result = await self._append(keys=self._keys(program_id, "seq", "lines", "keys", "last"), args=[args])
        return [(_line(raw), bool(int(fresh))) for raw, fresh in result]

    async def lines(self, program_id: str, since: int = 0, limit: int = 20_000) -> list[Caption]:
        seq_key, lines_key = self._keys(program_id, "seq", "lines")
        top = int(await self._r.get(seq_key) or 0)
        ids = list(range(since + 1, min(top, since + limit) + 1))
        if not ids:
            return []
        raws = await self._r.hmget(lines_key, ids)  # type: ignore[arg-type]
        return [_line(raw) for raw in raws if raw is not None]

    async def get(self, program_id: str, line_id: int) -> Caption | None:
        raw = await self._r.hget(self._keys(program_id, "lines")[0], str(line_id))  # type: ignore[misc]
        return None if raw is None else _line(raw)

    async def last(self, program_id: str, lang: str) -> Caption | None:
        last_key, = self._keys(program_id, "last")
        line_id = await self._r.hget(last_key, lang)  # type: ignore[misc]
        return None if line_id is None else await self.get(program_id, int(line_id))

    async def correct(self, program_id: str, line_id: int, text: str) -> Caption | None:
        raw = await self._correct(keys=self._keys(program_id, "lines"), args=[str(line_id), text])
        return None if not raw else _line(raw)

    async def set_turn(self, program_id: str, turn: Turn) -> None:
        key, = self._keys(program_id, "turns")
        await self._r.hset(key, turn.lang, json.dumps(turn.public()))  # type: ignore[misc]

    async def turns(self, program_id: str) -> list[Turn]:
        key, = self._keys(program_id, "turns")
        raw = await self._r.hgetall(key)  # type: ignore[misc]
        out = []
        for value in raw.values():
            data = json.loads(value)
            out.append(Turn(str(data["lang"]), data["holder"], int(data["since"])))
        return sorted(out, key=lambda t: t.lang)

    async def set_key_hash(self, program_id: str, key_hash: str) -> None:
        await self._r.hset(self._backend.key("caption_keys"), program_id, key_hash)  # type: ignore[misc]

    async def key_hash(self, program_id: str) -> str | None:
        value = await self._r.hget(self._backend.key("caption_keys"), program_id)  # type: ignore[misc]
        return None if value is None else str(value)
