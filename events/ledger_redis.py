"""The mileage ledger on Redis: streams appended by scripts, one script call per write.

- `{ev}:ledger` is the whole ledger (one stream entry per ledger entry, its id the entry id);
- `{ev}:ledger:m:<member>` holds the same entries of one member under the same ids, its newest
  entry's `b` field being the balance;
- `{ev}:ledger:c:<campaign>` holds a campaign's donations, its newest `t` field the total;
- `{ev}:keys:<member>` maps idempotency keys to entry ids; `{ev}:donors:<campaign>` the donors;
  `{ev}:day:<member>:<day>` and `{ev}:pk:<member>:<program>:<kind>` count what the caps count.

A Redis script runs whole or not at all and nothing runs between its commands, so reading the
newest balance and appending after it is exact across any number of processes. Every key has the
hash tag `{ev}`: with Redis Cluster they all live in one slot, as a script needs. How much
survives a crash of Redis itself depends on its persistence: `appendonly yes` with
`appendfsync always` keeps every acknowledged entry (docs/operations.md).
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from .store import Credit, CreditResult, DonationResult, Entry

# Field order is fixed: `b` (balance after) first, so scripts read it at index 2.
_BALANCE = """
local function balance(key)
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
  if #last == 0 then return 0 end
  return tonumber(last[1][2][2])
end
"""

# KEYS: keys hash, member stream, ledger stream, day counter, program counter, members set,
#       rate counter
# ARGV: key, member, amount, kind, ref, program, at_ms, day, daily cap, program cap (-1: none),
#       rate limit (0: none)
CREDIT = (
    _BALANCE
    + """
local bal = balance(KEYS[2])
local seen = redis.call('HGET', KEYS[1], ARGV[1])
if seen then return {0, bal, seen, 1, 0} end
if tonumber(ARGV[11]) > 0 then
  local tries = redis.call('INCR', KEYS[7])
  if tries == 1 then redis.call('EXPIRE', KEYS[7], 60) end
  if tries > tonumber(ARGV[11]) then return {0, bal, '', 0, 1} end
end
local allowed = math.min(tonumber(ARGV[3]), tonumber(ARGV[9]) - tonumber(redis.call('GET', KEYS[4]) or '0'))
local pcap = tonumber(ARGV[10])
if pcap >= 0 then
  allowed = math.min(allowed, pcap - tonumber(redis.call('GET', KEYS[5]) or '0'))
end
if allowed <= 0 then return {0, bal, '', 0, 0} end
local after = bal + allowed
local id = redis.call('XADD', KEYS[3], '*', 'b', after, 'm', ARGV[2], 'a', allowed, 'k', ARGV[4],
  'r', ARGV[5], 'p', ARGV[6], 'c', '', 't', ARGV[7], 'ct', 0, 'd', ARGV[8])
redis.call('XADD', KEYS[2], id, 'b', after, 'a', allowed, 'k', ARGV[4], 'r', ARGV[5], 'p', ARGV[6],
  'c', '', 't', ARGV[7], 'ct', 0, 'd', ARGV[8])
redis.call('HSET', KEYS[1], ARGV[1], id)
redis.call('SADD', KEYS[6], ARGV[2])
redis.call('INCRBY', KEYS[4], allowed)
redis.call('EXPIRE', KEYS[4], 259200)
if pcap >= 0 then
  redis.call('INCRBY', KEYS[5], allowed)
  redis.call('EXPIRE', KEYS[5], 2592000)
end
return {allowed, after, id, 0, 0}
"""
)

# KEYS: keys hash, member stream, ledger stream, campaign stream, donors set, campaign hash, members set
# ARGV: key, member, amount (-1: all), campaign, at_ms
DONATE = (
    _BALANCE
    + """
local bal = balance(KEYS[2])
local function total()
  local last = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
  if #last == 0 then return 0 end
  return tonumber(last[1][2][2])
end
local seen = redis.call('HGET', KEYS[1], ARGV[1])
if seen then
  local e = redis.call('XRANGE', KEYS[2], seen, seen)
  return {'', -tonumber(e[1][2][4]), bal, total(), redis.call('SCARD', KEYS[5]), seen, 1}
end
if redis.call('EXISTS', KEYS[6]) == 0 then return {'unknown_campaign', 0, bal, 0, 0, '', 0} end
local amount = tonumber(ARGV[3])
if amount < 0 then amount = bal end
local t = total()
local donors = redis.call('SCARD', KEYS[5])
if amount <= 0 then return {'nothing_to_donate', 0, bal, t, donors, '', 0} end
if amount > bal then return {'insufficient_mileage', 0, bal, t, donors, '', 0} end
local after = bal - amount
local id = redis.call('XADD', KEYS[3], '*', 'b', after, 'm', ARGV[2], 'a', -amount, 'k', 'donation',
  'r', ARGV[4], 'p', '', 'c', ARGV[4], 't', ARGV[5], 'ct', t + amount, 'd', '')
redis.call('XADD', KEYS[2], id, 'b', after, 'a', -amount, 'k', 'donation', 'r', ARGV[4], 'p', '',
  'c', ARGV[4], 't', ARGV[5], 'ct', t + amount, 'd', '')
