"""`--demo`: the generated test source (test pattern, burnt-in clock, tone) plays into the live
program on the air, so a newcomer's first page shows video whatever the day and hour.

That is the program "demo" the schedule adds when it starts, or, when an expo program is on at
that moment (14:00 on an expo day), that program. It follows the `program` events: when the
program it plays ends, it plays into the next live program that comes on the air.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from kernel.topics import ProgramChanged

from .ports import Programs

if TYPE_CHECKING:
    from .service import LiveService

log = logging.getLogger("innotv.live.demo")


class DemoSource:
    def __init__(self, live: LiveService, programs: Programs) -> None:
        self.live = live
        self.programs = programs
        self.playing: str | None = None  # the program the test source plays into

    async def start(self) -> None:
        """Play into the program on the air now, if there is one (after the schedule caught up)."""
        program = await self.programs.current()
        if program is not None and program.state == "live":
            await self._play(program.id, program.kind)

    async def on_program(self, event: ProgramChanged) -> None:
        if event.id == self.playing and event.state != "live":
            self.playing = None
        elif event.state == "live" and self.playing is None:
            await self._play(event.id, event.kind)

    async def _play(self, program_id: str, kind: str) -> None:
        if kind != "live":
            return  # a premiere plays its own file
        self.playing = program_id
        await self.live.play_generated(program_id)
        log.info("demo: playing the generated test source in program %r", program_id)
