"""The events slice's own bus topic: a campaign's new total, heard by every process so that each
moves the thermometer of the viewers connected to it."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.bus import Topic


@dataclass(frozen=True)
class CampaignTotal:
    campaign: str
    total: int
    donors: int


CAMPAIGN_TOTAL = Topic("events.campaign", CampaignTotal, channel="chat")
