"""The events store on Redis, shared by every process. The ledger is `ledger_redis`; the rest is
hashes, sets and sorted sets under `<prefix>{ev}:` (one hash tag, one Cluster slot)."""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis

from kernel.storage import Backend

from .ledger_redis import RedisLedger
from .store import (
    Campaign,
    Claim,
    Credit,
    CreditResult,
    DonationResult,
    Draw,
    Entry,
    LedgerState,
    Member,
    Quiz,
)

ACTIVITY_KEPT_MS = 30 * 86_400_000

# KEYS: member hash, email index, subject index; ARGV: has email, has subject, id, fields (JSON)
_CREATE_MEMBER = """
if ARGV[1] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then return 'email' end
if ARGV[2] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then return 'subject' end
if ARGV[1] == '1' then redis.call('SET', KEYS[2], ARGV[3]) end
if ARGV[2] == '1' then redis.call('SET', KEYS[3], ARGV[3]) end
redis.call('SET', KEYS[1], ARGV[4])
return ''
"""

# KEYS: key; ARGV: expected ('' with flag), value, ttl ms, expected-is-absent flag
_SWAP = """
local now = redis.call('GET', KEYS[1])
if ARGV[4] == '1' then
  if now then return 0 end
elseif now ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""

# KEYS: quiz hash
_REVEAL = """
if redis.call('HGET', KEYS[1], 'revealed') ~= '0' then return 0 end
redis.call('HSET', KEYS[1], 'revealed', '1')
return 1
"""

# KEYS: activity zset; ARGV: from, to, offset, count. The members of one page of the window, each
# once, joined by newlines: one bulk reply (parsing 200,000 replies in redis-py takes seconds), and
# a page at a time so that no call holds Redis for long.
_ACTIVE_PAGE = """
local items = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', ARGV[3], ARGV[4])
local seen, out = {}, {}
for _, item in ipairs(items) do
  local member = string.match(item, '^(.*)@%d+$')
  if member and not seen[member] then
    seen[member] = true
    out[#out + 1] = member
  end
end
return {#items, table.concat(out, '\\n')}
"""
ACTIVE_PAGE = 20_000

# KEYS: draw hash; ARGV: winners JSON, backups JSON, drawn_ms
_DRAWN = """
if redis.call('HGET', KEYS[1], 'drawn_ms') ~= '0' then return 0 end
redis.call('HSET', KEYS[1], 'winners', ARGV[1], 'backups', ARGV[2], 'drawn_ms', ARGV[3])
return 1
"""


def _member(raw: str | None) -> Member | None:
    return None if raw is None else Member(**json.loads(raw))


class RedisEventsStore:
    def __init__(self, redis: aioredis.Redis, backend: Backend) -> None:
        self._r = redis
        self._p = backend.key("{ev}") + ":"
        self.ledger = RedisLedger(redis, self._p)
        self._create_member = redis.register_script(_CREATE_MEMBER)
        self._swap = redis.register_script(_SWAP)
        self._reveal = redis.register_script(_REVEAL)
        self._drawn = redis.register_script(_DRAWN)
        self._active_page = redis.register_script(_ACTIVE_PAGE)

    def _k(self, *parts: str) -> str:
        return self._p + ":".join(parts)

    async def setup(self) -> None:
        return None

    # ---- small expiring values --------------------------------------------------------------
    async def kv_set_if_absent(self, key: str, value: str) -> str:
        await self._r.set(self._k("kv", key), value, nx=True)
        stored = await self._r.get(self._k("kv", key))
        return value if stored is None else str(stored)

    async def kv_put(self, key: str, value: str, ttl_s: int) -> None:
        await self._r.set(self._k("kv", key), value, ex=ttl_s)

    async def kv_get(self, key: str) -> str | None:
        value = await self._r.get(self._k("kv", key))
        return None if value is None else str(value)

    async def kv_take(self, key: str) -> str | None:
        value = await self._r.getdel(self._k("kv", key))
        return None if value is None else str(value)

    async def kv_swap(self, key: str, expected: str | None, value: str, ttl_s: int) -> bool:
        args: list[Any] = [expected or "", value, ttl_s * 1000, "1" if expected is None else "0"]
        return int(await self._swap(keys=[self._k("kv", key)], args=args)) == 1

    async def hit(self, key: str, window_s: int) -> int:
        rkey = self._k("hit", key)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.incr(rkey)
            pipe.expire(rkey, window_s, nx=True)
            count, _ = await pipe.execute()
        return int(count)

    # ---- members ----------------------------------------------------------------------------
    def _subject_key(self, issuer: str | None, subject: str | None) -> str:
        return self._k("subject", json.dumps([issuer or "", subject or ""]))

    async def create_member(self, member: Member) -> str | None:
        keys = [
            self._k("member", member.id),
            self._k("email", member.email or ""),
            self._subject_key(member.issuer, member.subject),
        ]
        args = [
            "1" if member.email else "0",
            "1" if member.subject else "0",
            member.id,
            json.dumps(member.__dict__, ensure_ascii=False),
        ]
        taken = str(await self._create_member(keys=keys, args=args))
        return taken or None

    async def get_member(self, member_id: str) -> Member | None:
        raw = await self._r.get(self._k("member", member_id))
        return None if raw is None else _member(str(raw))

    async def _by_index(self, key: str) -> Member | None:
        member_id = await self._r.get(key)
        return None if member_id is None else await self.get_member(str(member_id))

    async def member_by_email(self, email: str) -> Member | None:
        return await self._by_index(self._k("email", email))

    async def member_by_subject(self, issuer: str, subject: str) -> Member | None:
        return await self._by_index(self._subject_key(issuer, subject))

    async def erase_member(self, member_id: str) -> bool:
        member = await self.get_member(member_id)
        sessions = [str(s) for s in await self._r.smembers(self._k("sessions-of", member_id))]  # type: ignore[misc]
        viewers = [str(v) for v in await self._r.smembers(self._k("viewers-of", member_id))]  # type: ignore[misc]
        draws = [str(d) for d in await self._r.smembers(self._k("claims-of", member_id))]  # type: ignore[misc]
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(
                self._k("member", member_id),
                self._k("sessions-of", member_id),
                self._k("viewers-of", member_id),
                self._k("claims-of", member_id),
            )
            if member is not None and member.email:
                pipe.delete(self._k("email", member.email))
            if member is not None and member.subject:
                pipe.delete(self._subject_key(member.issuer, member.subject))
            for session in sessions:
                pipe.delete(self._k("session", session))
            for viewer in viewers:
                pipe.delete(self._k("viewer", viewer))
            for draw in draws:
                pipe.hdel(self._k("claims", draw), member_id)
                pipe.zrem(self._k("claims-expiry"), f"{draw}\n{member_id}")
            await pipe.execute()
        return member is not None

    async def create_session(self, session_hash: str, member_id: str, expires_ms: int) -> None:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.set(self._k("session", session_hash), member_id, pxat=expires_ms)
            pipe.sadd(self._k("sessions-of", member_id), session_hash)
            await pipe.execute()

    async def session_member(self, session_hash: str, now_ms: int) -> str | None:
        value = await self._r.get(self._k("session", session_hash))
        return None if value is None else str(value)

    async def delete_session(self, session_hash: str) -> None:
        member = await self._r.getdel(self._k("session", session_hash))
        if member is not None:
            await self._r.srem(self._k("sessions-of", str(member)), session_hash)  # type: ignore[misc]

    async def link_viewer(self, viewer: str, member_id: str, expires_ms: int) -> None:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.set(self._k("viewer", viewer), member_id, pxat=expires_ms)
            pipe.sadd(self._k("viewers-of", member_id), viewer)
            await pipe.execute()

    async def unlink_viewer(self, viewer: str) -> None:
        member = await self._r.getdel(self._k("viewer", viewer))
        if member is not None:
            await self._r.srem(self._k("viewers-of", str(member)), viewer)  # type: ignore[misc]

    async def member_of_viewer(self, viewer: str, now_ms: int) -> str | None:
        value = await self._r.get(self._k("viewer", viewer))
        return None if value is None else str(value)

    # ---- the ledger ---------------------------------------------------------------------------
    async def credit(self, credit: Credit) -> CreditResult:
        return await self.ledger.credit(credit)

    async def donate(
        self, member: str, campaign: str, amount: int | None, key: str, at_ms: int
    ) -> DonationResult:
        return await self.ledger.donate(member, campaign, amount, key, at_ms)

    async def close_balance(self, member: str, at_ms: int) -> int:
        return await self.ledger.close(member, at_ms)

    async def balance(self, member: str) -> int:
        return await self.ledger.balance(member)

    async def earned_on(self, member: str, day: str) -> int:
        return await self.ledger.earned_on(member, day)

    async def history(self, member: str, limit: int, before: str | None = None) -> list[Entry]:
        return await self.ledger.history(member, limit, before)

    async def entries(self, after: str | None, limit: int) -> list[Entry]:
        return await self.ledger.entries(after, limit)

    async def ledger_state(self) -> LedgerState:
        totals = {}
        for campaign in await self.list_campaigns():
            total, _donors = await self.ledger.campaign_total(campaign.id)
            if total:
                totals[campaign.id] = total
        return LedgerState(await self.ledger.balances(), totals)

    # ---- campaigns ----------------------------------------------------------------------------
    async def create_campaign(self, campaign: Campaign) -> None:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hset(self._k("campaign", campaign.id), mapping={"json": json.dumps(campaign.__dict__)})
            pipe.sadd(self._k("campaigns"), campaign.id)
            await pipe.execute()

    async def get_campaign(self, campaign_id: str) -> Campaign | None:
        raw = await self._r.hget(self._k("campaign", campaign_id), "json")  # type: ignore[misc]
        return None if raw is None else Campaign(**json.loads(raw))

    async def list_campaigns(self) -> list[Campaign]:
        ids = [str(i) for i in await self._r.smembers(self._k("campaigns"))]  # type: ignore[misc]
        found = [await self.get_campaign(i) for i in ids]
        return sorted((c for c in found if c is not None), key=lambda c: (c.starts_at_ms, c.created_at_ms))

    async def campaign_total(self, campaign_id: str) -> tuple[int, int]:
        return await self.ledger.campaign_total(campaign_id)

    async def donors(self, campaign_id: str) -> list[str]:
        return await self.ledger.donors(campaign_id)

    # ---- rules --------------------------------------------------------------------------------
    async def set_rules(self, program: str, rules: str) -> None:
        await self._r.hset(self._k("rules"), program, rules)  # type: ignore[misc]

    async def get_rules(self, program: str) -> str | None:
        value = await self._r.hget(self._k("rules"), program)  # type: ignore[misc]
        return None if value is None else str(value)

    # ---- quizzes ------------------------------------------------------------------------------
    async def create_quiz(self, quiz: Quiz) -> None:
        fields: dict[Any, Any] = {
            "json": json.dumps({**quiz.__dict__, "choices": list(quiz.choices)}, ensure_ascii=False),
            "revealed": "0",
        }
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hset(self._k("quiz", quiz.id), mapping=fields)
            pipe.rpush(self._k("quizzes", quiz.program), quiz.id)
            await pipe.execute()

    async def get_quiz(self, quiz_id: str) -> Quiz | None:
        data = await self._r.hgetall(self._k("quiz", quiz_id))  # type: ignore[misc]
        if not data:
            return None
        values = json.loads(data["json"])
        values["choices"] = tuple(values["choices"])
        values["revealed"] = data.get("revealed") == "1"
        return Quiz(**values)

    async def latest_quiz(self, program: str) -> Quiz | None:
        quiz_id = await self._r.lindex(self._k("quizzes", program), -1)  # type: ignore[misc]
        return None if quiz_id is None else await self.get_quiz(str(quiz_id))

    async def reveal_quiz(self, quiz_id: str) -> bool:
        return int(await self._reveal(keys=[self._k("quiz", quiz_id)])) == 1

    async def answer_quiz(self, quiz_id: str, member: str, choice: int) -> bool:
        return bool(await self._r.hsetnx(self._k("answers", quiz_id), member, choice))  # type: ignore[misc]

    async def quiz_answer_of(self, quiz_id: str, member: str) -> int | None:
        value = await self._r.hget(self._k("answers", quiz_id), member)  # type: ignore[misc]
        return None if value is None else int(value)

    async def quiz_answers(self, quiz_id: str) -> dict[str, int]:
        data = await self._r.hgetall(self._k("answers", quiz_id))  # type: ignore[misc]
        return {str(k): int(v) for k, v in data.items()}

    # ---- activity -----------------------------------------------------------------------------
    async def record_activity(self, room: str, member: str, at_ms: int) -> None:
        key = self._k("activity", room)
        async with self._r.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {f"{member}@{at_ms}": at_ms})
            pipe.zremrangebyscore(key, "-inf", at_ms - ACTIVITY_KEPT_MS)
            await pipe.execute()

    async def active_members(self, room: str, from_ms: int, to_ms: int) -> list[str]:
        found: set[str] = set()
        offset = 0
        while True:
            args: list[Any] = [from_ms, to_ms, offset, ACTIVE_PAGE]
            count, joined = await self._active_page(keys=[self._k("activity", room)], args=args)
            if joined:
                found.update(str(joined).split("\n"))
            offset += int(count)
            if int(count) < ACTIVE_PAGE:
                return sorted(found)

    # ---- draws ----------------------------------------------------------------------------------
    async def create_draw(self, draw: Draw, pool: list[str]) -> None:
        values = {
            **draw.__dict__,
            "winners": json.dumps(list(draw.winners)),
            "backups": json.dumps(list(draw.backups)),
        }
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hset(self._k("draw", draw.id), mapping={k: str(v) for k, v in values.items()})
            pipe.set(self._k("pool", draw.id), "\n".join(pool))
            pipe.rpush(self._k("draws", draw.program), draw.id)
            await pipe.execute()

    async def get_draw(self, draw_id: str) -> Draw | None:
        data = await self._r.hgetall(self._k("draw", draw_id))  # type: ignore[misc]
        if not data:
            return None
        ints = ("winners_wanted", "backups_wanted", "pool_size", "created_ms", "claim_days", "drawn_ms")
        values: dict[str, Any] = {str(k): int(v) if k in ints else v for k, v in data.items()}
        values["winners"] = tuple(json.loads(data["winners"]))
        values["backups"] = tuple(json.loads(data["backups"]))
        return Draw(**values)

    async def draws_of(self, program: str) -> list[Draw]:
        ids = [str(i) for i in await self._r.lrange(self._k("draws", program), 0, -1)]  # type: ignore[misc]
        found = [await self.get_draw(i) for i in ids]
        return [d for d in found if d is not None]

    async def draw_pool(self, draw_id: str) -> list[str]:
        raw = await self._r.get(self._k("pool", draw_id))
        return [] if not raw else str(raw).split("\n")

    async def set_drawn(self, draw_id: str, winners: list[str], backups: list[str], drawn_ms: int) -> bool:
        args: list[Any] = [json.dumps(winners), json.dumps(backups), drawn_ms]
        return int(await self._drawn(keys=[self._k("draw", draw_id)], args=args)) == 1

    async def put_claim(self, claim: Claim) -> None:
        value = json.dumps(
            {
                "contact": claim.contact,
                "consented_at_ms": claim.consented_at_ms,
                "expires_ms": claim.expires_ms,
            },
            ensure_ascii=False,
        )
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hset(self._k("claims", claim.draw), claim.member, value)
            pipe.zadd(self._k("claims-expiry"), {f"{claim.draw}\n{claim.member}": claim.expires_ms})
            pipe.sadd(self._k("claims-of", claim.member), claim.draw)
            await pipe.execute()

    async def claims(self, draw_id: str) -> list[Claim]:
        data = await self._r.hgetall(self._k("claims", draw_id))  # type: ignore[misc]
        found = []
        for member, raw in data.items():
            value = json.loads(raw)
            found.append(
                Claim(
                    draw_id,
                    str(member),
                    value["contact"],
                    int(value["consented_at_ms"]),
                    int(value["expires_ms"]),
                )
            )
        return sorted(found, key=lambda c: c.consented_at_ms)

    async def delete_expired_claims(self, now_ms: int) -> int:
        due = [str(x) for x in await self._r.zrangebyscore(self._k("claims-expiry"), "-inf", now_ms)]
        if not due:
            return 0
        async with self._r.pipeline(transaction=True) as pipe:
            for item in due:
                draw, member = item.split("\n", 1)
                pipe.hdel(self._k("claims", draw), member)
                pipe.srem(self._k("claims-of", member), draw)
            pipe.zrem(self._k("claims-expiry"), *due)
            await pipe.execute()
        return len(due)
