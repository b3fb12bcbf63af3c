"""Stock python-socketio chat server for bench/chat.py: the same events as innotv's chat, each
message emitted to the room as it arrives with python-socketio's own room emit (one task per
recipient), default client manager. Usage: python bench/stock_psio.py PORT
"""

from __future__ import annotations

import sys
import time
from typing import Any

import socketio
from aiohttp import web


def main() -> None:
    port = int(sys.argv[1])
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*", max_http_buffer_size=16384)
    app = web.Application()
    sio.attach(app)
    state: dict[str, Any] = {"seq": 0, "hearts": {}, "dirty": set(), "conns": 0}

    @sio.on("connect")  # type: ignore[untyped-decorator]
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        state["conns"] += 1

    @sio.on("disconnect")  # type: ignore[untyped-decorator]
    async def disconnect(sid: str, *args: Any) -> None:
        state["conns"] -= 1

    @sio.on("join")  # type: ignore[untyped-decorator]
    async def join(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        await sio.enter_room(sid, data["room"])
        return {"ok": True, "room": data["room"], "messages": []}

    @sio.on("chat")  # type: ignore[untyped-decorator]
    async def chat(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        state["seq"] += 1
        item = {"id": str(state["seq"]), "viewer": sid, "nickname": "n", "text": str(data["text"])[:300],
                "ts": int(time.time() * 1000), "role": "viewer"}
        await sio.emit("messages", {"room": data["room"], "items": [item]}, room=data["room"])
        return {"ok": True, "id": item["id"]}

    @sio.on("heart")  # type: ignore[untyped-decorator]
    async def heart(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        state["hearts"][data["room"]] = state["hearts"].get(data["room"], 0) + int(data["count"])
        state["dirty"].add(data["room"])
        return {"ok": True}

    async def hearts_loop(_app: web.Application) -> Any:
        async def loop() -> None:
            while True:
                await sio.sleep(0.2)
                for room in list(state["dirty"]):
                    await sio.emit("hearts", {"room": room, "total": state["hearts"][room]}, room=room)
                state["dirty"].clear()

        task = sio.start_background_task(loop)
        yield
        task.cancel()

    async def count(_request: web.Request) -> web.Response:
        return web.Response(text=str(state["conns"]))

    async def hearts(request: web.Request) -> web.Response:
        return web.Response(text=str(state["hearts"].get(request.query.get("room"), 0)))

    app.cleanup_ctx.append(hearts_loop)
    app.router.add_get("/count", count)
    app.router.add_get("/hearts", hearts)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    main()
