"""Every REST route the app serves (read from its router, so a new route is fuzzed without being
listed here), with hypothesis-made hostile path parameters, queries, headers and bodies, as a
logged-in producer (every validator is reached) or as a stranger. Each request is answered with
a status below 500, and an error is JSON with a code; nothing else moves (`World.check`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from hypothesis import assume, given, settings
from hypothesis import event as event_note
from hypothesis import strategies as st
from yarl import URL

from tests.helpers import PRODUCER

from .conftest import World
from .hostile import FUZZ, HOSTILE_BYTES, JSON, SPECIAL_STRINGS, TEXT, UNPARSEABLE, examples, weighted

# Fuzzed elsewhere (tests/fuzz/test_engineio_frames.py): python-engineio's endpoint.
ELSEWHERE = {"/socket.io/"}
# Fields the routes read from a JSON body; each may get anything.
BODY_FIELDS = ["title", "kind", "starts_at", "ends_at", "description", "host", "username", "password",
               "role", "text", "in", "out", "hidden", "thumbnail_at", "url", "name", "lang", "programs",
               "status", "state", "halls", "at", "rev", "lines"]
CONTENT_TYPES = ["application/json", "text/plain", "application/sdp", "application/octet-stream",
                 "multipart/form-data; boundary=x", "multipart/form-data",
                 "application/x-www-form-urlencoded", "text/calendar", "application/json; charset=latin-1",
                 ""]


def routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, path template) of every route; a static prefix gets a `{path}` parameter."""
    found: set[tuple[str, str]] = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        template = info.get("formatter") or info.get("path")
        if template is None and "prefix" in info:
            template = info["prefix"].rstrip("/") + "/{path}"
        if template and template not in ELSEWHERE:
            found.add((route.method, template))
    return sorted(found)


def encode_segment(value: str) -> str:
    """A path segment or query part as a client could send it: any code point, even a lone
    surrogate, as percent-encoded UTF-8 bytes."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


SEGMENT = st.one_of(TEXT.filter(bool), st.sampled_from(["prod", "host", "ko", "en", "master.m3u8",
                                                        "720p/live.m3u8", "720p/seg-1.m4s", "x.ics"]))
QUERY = st.dictionaries(st.sampled_from(["key", "since", "before", "limit", "lang", "format", "t"]) | TEXT,
                        TEXT, max_size=3)
BODY = weighted(
    (3, st.fixed_dictionaries({}, optional={name: weighted((4, JSON), (1, UNPARSEABLE))
                                            for name in BODY_FIELDS}).map(json.dumps).map(str.encode)),
    (2, HOSTILE_BYTES),
    (1, UNPARSEABLE.map(json.dumps).map(str.encode)),
    (1, st.just(b"")),
)


@dataclass(repr=False)
class Rest:
    world: World
    routes: list[tuple[str, str]]
    producer: aiohttp.ClientSession  # logged in

    def _repr_pretty_(self, printer: Any, _cycle: bool) -> None:
        printer.text(f"Rest({self.world!r})")


@pytest.fixture
async def rest(world: World) -> Rest:
    return Rest(world, routes(world.server.app), await world.server.producer())


@settings(FUZZ, max_examples=examples(200))
@given(data=st.data())
async def test_every_route_with_hostile_input(rest: Rest, data: st.DataObject) -> None:
    world, producer = rest.world, rest.producer
    method, template = data.draw(st.sampled_from(rest.routes), "route")
    target = world.target["id"]
    path = template
    while "{" in path:
        name = path[path.index("{") + 1:path.index("}")]
        value = data.draw(weighted((2, st.just(target)), (3, SEGMENT)), name)
        assume(value != world.sentinel["id"] and value != PRODUCER[0])  # theirs to change
        path = path.replace("{" + name + "}", encode_segment(value), 1)
    query = data.draw(QUERY, "query")
    if query:
        path += "?" + "&".join(f"{encode_segment(k)}={encode_segment(v)}" for k, v in query.items())
    body = data.draw(BODY, "body") if method in ("POST", "PATCH", "PUT", "DELETE") else b""
    headers = {"Origin": world.server.url}
    content_type = data.draw(st.sampled_from(CONTENT_TYPES), "content type")
    if content_type:
        headers["Content-Type"] = content_type
    if data.draw(st.booleans(), "bearer"):
        # (an HTTP client sends no control characters in a header: aiohttp's refuses to)
        tokens = [t for t in SPECIAL_STRINGS if t.isprintable() and t.isascii()]
        headers["Authorization"] = "Bearer " + data.draw(st.sampled_from(tokens), "token")
    # a stranger, or the producer (whose session DELETE /api/session would end)
    stranger = (template, method) == ("/api/session", "DELETE") or data.draw(st.booleans(), "stranger")
    client = world.server.client(origin=False) if stranger else producer
    url = URL(world.server.url + path, encoded=True)
    async with client.request(method, url, data=body, headers=headers,
                              timeout=aiohttp.ClientTimeout(total=15)) as resp:
        text = await resp.read()
        status = resp.status
        answer_type = resp.content_type
    event_note(f"{status}")
    assert status < 500, (method, path, status, text[:300])
    if status >= 400 and method != "HEAD":
        assert answer_type == "application/json", (method, path, status, text[:300])
        error = json.loads(text)["error"]
        assert isinstance(error["code"], str) and error["code"], error
        assert isinstance(error["message"], str), error
    if stranger:
        await client.close()
    await world.check()
    # the producer is still logged in: nothing a request carried ended its session
    async with producer.get("/api/session") as resp:
        assert resp.status == 200 and (await resp.json())["user"]["username"] == PRODUCER[0]
