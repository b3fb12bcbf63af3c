"""Every moderation action works for a host, is broadcast, tells the affected viewer why, and is
refused for a viewer (checked on the server) without changing anything."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.chat.clients import HALL, ChatClient, connect, host, producer, viewer
from tests.helpers import Server, cookie_header, make_config, running_server


async def _refused(client: ChatClient, event: str, data: dict[str, Any], code: str = "forbidden") -> None:
    ack = await client.call(event, data)
    assert ack["ok"] is False and ack["error"]["code"] == code, ack


async def _until_ok(client: ChatClient, data: dict[str, Any]) -> None:
    """Send a chat until the rate limit lets it through; any other refusal fails the test."""
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        ack = await client.call("chat", data)
        if ack["ok"]:
            return
        assert ack["error"]["code"] == "rate_limited", ack
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.2)  # nothing to await: the rate limit refills with time


async def test_viewer_cannot_moderate(server: Server) -> None:
    troll = await viewer(server)
    other = await viewer(server)
    try:
        await troll.join()
        await other.join()
        mid = (await other.call("chat", {"room": HALL, "text": "hello"}))["id"]
        for event, data in [
            ("mod:delete", {"room": HALL, "id": mid}),
            ("mod:timeout", {"room": HALL, "viewer": other.viewer, "seconds": 60}),
            ("mod:ban", {"room": HALL, "viewer": other.viewer}),
            ("mod:unban", {"room": HALL, "viewer": other.viewer}),
            ("mod:slow", {"room": HALL, "seconds": 30}),
            ("mod:pin", {"room": HALL, "id": mid}),
            ("mod:words", {"room": HALL, "words": ["hello"]}),
            ("poll:open", {"room": HALL, "question": "q", "choices": ["a", "b"]}),
            ("poll:close", {"room": HALL, "poll_id": "p1"}),
            ("poll:reveal", {"room": HALL, "poll_id": "p1"}),
            ("question:answer", {"room": HALL, "question_id": "q1"}),
        ]:
            await _refused(troll, event, data)
        # nothing changed
        snap = await (await viewer(server)).join()
        assert [m["id"] for m in snap["messages"]] == [mid]
        assert snap["slow"] == 0 and snap["pinned"] is None and snap["poll"] is None
        assert (await other.call("chat", {"room": HALL, "text": "still here"}))["ok"]
    finally:
        await troll.close()
        await other.close()


async def test_host_moderation_actions(server: Server) -> None:
    mod = await host(server)
    v = await viewer(server)
    watcher = await viewer(server)
    try:
        await mod.join()
        await v.join()
        await watcher.join()
        # delete
        mid = (await v.call("chat", {"room": HALL, "text": "rude"}))["id"]
        assert (await mod.call("mod:delete", {"room": HALL, "id": mid}))["ok"]
        await watcher.rec.wait_for("deleted", lambda d: d["ids"] == [mid])
        await watcher.rec.wait_for("moderation", lambda d: d["action"] == "delete" and d["id"] == mid)
        await v.rec.wait_for("notice", lambda d: d["code"] == "message_deleted")
        await _refused(mod, "mod:delete", {"room": HALL, "id": mid}, "unknown_message")

        # pin and unpin
        keep = (await v.call("chat", {"room": HALL, "text": "pin me"}))["id"]
        assert (await mod.call("mod:pin", {"room": HALL, "id": keep}))["ok"]
        pinned = await watcher.rec.wait_for("pinned", lambda d: d["message"] is not None)
        assert pinned["message"]["id"] == keep
        assert (await (await viewer(server)).join())["pinned"]["id"] == keep
        assert (await mod.call("mod:pin", {"room": HALL, "id": None}))["ok"]
        await watcher.rec.wait_for("pinned", lambda d: d["message"] is None)

        # slow mode
        assert (await mod.call("mod:slow", {"room": HALL, "seconds": 60}))["ok"]
        await watcher.rec.wait_for("slow", lambda d: d["seconds"] == 60)
        assert (await watcher.call("chat", {"room": HALL, "text": "one"}))["ok"]
        slow = await watcher.call("chat", {"room": HALL, "text": "two"})
        assert slow["error"]["code"] == "slow_mode"
        await watcher.rec.wait_for("notice", lambda d: d["code"] == "slow_mode")
        assert (await mod.call("chat", {"room": HALL, "text": "hosts are exempt"}))["ok"]
        assert (await mod.call("chat", {"room": HALL, "text": "hosts are exempt 2"}))["ok"]
        assert (await mod.call("mod:slow", {"room": HALL, "seconds": 0}))["ok"]
        await _refused(mod, "mod:slow", {"room": HALL, "seconds": 121}, "invalid_seconds")

        # blocked words (another viewer, so v's chat budget lasts for the timeout part)
        w = await viewer(server)
        await w.join()
        ack = await mod.call("mod:words", {"room": HALL, "words": ["Spam", "광고"]})
        assert ack["words"] == ["Spam", "광고"]
        blocked = await w.call("chat", {"room": HALL, "text": "buy SPAM now"})
        assert blocked["error"]["code"] == "blocked_word"
        hidden = await w.call("chat", {"room": HALL, "text": "S\u200dp\u200bam"})  # zero-width tricks
        assert hidden["error"]["code"] == "blocked_word"
        await w.rec.wait_for("notice", lambda d: d["code"] == "blocked_word")
        await _until_ok(w, {"room": HALL, "text": "fine words"})

        # timeout
        ack = await mod.call("mod:timeout", {"room": HALL, "viewer": v.viewer, "seconds": 10})
        assert ack["ok"]
        await v.rec.wait_for("notice", lambda d: d["code"] == "timed_out")
        await watcher.rec.wait_for("moderation", lambda d: d["action"] == "timeout")
        refused = await v.call("chat", {"room": HALL, "text": "let me talk"})
        assert refused["error"]["code"] == "timed_out" and refused["error"]["until"] == ack["until"]
        await _refused(mod, "mod:timeout", {"room": HALL, "viewer": v.viewer, "seconds": 5},
                       "invalid_seconds")
        await _refused(mod, "mod:timeout", {"room": HALL, "viewer": v.viewer, "seconds": 86_401},
                       "invalid_seconds")

        # ban, unban
        assert (await mod.call("mod:ban", {"room": HALL, "viewer": watcher.viewer}))["ok"]
        await watcher.rec.wait_for("notice", lambda d: d["code"] == "banned")
        assert (await watcher.call("chat", {"room": HALL, "text": "hi"}))["error"]["code"] == "banned"
        assert (await mod.call("mod:unban", {"room": HALL, "viewer": watcher.viewer}))["ok"]
        await watcher.rec.wait_for("notice", lambda d: d["code"] == "unbanned")
        assert (await watcher.call("chat", {"room": HALL, "text": "back again"}))["ok"]
        # unban also lifts the timeout
        assert (await mod.call("mod:unban", {"room": HALL, "viewer": v.viewer}))["ok"]
        await _until_ok(v, {"room": HALL, "text": "free"})
    finally:
        for c in (mod, v, watcher):
            await c.close()


async def test_poll_one_vote_per_viewer_and_reveal(server: Server) -> None:
    prod = await producer(server)
    voters = [await viewer(server) for _ in range(3)]
    await server.add_user("captioner", "captioner", "captioner-password-1")
    captioner_session = await server.login("captioner", "captioner-password-1")
    captioner = await connect(server.url, cookies=cookie_header(captioner_session, server.url))
    try:
        await prod.join()
        await captioner.join()
        for c in voters:
            await c.join()
        bad = await prod.call("poll:open", {"room": HALL, "question": "Best case?", "choices": ["only"]})
        assert bad["error"]["code"] == "invalid_choices"
        ack = await prod.call("poll:open", {"room": HALL, "question": "Best case?",
                                            "choices": ["서울", "부산", "제주"]})
        poll_id = ack["poll"]["id"]
        seen = await voters[0].rec.wait_for("poll", lambda d: d["id"] == poll_id)
        assert "counts" not in seen
        first = await voters[0].call("vote", {"room": HALL, "poll_id": poll_id, "choice": 1})
        assert first["ok"], first
        again = await voters[0].call("vote", {"room": HALL, "poll_id": poll_id, "choice": 2})
        assert again["error"]["code"] == "already_voted"
        # a second connection of the same viewer id cannot vote again either
        assert (await voters[1].call("vote", {"room": HALL, "poll_id": poll_id, "choice": 1}))["ok"]
        assert (await voters[2].call("vote", {"room": HALL, "poll_id": poll_id, "choice": 0}))["ok"]
        out_of_range = await voters[2].call("vote", {"room": HALL, "poll_id": poll_id, "choice": 3})
        assert out_of_range["error"]["code"] == "invalid_choice"
        # the producer sees live counts; viewers see only that they voted
        live = await prod.rec.wait_for("poll", lambda d: d.get("counts") == [1, 2, 0])
        assert live["id"] == poll_id
        assert all("counts" not in p for p in voters[0].rec.all("poll"))
        # a captioner is staff but not a moderator: no counts before the reveal either
        assert captioner.rec.all("poll") and all("counts" not in p for p in captioner.rec.all("poll"))
        rejoin = await voters[0].call("join", {"room": HALL})
        assert rejoin["poll"]["voted"] is True and "counts" not in rejoin["poll"]
        # close, reveal
        assert (await prod.call("poll:close", {"room": HALL, "poll_id": poll_id}))["ok"]
        late = await voters[2].call("vote", {"room": HALL, "poll_id": poll_id, "choice": 0})
        assert late["error"]["code"] in ("poll_closed", "already_voted")
        assert (await prod.call("poll:reveal", {"room": HALL, "poll_id": poll_id}))["ok"]
        revealed = await voters[0].rec.wait_for("poll", lambda d: d.get("revealed") is True)
        assert revealed["counts"] == [1, 2, 0]
    finally:
        await prod.close()
        for c in voters:
            await c.close()


async def test_questions_ordered_by_votes(server: Server) -> None:
    mod = await host(server)
    a = await viewer(server)
    b = await viewer(server)
    try:
        for c in (mod, a, b):
            await c.join()
        q1 = (await a.call("question", {"room": HALL, "text": "First?"}))["id"]
        too_soon = await a.call("question", {"room": HALL, "text": "Again?"})
        assert too_soon["error"]["code"] == "question_too_soon"
        q2 = (await b.call("question", {"room": HALL, "text": "Second?"}))["id"]
        assert (await a.call("upvote", {"room": HALL, "question_id": q2}))["ok"]
        assert (await b.call("upvote", {"room": HALL, "question_id": q2}))["ok"]
        dup = await b.call("upvote", {"room": HALL, "question_id": q2})
        assert dup["error"]["code"] == "already_upvoted"
        assert (await a.call("upvote", {"room": HALL, "question_id": "qnope"}))["error"]["code"] == (
            "unknown_question")
        listed = await a.rec.wait_for("questions", lambda d: [q["votes"] for q in d["items"]] == [2, 0])
        assert [q["id"] for q in listed["items"]] == [q2, q1]
        assert (await a.call("question:answer", {"room": HALL, "question_id": q2}))["error"]["code"] == (
            "forbidden")
        assert (await mod.call("question:answer", {"room": HALL, "question_id": q2}))["ok"]
        await a.rec.wait_for("questions", lambda d: d["items"][0]["answered"] is True)
    finally:
        for c in (mod, a, b):
            await c.close()


async def test_question_refused_when_the_room_is_full(tmp_path: Path) -> None:
    """The cap on both backends is in test_store_contract; here the ack a viewer gets."""
    config = make_config("sqlite", tmp_path / "d", None, chat_max_questions=1)
    async with running_server(config) as server:
        a = await viewer(server)
        b = await viewer(server)
        try:
            for c in (a, b):
                await c.join()
            first = (await a.call("question", {"room": HALL, "text": "First?"}))["id"]
            full = await b.call("question", {"room": HALL, "text": "Second?"})
            assert full["ok"] is False and full["error"]["code"] == "too_many_questions", full
            assert (await b.call("upvote", {"room": HALL, "question_id": first}))["ok"]
            listed = await b.rec.wait_for("questions", lambda d: [q["votes"] for q in d["items"]] == [1])
            assert [q["id"] for q in listed["items"]] == [first]
        finally:
            for c in (a, b):
                await c.close()
