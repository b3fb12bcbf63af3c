"""The bus delivers events in publish order, also when a handler publishes while handling one."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.helpers import Server


async def test_an_event_published_by_a_handler_does_not_overtake(server: Server) -> None:
    bus = server.deps.bus
    seen: dict[str, list[str]] = {"first": [], "second": []}
    done = asyncio.Event()

    async def answers_ended(payload: dict[str, Any]) -> None:
        seen["first"].append(payload["state"])
        if payload["state"] == "ended":
            await bus.publish("order-test", {"state": "replay"})

    async def records(payload: dict[str, Any]) -> None:
        seen["second"].append(payload["state"])
        if payload["state"] == "replay":
            done.set()

    bus.subscribe("order-test", answers_ended)
    bus.subscribe("order-test", records)
    await bus.publish("order-test", {"state": "ended"})
    await asyncio.wait_for(done.wait(), 5)
    assert seen["second"] == ["ended", "replay"]
    assert seen["first"] == ["ended", "replay"]
