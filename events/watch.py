"""Watch credit: signed heartbeats from a page that is playing the live broadcast and visible.

`start` (the page's player started playing the live program) answers a token signed with the
events secret: member, program, a one-time nonce and the server time it was issued. The page
counts only the time its video plays while the page is visible, and after every
`events_watch_interval_s` of that it sends a beat with the latest token. A beat earns one
minute's mileage (the program's `watch_per_minute`, capped by its `watch_cap`) when:
- the signature holds and the token is this member's;
- the program is live;
- at least the interval (less 2 s of slack) has passed on the server's clock since the token was
  issued (`too_soon` otherwise);
- the token is the newest one of this member (`stale_token` otherwise: a replayed beat, or the
  member started watching in another tab or browser, whose stream wins).
Each beat answers the next token. A page that stops playing or is hidden sends nothing; it can
still lie about playing, but never earns more than one minute per interval of server time.
"""

from __future__ import annotations

import secrets
from typing import Any

from kernel.clock import Clock
from kernel.errors import ApiError
from kernel.signing import sign, unsign

from .mileage import Mileage
from .moments import now_ms
from .ports import Programs

SLACK_MS = 2000


class WatchCredit:
    def __init__(
        self, mileage: Mileage, programs: Programs, clock: Clock, interval_s: int, secret: Any
    ) -> None:
        self.mileage = mileage
        self.programs = programs
        self.clock = clock
        self.interval_s = interval_s
        self._secret = secret  # a callable answering the events secret (known once started)

    def _token(self, member: str, program: str, nonce: str, issued_ms: int) -> str:
        return sign(f"{member}|{program}|{nonce}|{issued_ms}", self._secret(), "watch")

    async def _live(self, program_id: str) -> None:
        program = await self.programs.require(program_id)
        if program.state != "live":
            raise ApiError(409, "not_live", "Watching earns mileage only while the program is live.")

    async def start(self, member: str, program_id: str) -> dict[str, Any]:
        await self._live(program_id)
        nonce = secrets.token_urlsafe(12)
        await self.mileage.store.kv_put(f"watch:{member}", nonce, self.interval_s * 10)
        return {
            "token": self._token(member, program_id, nonce, now_ms(self.clock)),
            "interval_s": self.interval_s,
        }

    async def beat(self, member: str, token: object) -> dict[str, Any]:
        value = unsign(token, self._secret(), "watch") if isinstance(token, str) else None
        parts = value.split("|") if value else []
        if len(parts) != 4 or parts[0] != member or not parts[3].isdigit():
            raise ApiError(400, "invalid_token", "This watch token is not valid; start watching again.")
        _member, program_id, nonce, issued = parts
        await self._live(program_id)
        now = now_ms(self.clock)
        wait_ms = int(issued) + self.interval_s * 1000 - SLACK_MS - now
        if wait_ms > 0:
            raise ApiError(
                429,
                "too_soon",
                "One beat per interval of watching.",
                details={"retry_after": round(wait_ms / 1000, 1)},
            )
        fresh = secrets.token_urlsafe(12)
        ttl = self.interval_s * 10
        if not await self.mileage.store.kv_swap(f"watch:{member}", nonce, fresh, ttl):
            raise ApiError(
                409, "stale_token", "You are watching in another window; this one stopped earning."
            )
        rules = await self.mileage.rules(program_id)
        result = await self.mileage.earn(
            member, "watch", program_id, nonce, rules.watch_per_minute, program_cap=rules.watch_cap
        )
        answer: dict[str, Any] = {
            "token": self._token(member, program_id, fresh, now),
            "interval_s": self.interval_s,
            "earned": 0,
        }
        if result is not None:
            answer.update(earned=result.earned, balance=result.balance)
        return answer
