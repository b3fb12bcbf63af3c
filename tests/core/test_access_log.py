"""The access log of a real `innotv serve`: JSON lines on stderr with the client's address behind
the trusted proxy and no query string; the crowd's routes (HLS, replays, Socket.IO, static files)
counted in one summary line instead of a line each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp

from tests.helpers import spawn_server


def log_lines(output: str) -> list[dict[str, Any]]:
    lines = []
    for line in output.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))  # every log line is one JSON object
    return lines


async def test_access_lines_and_the_summary_of_media_requests(tmp_path: Path) -> None:
    server = spawn_server(tmp_path, extra_env={
        "INNOTV_LOG_LEVEL": "INFO", "INNOTV_TRUSTED_PROXIES": "127.0.0.1",
        "INNOTV_ACCESS_LOG_SUMMARY_S": "3600",  # the summary comes at shutdown, not on a timer
    })
    try:
        await server.wait_ready()
        forwarded = {"X-Forwarded-For": "198.51.100.20, 203.0.113.7"}
        async with aiohttp.ClientSession(server.url) as client:
            async with client.get("/api/programs?token=one-time-secret", headers=forwarded) as r:
                assert r.status == 200
            for n in range(40):
                async with client.get(f"/hls/prog-{n}/240p/live.m3u8") as r:
                    assert r.status == 404
            for _ in range(5):
                async with client.get("/static/favicon.svg") as r:
                    assert r.status == 200
    finally:
        assert server.terminate() == 0
    lines = log_lines(server.output())
    access = [line for line in lines if line["logger"] == "innotv.access"]
    requests = [line for line in access if line["msg"] == "request"]
    programs = [line for line in requests if line["path"] == "/api/programs"]
    assert len(programs) == 1
    line = programs[0]
    assert line["remote"] == "203.0.113.7"  # the right-most address the trusted proxy saw
    assert line["route"] == "/api/programs" and line["method"] == "GET" and line["status"] == 200
    assert line["ms"] >= 0 and line["bytes"] > 0 and line["level"] == "info"
    assert "one-time-secret" not in server.output()
    assert not [line for line in requests if line["route"].startswith(("/hls/", "/static"))]
    summaries = [line for line in access if line["msg"] == "requests summary"]
    assert len(summaries) == 1
    counts = {(c["route"], c["status"]): c["requests"] for c in summaries[0]["counts"]}
    assert counts == {("/hls/{id}/{path}", 404): 40, ("/static/{path}", 200): 5}
    assert summaries[0]["requests"] == 45
