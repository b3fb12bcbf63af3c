"""Who is who in chat: staff messages carry their role, viewers cannot take staff names, staff
connections are not viewers, staff consoles follow every program's state, hosts hide questions,
and a host whose account is removed or changed loses the rights of the old session at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.chat.clients import HALL, connect, cookie_header, host, producer, viewer
from tests.helpers import HOST, Server


async def _program(server: Server, hours_ahead: int = 48) -> dict[str, Any]:
    prod = await server.producer()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=hours_ahead)
    body = {"title": "혁신 토크", "kind": "live", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat()}
    async with prod.post("/api/programs", json=body) as r:
        assert r.status == 201, await r.text()
        program: dict[str, Any] = await r.json()
    return program


async def test_staff_messages_carry_their_role_and_are_not_viewers(server: Server) -> None:
    fan, other = await viewer(server), await viewer(server)
    hostess, chief = await host(server), await producer(server)
    for each in (fan, other, hostess, chief):
        joined = await each.join()
    assert joined["viewers"] == 2  # the producer's own join ack: two viewers, no staff
    await fan.rec.wait_for("viewers", lambda d: d["count"] == 2)
    assert (await hostess.call("chat", {"room": HALL, "text": "안녕하세요, 진행자입니다"}))["ok"]
    assert (await fan.call("chat", {"room": HALL, "text": "반가워요"}))["ok"]
    said = await other.wait_message("안녕하세요, 진행자입니다")
    assert said["role"] == "host" and said["nickname"] == HOST[0]
    assert (await other.wait_message("반가워요"))["role"] == "viewer"
    async with server.client().get("/api/halls") as r:
        hall = next(h for h in (await r.json())["halls"] if f"hall:{h['id']}" == HALL)
    assert hall["viewers"] == 2


async def test_viewers_cannot_take_staff_names(server: Server) -> None:
    await server.host()  # the account "hostess" exists
    refused = ["hostess", "HOSTESS", "h0stess", "ｈｏｓｔｅｓｓ", "h.o.s.t.e.s.s", "һоѕtess",
               "진행자", "진 행 자 김민지", "관리자님", "Admin", "ADM1N", "innotv 공식", "혁신TV"]
    for name in refused:  # a connection each: `nick` is rate limited (3 at once)
        ack = await (await viewer(server)).call("nick", {"nickname": name})
        assert ack["ok"] is False and ack["error"]["code"] == "reserved_nickname", name
    for name in ("김민지", "정부혁신 팬", "viewer123", "민지팬"):
        assert (await (await viewer(server)).call("nick", {"nickname": name}))["ok"], name
    # Staff may call themselves what they like; their role badge tells who they are.
    hostess = await host(server)
    assert (await hostess.call("nick", {"nickname": "진행자 민지"}))["ok"]


async def test_staff_consoles_follow_every_programs_state(server: Server) -> None:
    program = await _program(server)
    elsewhere = await _program(server, hours_ahead=96)
    console = await producer(server)
    await console.join(f"program:{elsewhere['id']}")  # a console on another program
    fan = await viewer(server)
    await fan.join(HALL)
    await server.parts.schedule.service.set_state(program["id"], "lobby")
    changed = await console.rec.wait_for("program", lambda d: d["id"] == program["id"])
    assert changed["state"] == "lobby"
    listener = await viewer(server)
    await listener.join(f"program:{program['id']}")
    await server.parts.schedule.service.set_state(program["id"], "live")
    await listener.rec.wait_for("program", lambda d: d["state"] == "live")
    await console.rec.wait_for("program", lambda d: d["id"] == program["id"] and d["state"] == "live")
    assert fan.rec.all("program") == []  # viewers hear only their own room's program


async def test_hosts_hide_questions(server: Server) -> None:
    program = await _program(server)
    await server.parts.schedule.service.set_state(program["id"], "live")
    room = f"program:{program['id']}"
    asker, other, hostess = await viewer(server), await viewer(server), await host(server)
    for each in (asker, other, hostess):
        await each.join(room)
    assert (await asker.call("nick", {"nickname": "질문자"}))["ok"]
    asked = await asker.call("question", {"room": room, "text": "광고 링크 http://spam"})
    kept = await other.call("question", {"room": room, "text": "우수사례 심사 기준은?"})
    listed = await hostess.rec.wait_for("questions", lambda d: len(d["items"]) == 2)
    assert {q["nickname"] for q in listed["items"]} >= {"질문자"}  # the host sees who asked
    refused = await other.call("question:hide", {"room": room, "question_id": asked["id"]})
    assert refused["error"]["code"] == "forbidden"
    assert (await hostess.call("question:hide", {"room": room, "question_id": asked["id"]}))["ok"]
    await other.rec.wait_for("questions", lambda d: [q["id"] for q in d["items"]] == [kept["id"]])
    action = await other.rec.wait_for("moderation", lambda d: d["action"] == "hide_question")
    assert action["id"] == asked["id"] and action["by"] == HOST[0]
    rejoined = await (await viewer(server)).join(room)
    assert [q["id"] for q in rejoined["questions"]] == [kept["id"]]
    missing = await hostess.call("question:hide", {"room": room, "question_id": "qnope"})
    assert missing["error"]["code"] == "unknown_question"


async def test_a_removed_host_loses_staff_rights_at_once(server: Server) -> None:
    session = await server.host()
    hostess = await connect(server.url, cookies=cookie_header(session, server.url))
    fan = await viewer(server)
    await hostess.join()
    await fan.join()
    said = await fan.call("chat", {"room": HALL, "text": "첫 댓글"})
    await fan.rec.wait_for("viewers", lambda d: d["count"] == 1)
    prod = await server.producer()
    async with prod.delete(f"/api/users/{HOST[0]}") as r:
        assert r.status == 204
    ended = await hostess.rec.wait_for("notice", lambda d: d["code"] == "session_ended")
    assert ended["reason"] == "removed"
    # The same connection is now a viewer's: no moderation, no badge, counted as a viewer.
    ban = await hostess.call("mod:delete", {"room": HALL, "id": said["id"]})
    assert ban["ok"] is False and ban["error"]["code"] == "forbidden"
    await fan.rec.wait_for("viewers", lambda d: d["count"] == 2)
    assert (await hostess.call("chat", {"room": HALL, "text": "이제 시청자"}))["ok"]
    message = await fan.wait_message("이제 시청자")
    assert message["role"] == "viewer" and message["nickname"] != HOST[0]
    async with session.get("/api/session") as r:
        assert (await r.json())["user"] is None


async def test_a_role_change_ends_the_sessions_and_tells_the_sockets(server: Server) -> None:
    session = await server.host()
    hostess = await connect(server.url, cookies=cookie_header(session, server.url))
    await hostess.join()
    prod = await server.producer()
    async with prod.patch(f"/api/users/{HOST[0]}", json={"role": "producer"}) as r:
        assert r.status == 200 and (await r.json())["user"]["role"] == "producer"
    ended = await hostess.rec.wait_for("notice", lambda d: d["code"] == "session_ended")
    assert ended["reason"] == "role_changed"
    assert (await hostess.call("mod:slow", {"room": HALL, "seconds": 5}))["error"]["code"] == "forbidden"
    promoted = await server.login(*HOST)
    async with promoted.get("/api/users") as r:
        assert r.status == 200  # logged in again, with the new role
