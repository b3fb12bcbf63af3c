"""The events slice's own bus topics: a campaign's new total, heard by every process so that each
moves the thermometer of the viewers connected to it; and a viewer newly linked to a member, so
that every process forgets it had found that viewer to be no member."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.bus import Topic


@dataclass(frozen=True)
class CampaignTotal:
    campaign: str
    total: int
    donors: int


CAMPAIGN_TOTAL = Topic("events.campaign", CampaignTotal, channel="chat")


@dataclass(frozen=True)
class ViewerLinked:
    viewer: str


VIEWER_LINKED = Topic("events.viewer_linked", ViewerLinked, channel="chat")
