"""The captions' REST routes: the transcript (anyone), a producer's correction of a line, the
program's caption key (producer, shown once) and the ingestion of a captioning service.

- `GET /api/programs/{id}/captions[?since=N]`: the lines (all languages, oldest first), the
  turns, the languages and the console's timing.
- `PATCH /api/programs/{id}/captions/{line}` {text}: a producer corrects a line, any time.
- `POST /api/programs/{id}/caption-key`: a new key (the old one stops working) and the URL to give
  a captioning service.
- `POST /captions/{id}/ingest?cid=<key>&seq=<n>[&lang=xx]`: YouTube's live caption ingestion
  format (youtube_format.py); answers the server's time as text, errors as JSON.
"""

from __future__ import annotations

import asyncio
import json
import re
import time

from aiohttp import web

from kernel.body import read_json_object, read_limited
from kernel.errors import ApiError
from kernel.identity import Gate

from .errors import CaptionError
from .model import NewCaption, caption_id, clean_line, language
from .service import CaptionService
from .youtube_format import FormatError, parse, stamp

PROGRAM_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
MAX_INGEST_BYTES = 16 * 1024
MAX_INGEST_CAPTIONS = 20
# A service's timestamps may be this far from our clock (its clock, and the words it waited for).
INGEST_PAST_MS = 300_000
INGEST_FUTURE_MS = 60_000
# POSTs per program, whoever sends them: a token bucket (burst, per second).
INGEST_RATE = (20.0, 5.0)


def _program_id(request: web.Request) -> str:
    program_id = request.match_info["id"]
    if not PROGRAM_ID_RE.fullmatch(program_id):
        raise ApiError(404, "program_not_found", "No such program.")
    return program_id


def setup_routes(app: web.Application, service: CaptionService, gate: Gate, link_base: str) -> None:
    buckets: dict[str, tuple[float, float]] = {}

    def ingest_rate(program_id: str) -> None:
        burst, per_second = INGEST_RATE
        now = time.monotonic()
        tokens, at = buckets.get(program_id, (burst, now))
        tokens = min(burst, tokens + (now - at) * per_second)
        if tokens < 1.0:
            buckets[program_id] = (tokens, now)
            raise ApiError(429, "rate_limited", "Too many caption POSTs; slow down.",
                           headers={"Retry-After": "1"})
        buckets[program_id] = (tokens - 1.0, now)
        if len(buckets) > 10_000:
            buckets.clear()

    async def transcript(request: web.Request) -> web.Response:
        raw = request.query.get("since", "0")
        if not raw.isdigit() or len(raw) > 10:
            raise ApiError(400, "invalid_since", "'since' is a caption line's number (0 for all).")
        body = await service.transcript(_program_id(request), int(raw))
        return web.json_response(body, headers={"Cache-Control": "no-store"}, dumps=_dumps)

    async def correct(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        program_id = _program_id(request)
        raw = request.match_info["line"]
        if not raw.isdigit() or len(raw) > 10:
            raise ApiError(404, "caption_not_found", "No such caption line.")
        body = await read_json_object(request)
        try:
            unknown = set(body) - {"text"}
            if unknown:
                raise CaptionError("unknown_field", f"Unknown field {sorted(unknown)[0]!r}; send text.")
            text = clean_line(body.get("text"))
            line = await service.correct(program_id, caption_id(int(raw)), text)
        except CaptionError as err:
            raise err.api() from None
        return web.json_response(line.public(), dumps=_dumps)

    async def issue_key(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        program_id = _program_id(request)
        key = await service.issue_key(program_id)
        url = f"{link_base}/captions/{program_id}/ingest?cid={key}"
        return web.json_response({"caption_key": key, "ingest_url": url},
                                 headers={"Cache-Control": "no-store"})

    async def ingest(request: web.Request) -> web.Response:
        program_id = _program_id(request)
        key = request.query.get("cid")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if key is None and scheme.lower() == "bearer":
            key = token.strip()
        if not await service.verify_key(program_id, key):
            raise ApiError(403, "invalid_caption_key", "The caption key (cid) is missing or wrong.")
        ingest_rate(program_id)
        seq_raw = request.query.get("seq")
        if seq_raw is not None and (not seq_raw.isdigit() or len(seq_raw) > 12):
            raise ApiError(400, "invalid_seq", "'seq' is the POST's sequence number (0, 1, 2, ...).")
        try:
            lang = language(request.query.get("lang"), service.settings.languages)
        except CaptionError as err:
            raise err.api() from None
        raw = await read_limited(request, MAX_INGEST_BYTES, "caption body")
        try:
            captions = parse(raw.decode("utf-8"), MAX_INGEST_CAPTIONS)
        except UnicodeDecodeError:
            raise ApiError(400, "invalid_body", "The body is not UTF-8 text.") from None
        except FormatError as exc:
            raise ApiError(400, "invalid_body", f"Not in the caption ingestion format: {exc}.") from None
        now = service.now_ms()
        try:
            if captions:
                await service.require_open(program_id)
            items = []
            for index, timed in enumerate(captions):
                if not now - INGEST_PAST_MS <= timed.at <= now + INGEST_FUTURE_MS:
                    raise CaptionError("timestamp_out_of_range",
                                       f"The timestamp {stamp(timed.at)} is more than 5 minutes before or 1 "
                                       f"minute after the server's time {stamp(now)} (UTC).")
                text = clean_line(timed.text)
                client_key = f"ingest:{lang}:{seq_raw}:{index}" if seq_raw is not None else None
                items.append(NewCaption(lang, timed.at, text, "ingest", client_key))
            # One batch: queued together, stored in this order in the next tick.
            await asyncio.gather(*(service.commit(program_id, item) for item in items))
        except CaptionError as err:
            raise err.api() from None
        return web.Response(text=stamp(service.now_ms()) + "\n", content_type="text/plain",
                            headers={"Cache-Control": "no-store"})

    app.router.add_get("/api/programs/{id}/captions", transcript)
    app.router.add_patch("/api/programs/{id}/captions/{line}", correct)
    app.router.add_post("/api/programs/{id}/caption-key", issue_key)
    app.router.add_post("/captions/{id}/ingest", ingest)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)
