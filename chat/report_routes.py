"""A program's numbers for producers: `GET /api/programs/{id}/stats` (live, the last 3 hours, the
desk polls it) and `GET /api/programs/{id}/report` / `report.csv` (everything kept for the
program: its peak and unique viewers, watch time, and per minute the most viewers at once, chat
messages and hearts). The numbers stay in the store after the program ends."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web

from kernel.identity import Gate

if TYPE_CHECKING:
    from .service import ChatService

SEOUL = ZoneInfo("Asia/Seoul")
STATS_MINUTES = 180
# A report lists every minute between its first and last (at most a day: 12 h programs, a lobby).
REPORT_MAX_MINUTES = 24 * 60


async def _numbers(service: ChatService, room: str, since_minute: int) -> dict[str, Any]:
    from .service import minute_of, now_ms

    minute = minute_of(now_ms())
    rows = await service.stores.counters.per_minute(room, since_minute)
    total, this_minute = await service.stores.counters.hearts(room, minute)
    audience = await service.stores.audience.audience(room)
    state = service.cached(room)
    now_row = next((r for r in rows if r["minute"] == minute), None)
    return {
        "room": room,
        "viewers": service.viewers(state) if state else 0,
        "peak_viewers": audience.peak,
        "unique_viewers": audience.unique,
        "watch_seconds": audience.watch_seconds,
        "watch_minutes": round(audience.watch_seconds / 60, 2),
        "hearts_total": total,
        "hearts_this_minute": this_minute,
        "messages_this_minute": now_row["messages"] if now_row else 0,
        "per_minute": [
            {"minute": r["minute"] * 60, "viewers": r.get("viewers", 0), "messages": r["messages"],
             "hearts": r["hearts"]}
            for r in rows
        ],
    }


def _every_minute(rows: list[dict[str, int]]) -> list[dict[str, int]]:
    """The report's rows without gaps: a minute with nothing is a row of zeros."""
    if not rows:
        return []
    by_minute = {r["minute"]: r for r in rows}
    first = rows[0]["minute"]
    last = min(rows[-1]["minute"], first + 60 * (REPORT_MAX_MINUTES - 1))
    return [by_minute.get(m, {"minute": m, "viewers": 0, "messages": 0, "hearts": 0})
            for m in range(first, last + 60, 60)]


def _csv(report: dict[str, Any]) -> str:
    """Per minute (Seoul time), then the totals after an empty line. Only numbers and times:
    no user text goes into the file (nothing a spreadsheet could run as a formula)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["minute (Asia/Seoul)", "viewers", "messages", "hearts"])
    for row in report["per_minute"]:
        when = datetime.fromtimestamp(row["minute"], SEOUL).strftime("%Y-%m-%d %H:%M")
        writer.writerow([when, row["viewers"], row["messages"], row["hearts"]])
    writer.writerow([])
    writer.writerow(["measure", "value"])
    for name in ("peak_viewers", "unique_viewers", "watch_minutes", "messages_total", "hearts_total"):
        writer.writerow([name, report[name]])
    return out.getvalue()


def setup_report_routes(app: web.Application, service: ChatService, gate: Gate) -> None:
    async def program_room(request: web.Request) -> tuple[str, dict[str, Any]]:
        await gate.require(request, "producer")
        program = await service.programs.require(request.match_info["id"])
        return f"program:{program.id}", program.public()

    async def stats(request: web.Request) -> web.Response:
        from .service import minute_of, now_ms

        room, program = await program_room(request)
        numbers = await _numbers(service, room, minute_of(now_ms()) - STATS_MINUTES)
        return web.json_response({"program_id": program["id"], **numbers},
                                 headers={"Cache-Control": "no-store"})

    async def report(request: web.Request) -> dict[str, Any]:
        room, program = await program_room(request)
        numbers = await _numbers(service, room, 0)
        numbers["per_minute"] = _every_minute(numbers["per_minute"])
        numbers["messages_total"] = sum(r["messages"] for r in numbers["per_minute"])
        return {"program": program, **numbers}

    async def report_json(request: web.Request) -> web.Response:
        return web.json_response(await report(request), headers={"Cache-Control": "no-store"})

    async def report_csv(request: web.Request) -> web.Response:
        body = await report(request)
        name = f"innotv-report-{body['program']['id']}.csv"
        return web.Response(
            text=_csv(body), content_type="text/csv", charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"',
                     "Cache-Control": "no-store"},
        )

    app.router.add_get("/api/programs/{id}/stats", stats)
    app.router.add_get("/api/programs/{id}/report", report_json)
    app.router.add_get("/api/programs/{id}/report.csv", report_csv)
