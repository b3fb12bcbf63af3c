"""Mileage earned by taking part, by the rules a producer sets per program.

The chat tells `took_part` (the chat's `Participation` port) when a viewer voted, asked, chatted
in a program room or commented in a hall; this process handled it, so it is credited once. The
viewer's id leads to the member signed in on that browser (none: nothing happens). A program
room's event earns by that program's rules; a hall comment by the rules of the program on the
air now, or the next one ("today's event"). Every credit goes through `earn`: at most
`events_earn_per_minute` earning events per member and minute, the daily cap, the per-program
watch cap, and an idempotency key (`<member>:<kind>:<ref>`): a poll's vote earns once per
member, whichever of their browsers voted.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, fields
from typing import Any

from kernel.bus import Bus
from kernel.clock import Clock
from kernel.errors import ApiError

from .moments import now_ms, seoul_day
from .ports import Programs
from .settings import EventsSettings
from .store import Credit, CreditResult, EventsStore
from .topics import VIEWER_LINKED, ViewerLinked
from .validate import integer

log = logging.getLogger("innotv.events")

RULES_CACHE_S = 2.0
MAX_RULE = 100_000
KINDS = ("vote", "question", "quiz", "comment", "chat", "watch")


@dataclass(frozen=True)
class Rules:
    """What taking part earns in one program (mileage points)."""

    watch_per_minute: int = 1  # each credited minute of the live broadcast
    watch_cap: int = 60  # at most this much from watching one program
    vote: int = 10
    question: int = 10
    quiz: int = 20  # a correct quiz answer
    comment: int = 5  # a comment in an exhibition hall
    chat: int = 0  # a message in the program's chat

    def amount(self, kind: str) -> int:
        return self.watch_per_minute if kind == "watch" else int(getattr(self, kind))

    @classmethod
    def parse(cls, body: dict[str, Any]) -> Rules:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(body) - names)
        if unknown:
            raise ApiError(
                400, "unknown_field", f"Unknown field: {unknown[0]}.", details={"field": unknown[0]}
            )
        current = asdict(cls())
        current.update({name: integer(body[name], name, 0, MAX_RULE) for name in body})
        return cls(**current)


# Viewers found to be no member: most of the crowd chats without an account, and each of their
# messages would otherwise cost a store read before its ack. Forgotten when any process links the
# viewer (VIEWER_LINKED), after NOT_MEMBER_S, or when the oldest of NOT_MEMBER_MAX make room.
NOT_MEMBER_S = 300.0
NOT_MEMBER_MAX = 100_000


class Mileage:
    def __init__(
        self, store: EventsStore, settings: EventsSettings, clock: Clock, programs: Programs, bus: Bus
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.programs = programs
        self._rules: dict[str, tuple[float, Rules]] = {}
        self._not_members: OrderedDict[str, float] = OrderedDict()  # viewer -> when found (monotonic)
        bus.subscribe(VIEWER_LINKED, self._on_linked)

    async def _on_linked(self, event: ViewerLinked) -> None:
        self.forget(event.viewer)

    def forget(self, viewer: str) -> None:
        """This viewer may be a member now (linked in this process: at once, before the bus)."""
        self._not_members.pop(viewer, None)

    async def member_of(self, viewer: str) -> str | None:
        """The member this viewer is signed in as, if any."""
        found = self._not_members.get(viewer)
        if found is not None and time.monotonic() - found < NOT_MEMBER_S:
            return None
        member = await self.store.member_of_viewer(viewer, now_ms(self.clock))
        if member is None:
            self._not_members[viewer] = time.monotonic()
            self._not_members.move_to_end(viewer)
            while len(self._not_members) > NOT_MEMBER_MAX:
                self._not_members.popitem(last=False)
        else:
            self._not_members.pop(viewer, None)
        return member

    async def rules(self, program: str) -> Rules:
        cached = self._rules.get(program)
        if cached is not None and time.monotonic() - cached[0] < RULES_CACHE_S:
            return cached[1]
        raw = await self.store.get_rules(program)
        rules = Rules(**json.loads(raw)) if raw else Rules()
        self._rules[program] = (time.monotonic(), rules)
        return rules

    async def set_rules(self, program: str, rules: Rules) -> None:
        await self.store.set_rules(program, json.dumps(asdict(rules)))
        self._rules.pop(program, None)

    async def earn(
        self, member: str, kind: str, program: str, ref: str, amount: int, program_cap: int | None = None
    ) -> CreditResult | None:
        """Credit `amount` within the limits; None when the member earns too fast right now."""
        at = now_ms(self.clock)
        credit = Credit(
            member,
            amount,
            kind,
            ref,
            program,
            at,
            seoul_day(self.clock),
            self.settings.daily_cap,
            program_cap,
            f"{member}:{kind}:{ref}",
            rate_key=f"earn:{member}:{at // 60_000}",
            rate_limit=self.settings.earn_per_minute,
        )
        result = await self.store.credit(credit)
        return None if result.limited else result

    async def took_part(self, viewer: str, kind: str, room: str, ref: str) -> dict[str, Any] | None:
        """What the chat calls (its `Participation` port); never raises."""
        try:
            return await self._took_part(viewer, kind, room, ref)
        except Exception:
            log.warning("crediting a chat event failed", exc_info=True, extra={"kind": kind, "room": room})
            return None

    async def _took_part(self, viewer: str, kind: str, room: str, ref: str) -> dict[str, Any] | None:
        if kind not in KINDS:
            return None
        member = await self.member_of(viewer)
        if member is None:
            return None
        if kind in ("chat", "comment"):
            await self.store.record_activity(room, member, now_ms(self.clock))
        if room.startswith("program:"):
            program = room.removeprefix("program:")
        else:
            current = await self.programs.current()
            if current is None:
                return None
            program = current.id
        amount = (await self.rules(program)).amount(kind)
        if amount <= 0:
            return None
        result = await self.earn(member, kind, program, ref, amount)
        if result is None:
            return {"earned": 0, "kind": kind, "limited": "earn_rate"}
        view: dict[str, Any] = {"earned": result.earned, "balance": result.balance, "kind": kind}
        if result.earned < amount and not result.duplicate:
            view["limited"] = "cap"
        return view
