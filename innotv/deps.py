"""What the app factory hands to each domain's `setup(app, deps)`: config, clock, store, bus, auth.

Nothing here is global: `create_app` builds one `Deps` per application and passes it down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .auth import Auth
from .auth_store import make_auth_store
from .backend import Backend
from .bus import Bus, LocalBus, RedisBus
from .clock import Clock, SystemClock
from .config import Config
from .metrics import Metrics


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


def build_deps(config: Config, clock: Clock | None = None) -> Deps:
    """Everything a domain may be handed, built once per application (or CLI command)."""
    backend = Backend.from_config(config)
    bus: Bus
    if backend.redis is not None:
        bus = RedisBus(backend.redis, backend.key("bus"))
    else:
        bus = LocalBus()
    return Deps(
        config=config,
        clock=clock or SystemClock(),
        backend=backend,
        bus=bus,
        auth=Auth(make_auth_store(backend), config),
        metrics=Metrics(),
    )
