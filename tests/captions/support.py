"""Programs for the captions tests: one on the air now (no media), its room joined."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.helpers import Server
from tests.live.support import wait_for_state


async def program_on_air(server: Server, minutes: int = 60) -> str:
    producer = await server.producer()
    body: dict[str, Any] = {"title": "자막 테스트", "kind": "live", "starts_at": "now",
                            "ends_at": (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()}
    async with producer.post("/api/programs", json=body) as resp:
        assert resp.status == 201, await resp.text()
        program_id = str((await resp.json())["id"])
    await wait_for_state(server, program_id, "live")
    return program_id
