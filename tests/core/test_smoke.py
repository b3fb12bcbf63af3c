"""The server starts on both stores, answers health checks and speaks JSON errors."""

from __future__ import annotations

from tests.helpers import Server


async def test_health_and_ready(server: Server) -> None:
    client = server.client()
    async with client.get("/healthz") as r:
        assert r.status == 200
        assert (await r.json())["ok"] is True
    async with client.get("/readyz") as r:
        assert r.status == 200
        assert (await r.json())["store"] == server.parts.kernel.backend.kind


async def test_unknown_route_is_json_404(one_server: Server) -> None:
    client = one_server.client()
    async with client.get("/no/such/thing") as r:
        assert r.status == 404
        body = await r.json()
        assert body["error"]["code"] == "not_found"
        assert "Content-Security-Policy" in r.headers


async def test_login_and_whoami(server: Server) -> None:
    producer = await server.producer()
    async with producer.get("/api/session") as r:
        body = await r.json()
        assert body["user"] == {"username": "prod", "role": "producer"}
        assert body["csrf_token"]
