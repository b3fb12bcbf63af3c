"""JSON bodies that Python's json module takes but the server cannot: integers of thousands of
digits or beyond 64 bits, NaN and overflowing floats, nesting thousands deep, lone surrogates. Each
gets a 4xx with a JSON error on every JSON route, never a 500 or a traceback in the log."""

from __future__ import annotations

import logging
import time

import pytest
from yarl import URL

from tests.helpers import Server

BODIES = {
    "an integer of 5,000 digits": b'{"title": 1' + b"1" * 5000 + b"}",
    "an integer over 64 bits": b'{"version": 18446744073709551616}',
    "NaN": b'{"version": NaN}',
    "a float that overflows": b'{"version": 1e999}',
    "arrays 5,000 deep": b"[" * 5000 + b"]" * 5000,
    "objects 5,000 deep": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "nesting 65 deep": b'{"a":' + b"[" * 64 + b"]" * 64 + b"}",
}
ROUTES = [("POST", "/api/programs"), ("PATCH", "/api/programs/some-id"), ("POST", "/api/programs/import"),
          ("POST", "/api/session"), ("POST", "/api/setup")]


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_json_the_server_cannot_take_is_400(
        one_server: Server, caplog: pytest.LogCaptureFixture) -> None:
    producer = await one_server.producer()
    for method, path in ROUTES:
        for what, body in BODIES.items():
            async with producer.request(method, path, data=body,
                                        headers={"Content-Type": "application/json"}) as resp:
                payload = await resp.json()
                assert resp.status == 400, (method, path, what, payload)
                assert payload["error"]["code"] == "invalid_json", (method, path, what, payload)
    assert _tracebacks(caplog) == []


async def test_unclosed_strings_do_not_cost_quadratic_time(one_server: Server) -> None:
    """The nesting check skips strings; unclosed ones must not make it rescan the body."""
    producer = await one_server.producer()
    # enough brackets that the nesting scan runs (shallow ones), then strings that never close
    body = b"[]" * 70 + b'"a\\' * 21_000  # 63 KiB
    started = time.monotonic()
    headers = {"Content-Type": "application/json"}
    async with producer.post("/api/programs", data=body, headers=headers) as resp:
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "invalid_json"
    assert time.monotonic() - started < 5.0  # quadratic: 22 s


async def test_nesting_within_the_limit_is_ordinary_json(one_server: Server) -> None:
    producer = await one_server.producer()
    body = (b'{"kind": "live", "starts_at": "2026-12-01T14:00:00+09:00", "ends_at": '
            b'"2026-12-01T15:00:00+09:00", "title": ' + b"[" * 60 + b"]" * 60 + b"}")  # deep but allowed
    headers = {"Content-Type": "application/json"}
    async with producer.post("/api/programs", data=body, headers=headers) as resp:
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "invalid_type"


async def test_lone_surrogates_are_answered_in_valid_utf8(
        one_server: Server, caplog: pytest.LogCaptureFixture) -> None:
    producer = await one_server.producer()
    async with producer.post("/api/programs", data=b'{"\\ud800x": 1}',
                             headers={"Content-Type": "application/json"}) as resp:
        assert resp.status == 400
        raw = await resp.read()
    raw.decode("utf-8")  # the answer quotes the field: escaped, not an unencodable surrogate
    payload = await resp.json()
    assert payload["error"]["code"] == "unknown_field" and payload["error"]["field"] == "\ud800x"
    program = {"title": "\ud800", "kind": "live", "starts_at": "2026-12-01T14:00:00+09:00",
               "ends_at": "2026-12-01T15:00:00+09:00"}
    async with producer.post("/api/programs", json=program) as resp:
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "control_character"
    assert _tracebacks(caplog) == []


async def test_static_paths_that_are_no_file_are_a_json_404(one_server: Server) -> None:
    client = one_server.client(origin=False)
    async with client.get("/static/favicon.svg") as resp:
        assert resp.status == 200 and resp.content_type == "image/svg+xml"
    for path in ["/static/missing.js", "/static/%C2%85", "/static/js", "/static/%2e%2e/README.md",
                 "/static/..%2f..%2fpyproject.toml", "/static/%00"]:
        async with client.get(URL(one_server.url + path, encoded=True)) as resp:
            assert resp.status == 404, path
            assert (await resp.json())["error"]["code"] == "not_found", path
