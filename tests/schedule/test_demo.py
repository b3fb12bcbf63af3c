"""`--demo`: the current year's expo lineup plus a program that is live right after startup,
shortened or skipped (never a crash) when the lineup is in the way."""

from __future__ import annotations

from innotv.config import Config
from kernel.clock import ManualClock
from tests.helpers import running_server, with_settings

from .util import lineup, seoul


async def test_demo_program_is_live_now_and_idempotent(config: Config) -> None:
    demo = with_settings(config, demo=True)
    clock = ManualClock(seoul(2026, 11, 26, 10, 17, 42))
    async with running_server(demo, clock=clock) as server:
        programs = {p["id"]: p for p in await lineup(server.client())}
    assert len(programs) == 12 and "expo-2026-11-26" in programs
    live = programs["demo"]
    assert live["title"] == "혁신TV 데모 방송"
    assert (live["title_en"], live["state"]) == ("Innovation TV demo broadcast", "live")
    assert (live["starts_at"], live["ends_at"]) == ("2026-11-26T10:17:00+09:00", "2026-11-26T12:17:00+09:00")
    # A restart keeps the same demo program and lineup.
    async with running_server(demo, clock=clock) as server:
        again = {p["id"]: p for p in await lineup(server.client())}
    assert again == programs


async def test_demo_program_is_shortened_or_skipped(config: Config) -> None:
    demo = with_settings(config, demo=True)
    async with running_server(demo, clock=ManualClock(seoul(2026, 12, 2, 13, 0, 5))) as server:
        programs = {p["id"]: p for p in await lineup(server.client())}
    assert programs["demo"]["ends_at"] == "2026-12-02T14:00:00+09:00"  # the competition starts then
    assert programs["demo"]["state"] == "live"
    # Later, while the competition is on air, the old demo is ended and no new one fits.
    async with running_server(demo, clock=ManualClock(seoul(2026, 12, 2, 14, 30))) as server:
        programs = {p["id"]: p for p in await lineup(server.client())}
        async with server.client().get("/api/programs/current") as r:
            assert (await r.json())["id"] == "expo-2026-12-02"
    assert "demo" not in programs
    assert programs["expo-2026-12-02"]["state"] == "live"
