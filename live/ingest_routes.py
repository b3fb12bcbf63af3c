"""`GET /api/programs/{id}/ingest` (host, producer): where a publisher sends the program's media.

The WHIP URL and, when RTMP ingest is on, the RTMP server URL; both take the program's stream key
(WHIP as a Bearer token, RTMP as the stream name after the server URL). The RTMP URL is
`live_rtmp_public_url`, or `rtmp://` with the host name the page was opened with and the port.
"""

from __future__ import annotations

from aiohttp import web

from kernel.identity import Gate

from .ports import Programs
from .rtmp_ingest import APP
from .settings import LiveSettings

DEFAULT_RTMP_PORT = 1935


def rtmp_url(settings: LiveSettings, request: web.Request) -> str | None:
    if not settings.rtmp_port:
        return None
    if settings.rtmp_public_url:
        return settings.rtmp_public_url.rstrip("/")
    host = request.url.host or "localhost"
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    port = "" if settings.rtmp_port == DEFAULT_RTMP_PORT else f":{settings.rtmp_port}"
    return f"rtmp://{host}{port}/{APP}"


def setup_ingest_routes(app: web.Application, settings: LiveSettings, programs: Programs, gate: Gate) -> None:
    async def ingest(request: web.Request) -> web.Response:
        await gate.require(request, "host")
        program = await programs.require(request.match_info["id"])
        origin = f"{request.scheme}://{request.host}"
        body = {"program_id": program.id, "whip_url": f"{origin}/whip/{program.id}",
                "rtmp_url": rtmp_url(settings, request)}
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    app.router.add_get("/api/programs/{id}/ingest", ingest)
