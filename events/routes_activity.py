"""REST routes of taking part: a program's event state and earning rules, watch heartbeats,
campaigns and donations, quizzes, prize draws and claims, and the producer's audit export."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kernel.body import read_json_object
from kernel.errors import ApiError
from kernel.identity import Gate

from . import validate as v
from .mileage import Rules
from .moments import to_ms
from .parts import EventsParts
from .reconcile import all_entries, csv_header, csv_rows, reconcile
from .validate import fields

MAX_BODY = 8 * 1024
MAX_GOAL = 10**12
NO_STORE = {"Cache-Control": "no-store"}


def _id(request: web.Request, field: str = "id") -> str:
    value = request.match_info[field]
    if not v.ID_RE.fullmatch(value):
        raise ApiError(404, "not_found", "No such resource.")
    return value


def setup_activity_routes(app: web.Application, parts: EventsParts, gate: Gate) -> None:
    members, mileage, campaigns, quizzes, draws = (
        parts.members,
        parts.mileage,
        parts.campaigns,
        parts.quizzes,
        parts.draws,
    )

    # ---- a program's event ----------------------------------------------------------------------
    async def program_event(request: web.Request) -> web.Response:
        program_id = _id(request)
        await mileage.programs.require(program_id)
        member = await members.current(request)
        me = member.id if member else None
        draw_views = [await draws.public(d, me) for d in await parts.store.draws_of(program_id)]
        return web.json_response(
            {
                "program": program_id,
                "rules": (await mileage.rules(program_id)).__dict__,
                "quiz": await quizzes.view(program_id, me),
                "draws": draw_views,
                "campaigns": await campaigns.listing(),
            },
            headers=NO_STORE,
        )

    async def get_rules(request: web.Request) -> web.Response:
        program_id = _id(request)
        await mileage.programs.require(program_id)
        return web.json_response({"rules": (await mileage.rules(program_id)).__dict__})

    async def put_rules(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        program_id = _id(request)
        body = await read_json_object(request, MAX_BODY)
        rules = Rules.parse(body)
        await mileage.programs.require(program_id)
        await mileage.set_rules(program_id, rules)
        return web.json_response({"rules": rules.__dict__})

    # ---- watching -------------------------------------------------------------------------------
    async def watch_start(request: web.Request) -> web.Response:
        member = await members.require(request)
        body = await read_json_object(request, MAX_BODY)
        fields(body, {"program"})
        return web.json_response(
            await parts.watch.start(member.id, v.ident(body.get("program"), "program")), headers=NO_STORE
        )

    async def watch_beat(request: web.Request) -> web.Response:
        member = await members.require(request)
        body = await read_json_object(request, MAX_BODY)
        fields(body, {"token", "watched_s"})
        watched = v.integer(body.get("watched_s"), "watched_s", 0, 86_400)
        if watched < parts.watch.interval_s - 2:
            raise ApiError(
                400, "invalid_watched_s", "Send a beat after each interval of playing, visible video."
            )
        return web.json_response(await parts.watch.beat(member.id, body.get("token")), headers=NO_STORE)

    # ---- campaigns ------------------------------------------------------------------------------
    async def list_campaigns(_request: web.Request) -> web.Response:
        return web.json_response({"campaigns": await campaigns.listing()}, headers=NO_STORE)

    async def create_campaign(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        body = await read_json_object(request, MAX_BODY)
        fields(body, {"title", "beneficiary", "goal", "starts_at", "ends_at"})
        campaign = await campaigns.create(
            v.text(body.get("title"), "title", 100),
            v.text(body.get("beneficiary"), "beneficiary", 100),
            v.integer(body.get("goal"), "goal", 1, MAX_GOAL),
            to_ms(v.when(body.get("starts_at"), "starts_at")),
            to_ms(v.when(body.get("ends_at"), "ends_at")),
        )
        return web.json_response({"campaign": campaigns.public(campaign, 0, 0)}, status=201)

    async def donate(request: web.Request) -> web.Response:
        member = await members.require(request)
        campaign_id = _id(request)
        body = await read_json_object(request, MAX_BODY)
        fields(body, {"amount", "request_id"})
        raw = body.get("amount")
        amount = None if raw == "all" else v.integer(raw, "amount", 1, MAX_GOAL)
        result = await campaigns.donate(member.id, campaign_id, amount, v.request_id(body.get("request_id")))
        return web.json_response(
            {
                "donated": result.amount,
                "balance": result.balance,
                "campaign": {"id": campaign_id, "total": result.campaign_total, "donors": result.donors},
                "duplicate": result.duplicate,
            },
            status=200 if result.duplicate else 201,
        )

    # ---- quizzes --------------------------------------------------------------------------------
    async def open_quiz(request: web.Request) -> web.Response:
        await gate.require(request, "host")
        body = await read_json_object(request, MAX_BODY)
        fields(body, {"program", "question", "choices", "answer", "window_s"})
        choices = body.get("choices")
        if not isinstance(choices, list) or not 2 <= len(choices) <= 6:
            raise ApiError(400, "invalid_choices", "'choices' is a list of 2 to 6 answers.")
        cleaned = [v.text(c, "choices", 80) for c in choices]
        quiz = await quizzes.open(
            v.ident(body.get("program"), "program"),
            v.text(body.get("question"), "question", 300),
            cleaned,
            v.integer(body.get("answer"), "answer", 0, len(cleaned) - 1),
            v.integer(body.get("window_s"), "window_s", 5, 300),
        )
        return web.json_response({"quiz": {**quizzes.public(quiz), "answer": quiz.answer}}, status=201)

    async def get_quiz(request: web.Request) -> web.Response:
        quiz = await quizzes.require(_id(request))
        counts = (await quizzes.counts(quiz))[0] if quiz.revealed else None
        view: dict[str, Any] = quizzes.public(quiz, counts)
        member = await members.current(request)
        if member is not None:
            view["my_answer"] = await parts.store.quiz_answer_of(quiz.id, member.id)
        return web.json_response({"quiz": view}, headers=NO_STORE)

    async def answer_quiz(request: web.Request) -> web.Response:
        member = await members.require(request)
        quiz_id = _id(request)
        body = await read_json_object(request, MAX_BODY)
        fields(body, {"choice"})
        choice = v.integer(body.get("choice"), "choice", 0, 5)
        await quizzes.answer(member.id, quiz_id, choice)
        return web.json_response({"answered": choice}, status=201)

    async def reveal_quiz(request: web.Request) -> web.Response:
        await gate.require(request, "host")
        return web.json_response({"quiz": await quizzes.reveal(_id(request))})

    # ---- draws ----------------------------------------------------------------------------------
    async def prepare_draw(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        body = await read_json_object(request, MAX_BODY)
        fields(body, {"program", "title", "pool", "winners", "backups", "claim_days"})
        draw = await draws.prepare(
            v.ident(body.get("program"), "program"),
            v.text(body.get("title"), "title", 100),
            body.get("pool"),
            v.integer(body.get("winners"), "winners", 1, 1000),
            v.integer(body.get("backups", 0), "backups", 0, 1000),
            v.integer(body.get("claim_days", 14), "claim_days", 1, 365),
        )
        return web.json_response({"draw": await draws.public(draw)}, status=201)

    async def get_draw(request: web.Request) -> web.Response:
        member = await members.current(request)
        draw = await draws.require(_id(request))
        return web.json_response(
            {"draw": await draws.public(draw, member.id if member else None)}, headers=NO_STORE
        )

    async def draw_proof(request: web.Request) -> web.Response:
        return web.json_response(await draws.proof(_id(request)))

    async def run_draw(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        return web.json_response({"draw": await draws.public(await draws.run(_id(request)))})

    async def claim(request: web.Request) -> web.Response:
        member = await members.require(request)
        draw_id = _id(request)
        body = await read_json_object(request, MAX_BODY)
        fields(body, {"name", "phone", "consent"})
        return web.json_response(await draws.claim(member.id, draw_id, body), status=201)

    async def list_claims(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        return web.json_response({"claims": await draws.claims(_id(request))}, headers=NO_STORE)

    # ---- the audit ------------------------------------------------------------------------------
    async def ledger_csv(request: web.Request) -> web.StreamResponse:
        await gate.require(request, "producer")
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": 'attachment; filename="ledger.csv"',
                **NO_STORE,
            }
        )
        await response.prepare(request)
        await response.write(csv_header().encode())
        batch = []
        async for entry in all_entries(parts.store):
            batch.append(entry)
            if len(batch) >= 1000:
                await response.write(csv_rows(batch).encode())
                batch = []
        await response.write(csv_rows(batch).encode())
        await response.write_eof()
        return response

    async def audit(request: web.Request) -> web.Response:
        await gate.require(request, "producer")
        report = await reconcile(parts.store)
        return web.json_response(
            {
                "ok": report.ok,
                "entries": report.entries,
                "members": report.members,
                "mileage_outstanding": report.mileage_outstanding,
                "donated": report.donated,
                "problems": report.problems[:100],
            },
            headers=NO_STORE,
        )

    router = app.router
    router.add_get("/api/events/programs/{id}", program_event)
    router.add_get("/api/events/programs/{id}/rules", get_rules)
    router.add_put("/api/events/programs/{id}/rules", put_rules)
    router.add_post("/api/events/watch/start", watch_start)
    router.add_post("/api/events/watch/beat", watch_beat)
    router.add_get("/api/events/campaigns", list_campaigns)
    router.add_post("/api/events/campaigns", create_campaign)
    router.add_post("/api/events/campaigns/{id}/donations", donate)
    router.add_post("/api/events/quizzes", open_quiz)
    router.add_get("/api/events/quizzes/{id}", get_quiz)
    router.add_post("/api/events/quizzes/{id}/answers", answer_quiz)
    router.add_post("/api/events/quizzes/{id}/reveal", reveal_quiz)
    router.add_post("/api/events/draws", prepare_draw)
    router.add_get("/api/events/draws/{id}", get_draw)
    router.add_get("/api/events/draws/{id}/proof", draw_proof)
    router.add_post("/api/events/draws/{id}/run", run_draw)
    router.add_post("/api/events/draws/{id}/claim", claim)
    router.add_get("/api/events/draws/{id}/claims", list_claims)
    router.add_get("/api/events/ledger.csv", ledger_csv)
    router.add_get("/api/events/audit", audit)
