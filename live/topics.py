"""The live slice's own bus topics: simulcast destinations changed, a program's media wanted
by another process on the same data directory."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.bus import Topic


@dataclass(frozen=True)
class SimulcastChanged:
    program_id: str


@dataclass(frozen=True)
class MediaWanted:
    """Another process has a publisher for this program: let go of it if nobody publishes here."""

    program_id: str


SIMULCAST_CHANGED = Topic("live.simulcast", SimulcastChanged)
MEDIA_WANTED = Topic("live.media-wanted", MediaWanted)
