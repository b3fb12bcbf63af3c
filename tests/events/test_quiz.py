"""Live quizzes on both stores, on the server's manual clock: a host opens a question with a
10-second window, everyone in the room sees it (without the answer) with the server's time;
members answer once, only inside the window; after it the host reveals the result to the room
and each correct answer earns the program's quiz mileage, once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp

from kernel.clock import ManualClock
from tests.helpers import Server

from .conftest import chat_as, live_program, me, sign_up
from .test_earning import set_rules


async def post(client: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with client.post(path, json=body) as r:
        return r.status, await r.json()


async def open_quiz(server: Server, program: str, window_s: int = 10) -> dict[str, Any]:
    staff = await server.host()
    status, body = await post(
        staff,
        "/api/events/quizzes",
        {
            "program": program,
            "question": "정부혁신 박람회는 며칠 동안 열리나요?",
            "choices": ["3일", "10일", "30일"],
            "answer": 1,
            "window_s": window_s,
        },
    )
    assert status == 201, body
    quiz: dict[str, Any] = body["quiz"]
    return quiz


async def test_a_quiz_round(server: Server, clock: ManualClock) -> None:
    program = await live_program(server, clock)
    room = f"program:{program}"
    await set_rules(server, program, quiz=25)
    right = await sign_up(server, "right@example.kr", "정답자")
    wrong = await sign_up(server, "wrong@example.kr", "오답자")
    late = await sign_up(server, "late@example.kr", "지각생")
    watcher = await chat_as(server, right)
    await watcher.join(room)

    quiz = await open_quiz(server, program)
    shown = await watcher.rec.wait_for("quiz", lambda q: q["id"] == quiz["id"])
    assert shown["state"] == "open" and shown["window_s"] == 10 and "correct" not in shown
    assert shown["server_now"] == shown["opens_at"] and shown["choices"] == ["3일", "10일", "30일"]

    assert (await post(right, f"/api/events/quizzes/{quiz['id']}/answers", {"choice": 1}))[0] == 201
    assert (await post(wrong, f"/api/events/quizzes/{quiz['id']}/answers", {"choice": 0}))[0] == 201
    status, twice = await post(right, f"/api/events/quizzes/{quiz['id']}/answers", {"choice": 0})
    assert (status, twice["error"]["code"]) == (409, "already_answered")
    staff = await server.host()
    status, early = await post(staff, f"/api/events/quizzes/{quiz['id']}/reveal", {})
    assert (status, early["error"]["code"]) == (409, "quiz_still_open")

    await clock.advance(timedelta(seconds=10))
    status, closed = await post(late, f"/api/events/quizzes/{quiz['id']}/answers", {"choice": 1})
    assert (status, closed["error"]["code"]) == (409, "quiz_closed")
    status, revealed = await post(staff, f"/api/events/quizzes/{quiz['id']}/reveal", {})
    assert status == 200 and revealed["quiz"]["correct_answers"] == 1
    result = await watcher.rec.wait_for("quiz", lambda q: q["id"] == quiz["id"] and q["state"] == "revealed")
    assert (result["correct"], result["counts"]) == (1, [1, 1, 0])
    assert [(await me(c))["balance"] for c in (right, wrong, late)] == [25, 0, 0]
    status, again = await post(staff, f"/api/events/quizzes/{quiz['id']}/reveal", {})
    assert (status, again["error"]["code"]) == (409, "already_revealed")
    assert (await me(right))["balance"] == 25
    async with right.get(f"/api/events/programs/{program}") as r:
        state = await r.json()
    assert state["quiz"]["my_answer"] == 1 and state["quiz"]["correct"] == 1


async def test_quiz_input_and_roles(server: Server, clock: ManualClock) -> None:
    program = await live_program(server, clock)
    staff = await server.host()
    base = {"program": program, "question": "Q?", "choices": ["a", "b"], "answer": 0, "window_s": 10}
    for change, code in (
        ({"choices": ["only"]}, "invalid_choices"),
        ({"choices": "ab"}, "invalid_choices"),
        ({"answer": 2}, "invalid_answer"),
        ({"window_s": 1}, "invalid_window_s"),
        ({"question": ""}, "invalid_question"),
        ({"program": "x/y"}, "invalid_program"),
    ):
        status, body = await post(staff, "/api/events/quizzes", {**base, **change})
        assert (status, body["error"]["code"]) == (400, code), change
    member = await sign_up(server, "player@example.kr")
    status, body = await post(member, "/api/events/quizzes", base)
    assert (status, body["error"]["code"]) == (401, "not_authenticated")
    quiz = await open_quiz(server, program)
    status, body = await post(staff, "/api/events/quizzes", base)
    assert (status, body["error"]["code"]) == (409, "quiz_open")
    for choice, code in ((7, "invalid_choice"), ("1", "invalid_choice"), (-1, "invalid_choice")):
        status, body = await post(member, f"/api/events/quizzes/{quiz['id']}/answers", {"choice": choice})
        assert (status, body["error"]["code"]) == (400, code), choice
    status, body = await post(server.client(), f"/api/events/quizzes/{quiz['id']}/answers", {"choice": 1})
    assert (status, body["error"]["code"]) == (401, "sign_in_required")
    status, body = await post(member, "/api/events/quizzes/q_nope/answers", {"choice": 1})
    assert (status, body["error"]["code"]) == (404, "unknown_quiz")
    async with member.get(f"/api/events/quizzes/{quiz['id']}") as r:
        assert "correct" not in (await r.json())["quiz"]
