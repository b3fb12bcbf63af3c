"""The chat stores on Redis, one class per capability; each room's history is a Stream of ticks.

One tick of a room is ONE stream entry (fields `m0..mN` = the messages as JSON, `d` = deleted
ids), written by a Lua script that also drops client retries already stored and counts the
tick's hearts and messages (the keys `RedisCounters` reads): one command, so one round trip, per
room per tick whatever the chat or tap rate. A message id is `<entry id>:<index>`,
so stream ids are the recovery offsets. Votes, upvotes and new questions (under the room's cap)
are one atomic script each (a viewer counts once, across processes). A program room's audience
is a hash (`peak`, `watch`), a set of its viewer ids and `v:<minute>` fields of the minutes hash,
written by one script per report; a hall's hearts per viewer and day are a hash that expires after
three days.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from kernel.storage import Backend

from .store import Audience, Message, NewMessage, Question, Recovery, StoredQuestion, TickResult

# KEYS: stream, dedupe (this hour), dedupe (last hour), deleted set, minutes hash, hearts total
# ARGV: maxlen, n, minute, hearts, then n pairs (client_key or "", message json), then deletions json
# Returns {entry id or '', the n message ids, hearts total, hearts this minute}.
_TICK = """
local n = tonumber(ARGV[2])
local dels = ARGV[5 + 2 * n]
local fields = {}
local res = {}
local k = 0
for i = 1, n do
  local ck = ARGV[3 + 2 * i]
  local prev = false
  if ck ~= '' then
    prev = redis.call('HGET', KEYS[2], ck)
    if not prev then prev = redis.call('HGET', KEYS[3], ck) end
  end
  if prev then
    res[i] = prev
  else
    res[i] = '#' .. k
    fields[#fields + 1] = 'm' .. k
    fields[#fields + 1] = ARGV[4 + 2 * i]
    k = k + 1
  end
end
if dels ~= '[]' then
  fields[#fields + 1] = 'd'
  fields[#fields + 1] = dels
  for _, id in ipairs(cjson.decode(dels)) do redis.call('SADD', KEYS[4], id) end
end
local eid = ''
if #fields > 0 then
  if tonumber(ARGV[1]) > 0 then
    eid = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
  else
    eid = redis.call('XADD', KEYS[1], '*', unpack(fields))
  end
  for i = 1, n do
    if string.sub(res[i], 1, 1) == '#' then
      res[i] = eid .. ':' .. string.sub(res[i], 2)
      local ck = ARGV[3 + 2 * i]
      if ck ~= '' then redis.call('HSET', KEYS[2], ck, res[i]) end
    end
  end
  redis.call('EXPIRE', KEYS[2], 7200)
  if k > 0 then redis.call('HINCRBY', KEYS[5], 'm:' .. ARGV[3], k) end
end
local total = redis.call('INCRBY', KEYS[6], ARGV[4])
local this_minute = redis.call('HINCRBY', KEYS[5], 'h:' .. ARGV[3], ARGV[4])
return {eid, res, total, this_minute}
"""

# KEYS: voters hash, counts hash; ARGV: viewer, choice
_VOTE = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
  return 1
end
return 0
"""

# KEYS: questions hash, votes zset; ARGV: question id, question json, most questions per room
_ADD_QUESTION = """
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
"""

# KEYS: questions hash, votes zset, upvoters set; ARGV: question id, viewer
_UPVOTE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
if redis.call('SADD', KEYS[3], ARGV[2]) == 1 then
  redis.call('ZINCRBY', KEYS[2], 1, ARGV[1])
  return 1
end
return 0
"""

# KEYS: audience hash, minutes hash, viewers set
# ARGV: viewers now, minute, watch seconds, then the viewer ids that joined
_AUDIENCE = """
local n = tonumber(ARGV[1])
if n > tonumber(redis.call('HGET', KEYS[1], 'peak') or '0') then
  redis.call('HSET', KEYS[1], 'peak', n)
end
if tonumber(ARGV[3]) > 0 then redis.call('HINCRBY', KEYS[1], 'watch', ARGV[3]) end
if n > 0 then
  local field = 'v:' .. ARGV[2]
  if n > tonumber(redis.call('HGET', KEYS[2], field) or '0') then
    redis.call('HSET', KEYS[2], field, n)
  end
end
for i = 4, #ARGV do redis.call('SADD', KEYS[3], ARGV[i]) end
return 1
"""

# KEYS: the hall's hearts of one day (viewer -> hearts); ARGV: viewer, count, per day, ttl
_ADMIT_HEARTS = """
local given = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local n = math.min(tonumber(ARGV[2]), tonumber(ARGV[3]) - given)
if n <= 0 then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], n)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return n
"""
HALL_HEARTS_TTL_S = 3 * 24 * 3600

VIEWERS_FRESH_MS = 15_000


def _order(message_id: str) -> tuple[int, int, int]:
    entry, _, index = message_id.partition(":")
    ms, _, seq = entry.partition("-")
    return int(ms), int(seq or 0), int(index or 0)


def _entry_messages(entry_id: str, fields: dict[str, str]) -> list[Message]:
    out = []
    for name, value in fields.items():
        if name.startswith("m"):
            try:
                item = json.loads(value)
            except ValueError:
                continue
            item["id"] = f"{entry_id}:{name[1:]}"
            out.append(item)
    out.sort(key=lambda m: int(m["id"].rpartition(":")[2]))
    return out


class _OnRedis:
    """A store's Redis client and its room keys under the deployment's prefix."""

    def __init__(self, backend: Backend) -> None:
        # redis-py's stubs type replies as bytes | str; this client decodes, so replies are str.
        self._r: Any = backend.require_redis()
        self._key = backend.key

    def _k(self, room: str, *parts: str) -> str:
        return self._key("chat", room, *parts)

    def _hearts_key(self, room: str) -> str:
        """The room's hearts total (INCRBY)."""
        return self._k(room, "hearts")

    def _minutes_key(self, room: str) -> str:
        """The room's per-minute counts: a hash of `m:<minute>` messages and `h:<minute>` hearts."""
        return self._k(room, "pm")


class RedisHistory(_OnRedis):
    def __init__(self, backend: Backend, history_max: int) -> None:
        super().__init__(backend)
        self._history_max = history_max
        self._tick = self._r.register_script(_TICK)

    async def write_tick(
        self, room: str, items: list[NewMessage], deletions: list[str], hearts: int, minute: int
    ) -> TickResult:
        # One EVALSHA: one round trip and atomic. On NOSCRIPT (a restarted or flushed Redis)
        # redis-py loads the script and calls again; nothing ran the first time, so nothing
        # counts twice.
        hour = int(time.time() // 3600)
        argv: list[Any] = [self._history_max, len(items), minute, hearts]
        for item in items:
            body = item.public("")
            del body["id"]
            argv += [item.client_key or "", json.dumps(body, ensure_ascii=False)]
        argv.append(json.dumps(deletions))
        keys = [
            self._k(room, "log"),
            self._k(room, "ck", str(hour)),
            self._k(room, "ck", str(hour - 1)),
            self._k(room, "del"),
            self._minutes_key(room),
            self._hearts_key(room),
        ]
        entry_id, raw, total, this_minute = await self._tick(keys=keys, args=argv)
        ids = [str(v) for v in raw]
        fresh = [bool(entry_id) and i.startswith(f"{entry_id}:") for i in ids]
        return TickResult(ids, fresh, int(total), int(this_minute))

    async def _deleted(self, room: str) -> set[str]:
        return set(await self._r.smembers(self._k(room, "del")))

    async def recent(self, room: str, limit: int, before: str | None = None) -> list[Message]:
        deleted = await self._deleted(room)
        bound = _order(before) if before else None
        end = before.partition(":")[0] if before else "+"
        out: list[Message] = []
        for _page in range(50):
            entries = await self._r.xrevrange(self._k(room, "log"), max=end, min="-", count=32)
            if not entries:
                break
            for entry_id, fields in entries:
                for message in reversed(_entry_messages(entry_id, fields)):
                    if message["id"] in deleted:
                        continue
                    if bound is not None and _order(message["id"]) >= bound:
                        continue
                    out.append(message)
                    if len(out) >= limit:
                        return list(reversed(out))
            end = f"({entries[-1][0]}"
            if len(entries) < 32:
                break
        return list(reversed(out))

    async def recover(self, room: str, since: str, limit: int) -> Recovery | None:
        if ":" not in since:
            return None
        entry = since.partition(":")[0]
        point = _order(since)
        entries = await self._r.xrange(self._k(room, "log"), min=entry, max="+", count=limit + 1)
        if not entries or entries[0][0] != entry or len(entries) > limit:
            return None
        out = Recovery()
        deleted_in_range: set[str] = set()
        for _entry_id, fields in entries:
            if "d" in fields:
                try:
                    deleted_in_range.update(str(x) for x in json.loads(fields["d"]))
                except ValueError:
                    pass
        for entry_id, fields in entries:
            for message in _entry_messages(entry_id, fields):
                if _order(message["id"]) > point and message["id"] not in deleted_in_range:
                    out.messages.append(message)
            if "d" in fields:
                for target in json.loads(fields["d"]):
                    if _order(str(target)) <= point:
                        out.deleted.append(str(target))
        if any(_order(m["id"]) <= point for m in out.messages):  # pragma: no cover - defensive
            return None
        return out

    async def get_message(self, room: str, message_id: str) -> Message | None:
        if ":" not in message_id:
            return None
        entry = message_id.partition(":")[0]
        entries = await self._r.xrange(self._k(room, "log"), min=entry, max=entry, count=1)
        if not entries:
            return None
        if await self._r.sismember(self._k(room, "del"), message_id):
            return None
        for message in _entry_messages(entries[0][0], entries[0][1]):
            if message["id"] == message_id:
                return message
        return None


class RedisCounters(_OnRedis):
    async def hearts(self, room: str, minute: int) -> tuple[int, int]:
        pipe = self._r.pipeline(transaction=False)
        pipe.get(self._hearts_key(room))
        pipe.hget(self._minutes_key(room), f"h:{minute}")
        total, per_minute = await pipe.execute()
        return int(total or 0), int(per_minute or 0)

    async def hearts_totals(self, rooms: list[str]) -> dict[str, int]:
        values = await self._r.mget([self._hearts_key(room) for room in rooms])
        return {room: int(v or 0) for room, v in zip(rooms, values, strict=True)}

    async def per_minute(self, room: str, since_minute: int) -> list[dict[str, int]]:
        raw: dict[str, str] = await self._r.hgetall(self._minutes_key(room))
        minutes: dict[int, dict[str, int]] = {}
        names = {"h": "hearts", "m": "messages", "v": "viewers"}
        for name, value in raw.items():
            kind, _, minute_text = name.partition(":")
            minute = int(minute_text)
            if minute < since_minute or kind not in names:
                continue
            row = minutes.setdefault(minute, {"minute": minute, "messages": 0, "hearts": 0, "viewers": 0})
            row[names[kind]] += int(value)
        return [minutes[m] for m in sorted(minutes)
                if minutes[m]["messages"] or minutes[m]["hearts"] or minutes[m]["viewers"]]


class RedisRoomSettings(_OnRedis):
    async def meta(self, room: str) -> dict[str, str]:
        return dict(await self._r.hgetall(self._k(room, "meta")))

    async def set_meta(self, room: str, name: str, value: str | None) -> None:
        if value is None:
            await self._r.hdel(self._k(room, "meta"), name)
        else:
            await self._r.hset(self._k(room, "meta"), name, value)


class RedisPollsAndQuestions(_OnRedis):
    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self._vote = self._r.register_script(_VOTE)
        self._add_question = self._r.register_script(_ADD_QUESTION)
        self._upvote = self._r.register_script(_UPVOTE)

    async def vote(self, poll_id: str, viewer: str, choice: int) -> bool:
        keys = [self._key("chat", "poll", poll_id, "voters"), self._key("chat", "poll", poll_id, "counts")]
        return int(await self._vote(keys=keys, args=[viewer, choice])) == 1

    async def has_voted(self, poll_id: str, viewer: str) -> bool:
        key = self._key("chat", "poll", poll_id, "voters")
        return bool(await self._r.hexists(key, viewer))

    async def poll_counts(self, poll_id: str, choices: int) -> list[int]:
        raw = await self._r.hgetall(self._key("chat", "poll", poll_id, "counts"))
        counts = [0] * choices
        for name, value in raw.items():
            index = int(name)
            if 0 <= index < choices:
                counts[index] = int(value)
        return counts

    async def add_question(self, room: str, question: Question, max_questions: int) -> bool:
        keys = [self._k(room, "q"), self._k(room, "qv")]
        args = [question["id"], json.dumps(question, ensure_ascii=False), max_questions]
        return int(await self._add_question(keys=keys, args=args)) == 1

    async def upvote(self, room: str, question_id: str, viewer: str) -> bool | None:
        keys = [self._k(room, "q"), self._k(room, "qv"), self._k(room, "qu", question_id)]
        result = int(await self._upvote(keys=keys, args=[question_id, viewer]))
        return None if result < 0 else result == 1

    async def answer_question(self, room: str, question_id: str) -> bool:
        if not await self._r.hexists(self._k(room, "q"), question_id):
            return False
        await self._r.sadd(self._k(room, "qa"), question_id)
        return True

    async def hide_question(self, room: str, question_id: str) -> bool:
        if not await self._r.hexists(self._k(room, "q"), question_id):
            return False
        await self._r.sadd(self._k(room, "qh"), question_id)
        return True

    async def questions(self, room: str) -> list[StoredQuestion]:
        pipe = self._r.pipeline(transaction=False)
        pipe.hgetall(self._k(room, "q"))
        pipe.zrange(self._k(room, "qv"), 0, -1, withscores=True)
        pipe.smembers(self._k(room, "qa"))
        pipe.smembers(self._k(room, "qh"))
        bodies, scored, answered, hidden = await pipe.execute()
        votes = {qid: int(score) for qid, score in scored}
        return [StoredQuestion(json.loads(body), votes.get(qid, 0), qid in answered, qid in hidden)
                for qid, body in bodies.items()]


class RedisPresence(_OnRedis):
    def __init__(self, backend: Backend, now_ms: Callable[[], int] | None = None) -> None:
        super().__init__(backend)
        # The wall clock in milliseconds: processes compare their reports' ages with it.
        self._now_ms = now_ms or (lambda: int(time.time() * 1000))

    async def report_viewers(self, process: str, counts: dict[str, int]) -> dict[str, int]:
        now = self._now_ms()
        pipe = self._r.pipeline(transaction=False)
        rooms = list(counts)
        for room in rooms:
            pipe.hset(self._key("chat", "viewers", room), process, f"{counts[room]}:{now}")
            pipe.hgetall(self._key("chat", "viewers", room))
        results = await pipe.execute()
        totals: dict[str, int] = {}
        stale_pipe = self._r.pipeline(transaction=False)
        stale = False
        for index, room in enumerate(rooms):
            entries: dict[str, str] = results[index * 2 + 1]
            total = 0
            for proc, value in entries.items():
                count_text, _, ts_text = value.partition(":")
                if now - int(ts_text or 0) > VIEWERS_FRESH_MS:
                    stale_pipe.hdel(self._key("chat", "viewers", room), proc)
                    stale = True
                    continue
                total += int(count_text or 0)
            totals[room] = total
        if stale:
            await stale_pipe.execute()
        return totals


class RedisAudience(_OnRedis):
    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self._record = self._r.register_script(_AUDIENCE)

    async def record(self, room: str, minute: int, viewers: int, watch_seconds: int,
                     newcomers: list[str]) -> None:
        keys = [self._k(room, "aud"), self._minutes_key(room), self._k(room, "uniq")]
        await self._record(keys=keys, args=[viewers, minute, watch_seconds, *newcomers])

    async def audience(self, room: str) -> Audience:
        pipe = self._r.pipeline(transaction=False)
        pipe.hgetall(self._k(room, "aud"))
        pipe.scard(self._k(room, "uniq"))
        fields, unique = await pipe.execute()
        return Audience(int(fields.get("peak", 0)), int(unique), int(fields.get("watch", 0)))


class RedisHallHearts(_OnRedis):
    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self._admit = self._r.register_script(_ADMIT_HEARTS)

    async def admit(self, room: str, day: str, viewer: str, count: int, per_day: int) -> int:
        keys = [self._k(room, "hh", day)]
        return int(await self._admit(keys=keys, args=[viewer, count, per_day, HALL_HEARTS_TTL_S]))

    async def given(self, room: str, day: str, viewer: str) -> int:
        return int(await self._r.hget(self._k(room, "hh", day), viewer) or 0)
