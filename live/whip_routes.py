"""WHIP ingest and stream keys: `POST /whip/{id}[?size=WxH]` with the program's stream key as a
Bearer token (no cookie, so any origin may publish: CORS is open), `DELETE /whip/{id}/{session}`
to stop (a break while the program is live), and `POST /api/programs/{id}/stream-key` for
producers to issue or rotate the key."""

from __future__ import annotations

from aiohttp import web

from kernel.errors import ApiError
from kernel.identity import Gate

from .http import announced_size, bearer, program_id_of, read_sdp, with_cors
from .keys import StreamKeys
from .ports import Programs
from .service import LiveService


def setup_whip_routes(app: web.Application, live: LiveService, keys: StreamKeys, programs: Programs,
                      gate: Gate) -> None:
    limit = live.settings.max_sdp_bytes

    async def whip_post(request: web.Request) -> web.Response:
        program_id = program_id_of(request)
        token = bearer(request)
        if token is None or not await keys.verify(program_id, token):
            raise ApiError(401, "invalid_stream_key",
                           "A valid stream key is needed: Authorization: Bearer <key>.",
                           headers={"WWW-Authenticate": 'Bearer realm="whip"'})
        size = announced_size(request)
        offer, summary = await read_sdp(request, limit)
        await live.ensure_open(program_id)
        session_id, answer = await live.publish(program_id, offer, size=size, audio=summary.has_audio)
        location = f"/whip/{program_id}/{session_id}"
        return web.Response(
            status=201, text=answer, content_type="application/sdp",
            headers={"Location": location, "ETag": f'"{session_id}"', "Cache-Control": "no-store"},
        )

    async def whip_delete(request: web.Request) -> web.Response:
        program_id = program_id_of(request)
        session_id = request.match_info["session"]
        if not await live.unpublish(program_id, session_id):
            raise ApiError(404, "session_not_found", "No such publishing session (already stopped?).")
        return web.Response(status=200)

    async def whip_options(_request: web.Request) -> web.Response:
        return web.Response(status=204, headers={"Accept-Post": "application/sdp"})

    async def issue_key(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        program = await programs.require(request.match_info["id"])
        key = await keys.issue(program.id)
        return web.json_response({"stream_key": key}, headers={"Cache-Control": "no-store"})

    app.router.add_post("/whip/{id}", with_cors(whip_post))
    app.router.add_route("OPTIONS", "/whip/{id}", with_cors(whip_options))
    app.router.add_delete("/whip/{id}/{session}", with_cors(whip_delete))
    app.router.add_route("OPTIONS", "/whip/{id}/{session}", with_cors(whip_options))
    app.router.add_post("/api/programs/{id}/stream-key", issue_key)
