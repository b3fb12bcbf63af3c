"""`GET /schedule.ics` parsed back with icalendar: one VEVENT per program, stable UIDs, Seoul time."""

from __future__ import annotations

from datetime import timedelta

import icalendar

from tests.helpers import Server

from .util import body, lineup, seoul

T0 = seoul(2030, 11, 26, 14)


async def _feed(server: Server) -> icalendar.Calendar:
    async with server.client().get("/schedule.ics") as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "text/calendar; charset=utf-8"
        return icalendar.Calendar.from_ical(await r.read())


async def test_ics_feed(server: Server) -> None:
    producer = await server.producer()
    for day, extra in enumerate([{"title": "전지적 90년대생 시점", "title_en": "Eyes of the 90s-born",
                                  "description": "책 이야기\n두 번째 줄"}, {}, {}]):
        async with producer.post("/api/programs", json=body(T0 + timedelta(days=day), 90, **extra)) as r:
            assert r.status == 201
    programs = await lineup(producer)

    first, second = await _feed(server), await _feed(server)
    events = list(first.walk("VEVENT"))
    assert len(events) == len(programs) == 3
    assert [str(e["UID"]) for e in events] == [f"{p['id']}@innotv" for p in programs]
    assert [str(e["UID"]) for e in second.walk("VEVENT")] == [str(e["UID"]) for e in events]
    assert [str(tz["TZID"]) for tz in first.walk("VTIMEZONE")] == ["Asia/Seoul"]
    for event, program in zip(events, programs, strict=True):
        assert event["DTSTART"].params["TZID"] == "Asia/Seoul"
        assert event["DTEND"].params["TZID"] == "Asia/Seoul"
        assert event.decoded("DTSTART").isoformat() == program["starts_at"]
        assert event.decoded("DTEND").isoformat() == program["ends_at"]
        assert str(event["SUMMARY"]) == program["title"]
    assert "책 이야기\n두 번째 줄" in str(events[0]["DESCRIPTION"])
    assert str(events[0]["SUMMARY"]) == "전지적 90년대생 시점"


async def test_ics_of_an_empty_lineup(one_server: Server) -> None:
    cal = await _feed(one_server)
    assert list(cal.walk("VEVENT")) == []


async def test_one_program_as_a_calendar(server: Server) -> None:
    producer = await server.producer()
    for day in range(2):
        async with producer.post("/api/programs", json=body(T0 + timedelta(days=day), 90)) as r:
            assert r.status == 201
    programs = await lineup(producer)
    wanted = programs[1]
    async with server.client().get(f"/schedule/{wanted['id']}.ics") as r:
        assert r.status == 200 and r.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert f'filename="innotv-{wanted["id"]}.ics"' in r.headers["Content-Disposition"]
        cal = icalendar.Calendar.from_ical(await r.read())
    events = list(cal.walk("VEVENT"))
    assert [str(e["UID"]) for e in events] == [f"{wanted['id']}@innotv"]
    assert events[0].decoded("DTSTART").isoformat() == wanted["starts_at"]
    assert str(events[0]["URL"]).endswith(f"/watch/{wanted['id']}")
    async with server.client().get("/schedule/nope.ics") as r:
        assert r.status == 404 and (await r.json())["error"]["code"] == "program_not_found"
