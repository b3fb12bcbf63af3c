"""Premiere uploads for producers: `POST /api/programs/{id}/media` streams the file to disk (never
through `request.post()`), `GET` the same path tells how its transcode goes."""

from __future__ import annotations

from aiohttp import web

from kernel.identity import Gate

from .http import program_id_of
from .premieres import Premieres


def setup_premiere_routes(app: web.Application, premieres: Premieres, gate: Gate) -> None:
    async def media_upload(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        status = await premieres.upload(program_id_of(request), request.content,
                                        request.content_type, request.content_length)
        return web.json_response(status, status=202)

    async def media_status(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        return web.json_response(await premieres.status(program_id_of(request)),
                                 headers={"Cache-Control": "no-store"})

    app.router.add_post("/api/programs/{id}/media", media_upload)
    app.router.add_get("/api/programs/{id}/media", media_status)
