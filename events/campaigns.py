"""Donation campaigns and the thermometer.

A producer creates a campaign (title, beneficiary, goal, dates). A member donates part or all of
their balance while it runs: one ledger write that checks the balance and adds to the total in
the same atomic step, with the page's `request_id` as idempotency key (a retried request after a
lost answer donates once). The new total goes out on the bus (`events.campaign`); every process
keeps the highest total it has heard per campaign (totals only grow) and sends `campaign` to the
program rooms of its own viewers: at once after a quiet window, then at most once per
`events_thermometer_ms`, so a burst of donations moves the thermometer once per window and
everyone sees it within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from kernel.bus import Bus
from kernel.clock import Clock
from kernel.errors import ApiError

from .members import new_id
from .moments import iso, now_ms
from .ports import Rooms
from .store import Campaign, DonationResult, EventsStore
from .topics import CAMPAIGN_TOTAL, CampaignTotal

REFUSALS = {
    "insufficient_mileage": (409, "You have less mileage than that."),
    "nothing_to_donate": (409, "You have no mileage to donate yet."),
    "unknown_campaign": (404, "There is no such campaign."),
}


class Campaigns:
    def __init__(self, store: EventsStore, bus: Bus, clock: Clock, thermometer_ms: int) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self.rooms: Rooms | None = None
        self.window_s = thermometer_ms / 1000
        self._heard: dict[str, CampaignTotal] = {}
        self._dirty: set[str] = set()
        self._flush: asyncio.TimerHandle | None = None
        self._sent_at = float("-inf")
        self._cache: dict[str, Campaign] = {}

    def subscribe(self) -> None:
        self.bus.subscribe(CAMPAIGN_TOTAL, self._on_total)

    def stop(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None

    async def create(self, title: str, beneficiary: str, goal: int, starts_ms: int, ends_ms: int) -> Campaign:
        if ends_ms <= starts_ms:
            raise ApiError(400, "invalid_ends_at", "A campaign ends after it starts.")
        if ends_ms <= now_ms(self.clock):
            raise ApiError(400, "invalid_ends_at", "A campaign cannot end in the past.")
        campaign = Campaign(new_id("c_"), title, beneficiary, goal, starts_ms, ends_ms, now_ms(self.clock))
        await self.store.create_campaign(campaign)
        return campaign

    def state(self, campaign: Campaign) -> str:
        now = now_ms(self.clock)
        if now < campaign.starts_at_ms:
            return "upcoming"
        return "open" if now < campaign.ends_at_ms else "closed"

    def public(self, campaign: Campaign, total: int, donors: int) -> dict[str, Any]:
        return {
            "id": campaign.id,
            "title": campaign.title,
            "beneficiary": campaign.beneficiary,
            "goal": campaign.goal,
            "total": total,
            "donors": donors,
            "starts_at": iso(campaign.starts_at_ms),
            "ends_at": iso(campaign.ends_at_ms),
            "state": self.state(campaign),
        }

    async def listing(self) -> list[dict[str, Any]]:
        out = []
        for campaign in await self.store.list_campaigns():
            total, donors = await self.store.campaign_total(campaign.id)
            out.append(self.public(campaign, total, donors))
        return out

    async def require(self, campaign_id: str) -> Campaign:
        campaign = self._cache.get(campaign_id) or await self.store.get_campaign(campaign_id)
        if campaign is None:
            raise ApiError(404, "unknown_campaign", "There is no such campaign.")
        self._cache[campaign_id] = campaign
        return campaign

    async def donate(
        self, member: str, campaign_id: str, amount: int | None, request_id: str
    ) -> DonationResult:
        campaign = await self.require(campaign_id)
        if self.state(campaign) != "open":
            raise ApiError(409, "campaign_closed", "This campaign is not taking donations now.")
        result = await self.store.donate(
            member, campaign_id, amount, f"{member}:donate:{request_id}", now_ms(self.clock)
        )
        if result.refused is not None:
            status, message = REFUSALS[result.refused]
            raise ApiError(status, result.refused, message, details={"balance": result.balance})
        if not result.duplicate:
            await self.bus.publish(
                CAMPAIGN_TOTAL, CampaignTotal(campaign_id, result.campaign_total, result.donors)
            )
        return result

    # ---- the thermometer ------------------------------------------------------------------------
    async def _on_total(self, event: CampaignTotal) -> None:
        heard = self._heard.get(event.campaign)
        if heard is not None and heard.total >= event.total:
            return
        self._heard[event.campaign] = event
        self._dirty.add(event.campaign)
        if self._flush is not None:
            return  # goes out with the send already planned
        loop = asyncio.get_running_loop()
        wait = self._sent_at + self.window_s - loop.time()
        if wait <= 0:
            self._send()  # the first total after a quiet window goes out at once
        else:
            self._flush = loop.call_later(wait, self._send)

    def _send(self) -> None:
        self._flush = None
        self._sent_at = asyncio.get_running_loop().time()
        dirty, self._dirty = self._dirty, set()
        if self.rooms is None:
            return
        for campaign_id in dirty:
            heard = self._heard[campaign_id]
            campaign = self._cache.get(campaign_id)
            payload: dict[str, Any] = {"id": campaign_id, "total": heard.total, "donors": heard.donors}
            if campaign is not None:
                payload["goal"] = campaign.goal
            with contextlib.suppress(Exception):
                self.rooms.broadcast_local("program:", "campaign", payload)
