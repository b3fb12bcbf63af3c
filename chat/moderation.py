"""Moderation by hosts and producers: delete, timeout, ban/unban, slow mode, pin, blocked words.

The role is checked on the server for every action (and the session behind it, again); every
action is broadcast to the room as a `moderation` event (plus `deleted`, `slow` or `pinned` for
the feature's new state), and the affected viewer gets a `notice` saying why.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import ChatError
from .events import Handlers
from .service import ChatService, Conn, now_ms
from .validate import clean_text, int_field, message_id, viewer_id

MAX_WORDS = 100
MAX_WORD = 40


def add_moderation(h: Handlers, service: ChatService) -> None:
    history = service.stores.history

    async def action(conn: Conn, room: str, name: str, **details: Any) -> None:
        by = conn.user.username if conn.user else ""
        await service.emit(room, "moderation", {"room": room, "action": name, "by": by, **details})

    async def delete(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
        await service.require_moderator(conn)
        state = await h.joined_state(conn, data)
        target = message_id(data.get("id"))
        message = await history.get_message(state.name, target)
        if message is None:
            raise ChatError("unknown_message", "There is no such message (or it is deleted).")
        await service.wait_stored(service.enqueue_deletion(state, target))
        await action(conn, state.name, "delete", id=target)
        await service.notify_viewer(
            state.name, message["viewer"],
            {"code": "message_deleted", "message": "A moderator deleted your message.", "room": state.name,
             "id": target},
        )
        return {"ok": True, "id": target}

    async def timeout(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
        await service.require_moderator(conn)
        state = await h.joined_state(conn, data)
        viewer = viewer_id(data.get("viewer"))
        seconds = int_field(data, "seconds", 10, 86_400)
        until = now_ms() + seconds * 1000
        await service.set_meta(state, "timeout:" + viewer, str(until))
        await action(conn, state.name, "timeout", viewer=viewer, until=until)
        await service.notify_viewer(
            state.name, viewer,
            {"code": "timed_out", "message": f"A moderator timed you out for {seconds} s.",
             "room": state.name, "until": until},
        )
        return {"ok": True, "viewer": viewer, "until": until}

    async def ban(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
        await service.require_moderator(conn)
        state = await h.joined_state(conn, data)
        viewer = viewer_id(data.get("viewer"))
        await service.set_meta(state, "ban:" + viewer, "1")
        await action(conn, state.name, "ban", viewer=viewer)
        await service.notify_viewer(
            state.name, viewer,
            {"code": "banned", "message": "A moderator banned you from this chat.", "room": state.name},
        )
        return {"ok": True, "viewer": viewer}

    async def unban(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
        await service.require_moderator(conn)
        state = await h.joined_state(conn, data)
        viewer = viewer_id(data.get("viewer"))
        await service.set_meta(state, "ban:" + viewer, None)
        await service.set_meta(state, "timeout:" + viewer, None)
        await action(conn, state.name, "unban", viewer=viewer)
        await service.notify_viewer(
            state.name, viewer,
            {"code": "unbanned", "message": "You can chat again.", "room": state.name},
        )
        return {"ok": True, "viewer": viewer}

    async def slow(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
        await service.require_moderator(conn)
        state = await h.joined_state(conn, data)
        seconds = int_field(data, "seconds", 0, 120)
        await service.set_meta(state, "slow", str(seconds) if seconds else None)
        await action(conn, state.name, "slow", seconds=seconds)
        await service.emit(state.name, "slow", {"room": state.name, "seconds": seconds})
        return {"ok": True, "seconds": seconds}

    async def pin(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
        await service.require_moderator(conn)
        state = await h.joined_state(conn, data)
        if "id" not in data:
            raise ChatError("invalid_id", "'id' is the message to pin, or null to unpin.")
        raw = data["id"]
        message = None
        if raw is not None:
            target = message_id(raw)
            message = await history.get_message(state.name, target)
            if message is None:
                raise ChatError("unknown_message", "There is no such message (or it is deleted).")
        await service.set_meta(
            state, "pinned", json.dumps(message, ensure_ascii=False) if message else None
        )
        await action(conn, state.name, "pin" if message else "unpin", id=message["id"] if message else None)
        await service.emit(state.name, "pinned", {"room": state.name, "message": message})
        return {"ok": True, "message": message}

    async def words(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
        await service.require_moderator(conn)
        state = await h.joined_state(conn, data)
        raw = data.get("words")
        if not isinstance(raw, list) or len(raw) > MAX_WORDS:
            raise ChatError("invalid_words", f"'words' is a list of at most {MAX_WORDS} words.")
        cleaned = sorted({clean_text(w, field="words", max_len=MAX_WORD) for w in raw})
        await service.set_meta(state, "words", json.dumps(cleaned, ensure_ascii=False) if cleaned else None)
        await action(conn, state.name, "words", count=len(cleaned))
        return {"ok": True, "words": cleaned}

    h.add("mod:delete", delete)
    h.add("mod:timeout", timeout)
    h.add("mod:ban", ban)
    h.add("mod:unban", unban)
    h.add("mod:slow", slow)
    h.add("mod:pin", pin)
    h.add("mod:words", words)
