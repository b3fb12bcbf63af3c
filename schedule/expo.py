"""The expo's ten days (EXPO.md) as programs: 24 November to 3 December of a given year.

Day 1 opens at 10:00 with a premiere (the pre-recorded opening ceremony); every day has one
live Innovation TV side event at 14:00. Three are named; the others carry a placeholder title
producers edit. Ids are stable (`expo-<year>-opening`, `expo-<date>`) so loading twice changes
nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from .model import SEOUL, Program

EXPO_DAYS = 10
SIDE_EVENT_AT = time(14, 0)
OPENING_AT = time(10, 0)


def _at(day: date, when: time) -> datetime:
    return datetime.combine(day, when, tzinfo=SEOUL)


def _named(year: int) -> dict[tuple[int, int], tuple[str, str, str, int]]:
    """(month, day) -> (title, English title, description, minutes)."""
    return {
        (11, 26): (
            "전지적 90년대생 시점",
            "Through the eyes of the 1990s-born",
            "책 「90년생 공무원이 왔다」를 함께 이야기하는 토크 — 90년대생 공무원이 본 정부혁신.\n"
            "A talk around the book 「90년생 공무원이 왔다」: government innovation as seen by civil "
            "servants born in the 1990s.",
            90,
        ),
        (12, 2): (
            # A proper name (EXPO.md): kept exactly as the expo titled it, whatever the year.
            "2020 정부혁신 우수사례 경진대회",
            "2020 Government Innovation Best Practice Competition",
            "올해의 정부혁신 최우수 사례를 뽑는 경진대회: 본선 진출 기관의 발표와 시상.\n"
            "The finalists present their cases and the year's best government-innovation case is "
            "chosen.",
            90,
        ),
        (12, 3): (
            "10일간의 정부혁신 이야기",
            "Ten days of government innovation",
            "폐막 토크: 행정안전부 차관, 전문가, 국민이 한 무대에서 나누는 정부혁신 이야기.\n"
            "Closing talk: the vice minister of the Interior and Safety, experts and citizens "
            "on one stage.",
            90,
        ),
    }


def expo_lineup(year: int) -> list[Program]:
    """The ten days of the expo held in `year` (2020 gives the original dates)."""
    first = date(year, 11, 24)
    named = _named(year)
    programs = [
        Program(
            id=f"expo-{year}-opening",
            title=f"{year} 정부혁신 박람회 개막식",
            title_en=f"Government Innovation Expo {year}: opening ceremony",
            description="축사와 국민의 목소리를 담은 개막 영상 (사전 녹화 프리미어).\n"
            "The opening video: congratulatory address and citizens' voices (a premiere).",
            kind="premiere",
            starts_at=_at(first, OPENING_AT),
            ends_at=_at(first, OPENING_AT) + timedelta(minutes=30),
        )
    ]
    for offset in range(EXPO_DAYS):
        day = first + timedelta(days=offset)
        title, title_en, description, minutes = named.get(
            (day.month, day.day),
            (
                f"혁신TV 라이브 {offset + 1}일차 (제목 미정)",
                f"Innovation TV live, day {offset + 1} (title to be announced)",
                "제작진이 제목과 내용을 정합니다.\nThe producers will set the title and topic.",
                60,
            ),
        )
        start = _at(day, SIDE_EVENT_AT)
        programs.append(
            Program(
                id=f"expo-{day.isoformat()}",
                title=title,
                title_en=title_en,
                description=description,
                kind="live",
                starts_at=start,
                ends_at=start + timedelta(minutes=minutes),
            )
        )
    return programs
