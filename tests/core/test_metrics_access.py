"""`GET /metrics` is for the operator: from the configured networks (loopback by default) or
with the metrics token; anyone else gets a JSON 403. The client's address is the one the
trusted proxy saw, so a header the client wrote itself does not open it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.helpers import make_config, raw_request, running_server

TOKEN = "metrics-token-0123456789abcdef"


async def test_metrics_behind_a_proxy_need_an_allowed_address_or_the_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config("sqlite", tmp_path / "d", None, trusted_proxies="127.0.0.1", metrics_token=TOKEN)
    caplog.set_level(logging.DEBUG)
    async with running_server(config) as srv:
        client = srv.client(origin=False)
        async with client.get("/metrics") as r:  # the proxy's own address: loopback, allowed
            assert r.status == 200
            assert "innotv_chat_connections" in await r.text()
        for forwarded in ("203.0.113.9", "127.0.0.1, 203.0.113.9"):
            async with client.get("/metrics", headers={"X-Forwarded-For": forwarded}) as r:
                assert r.status == 403, forwarded
                assert (await r.json())["error"]["code"] == "forbidden"
        outside = {"X-Forwarded-For": "203.0.113.9"}
        wrong = {**outside, "Authorization": "Bearer wrong-token-0000000"}
        async with client.get("/metrics", headers=wrong) as r:
            assert r.status == 403
        async with client.get("/metrics", headers={**outside, "Authorization": f"Bearer {TOKEN}"}) as r:
            assert r.status == 200
            assert "innotv_chat_connections" in await r.text()
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(config)


async def test_metrics_from_another_address_without_a_proxy(tmp_path: Path) -> None:
    config = make_config("sqlite", tmp_path / "d", None, metrics_networks="127.0.0.1")
    async with running_server(config) as srv:
        refused = await raw_request(srv.url, "GET", "/metrics", {}, [], local_host="127.0.0.2")
        assert refused.status == 403
        assert refused.json()["error"]["code"] == "forbidden"
        allowed = await raw_request(srv.url, "GET", "/metrics", {}, [], local_host="127.0.0.1")
        assert allowed.status == 200
