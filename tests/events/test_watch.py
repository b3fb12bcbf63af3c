"""Watch credit on both stores, on the server's manual clock: a beat after a minute of playing,
visible video earns the program's per-minute mileage up to its cap; a beat too early, a replayed
or forged token, a second window's old stream, or a program not live earns nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp

from kernel.clock import ManualClock
from tests.helpers import Server

from .conftest import live_program, me, sign_up
from .test_earning import set_rules

MINUTE = timedelta(seconds=60)


async def post(client: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with client.post(path, json=body) as r:
        return r.status, await r.json()


async def beat(client: aiohttp.ClientSession, token: str, watched_s: int = 60) -> tuple[int, dict[str, Any]]:
    return await post(client, "/api/events/watch/beat", {"token": token, "watched_s": watched_s})


async def test_minutes_watched_earn_up_to_the_cap(server: Server, clock: ManualClock) -> None:
    program = await live_program(server, clock)
    await set_rules(server, program, watch_per_minute=3, watch_cap=7)
    client = await sign_up(server, "watcher@example.kr")
    status, started = await post(client, "/api/events/watch/start", {"program": program})
    assert status == 200 and started["interval_s"] == 60
    token = started["token"]

    status, early = await beat(client, token)
    assert (status, early["error"]["code"]) == (429, "too_soon")
    earned = []
    for _ in range(4):
        await clock.advance(MINUTE)
        status, answer = await beat(client, token)
        assert status == 200, answer
        earned.append(answer["earned"])
        token = answer["token"]
    assert earned == [3, 3, 1, 0]  # the program's cap is 7
    assert (await me(client))["balance"] == 7


async def test_replayed_forged_and_superseded_beats_earn_nothing(server: Server, clock: ManualClock) -> None:
    program = await live_program(server, clock)
    client = await sign_up(server, "cheat@example.kr")
    _, first = await post(client, "/api/events/watch/start", {"program": program})
    await clock.advance(MINUTE)
    status, answer = await beat(client, first["token"])
    assert status == 200 and answer["earned"] == 1
    await clock.advance(MINUTE)
    status, replay = await beat(client, first["token"])
    assert (status, replay["error"]["code"]) == (409, "stale_token")
    status, forged = await beat(client, answer["token"][:-3] + "AAA")
    assert (status, forged["error"]["code"]) == (400, "invalid_token")
    status, short = await beat(client, answer["token"], watched_s=20)
    assert (status, short["error"]["code"]) == (400, "invalid_watched_s")
    # the same member starts watching in another window: the first window's stream stops earning
    _, second = await post(client, "/api/events/watch/start", {"program": program})
    status, old = await beat(client, answer["token"])
    assert (status, old["error"]["code"]) == (409, "stale_token")
    await clock.advance(MINUTE)
    status, fresh = await beat(client, second["token"])
    assert status == 200 and fresh["earned"] == 1
    other = await sign_up(server, "other@example.kr")
    status, theirs = await beat(other, fresh["token"])
    assert (status, theirs["error"]["code"]) == (400, "invalid_token")
    assert (await me(client))["balance"] == 2


async def test_only_a_live_program_earns(server: Server, clock: ManualClock) -> None:
    producer = await server.producer()
    later = {
        "title": "내일 방송",
        "kind": "live",
        "starts_at": (clock.now() + timedelta(days=1)).isoformat(),
        "ends_at": (clock.now() + timedelta(days=1, hours=1)).isoformat(),
    }
    async with producer.post("/api/programs", json=later) as r:
        upcoming = (await r.json())["id"]
    client = await sign_up(server, "early@example.kr")
    status, refused = await post(client, "/api/events/watch/start", {"program": upcoming})
    assert (status, refused["error"]["code"]) == (409, "not_live")
    status, _ = await post(client, "/api/events/watch/start", {"program": "nope"})
    assert status == 404
    status, bad = await post(client, "/api/events/watch/start", {"program": "../x"})
    assert (status, bad["error"]["code"]) == (400, "invalid_program")
