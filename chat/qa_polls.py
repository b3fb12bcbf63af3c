"""Q&A and polls: questions with upvotes (ordered by votes), and the competition vote.

A viewer asks at most once per 30 s and upvotes a question once; hosts mark questions answered
or hide them (a hidden question leaves every list).
A room keeps at most 2,000 questions (`too_many_questions` after that).
A poll has 2-10 choices; each viewer id votes once (atomic in the store, so exact across
processes); viewers see only that they voted until a host reveals, hosts see live counts.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from .errors import ChatError
from .events import Handlers
from .service import ChatService, Conn, now_ms
from .validate import clean_text, int_field, short_id

QUESTION_EVERY_S = 30.0
# A room's questions are all loaded and ordered to pick the top 50 (`question_list`), so the
# store keeps at most this many per room: bounded work and memory per refresh.
MAX_CHOICE = 80


def add_qa_and_polls(h: Handlers, service: ChatService) -> None:
    polls_and_questions = service.stores.polls_and_questions

    async def question(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
        state = await h.joined_state(conn, data)
        text = clean_text(data.get("text"))
        await h.check_can_write(conn, state)
        now = time.monotonic()
        if conn.last_question and now - conn.last_question < QUESTION_EVERY_S:
            wait = round(QUESTION_EVERY_S - (now - conn.last_question), 1)
            raise ChatError("question_too_soon", f"One question per 30 s: wait {wait} s.", retry_after=wait)
        conn.last_question = now
        item = {
            "id": "q" + secrets.token_hex(6),
            "viewer": conn.viewer,
            "nickname": conn.nickname,
            "text": text,
            "ts": now_ms(),
        }
        cap = service.settings.max_questions
        if not await polls_and_questions.add_question(state.name, item, cap):
            raise ChatError("too_many_questions",
                            f"This room has {cap} questions already; no more can be asked.")
        await service.announce_dirty(state, "questions")
        return _with_mileage({"ok": True, "id": item["id"]},
                             await service.took_part(conn, "question", state.name, str(item["id"])))

    async def upvote(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
        state = await h.joined_state(conn, data)
        qid = short_id(data.get("question_id"), "question_id")
        result = await polls_and_questions.upvote(state.name, qid, conn.viewer)
        if result is None:
            raise ChatError("unknown_question", "There is no such question.")
        if not result:
            raise ChatError("already_upvoted", "You upvoted this question already.")
        await service.announce_dirty(state, "questions")
        return {"ok": True}

    async def answer(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
        await service.require_moderator(conn)
        state = await h.joined_state(conn, data)
        qid = short_id(data.get("question_id"), "question_id")
        if not await polls_and_questions.answer_question(state.name, qid):
            raise ChatError("unknown_question", "There is no such question.")
        await service.announce_dirty(state, "questions")
        return {"ok": True}

    async def hide(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
        await service.require_moderator(conn)
        state = await h.joined_state(conn, data)
        qid = short_id(data.get("question_id"), "question_id")
        if not await polls_and_questions.hide_question(state.name, qid):
            raise ChatError("unknown_question", "There is no such question.")
        await service.announce_dirty(state, "questions")
        by = conn.user.username if conn.user else ""
        await service.emit(state.name, "moderation",
                           {"room": state.name, "action": "hide_question", "by": by, "id": qid})
        return {"ok": True}

    async def poll_open(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
        await service.require_moderator(conn)
        state = await h.joined_state(conn, data)
        text = clean_text(data.get("question"), field="question")
        choices_raw = data.get("choices")
        if not isinstance(choices_raw, list) or not 2 <= len(choices_raw) <= 10:
            raise ChatError("invalid_choices", "'choices' is a list of 2 to 10 names.")
        choices = [clean_text(c, field="choices", max_len=MAX_CHOICE) for c in choices_raw]
        current = state.poll
        if current is not None and current.get("state") == "open":
            raise ChatError("poll_open", "Close the open poll first.")
        poll = {
            "id": "p" + secrets.token_hex(6),
            "question": text,
            "choices": choices,
            "state": "open",
            "revealed": False,
            "opened_at": now_ms(),
        }
        await service.set_meta(state, "poll", json.dumps(poll, ensure_ascii=False))
        await service.emit(state.name, "poll", {**poll, "room": state.name})
        return {"ok": True, "poll": poll}

    async def _change_poll(conn: Conn, data: dict[str, Any], **changes: Any) -> dict[str, Any]:
        await service.require_moderator(conn)
        state = await h.joined_state(conn, data)
        poll = state.poll
        if poll is None or poll["id"] != short_id(data.get("poll_id"), "poll_id"):
            raise ChatError("unknown_poll", "There is no such poll in this room.")
        poll.update(changes)
        await service.set_meta(state, "poll", json.dumps(poll, ensure_ascii=False))
        view = {**poll, "room": state.name}
        if poll.get("revealed"):
            view["counts"] = await polls_and_questions.poll_counts(poll["id"], len(poll["choices"]))
        await service.emit(state.name, "poll", view)
        return {"ok": True, "poll": view}

    async def poll_close(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
        return await _change_poll(conn, data, state="closed")

    async def poll_reveal(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
        return await _change_poll(conn, data, revealed=True)

    async def vote(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
        state = await h.joined_state(conn, data)
        poll = state.poll
        if poll is None or poll["id"] != short_id(data.get("poll_id"), "poll_id"):
            raise ChatError("unknown_poll", "There is no such poll in this room.")
        if poll.get("state") != "open":
            raise ChatError("poll_closed", "This poll is closed.")
        choice = int_field(data, "choice", 0, len(poll["choices"]) - 1)
        if not await polls_and_questions.vote(poll["id"], conn.viewer, choice):
            raise ChatError("already_voted", "You voted in this poll already.")
        await service.announce_dirty(state, "poll")
        return _with_mileage({"ok": True, "voted": True},
                             await service.took_part(conn, "vote", state.name, poll["id"]))

    h.add("question", question)
    h.add("upvote", upvote)
    h.add("question:answer", answer)
    h.add("question:hide", hide)
    h.add("poll:open", poll_open)
    h.add("poll:close", poll_close)
    h.add("poll:reveal", poll_reveal)
    h.add("vote", vote)


def _with_mileage(ack: dict[str, Any], mileage: dict[str, Any] | None) -> dict[str, Any]:
    """The ack, with what the viewer earned by it (the events slice) when they earned."""
    if mileage is not None:
        ack["mileage"] = mileage
    return ack