redis.call('XADD', KEYS[4], id, 't', t + amount, 'm', ARGV[2], 'a', amount)
redis.call('HSET', KEYS[1], ARGV[1], id)
redis.call('SADD', KEYS[5], ARGV[2])
redis.call('SADD', KEYS[7], ARGV[2])
return {'', amount, after, t + amount, redis.call('SCARD', KEYS[5]), id, 0}
"""
)

# KEYS: member stream, ledger stream; ARGV: member, at_ms
CLOSE = (
    _BALANCE
    + """
local bal = balance(KEYS[1])
if bal <= 0 then return 0 end
local id = redis.call('XADD', KEYS[2], '*', 'b', 0, 'm', ARGV[1], 'a', -bal, 'k', 'closed', 'r', '',
  'p', '', 'c', '', 't', ARGV[2], 'ct', 0, 'd', '')
redis.call('XADD', KEYS[1], id, 'b', 0, 'a', -bal, 'k', 'closed', 'r', '', 'p', '', 'c', '',
  't', ARGV[2], 'ct', 0, 'd', '')
return bal
"""
)


def entry_of(entry_id: str, fields: dict[str, str], member: str | None = None) -> Entry:
    return Entry(
        str(entry_id),
        member or fields["m"],
        int(fields["a"]),
        fields["k"],
        fields["r"],
        fields["p"],
        fields["c"],
        int(fields["t"]),
        int(fields["b"]),
        int(fields["ct"]),
    )


class RedisLedger:
    """The ledger's scripts and reads, under `prefix` (which ends in `{ev}:`)."""

    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self._r = redis
        self._p = prefix
        self._credit = redis.register_script(CREDIT)
        self._donate = redis.register_script(DONATE)
        self._close = redis.register_script(CLOSE)

    def key(self, *parts: str) -> str:
        return self._p + ":".join(parts)

    async def credit(self, c: Credit) -> CreditResult:
        keys = [
            self.key("keys", c.member),
            self.key("ledger", "m", c.member),
            self.key("ledger"),
            self.key("day", c.member, c.day),
            self.key("pk", c.member, c.program, c.kind),
            self.key("members"),
            self.key("hit", c.rate_key),
        ]
        cap = -1 if c.program_cap is None else c.program_cap
        args: list[Any] = [
            c.key,
            c.member,
            c.amount,
            c.kind,
            c.ref,
            c.program,
            c.at_ms,
            c.day,
            c.daily_cap,
            cap,
            c.rate_limit,
        ]
        earned, balance, entry_id, duplicate, limited = await self._credit(keys=keys, args=args)
        return CreditResult(
            int(earned), int(balance), str(entry_id) or None, bool(int(duplicate)), bool(int(limited))
        )

    async def donate(
        self, member: str, campaign: str, amount: int | None, key: str, at_ms: int
    ) -> DonationResult:
        keys = [
            self.key("keys", member),
            self.key("ledger", "m", member),
            self.key("ledger"),
            self.key("ledger", "c", campaign),
            self.key("donors", campaign),
            self.key("campaign", campaign),
            self.key("members"),
        ]
        args: list[Any] = [key, member, -1 if amount is None else amount, campaign, at_ms]
        refused, given, balance, total, donors, entry_id, dup = await self._donate(keys=keys, args=args)
        return DonationResult(
            str(refused) or None,
            int(given),
            int(balance),
            int(total),
            int(donors),
            str(entry_id) or None,
            bool(int(dup)),
        )

    async def close(self, member: str, at_ms: int) -> int:
        keys = [self.key("ledger", "m", member), self.key("ledger")]
        return int(await self._close(keys=keys, args=[member, at_ms]))

    async def balance(self, member: str) -> int:
        last: Any = await self._r.xrevrange(self.key("ledger", "m", member), count=1)
        return int(last[0][1]["b"]) if last else 0

    async def earned_on(self, member: str, day: str) -> int:
        value = await self._r.get(self.key("day", member, day))
        return int(value) if value else 0

    async def history(self, member: str, limit: int, before: str | None) -> list[Entry]:
        if before is not None and before.strip("0-") == "":
            return []  # nothing comes before 0-0 (and Redis refuses "(0-0" as the top of a range)
        top = f"({before}" if before else "+"
        rows: Any = await self._r.xrevrange(self.key("ledger", "m", member), max=top, min="-", count=limit)
        return [entry_of(entry_id, fields, member) for entry_id, fields in rows]

    async def entries(self, after: str | None, limit: int) -> list[Entry]:
        low = f"({after}" if after else "-"
        rows: Any = await self._r.xrange(self.key("ledger"), min=low, max="+", count=limit)
        return [entry_of(entry_id, fields) for entry_id, fields in rows]

    async def campaign_total(self, campaign: str) -> tuple[int, int]:
        last: Any = await self._r.xrevrange(self.key("ledger", "c", campaign), count=1)
        donors = await self._r.scard(self.key("donors", campaign))  # type: ignore[misc]
        return (int(last[0][1]["t"]) if last else 0), int(donors)

    async def donors(self, campaign: str) -> list[str]:
        return sorted(str(m) for m in await self._r.smembers(self.key("donors", campaign)))  # type: ignore[misc]

    async def balances(self) -> dict[str, int]:
        members = [str(m) for m in await self._r.smembers(self.key("members"))]  # type: ignore[misc]
        return {m: await self.balance(m) for m in members}
