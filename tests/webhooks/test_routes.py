"""The webhook routes refuse what they must, with a JSON error and nothing stored: anyone but a
producer, malformed URLs, and (without INNOTV_WEBHOOK_ALLOW_PRIVATE) targets on loopback,
private, link-local or mapped addresses, by literal or by name (SSRF)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import Server, make_config, running_server


async def test_only_producers_manage_webhooks(one_server: Server) -> None:
    anonymous = one_server.client()
    async with anonymous.get("/api/webhooks") as r:
        assert r.status == 401 and (await r.json())["error"]["code"] == "not_authenticated"
    host = await one_server.host()
    async with host.post("/api/webhooks", json={"url": "https://portal.example.kr/hook"}) as r:
        assert r.status == 403 and (await r.json())["error"]["code"] == "forbidden"
    async with host.delete("/api/webhooks/wh_x") as r:
        assert r.status == 403


@pytest.mark.parametrize(("body", "code"), [
    ({"url": "ftp://portal.example.kr/hook"}, "invalid_url"),
    ({"url": "https://user:pass@portal.example.kr/hook"}, "invalid_url"),
    ({"url": "https://portal.example.kr/hook#frag"}, "invalid_url"),
    ({"url": "https://portal.example.kr/" + "a" * 2100}, "invalid_url"),
    ({"url": "https://portal example.kr/"}, "invalid_url"),
    ({"url": "http://[::1"}, "invalid_url"),
    ({"url": 42}, "invalid_url"),
    ({}, "invalid_url"),
    ({"url": "https://portal.example.kr/hook", "events": ["all"]}, "unknown_field"),
    ({"url": "http://127.0.0.1:9/hook"}, "webhook_target_forbidden"),
    ({"url": "http://10.1.2.3/hook"}, "webhook_target_forbidden"),
    ({"url": "http://169.254.169.254/latest/meta-data"}, "webhook_target_forbidden"),
    ({"url": "http://[::1]/hook"}, "webhook_target_forbidden"),
    ({"url": "http://[::ffff:127.0.0.1]/hook"}, "webhook_target_forbidden"),
    ({"url": "http://[fd00::1]/hook"}, "webhook_target_forbidden"),
    ({"url": "http://100.64.0.1/hook"}, "webhook_target_forbidden"),
    ({"url": "http://localhost:8080/hook"}, "webhook_target_forbidden"),
    ({"url": "http://no-such-host.invalid/hook"}, "webhook_unresolvable"),
])
async def test_bad_webhooks_are_refused_and_nothing_is_stored(
        one_server: Server, body: dict[str, object], code: str) -> None:
    producer = await one_server.producer()
    async with producer.post("/api/webhooks", json=body) as r:
        assert r.status == 400, await r.text()
        assert (await r.json())["error"]["code"] == code
    async with producer.get("/api/webhooks") as r:
        assert (await r.json()) == {"webhooks": []}


async def test_a_bad_body_and_the_limit(tmp_path: Path) -> None:
    config = make_config("sqlite", tmp_path / "d", None, webhook_max_hooks=1, webhook_allow_private=True)
    async with running_server(config) as srv:
        producer = await srv.producer()
        json_type = {"Content-Type": "application/json"}
        async with producer.post("/api/webhooks", data=b"[1,", headers=json_type) as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_json"
        async with producer.post("/api/webhooks", json={"url": "http://127.0.0.1:9/a"}) as r:
            assert r.status == 201
        async with producer.post("/api/webhooks", json={"url": "http://127.0.0.1:9/b"}) as r:
            assert r.status == 409 and (await r.json())["error"]["code"] == "too_many_webhooks"
        async with producer.get("/api/webhooks") as r:
            assert [h["url"] for h in (await r.json())["webhooks"]] == ["http://127.0.0.1:9/a"]
