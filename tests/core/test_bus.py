"""The bus, on both backends (in-process, Redis pub/sub): typed events, each handler in publish
order, and handlers that never wait on each other."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from kernel.bus import LocalBus, Topic
from tests.helpers import Server


@dataclass(frozen=True)
class Step:
    state: str


@dataclass(frozen=True)
class Chatter:
    n: int


STEPS = Topic("test.steps", Step)
CHATTER = Topic("test.chatter", Chatter, channel="chat")


async def test_an_event_published_by_a_handler_does_not_overtake(server: Server) -> None:
    bus = server.parts.kernel.bus
    seen: dict[str, list[str]] = {"first": [], "second": []}
    done = asyncio.Event()

    async def answers_ended(event: Step) -> None:
        seen["first"].append(event.state)
        if event.state == "ended":
            await bus.publish(STEPS, Step("replay"))

    async def records(event: Step) -> None:
        seen["second"].append(event.state)
        if event.state == "replay":
            done.set()

    bus.subscribe(STEPS, answers_ended)
    bus.subscribe(STEPS, records)
    await bus.publish(STEPS, Step("ended"))
    await asyncio.wait_for(done.wait(), 5)
    assert seen["second"] == ["ended", "replay"]
    assert seen["first"] == ["ended", "replay"]


async def test_a_slow_handler_holds_up_nobody_else(server: Server) -> None:
    """A handler busy with one event (live finalising a replay) delays neither the other handlers
    of that topic nor another channel's traffic (the chat's relay)."""
    bus = server.parts.kernel.bus
    release = asyncio.Event()
    slow_seen: list[str] = []
    fast_seen: list[str] = []
    chatter: list[int] = []
    fast_done, chatter_done = asyncio.Event(), asyncio.Event()

    async def slow(event: Step) -> None:
        slow_seen.append(event.state)
        await release.wait()

    async def fast(event: Step) -> None:
        fast_seen.append(event.state)
        if len(fast_seen) == 3:
            fast_done.set()

    async def relay(event: Chatter) -> None:
        chatter.append(event.n)
        if len(chatter) == 20:
            chatter_done.set()

    bus.subscribe(STEPS, slow)
    bus.subscribe(STEPS, fast)
    bus.subscribe(CHATTER, relay)
    for state in ("live", "ended", "replay"):
        await bus.publish(STEPS, Step(state))
    for n in range(20):
        await bus.publish(CHATTER, Chatter(n))
    await asyncio.wait_for(asyncio.gather(fast_done.wait(), chatter_done.wait()), 5)
    assert fast_seen == ["live", "ended", "replay"] and chatter == list(range(20))
    assert slow_seen == ["live"]  # still on its first event, and nobody waited for it
    release.set()


async def test_two_topics_may_not_share_a_name() -> None:
    bus = LocalBus()

    async def ignore(_event: Step) -> None:
        return None

    bus.subscribe(STEPS, ignore)
    with pytest.raises(ValueError, match=r"test\.steps"):
        await bus.publish(Topic("test.steps", Chatter), Chatter(1))


def test_a_malformed_event_does_not_decode() -> None:
    assert STEPS.decode({"state": "live"}) == Step("live")
    for bad in ({"state": "live", "extra": 1}, {}, ["live"], "live", None):
        with pytest.raises(ValueError):
            STEPS.decode(bad)
