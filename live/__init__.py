"""Live broadcast: stream keys, WHIP ingest, the HLS ladder and recording, WHEP, premieres, replays."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from innotv.deps import Deps
from innotv.errors import ApiError

from .keys import StreamKeys, make_stream_key_store


def setup(app: web.Application, deps: Deps) -> None:
    keys = StreamKeys(make_stream_key_store(deps.backend))
    deps.services["stream_keys"] = keys

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await keys.store.setup()
        yield

    app.cleanup_ctx.append(lifecycle)

    async def issue_key(request: web.Request) -> web.Response:
        await deps.auth.require(request, "producer")
        program_id = request.match_info["id"]
        programs = deps.services.get("programs")
        if programs is None or await programs.get(program_id) is None:
            raise ApiError(404, "program_not_found", f"No program with id {program_id!r}.")
        key = await keys.issue(program_id)
        return web.json_response(
            {"stream_key": key}, headers={"Cache-Control": "no-store"}
        )

    app.router.add_post("/api/programs/{id}/stream-key", issue_key)
