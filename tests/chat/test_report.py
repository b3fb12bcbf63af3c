"""A program's numbers are kept after it ends: peak and unique viewers, watch time and each
minute's viewers, messages and hearts, as JSON and CSV for producers; hosts' and producers'
connections are not viewers. Run on both stores, across a restart of the server."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from innotv.config import Config
from kernel.clock import ManualClock
from tests.chat.clients import host, producer, viewer
from tests.chat.conftest import close_all
from tests.helpers import Server, running_server

START = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)  # 13:00 in Seoul
STARTS_AT = START + timedelta(hours=1)


async def _program(server: Server) -> dict[str, Any]:
    prod = await server.producer()
    body = {"title": "2020 정부혁신 우수사례 경진대회", "kind": "live",
            "starts_at": STARTS_AT.isoformat(), "ends_at": (STARTS_AT + timedelta(hours=1)).isoformat()}
    async with prod.post("/api/programs", json=body) as r:
        assert r.status == 201, await r.text()
        program: dict[str, Any] = await r.json()
    return program


async def test_the_report_is_kept_after_the_program_ends(config: Config) -> None:
    clock = ManualClock(START)
    async with running_server(config, clock=clock) as server:
        try:
            program = await _program(server)
            pid, room = program["id"], f"program:{program['id']}"
            await clock.set(STARTS_AT + timedelta(minutes=1))
            await server.parts.schedule.scheduler.wait_pass(STARTS_AT + timedelta(minutes=1))
            first = await viewer(server)
            assert (await first.join(room))["program"]["state"] == "live"
            second = await viewer(server)
            staff = [await host(server), await producer(server)]
            for each in (second, *staff):
                await each.join(room)
            # Hosts and producers are in the room but are not viewers.
            await first.rec.wait_for("viewers", lambda d: d["count"] == 2)
            third = await viewer(server)
            await third.join(room)
            await first.rec.wait_for("viewers", lambda d: d["count"] == 3)
            assert (await first.call("chat", {"room": room, "text": "축하합니다"}))["ok"]
            assert (await second.call("heart", {"room": room, "count": 5}))["ok"]
            await first.rec.wait_for("hearts", lambda d: d["total"] == 5)
            seen = len(first.rec.all("viewers"))
            await third.close()
            await first.rec.wait_for(  # a count of 2 again, after the 3
                "viewers", lambda _d: any(e["count"] == 2 for e in first.rec.all("viewers")[seen:]))

            prod = await server.producer()
            async with prod.get(f"/api/programs/{pid}/stats") as r:
                live = await r.json()
            assert (live["viewers"], live["peak_viewers"], live["unique_viewers"]) == (2, 3, 3)
            # Counted in the (wall-clock) minute of its tick: this minute's row, or an earlier one
            # when a minute began since. Every row is in per_minute, this minute's included.
            assert sum(m["messages"] for m in live["per_minute"]) >= 1
            assert live["messages_this_minute"] in (0, live["per_minute"][-1]["messages"])

            await clock.set(STARTS_AT + timedelta(hours=1, minutes=1))
            await first.rec.wait_for("program", lambda d: d["state"] in ("ended", "replay"))
            late = await viewer(server)
            await late.join(room)  # a replay watcher: not a viewer of the live program
        finally:
            await close_all()

    async with running_server(config, clock=clock) as again:
        prod = await again.producer()
        async with prod.get(f"/api/programs/{pid}/report") as r:
            assert r.status == 200
            report = await r.json()
        assert report["program"]["id"] == pid and report["program"]["state"] in ("ended", "replay")
        assert (report["peak_viewers"], report["unique_viewers"]) == (3, 3)
        assert report["watch_seconds"] >= 1 and report["watch_minutes"] == round(
            report["watch_seconds"] / 60, 2)
        assert (report["messages_total"], report["hearts_total"]) == (1, 5)
        minutes = [row["minute"] for row in report["per_minute"]]
        assert minutes == list(range(minutes[0], minutes[-1] + 60, 60))  # one row per minute
        assert max(row["viewers"] for row in report["per_minute"]) == 3

        async with prod.get(f"/api/programs/{pid}/report.csv") as r:
            assert r.status == 200 and r.content_type == "text/csv"
            assert f'filename="innotv-report-{pid}.csv"' in r.headers["Content-Disposition"]
            rows = list(csv.reader(io.StringIO(await r.text())))
        assert rows[0] == ["minute (Asia/Seoul)", "viewers", "messages", "hearts"]
        blank = rows.index([])
        per_minute = rows[1:blank]
        assert len(per_minute) == len(report["per_minute"])
        assert sum(int(row[2]) for row in per_minute) == 1 and sum(int(row[3]) for row in per_minute) == 5
        totals = dict(rows[blank + 2:])
        assert totals["peak_viewers"] == "3" and totals["unique_viewers"] == "3"
        assert totals["hearts_total"] == "5" and totals["messages_total"] == "1"

        anon = again.client()
        hostc = await again.host()
        for path in (f"/api/programs/{pid}/report", f"/api/programs/{pid}/report.csv"):
            async with anon.get(path) as r:
                assert r.status == 401 and (await r.json())["error"]["code"] == "not_authenticated"
            async with hostc.get(path) as r:
                assert r.status == 403 and (await r.json())["error"]["code"] == "forbidden"
        async with prod.get("/api/programs/nope/report") as r:
            assert r.status == 404 and (await r.json())["error"]["code"] == "program_not_found"
