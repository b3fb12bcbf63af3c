"""The kernel's parts bundled for the slices: settings, clock, store connections, bus, metrics.

`build_kernel` makes one per application (or CLI command); `open`/`close` connect and disconnect
the store and the bus. Nothing here is global.
"""

from __future__ import annotations

from dataclasses import dataclass

from .bus import Bus, LocalBus, RedisBus
from .clock import Clock, SystemClock
from .metrics import Metrics
from .settings import CoreSettings
from .storage import Backend


@dataclass
class Kernel:
    settings: CoreSettings
    clock: Clock
    backend: Backend
    bus: Bus
    metrics: Metrics

    async def open(self) -> None:
        await self.backend.open()
        await self.bus.start()

    async def close(self) -> None:
        await self.bus.close()
        await self.backend.close()


def build_kernel(settings: CoreSettings, clock: Clock | None = None) -> Kernel:
    backend = Backend.from_settings(settings)
    bus: Bus
    if backend.redis is not None:
        bus = RedisBus(backend.redis, backend.key("bus"))
    else:
        bus = LocalBus()
    return Kernel(settings, clock or SystemClock(), backend, bus, Metrics())
