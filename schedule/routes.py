"""REST routes of the lineup: read it (anyone), edit it (producers), and the ICS feed.

Writes check the producer role before reading the body; starting and ending a program now is
also open to the program's hosts. New programs (create, import) may not start in the past.
`/api/programs/current` is registered before `/api/programs/{id}` so that it is never taken for
an id.
"""

from __future__ import annotations

import re
from datetime import datetime

from aiohttp import web

from kernel.body import read_json_object
from kernel.clock import Clock
from kernel.errors import ApiError
from kernel.identity import Gate

from .ics import build_calendar
from .lineup import LineupFileError, parse_lineup_data
from .model import new_program_id
from .service import ProgramService
from .validation import parse_create, parse_datetime, parse_patch

# A lineup of the ten days is a few kilobytes; this leaves room for hundreds of programs.
MAX_IMPORT_BYTES = 1024 * 1024

# A query string decodes "+" to a space: "…T00:00:00 09:00" meant "+09:00".
_SPACE_OFFSET = re.compile(r"^(\S+T\S+) (\d{2}:?\d{2})$", re.ASCII)


def _query_time(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    raw = _SPACE_OFFSET.sub(r"\1+\2", raw)
    try:
        return parse_datetime(raw, name)
    except ApiError as err:
        raise ApiError(400, "invalid_query", f"{name}: {err.message}", details={"field": name}) from None


def setup_routes(
    app: web.Application, service: ProgramService, gate: Gate, clock: Clock, link_base: str
) -> None:
    async def list_programs(request: web.Request) -> web.Response:
        start, end = _query_time(request, "from"), _query_time(request, "to")
        if start is not None and end is not None and end <= start:
            raise ApiError(400, "invalid_query", "to must be after from.", details={"field": "to"})
        programs = await service.list_programs(start, end)
        return web.json_response({"programs": [p.public() for p in programs]})

    async def current(_request: web.Request) -> web.Response:
        program = await service.current()
        if program is None:
            raise ApiError(404, "no_program", "Nothing is live and nothing is scheduled.")
        return web.json_response(program.public())

    async def get_program(request: web.Request) -> web.Response:
        program = await service.require(request.match_info["id"])
        return web.json_response(program.public())

    async def create(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        body = await read_json_object(request)
        not_before = service.current_minute()
        program = await service.create(parse_create(body, new_program_id(), clock.now()), not_before)
        return web.json_response(
            program.public(), status=201, headers={"Location": f"/api/programs/{program.id}"}
        )

    async def patch(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        body = await read_json_object(request)
        version, changes = parse_patch(body)
        program = await service.update(request.match_info["id"], version, changes)
        return web.json_response(program.public())

    async def delete(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        await service.delete(request.match_info["id"])
        return web.Response(status=204)

    async def import_lineup(request: web.Request) -> web.Response:
        """The REST twin of `innotv lineup import`: the same document, all of it or nothing."""
        await gate.require(request, "producer")
        body = await read_json_object(request, max_bytes=MAX_IMPORT_BYTES)
        try:
            programs = parse_lineup_data(body, "lineup", clock.now())
        except LineupFileError as exc:
            raise ApiError(400, "invalid_lineup", str(exc)) from None
        changes = await service.save_many(programs, "replace", service.current_minute())
        created = sum(1 for c in changes if c.action == "created")
        return web.json_response(
            {
                "programs": len(programs),
                "created": created,
                "updated": len(changes) - created,
                "unchanged": len(programs) - len(changes),
            }
        )

    async def start(request: web.Request) -> web.Response:
        """On the air now (a producer, or a host of this program)."""
        user = await gate.require(request, "host")
        program = await service.start_now(request.match_info["id"], user)
        return web.json_response(program.public())

    async def end(request: web.Request) -> web.Response:
        """Off the air now (a producer, or a host of this program)."""
        user = await gate.require(request, "host")
        program = await service.end_now(request.match_info["id"], user)
        return web.json_response(program.public())

    async def ics(_request: web.Request) -> web.Response:
        programs = await service.list_programs()
        body = build_calendar(programs, clock.now(), link_base)
        return web.Response(
            body=body,
            content_type="text/calendar",
            charset="utf-8",
            headers={"Content-Disposition": 'inline; filename="innotv-schedule.ics"'},
        )

    app.router.add_get("/api/programs", list_programs)
    app.router.add_post("/api/programs", create)
    app.router.add_post("/api/programs/import", import_lineup)
    app.router.add_get("/api/programs/current", current)
    app.router.add_get("/api/programs/{id}", get_program)
    app.router.add_patch("/api/programs/{id}", patch)
    app.router.add_delete("/api/programs/{id}", delete)
    async def program_ics(request: web.Request) -> web.Response:
        """One program as a calendar: the viewer page's "add to calendar" for that show."""
        program = await service.require(request.match_info["id"])
        body = build_calendar([program], clock.now(), link_base)
        return web.Response(
            body=body,
            content_type="text/calendar",
            charset="utf-8",
            headers={"Content-Disposition": f'inline; filename="innotv-{program.id}.ics"'},
        )

    app.router.add_post("/api/programs/{id}/start", start)
    app.router.add_post("/api/programs/{id}/end", end)
    app.router.add_get("/schedule.ics", ics)
    app.router.add_get("/schedule/{id}.ics", program_ics)
