"""Request bodies that reach the server in more than one TCP segment are read whole.

Each test sends a valid body over a bare socket in two writes 200 ms apart, as a slow or lossy
network delivers it, and expects the route's success answer; a body past the limit still gets
413 at once, before the rest of it is sent.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from tests.helpers import PRODUCER, Server, cookie_header, raw_request
from tests.schedule.util import body, seoul

T0 = seoul(2030, 11, 26, 14)


def halves(data: bytes) -> list[bytes]:
    return [data[: len(data) // 2], data[len(data) // 2 :]]


async def producer_headers(server: Server) -> dict[str, str]:
    session = await server.producer()
    return {"Content-Type": "application/json", "Origin": server.url,
            "Cookie": cookie_header(session, server.url)}


async def test_login_body_in_two_segments(one_server: Server) -> None:
    await one_server.producer()
    data = json.dumps({"username": PRODUCER[0], "password": PRODUCER[1]}).encode()
    answer = await raw_request(one_server.url, "POST", "/api/session",
                               {"Content-Type": "application/json", "Origin": one_server.url},
                               halves(data))
    assert answer.status == 200, answer.body
    assert answer.json()["user"]["username"] == PRODUCER[0]


async def test_program_create_body_in_two_segments(one_server: Server) -> None:
    headers = await producer_headers(one_server)
    data = json.dumps(body(T0, 60, title="두 번에 온 본문")).encode()
    answer = await raw_request(one_server.url, "POST", "/api/programs", headers, halves(data))
    assert answer.status == 201, answer.body
    assert answer.json()["title"] == "두 번에 온 본문"


async def test_lineup_import_body_in_two_segments(one_server: Server) -> None:
    headers = await producer_headers(one_server)
    doc = {"programs": [body(T0 + timedelta(days=d), 60, description="설명 " * 1600) for d in range(20)]}
    data = json.dumps(doc, ensure_ascii=False).encode()
    assert len(data) > 64 * 1024  # many segments' worth, and past the limit of other JSON bodies
    answer = await raw_request(one_server.url, "POST", "/api/programs/import", headers, halves(data))
    assert answer.status == 200, answer.body
    assert answer.json()["created"] == 20


async def test_oversized_body_is_refused_before_the_rest_arrives(one_server: Server) -> None:
    """No Content-Length lie needed: chunked bodies have none, so the limit is found by reading."""
    host, port = one_server.url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"POST /api/session HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Origin: {one_server.url}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    )
    chunk = b"{" + b" " * (70 * 1024)
    writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    await writer.drain()
    # The end of the body is never sent: the answer must come anyway.
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 413"), head
    writer.close()
