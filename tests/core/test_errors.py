"""Every failure answers JSON with the right status: 404, 405, 413, and the headers on all."""

from __future__ import annotations

from tests.helpers import Server


async def test_method_not_allowed_is_json(one_server: Server) -> None:
    client = one_server.client()
    async with client.put("/healthz") as r:
        assert r.status == 405
        assert (await r.json())["error"]["code"] == "method_not_allowed"
        assert "GET" in r.headers["Allow"]


async def test_oversized_body_is_json_413(one_server: Server) -> None:
    client = one_server.client()
    async with client.post("/api/setup", data=b"x" * (1024 * 1024),
                           headers={"Content-Type": "application/json"}) as r:
        assert r.status == 413
        assert (await r.json())["error"]["code"] == "payload_too_large"


async def test_security_headers_on_every_response(one_server: Server) -> None:
    client = one_server.client()
    for path in ("/healthz", "/api/session", "/nope", "/metrics"):
        async with client.get(path) as r:
            csp = r.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert r.headers["X-Content-Type-Options"] == "nosniff"


async def test_metrics_is_prometheus_text(one_server: Server) -> None:
    client = one_server.client()
    async with client.get("/metrics") as r:
        assert r.status == 200
        assert r.content_type == "text/plain"
        assert "# TYPE" in await r.text()


async def test_a_crash_answers_json_500_with_an_incident_id() -> None:
    """The error middleware itself, around a handler that fails: JSON, no traceback in the body."""
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from kernel.errors import json_errors

    async def broken(_request: web.Request) -> web.Response:
        raise RuntimeError("secret internals")

    app = web.Application(middlewares=[json_errors])
    app.router.add_get("/broken", broken)
    async with TestClient(TestServer(app)) as client:
        r = await client.get("/broken")
        assert r.status == 500
        body = await r.json()
        assert body["error"]["code"] == "internal_error"
        assert "incident" in body["error"]["message"]
        assert "secret internals" not in await r.text()
