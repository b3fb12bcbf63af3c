"""WHEP preview for hosts and producers: `POST /whep/{id}` answers with a receive-only peer
connection fed the publisher's packets; `DELETE /whep/{id}/{session}` closes it."""

from __future__ import annotations

from aiohttp import web

from kernel.errors import ApiError
from kernel.identity import Gate

from .http import program_id_of, read_sdp
from .service import LiveService


def setup_whep_routes(app: web.Application, live: LiveService, gate: Gate) -> None:
    limit = live.settings.max_sdp_bytes

    async def whep_post(request: web.Request) -> web.Response:
        await gate.require(request, "host")
        program_id = program_id_of(request)
        offer, _ = await read_sdp(request, limit, publishing=False)
        session_id, answer = await live.preview(program_id, offer)
        return web.Response(
            status=201, text=answer, content_type="application/sdp",
            headers={"Location": f"/whep/{program_id}/{session_id}", "Cache-Control": "no-store"},
        )

    async def whep_delete(request: web.Request) -> web.Response:
        await gate.require(request, "host")
        if not await live.stop_preview(program_id_of(request), request.match_info["session"]):
            raise ApiError(404, "session_not_found", "No such preview session.")
        return web.Response(status=200)

    app.router.add_post("/whep/{id}", whep_post)
    app.router.add_delete("/whep/{id}/{session}", whep_delete)
