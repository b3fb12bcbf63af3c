"""`--demo`: the expo lineup of the current year plus a program that is live right now.

The demo program (`id` "demo") starts at the current minute and lasts two hours; when another
program is in the way it is shortened to end where that one starts, or skipped with a log line.
Nothing here may stop the server from starting.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from kernel.clock import Clock
from kernel.errors import ApiError

from .expo import expo_lineup
from .model import FINAL_STATES, MIN_DURATION, SEOUL, Program
from .service import ProgramService

log = logging.getLogger("innotv.schedule.demo")

DEMO_ID = "demo"
DEMO_LENGTH = timedelta(hours=2)


async def load_demo(service: ProgramService, clock: Clock) -> Program | None:
    """Load the demo lineup and a demo program from now; the program the demo plays into (the
    demo program, or the one on the air now), or None when nothing can be on the air now."""
    now = clock.now()
    try:
        await service.save_many(expo_lineup(now.astimezone(SEOUL).year), "missing")
    except ApiError as err:
        log.warning("demo: expo lineup not loaded: %s", err.message)
    existing = await service.get(DEMO_ID)
    if existing is not None:
        if existing.state not in FINAL_STATES and existing.ends_at > now:
            return existing
        await service.delete(DEMO_ID)
    start = now.replace(second=0, microsecond=0)
    end = start + DEMO_LENGTH
    for other in await service.list_programs(start, end):
        if other.ends_at <= now:  # ended earlier this minute: start where it ended
            start = max(start, other.ends_at)
            continue
        if other.starts_at <= now:
            log.info("demo: %s (%s) is on now; the test broadcast plays there", other.title, other.id)
            return other
        end = min(end, other.starts_at)
    if end - start < MIN_DURATION:
        log.warning("demo: no room for a demo program before the next one; skipped")
        return None
    if end - start < DEMO_LENGTH:
        log.info("demo: demo program shortened to end at %s", end.astimezone(SEOUL).isoformat())
    program = Program(
        id=DEMO_ID,
        title="혁신TV 데모 방송",
        title_en="Innovation TV demo broadcast",
        description="데모 모드의 시험 방송입니다.\nA test broadcast of the demo mode.",
        kind="live",
        starts_at=start,
        ends_at=end,
    )
    try:
        return await service.create(program)
    except ApiError as err:
        log.warning("demo: demo program not added: %s", err.message)
        return None
