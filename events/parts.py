"""The events slice's parts, built once per app (`events.build`) and handed to its routes."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.clock import Clock

from .campaigns import Campaigns
from .draws import Draws
from .members import Members
from .mileage import Mileage
from .quiz import Quizzes
from .settings import EventsSettings
from .store import EventsStore
from .watch import WatchCredit


@dataclass(frozen=True)
class EventsParts:
    settings: EventsSettings
    store: EventsStore
    clock: Clock
    members: Members
    mileage: Mileage
    watch: WatchCredit
    campaigns: Campaigns
    quizzes: Quizzes
    draws: Draws
