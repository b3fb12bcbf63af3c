"""`--demo`: the generated test source is broadcast into the program on the air (the program
"demo", or an expo program when one is on at that hour), whatever the day and hour."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kernel.clock import ManualClock
from live.font import age_ms, read_bits
from live.source import wall_ms
from tests.helpers import running_server

from .support import decode, get_bytes, get_text, maps, segments, small_config, wait_for


async def test_demo_broadcasts_generated_source(tmp_path: Path) -> None:
    async with running_server(small_config(tmp_path, demo=True)) as server:
        client = server.client()
        async with client.get("/api/programs/current") as r:
            on_air = await r.json()
        assert on_air["state"] == "live", on_air
        rung = f"/hls/{on_air['id']}/120p"

        async def playlist() -> str | None:
            status, text, _ = await get_text(client, f"{rung}/live.m3u8")
            return text if status == 200 and segments(text) else None

        text = await wait_for(playlist, within=30, what="demo segments")
        frames, audio = decode(await get_bytes(client, f"{rung}/{maps(text)[-1]}"),
                               await get_bytes(client, f"{rung}/{segments(text)[-1]}"))
        assert frames[0].height == 120 and audio > 0
        assert age_ms(read_bits(frames[0]), wall_ms()) < 15_000


async def test_demo_plays_into_the_expo_program_on_the_air(tmp_path: Path) -> None:
    """At 14:30 on 2 Dec the competition is on: the demo adds no program and plays there, so the
    first page shows video at any hour (this once failed between 14:00 and 15:00 Seoul time)."""
    clock = ManualClock(datetime(2026, 12, 2, 5, 30, tzinfo=UTC))  # 14:30 in Seoul
    async with running_server(small_config(tmp_path, demo=True), clock=clock) as server:
        client = server.client()
        async with client.get("/api/programs/current") as r:
            assert (await r.json())["id"] == "expo-2026-12-02"

        async def playlist() -> str | None:
            status, text, _ = await get_text(client, "/hls/expo-2026-12-02/120p/live.m3u8")
            return text if status == 200 and segments(text) else None

        await wait_for(playlist, within=30, what="the test source in the competition")


async def test_a_first_start_after_shows_have_ended_logs_no_error(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A newcomer's first `serve --demo` on a fresh data directory, on a day when earlier shows
    have ended: every program that ends at startup reaches the slices (replays, captions,
    simulcast) only after their stores exist, and the demo plays (this once logged "no such
    table" errors and left the demo off the air)."""
    caplog.set_level(logging.ERROR)
    clock = ManualClock(datetime(2026, 12, 1, 6, 19, tzinfo=UTC))  # 15:19 in Seoul, day 8
    async with running_server(small_config(tmp_path, demo=True), clock=clock) as server:
        client = server.client()
        async with client.get("/api/programs/current") as r:
            on_air = await r.json()
        assert on_air["state"] == "live", on_air

        async def playlist() -> str | None:
            status, text, _ = await get_text(client, f"/hls/{on_air['id']}/120p/live.m3u8")
            return text if status == 200 and segments(text) else None

        await wait_for(playlist, within=30, what="the demo on the air")
        async with client.get("/api/programs") as r:
            ended = [p for p in (await r.json())["programs"] if p["state"] == "ended"]
        assert len(ended) >= 8
    errors = [f"{r.name}: {r.getMessage()} {r.exc_text or ''}" for r in caplog.records
              if r.levelno >= logging.ERROR]
    assert errors == []
