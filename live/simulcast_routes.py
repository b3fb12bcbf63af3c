"""Simulcast destinations for producers: list (URLs redacted, with each push's state), add (an
RTMP URL and an optional caption URL), delete, under `/api/programs/{id}/simulcast`."""

from __future__ import annotations

from aiohttp import web

from kernel.body import read_json_object
from kernel.errors import ApiError
from kernel.identity import Gate

from .http import program_id_of
from .service import LiveService
from .simulcast import Simulcast


def setup_simulcast_routes(app: web.Application, live: LiveService, simulcast: Simulcast,
                           gate: Gate) -> None:
    async def simulcast_list(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        program_id = program_id_of(request)
        items = [d.public(live.push_state(program_id, d.url)) for d in await simulcast.list(program_id)]
        return web.json_response({"destinations": items}, headers={"Cache-Control": "no-store"})

    async def simulcast_add(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        body = await read_json_object(request)
        dest = await simulcast.add(program_id_of(request), body.get("url"), body.get("caption_url"))
        return web.json_response(dest.public(), status=201)

    async def simulcast_delete(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        if not await simulcast.delete(program_id_of(request), request.match_info["dest"]):
            raise ApiError(404, "destination_not_found", "No such destination.")
        return web.Response(status=204)

    app.router.add_get("/api/programs/{id}/simulcast", simulcast_list)
    app.router.add_post("/api/programs/{id}/simulcast", simulcast_add)
    app.router.add_delete("/api/programs/{id}/simulcast/{dest}", simulcast_delete)
