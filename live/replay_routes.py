"""A program's replay: anyone reads its state (`GET /api/programs/{id}/replay`), producers cut,
hide or show it and pick its thumbnail (`PATCH`), or delete it (`DELETE`)."""

from __future__ import annotations

from aiohttp import web

from kernel.body import read_json_object
from kernel.identity import Gate

from .http import program_id_of
from .replays import Replays


def setup_replay_routes(app: web.Application, replays: Replays, gate: Gate) -> None:
    async def replay_state(request: web.Request) -> web.Response:
        program_id = program_id_of(request)
        user = await gate.current_user(request)
        body = await replays.describe(program_id, producer=user is not None and user.can("producer"))
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    async def replay_edit(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        program_id = program_id_of(request)
        body = await read_json_object(request)
        return web.json_response(await replays.edit(program_id, body), headers={"Cache-Control": "no-store"})

    async def replay_delete(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        await replays.delete(program_id_of(request))
        return web.Response(status=204)

    app.router.add_get("/api/programs/{id}/replay", replay_state)
    app.router.add_patch("/api/programs/{id}/replay", replay_edit)
    app.router.add_delete("/api/programs/{id}/replay", replay_delete)
