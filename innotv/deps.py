"""What the app factory hands to each domain's `setup(app, deps)`: config, clock, store, bus, auth.

Nothing here is global: `create_app` builds one `Deps` per application and passes it down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .backend import Backend
from .bus import Bus
from .clock import Clock
from .config import Config
from .metrics import Metrics

if TYPE_CHECKING:
    from .auth import Auth


@dataclass
class Deps:
    config: Config
    clock: Clock
    backend: Backend
    bus: Bus
    auth: Auth
    metrics: Metrics
    # Domain services other domains may use, registered by name in setup order
    # (e.g. "programs" -> schedule's ProgramService). Filled by the domains themselves.
    services: dict[str, Any] = field(default_factory=dict)
