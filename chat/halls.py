"""The exhibition halls of the expo (EXPO.md) as chat rooms `hall:<id>`, and the chat REST routes:
`GET /api/halls` (ranked by hearts, the public popularity vote), `GET /api/halls/{id}/comments`
(older pages with `?before=<id>`), `GET /api/programs/{id}/stats` (producers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kernel.errors import ApiError
from kernel.identity import Gate

from .validate import is_message_id

if TYPE_CHECKING:
    from .service import ChatService


@dataclass(frozen=True)
class Hall:
    id: str
    name: str
    name_en: str
    cases: int | None

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "name_en": self.name_en, "cases": self.cases,
                "room": f"hall:{self.id}"}


HALLS: dict[str, Hall] = {
    hall.id: hall
    for hall in (
        Hall("social-value", "사회적 가치", "Social value", 11),
        Hall("digital-services", "디지털 서비스", "Digital services", 11),
        Hall("participation", "참여와 협력", "Participation and cooperation", 11),
        Hall("regional", "지역혁신", "Regional innovation", 17),
        Hall("achievements", "성과관", "Achievements hall", None),
        Hall("failure-expo", "실패박람회관", "Failure expo hall", None),
    )
}


def setup_routes(app: web.Application, service: ChatService, gate: Gate) -> None:
    async def list_halls(_request: web.Request) -> web.Response:
        rooms = [f"hall:{hall_id}" for hall_id in HALLS]
        totals = await service.stores.counters.hearts_totals(rooms)
        halls = []
        for hall in HALLS.values():
            room = f"hall:{hall.id}"
            state = service.cached(room)
            item = hall.public()
            item["hearts"] = totals.get(room, 0)
            item["viewers"] = service.viewers(state) if state else 0
            halls.append(item)
        order = list(HALLS)
        halls.sort(key=lambda h: (-h["hearts"], order.index(h["id"])))
        for rank, item in enumerate(halls, start=1):
            item["rank"] = rank
        return web.json_response({"halls": halls})

    async def comments(request: web.Request) -> web.Response:
        hall_id = request.match_info["id"]
        if hall_id not in HALLS:
            raise ApiError(404, "unknown_hall", "There is no such hall.")
        before = request.query.get("before")
        if before is not None and not is_message_id(before):
            raise ApiError(400, "invalid_before", "'before' must be a comment id.")
        try:
            limit = int(request.query.get("limit", "50"))
        except ValueError:
            raise ApiError(400, "invalid_limit", "'limit' must be 1-100.") from None
        if not 1 <= limit <= 100:
            raise ApiError(400, "invalid_limit", "'limit' must be 1-100.")
        items = await service.stores.history.recent(f"hall:{hall_id}", limit, before)
        return web.json_response(
            {"hall": HALLS[hall_id].public(), "comments": items,
             "next_before": items[0]["id"] if len(items) == limit else None}
        )

    async def stats(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        program_id = (await service.programs.require(request.match_info["id"])).id
        room = f"program:{program_id}"
        from .service import minute_of, now_ms

        minute = minute_of(now_ms())
        rows = await service.stores.counters.per_minute(room, minute - 180)
        total, per_minute = await service.stores.counters.hearts(room, minute)
        state = service.cached(room)
        return web.json_response(
            {
                "program_id": program_id,
                "room": room,
                "viewers": service.viewers(state) if state else 0,
                "hearts_total": total,
                "hearts_this_minute": per_minute,
                "per_minute": [
                    {"minute": r["minute"] * 60, "messages": r["messages"], "hearts": r["hearts"]}
                    for r in rows
                ],
            }
        )

    app.router.add_get("/api/halls", list_halls)
    app.router.add_get("/api/halls/{id}/comments", comments)
    app.router.add_get("/api/programs/{id}/stats", stats)
