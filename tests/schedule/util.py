"""Helpers for the schedule tests: programs at given Seoul times, and lineup snapshots."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import aiohttp

from schedule.model import SEOUL, Program


def seoul(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SEOUL)


def program(pid: str, start: datetime, minutes: float = 60, **fields: Any) -> Program:
    values: dict[str, Any] = {"title": f"프로그램 {pid}", "kind": "live"}
    values.update(fields)
    return Program(id=pid, starts_at=start, ends_at=start + timedelta(minutes=minutes), **values)


def body(start: datetime, minutes: float = 60, **fields: Any) -> dict[str, Any]:
    """A POST body for a program starting at `start`."""
    values: dict[str, Any] = {
        "title": "혁신 토크",
        "kind": "live",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(minutes=minutes)).isoformat(),
    }
    values.update(fields)
    return values


async def lineup(client: aiohttp.ClientSession) -> list[dict[str, Any]]:
    async with client.get("/api/programs") as r:
        assert r.status == 200, await r.text()
        data = await r.json()
    programs: list[dict[str, Any]] = data["programs"]
    return programs
