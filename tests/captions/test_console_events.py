"""The captioning console's events through real Socket.IO clients: a captioner's line reaches
every viewer as one `captions` event once stored, who may send, turns, the last line's fix, and
the refusals (each an ack error that changes nothing)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.chat.clients import ChatClient, host, producer, viewer
from tests.helpers import Server

from .conftest import captioner
from .support import program_on_air


def lines(client: ChatClient, room: str) -> list[dict[str, Any]]:
    return [item for frame in client.rec.all("captions") if frame["room"] == room for item in frame["items"]]


async def transcript(server: Server, program_id: str) -> dict[str, Any]:
    async with server.client().get(f"/api/programs/{program_id}/captions") as resp:
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
        return body


async def test_a_captioners_line_reaches_every_viewer_once_stored(server: Server) -> None:
    program_id = await program_on_air(server)
    room = f"program:{program_id}"
    cap = await captioner(server)
    watchers = [await viewer(server) for _ in range(3)]
    for client in (cap, *watchers):
        await client.join(room)
    sent_ms = time.time() * 1000
    ack = await cap.call("caption", {"room": room, "text": "  안녕하세요,\u200b 혁신TV입니다 ",
                                     "client_id": "l1"})
    assert ack["ok"] and ack["id"] == 1 and ack["lang"] == "ko"
    for watcher in watchers:
        frame = await watcher.rec.wait_for("captions", lambda f: f["room"] == room)
        assert frame["items"] == [{"id": 1, "lang": "ko", "at": ack["at"], "text": "안녕하세요, 혁신TV입니다",
                                   "by": "cap1", "rev": 0}]
    # Stored: the transcript has it; a retry with the same client_id is the same line.
    again = await cap.call("caption", {"room": room, "text": "안녕하세요, 혁신TV입니다", "client_id": "l1"})
    assert again["id"] == 1
    body = await transcript(server, program_id)
    assert [i["text"] for i in body["items"]] == ["안녕하세요, 혁신TV입니다"]
    assert body["languages"] == ["ko"] and body["turns"][0]["holder"] == "cap1"
    # The line is timed when its words were spoken: the commit minus the captioner's delay.
    delay = server.config.captions.delay_ms
    assert delay == 2000 and body["console"]["delay_ms"] == delay
    assert sent_ms - delay - 50 <= ack["at"] <= time.time() * 1000 - delay


async def test_who_may_send_captions(server: Server) -> None:
    program_id = await program_on_air(server)
    room = f"program:{program_id}"
    watcher, staff, boss = await viewer(server), await host(server), await producer(server)
    for client in (watcher, staff, boss):
        await client.join(room)
    refused = await watcher.call("caption", {"room": room, "text": "시청자는 자막을 못 보냅니다"})
    assert refused == {"ok": False, "error": {
        "code": "forbidden", "message": "Only captioners, hosts and producers send captions."}}
    assert (await staff.call("caption", {"room": room, "text": "진행자도 자막을 보냅니다"}))["ok"]
    # The host holds the turn now: a producer takes it over explicitly, then sends.
    taken = await boss.call("caption:turn", {"room": room, "take": True})
    assert taken["ok"] and taken["turn"]["holder"] == "prod"
    assert (await boss.call("caption", {"room": room, "text": "제작자도"}))["ok"]
    stored = (await transcript(server, program_id))["items"]
    assert [i["text"] for i in stored] == ["진행자도 자막을 보냅니다", "제작자도"]


async def test_bad_input_gets_an_ack_error_and_stores_nothing(one_server: Server) -> None:
    server = one_server
    program_id = await program_on_air(server)
    room = f"program:{program_id}"
    cap = await captioner(server)
    not_joined = await cap.call("caption", {"room": room, "text": "아직 입장 전"})
    assert not_joined["error"]["code"] == "not_joined"
    await cap.join(room)
    cases = [
        ({"room": room, "text": ""}, "empty_text"),
        ({"room": room, "text": "\u200b\u202e "}, "empty_text"),
        ({"room": room, "text": "가" * 201}, "text_too_long"),
        ({"room": room, "text": 5}, "invalid_text"),
        ({"room": room, "text": "x", "lang": "fr"}, "invalid_lang"),
        ({"room": "hall:social-value", "text": "x"}, "invalid_room"),
        ({"room": room + "/../x", "text": "x"}, "invalid_room"),
        ({"room": room, "text": "x", "client_id": "no spaces"}, "invalid_client_id"),
        ({"room": room, "id": "1", "text": "x"}, "invalid_id"),
    ]
    for payload, code in cases:
        event = "caption:fix" if "id" in payload else "caption"
        ack = await cap.call(event, payload)
        assert ack["ok"] is False and ack["error"]["code"] == code, (payload, ack)
    fresh = await captioner(server)  # the refusals above spent the first one's rate limit
    await fresh.join(room)
    bad_take = await fresh.call("caption:turn", {"room": room, "take": "yes"})
    assert bad_take["error"]["code"] == "invalid_take"
    blank = await fresh.call("caption", {"room": room, "text": "\u3164\u115f\u2800\ufe0f"})  # shows nothing
    assert blank["ok"] is False and blank["error"]["code"] == "empty_text", blank
    assert (await fresh.call("caption", ["not", "an", "object"]))["error"]["code"] == "invalid_payload"
    assert (await fresh.call("caption", {"room": room, "text": "가" * 200}))["ok"]  # the limit itself
    assert [len(i["text"]) for i in (await transcript(server, program_id))["items"]] == [200]


async def test_a_second_captioner_takes_the_turn_and_both_see_it(server: Server) -> None:
    program_id = await program_on_air(server)
    room = f"program:{program_id}"
    first, second = await captioner(server, "cap1"), await captioner(server, "cap2")
    watcher = await viewer(server)
    for client in (first, second, watcher):
        await client.join(room)
    assert (await first.call("caption", {"room": room, "text": "첫 번째 속기사"}))["ok"]
    busy = await second.call("caption", {"room": room, "text": "끼어들기"})
    assert busy["error"]["code"] == "not_your_turn" and busy["error"]["holder"] == "cap1"
    assert (await second.call("caption:turn", {"room": room, "take": True}))["ok"]
    for client in (first, second):
        await client.rec.wait_for("caption:turn", lambda t: t["holder"] == "cap2" and t["lang"] == "ko")
    late = await first.call("caption", {"room": room, "text": "차례가 넘어갔다"})
    assert late["error"]["code"] == "not_your_turn"
    assert (await second.call("caption", {"room": room, "text": "두 번째 속기사"}))["ok"]
    # Giving the turn up frees it for anyone; one cannot give up a turn someone else holds.
    not_held = await first.call("caption:turn", {"room": room, "take": False})
    assert not_held["error"]["code"] == "not_your_turn"
    assert (await second.call("caption:turn", {"room": room, "take": False}))["turn"]["holder"] is None
    assert (await first.call("caption", {"room": room, "text": "다시 첫 번째"}))["ok"]
    # Turns are for staff: the viewer saw none of them.
    await watcher.rec.wait_for("captions", lambda f: any(i["text"] == "다시 첫 번째" for i in f["items"]))
    assert watcher.rec.all("caption:turn") == []


async def test_the_author_corrects_the_last_line(one_server: Server) -> None:
    server = one_server
    program_id = await program_on_air(server)
    room = f"program:{program_id}"
    cap, other = await captioner(server, "cap1"), await captioner(server, "cap2")
    watcher = await viewer(server)
    for client in (cap, other, watcher):
        await client.join(room)
    first = await cap.call("caption", {"room": room, "text": "첫 줄"})
    second = await cap.call("caption", {"room": room, "text": "오타가 잇는 줄"})
    older = await cap.call("caption:fix", {"room": room, "id": first["id"], "text": "첫 줄!"})
    assert older["error"]["code"] == "not_last_line"
    others = await other.call("caption:fix", {"room": room, "id": second["id"], "text": "남의 줄"})
    assert others["error"]["code"] == "forbidden"
    fixed = await cap.call("caption:fix", {"room": room, "id": second["id"], "text": "오타가 있는 줄"})
    assert fixed == {"ok": True, "id": second["id"], "rev": 1}
    frame = await watcher.rec.wait_for("captions", lambda f: any(i["rev"] == 1 for i in f["items"]))
    assert frame["items"][0]["text"] == "오타가 있는 줄" and frame["items"][0]["id"] == second["id"]
    assert [(i["text"], i["rev"]) for i in (await transcript(server, program_id))["items"]] == [
        ("첫 줄", 0), ("오타가 있는 줄", 1)]


async def test_captions_only_while_the_program_is_on(one_server: Server) -> None:
    server = one_server
    program_id = await program_on_air(server)
    room = f"program:{program_id}"
    cap = await captioner(server)
    await cap.join(room)
    async with (await server.producer()).post(f"/api/programs/{program_id}/end") as resp:
        assert resp.status == 200
    refused = await cap.call("caption", {"room": room, "text": "방송이 끝난 뒤"})
    assert refused["error"]["code"] == "not_on_air"
    assert (await transcript(server, program_id))["items"] == []


async def test_a_flood_of_lines_is_refused(one_server: Server) -> None:
    server = one_server
    program_id = await program_on_air(server)
    room = f"program:{program_id}"
    cap = await captioner(server)
    await cap.join(room)
    acks = await asyncio.gather(*(cap.call("caption", {"room": room, "text": f"줄 {i}"}) for i in range(30)))
    refused = [a for a in acks if not a["ok"]]
    assert refused and all(a["error"]["code"] == "rate_limited" for a in refused)
    stored = (await transcript(server, program_id))["items"]
    assert len(stored) == sum(1 for a in acks if a["ok"]) < 30
