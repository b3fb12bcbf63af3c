"""The lineup as iCalendar (`GET /schedule.ics`): one VEVENT per program, times in Asia/Seoul.

UIDs are `<program id>@innotv`, stable across fetches, so a calendar app updates events in place;
SEQUENCE follows the program's version. Korea has kept +09:00 without daylight saving since 1988,
so the VTIMEZONE is one STANDARD rule.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar

from .model import SEOUL, Program

PRODID = "-//innotv//Innovation TV lineup//KO"


def _seoul_timezone() -> icalendar.Timezone:
    tz = icalendar.Timezone()
    tz.add("tzid", "Asia/Seoul")
    standard = icalendar.TimezoneStandard()
    standard.add("dtstart", datetime(1988, 10, 9, 3, 0))  # a local-time rule start
    standard.add("tzoffsetfrom", timedelta(hours=9))
    standard.add("tzoffsetto", timedelta(hours=9))
    standard.add("tzname", "KST")
    tz.add_component(standard)
    return tz


def build_calendar(programs: list[Program], now: datetime, base_url: str) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "혁신TV (Innovation TV)")
    cal.add("x-wr-timezone", "Asia/Seoul")
    cal.add_component(_seoul_timezone())
    stamp = now.astimezone(UTC).replace(microsecond=0)
    for program in programs:
        event = icalendar.Event()
        event.add("uid", f"{program.id}@innotv")
        event.add("dtstamp", stamp)
        event.add("dtstart", program.starts_at.astimezone(SEOUL))
        event.add("dtend", program.ends_at.astimezone(SEOUL))
        event.add("summary", program.title)
        description = program.description
        if program.title_en:
            description = f"{program.title_en}\n\n{description}".rstrip()
        if description:
            event.add("description", description)
        event.add("url", f"{base_url}/watch/{program.id}")
        event.add("sequence", max(0, program.version - 1))
        cal.add_component(event)
    return bytes(cal.to_ical())
