"""A WHIP offer that reaches the server in two TCP segments (OBS on a real network sends the
headers and a multi-kilobyte SDP in several) is read whole and answered 201."""

from __future__ import annotations

from pathlib import Path

from live.tracks import make_offer
from tests.helpers import raw_request, running_server

from .support import new_program, small_config


async def test_offer_in_two_segments_is_answered(tmp_path: Path) -> None:
    async with running_server(small_config(tmp_path)) as server:
        program_id, key = await new_program(server)
        pc = await make_offer()
        offer = str(pc.localDescription.sdp).encode()
        await pc.close()
        headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {key}"}
        half = len(offer) // 2
        answer = await raw_request(server.url, "POST", f"/whip/{program_id}", headers,
                                   [offer[:half], offer[half:]])
        assert answer.status == 201, answer.body
        assert answer.body.startswith(b"v=0")
        location = answer.headers["location"]
        stopped = await raw_request(server.url, "DELETE", location, {"Authorization": f"Bearer {key}"}, [])
        assert stopped.status == 200, stopped.body
