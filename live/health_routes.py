"""`GET /api/programs/{id}/health` (host, producer): the program's stream health (health.py)."""

from __future__ import annotations

from aiohttp import web

from kernel.identity import Gate

from .health import HealthBoard
from .ports import Programs


def setup_health_routes(app: web.Application, board: HealthBoard, programs: Programs, gate: Gate) -> None:
    async def health(request: web.Request) -> web.Response:
        await gate.require(request, "host")
        program = await programs.require(request.match_info["id"])
        body = await board.get(program.id)
        body["program_state"] = program.state
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    app.router.add_get("/api/programs/{id}/health", health)
