"""Webhooks for producers: `GET /api/webhooks`, `POST /api/webhooks`, `DELETE /api/webhooks/{id}`."""

from __future__ import annotations

from aiohttp import web

from kernel.body import read_json_object
from kernel.errors import ApiError
from kernel.identity import Gate

from .service import WebhookService

NO_STORE = {"Cache-Control": "no-store"}


def setup_routes(app: web.Application, service: WebhookService, gate: Gate) -> None:
    async def listing(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        hooks = await service.store.list()
        return web.json_response({"webhooks": [h.public() for h in hooks]}, headers=NO_STORE)

    async def add(request: web.Request) -> web.Response:
        user = await gate.require(request, "producer")
        body = await read_json_object(request)
        unknown = sorted(set(body) - {"url"})
        if unknown:
            raise ApiError(400, "unknown_field", f"Unknown field {unknown[0][:40]!r}.",
                           details={"field": unknown[0][:40]})
        hook = await service.add(body.get("url"), user.username)
        return web.json_response({"webhook": hook.public(), "secret": hook.secret}, status=201,
                                 headers={**NO_STORE, "Location": f"/api/webhooks/{hook.id}"})

    async def remove(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        await service.remove(request.match_info["id"])
        return web.Response(status=204)

    app.router.add_get("/api/webhooks", listing)
    app.router.add_post("/api/webhooks", add)
    app.router.add_delete("/api/webhooks/{id}", remove)
