"""The exhibition halls of the expo (EXPO.md) as chat rooms `hall:<id>`, and their REST routes:
`GET /api/halls` (ranked by hearts, the public popularity vote: one heart per viewer per hall per
day), `GET /api/halls/{id}/comments` (older pages with `?before=<id>`), `GET /api/halls/{id}/cases`
(the hall's cases: placeholders or the operator's titles, see hall_cases.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kernel.errors import ApiError

from .hall_cases import HallCase, placeholders
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

    def placeholders(self) -> list[HallCase]:
        return placeholders(self.id, self.name, self.name_en, self.cases)


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


def hall_cases(operator: dict[str, list[HallCase]]) -> dict[str, list[HallCase]]:
    """Every hall's cases: the operator's where the halls file names the hall, else placeholders."""
    return {hall_id: operator.get(hall_id, hall.placeholders()) for hall_id, hall in HALLS.items()}


def setup_routes(app: web.Application, service: ChatService) -> None:
    def count(hall_id: str) -> int | None:
        cases = service.hall_cases.get(hall_id)
        return len(cases) if cases else None

    async def list_halls(_request: web.Request) -> web.Response:
        rooms = [f"hall:{hall_id}" for hall_id in HALLS]
        totals = await service.stores.counters.hearts_totals(rooms)
        halls = []
        for hall in HALLS.values():
            room = f"hall:{hall.id}"
            state = service.cached(room)
            item = hall.public()
            item["cases"] = count(hall.id)
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
            {"hall": {**HALLS[hall_id].public(), "cases": count(hall_id)}, "comments": items,
             "next_before": items[0]["id"] if len(items) == limit else None}
        )

    async def cases(request: web.Request) -> web.Response:
        hall_id = request.match_info["id"]
        if hall_id not in HALLS:
            raise ApiError(404, "unknown_hall", "There is no such hall.")
        listed = service.hall_cases.get(hall_id, [])
        hall = {**HALLS[hall_id].public(), "cases": count(hall_id)}
        return web.json_response(
            {"hall": hall, "cases": [case.public(n) for n, case in enumerate(listed, start=1)]}
        )

    app.router.add_get("/api/halls", list_halls)
    app.router.add_get("/api/halls/{id}/cases", cases)
    app.router.add_get("/api/halls/{id}/comments", comments)
