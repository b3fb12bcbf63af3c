"""Prize draws, fair and provable (the arithmetic is `fairdraw`).

1. A producer prepares a draw for a program: its pool (the members who answered a quiz right,
   who commented in a room within a time window, or who donated to a campaign: one entry per
   member), how many winners and backups, and the claim period. The pool is frozen then, a seed
   is made by the server (nobody chooses it), and the pool's hash and the seed's commitment are
   published at once (`draw` to the program's room, `GET /api/events/draws/{id}`, and the pool
   itself at `.../pool`). A draw is prepared once: preparing again is a new draw, in the open.
2. The producer runs it: the winners and backups are picked from the seed and the pool, and the
   seed is published with them; `innotv events verify-draw` recomputes them from the proof.
3. Winners are shown masked (홍*동). Only winners are asked for contact details, with consent;
   the details are deleted when the claim period ends (a sweep every minute, by the server's
   clock).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from datetime import timedelta
from typing import Any

from kernel.clock import Clock
from kernel.errors import ApiError

from . import fairdraw
from .members import new_id
from .moments import iso, now_ms, to_ms
from .ports import Programs, Rooms
from .store import Claim, Draw, EventsStore
from .validate import ident, text, when

log = logging.getLogger("innotv.events.draws")

MAX_POOL = 2_000_000
MAX_WINNERS = 1000
SWEEP_EVERY = timedelta(minutes=1)
PHONE_RE = re.compile(r"^\+?[0-9][0-9 -]{6,19}$")
ROOM_RE = re.compile(r"^(program|hall):[A-Za-z0-9_-]{1,64}$")


class Draws:
    def __init__(self, store: EventsStore, programs: Programs, clock: Clock, max_claim_days: int) -> None:
        self.store = store
        self.programs = programs
        self.clock = clock
        self.max_claim_days = max_claim_days
        self.rooms: Rooms | None = None

    # ---- pools ----------------------------------------------------------------------------------
    async def pool_of(self, spec: object) -> tuple[dict[str, Any], list[str]]:
        """The pool's definition as stored, and its entries (member ids, unique)."""
        if not isinstance(spec, dict):
            raise ApiError(400, "invalid_pool", "'pool' is an object with a 'kind'.")
        kind = spec.get("kind")
        if kind == "quiz" and set(spec) == {"kind", "quiz"}:
            quiz = await self.store.get_quiz(ident(spec["quiz"], "quiz"))
            if quiz is None:
                raise ApiError(404, "unknown_quiz", "There is no such quiz.")
            if not quiz.revealed:
                raise ApiError(409, "quiz_not_revealed", "Reveal the quiz before drawing from its answers.")
            answers = await self.store.quiz_answers(quiz.id)
            return {"kind": "quiz", "quiz": quiz.id}, [m for m, c in answers.items() if c == quiz.answer]
        if kind == "comments" and set(spec) == {"kind", "room", "from", "to"}:
            room = spec["room"]
            if not isinstance(room, str) or not ROOM_RE.fullmatch(room):
                raise ApiError(400, "invalid_room", "'room' is 'program:<id>' or 'hall:<id>'.")
            start, end = when(spec["from"], "from"), when(spec["to"], "to")
            if end <= start:
                raise ApiError(400, "invalid_to", "'to' comes after 'from'.")
            members = await self.store.active_members(room, to_ms(start), to_ms(end))
            return {
                "kind": "comments",
                "room": room,
                "from": iso(to_ms(start)),
                "to": iso(to_ms(end)),
            }, members
        if kind == "donors" and set(spec) == {"kind", "campaign"}:
            campaign = ident(spec["campaign"], "campaign")
            if await self.store.get_campaign(campaign) is None:
                raise ApiError(404, "unknown_campaign", "There is no such campaign.")
            return {"kind": "donors", "campaign": campaign}, await self.store.donors(campaign)
        raise ApiError(
            400,
            "invalid_pool",
            "'pool' is {kind: quiz, quiz} | {kind: comments, room, from, to} | {kind: donors, campaign}.",
        )

    # ---- the draw -------------------------------------------------------------------------------
    async def prepare(
        self, program_id: str, title: str, spec: object, winners: int, backups: int, claim_days: int
    ) -> Draw:
        await self.programs.require(program_id)
        if not 1 <= claim_days <= self.max_claim_days:
            raise ApiError(400, "invalid_claim_days", f"'claim_days' is 1 to {self.max_claim_days}.")
        pool_spec, raw_entries = await self.pool_of(spec)
        # up to MAX_POOL entries sorted and hashed: a tenth of a second of CPU, off the event loop
        entries, pool_hash = await asyncio.to_thread(_sorted_and_hashed, raw_entries)
        if not entries:
            raise ApiError(409, "empty_pool", "Nobody is in this pool yet.")
        if len(entries) > MAX_POOL:
            raise ApiError(409, "pool_too_large", f"A pool holds at most {MAX_POOL} entries.")
        seed = secrets.token_hex(32)
        draw = Draw(
            new_id("d_"),
            program_id,
            title,
            json.dumps(pool_spec, ensure_ascii=False),
            winners,
            backups,
            len(entries),
            pool_hash,
            fairdraw.commitment(seed),
            seed,
            now_ms(self.clock),
            claim_days,
        )
        await self.store.create_draw(draw, entries)
        await self._emit(draw)
        return draw

    async def require(self, draw_id: str) -> Draw:
        draw = await self.store.get_draw(draw_id)
        if draw is None:
            raise ApiError(404, "unknown_draw", "There is no such draw.")
        return draw

    async def run(self, draw_id: str) -> Draw:
        draw = await self.require(draw_id)
        if draw.drawn:
            raise ApiError(409, "already_drawn", "This draw has been drawn already.")
        entries = await self.store.draw_pool(draw_id)
        picked = await asyncio.to_thread(
            fairdraw.pick, draw.seed, entries, draw.winners_wanted + draw.backups_wanted)
        winners, backups = picked[: draw.winners_wanted], picked[draw.winners_wanted :]
        if not await self.store.set_drawn(draw_id, winners, backups, now_ms(self.clock)):
            raise ApiError(409, "already_drawn", "This draw has been drawn already.")
        drawn = await self.require(draw_id)
        log.info("draw drawn", extra={"draw": draw_id, "pool": drawn.pool_size, "winners": len(winners)})
        await self._emit(drawn)
        return drawn

    async def _names(self, members: tuple[str, ...]) -> list[dict[str, str]]:
        out = []
        for member_id in members:
            member = await self.store.get_member(member_id)
            out.append({"entry": member_id, "name": fairdraw.mask(member.nickname) if member else "*"})
        return out

    async def public(self, draw: Draw, member: str | None = None) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": draw.id,
            "program": draw.program,
            "title": draw.title,
            "pool": json.loads(draw.pool),
            "winners_wanted": draw.winners_wanted,
            "backups_wanted": draw.backups_wanted,
            "pool_size": draw.pool_size,
            "pool_hash": draw.pool_hash,
            "commitment": draw.commitment,
            "prepared_at": iso(draw.created_ms),
            "claim_days": draw.claim_days,
            "state": "drawn" if draw.drawn else "committed",
        }
        if draw.drawn:
            view.update(
                seed=draw.seed,
                drawn_at=iso(draw.drawn_ms),
                claim_until=iso(draw.claim_until_ms),
                winners=await self._names(draw.winners),
                backups=await self._names(draw.backups),
            )
        if member is not None:
            view["you"] = {
                "entry": member,
                "result": "winner"
                if member in draw.winners
                else "backup"
                if member in draw.backups
                else None,
            }
            if member in draw.winners:
                view["you"]["claimed"] = any(c.member == member for c in await self.store.claims(draw.id))
        return view

    async def _emit(self, draw: Draw) -> None:
        if self.rooms is not None:
            room = f"program:{draw.program}"
            await self.rooms.emit(room, "draw", {**await self.public(draw), "room": room})

    async def proof(self, draw_id: str) -> dict[str, Any]:
        draw = await self.require(draw_id)
        view = await self.public(draw)
        view["entries"] = await self.store.draw_pool(draw_id)
        if draw.drawn:
            view["winner_entries"] = list(draw.winners)
            view["backup_entries"] = list(draw.backups)
        return view

    # ---- claims ---------------------------------------------------------------------------------
    async def claim(self, member: str, draw_id: str, body: dict[str, Any]) -> dict[str, Any]:
        draw = await self.require(draw_id)
        if member not in draw.winners:
            raise ApiError(403, "not_a_winner", "Only this draw's winners leave contact details.")
        if now_ms(self.clock) >= draw.claim_until_ms:
            raise ApiError(409, "claim_closed", "The claim period of this draw is over.")
        if body.get("consent") is not True:
            raise ApiError(400, "consent_required", "Agree to the use of your contact details for the prize.")
        name = text(body.get("name"), "name", 40)
        phone = body.get("phone")
        if not isinstance(phone, str) or not PHONE_RE.fullmatch(phone.strip()):
            raise ApiError(400, "invalid_phone", "Give a phone number of 7-20 digits.")
        contact = json.dumps({"name": name, "phone": phone.strip()}, ensure_ascii=False)
        await self.store.put_claim(Claim(draw_id, member, contact, now_ms(self.clock), draw.claim_until_ms))
        return {"claimed": True, "deleted_after": iso(draw.claim_until_ms)}

    async def claims(self, draw_id: str) -> list[dict[str, Any]]:
        await self.require(draw_id)
        out = []
        for claim in await self.store.claims(draw_id):
            out.append(
                {
                    "entry": claim.member,
                    **json.loads(claim.contact),
                    "consented_at": iso(claim.consented_at_ms),
                    "deleted_after": iso(claim.expires_ms),
                }
            )
        return out

    async def sweep_forever(self) -> None:
        """Delete contact details whose claim period ended, every minute by the server's clock."""
        while True:
            try:
                deleted = await self.store.delete_expired_claims(now_ms(self.clock))
                if deleted:
                    log.info("contact details deleted after their claim period", extra={"count": deleted})
            except Exception:
                log.warning("sweeping expired claims failed", exc_info=True)
            await self.clock.sleep_until(self.clock.now() + SWEEP_EVERY)


def _sorted_and_hashed(entries: list[str]) -> tuple[list[str], str]:
    """The pool as it is published: its entries once each, sorted, and their hash."""
    unique = sorted(set(entries))
    return unique, fairdraw.pool_hash(unique)
