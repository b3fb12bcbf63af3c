"""The captioning console's Socket.IO events, on the chat's connections (ports.Rooms).

`caption` {room, text, lang?, client_id?} stores a line (ack once stored: `{ok, id, at}`);
`caption:fix` {room, id, text, lang?} corrects the newest line of a language (its author);
`caption:turn` {room, lang?, take} takes or gives up a language's turn. Each is for captioners,
hosts and producers, whose role is read again from the store for every event; the sender must
have joined the program's room. Refusals answer `{ok: false, error: {code, message}}`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from kernel.identity import User

from .errors import CaptionError
from .model import NewCaption, caption_id, clean_line, language, program_of_room
from .ports import Rooms, Sender
from .service import CaptionService, may_caption

CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Per connection: lines (and their corrections) and turn changes, as token buckets.
LINE_BURST, LINE_PER_S = 10.0, 3.0
TURN_BURST, TURN_PER_S = 5.0, 0.5

Handler = Callable[[Sender, dict[str, Any]], Awaitable[dict[str, Any]]]


def _guarded(fn: Callable[[Sender, dict[str, Any]], Awaitable[dict[str, Any]]]) -> Handler:
    async def handler(sender: Sender, data: dict[str, Any]) -> dict[str, Any]:
        try:
            return await fn(sender, data)
        except CaptionError as err:
            return err.ack()

    return handler


async def _captioner(sender: Sender, room: str) -> User:
    if not sender.joined(room):
        raise CaptionError("not_joined", f"Join {room} first.")
    user = await sender.current_user()
    if user is None or not may_caption(user):
        raise CaptionError("forbidden", "Only captioners, hosts and producers send captions.", status=403)
    return user


def register(rooms: Rooms, service: CaptionService) -> None:
    languages = service.settings.languages

    async def caption(sender: Sender, data: dict[str, Any]) -> dict[str, Any]:
        room = data.get("room")
        program_id = program_of_room(room)
        lang = language(data.get("lang"), languages)
        text = clean_line(data.get("text"))
        cid = data.get("client_id")
        if cid is not None and (not isinstance(cid, str) or not CLIENT_ID_RE.fullmatch(cid)):
            raise CaptionError("invalid_client_id", "'client_id' is 1-64 letters, digits, '_' or '-'.")
        user = await _captioner(sender, str(room))
        await service.require_open(program_id)
        await service.check_turn(program_id, lang, user)
        at = service.now_ms() - service.settings.delay_ms
        key = f"{user.username}/{cid}" if cid else None
        line = await service.commit(program_id, NewCaption(lang, at, text, user.username, key))
        return {"ok": True, "id": line.id, "at": line.at, "lang": line.lang}

    async def fix(sender: Sender, data: dict[str, Any]) -> dict[str, Any]:
        room = data.get("room")
        program_id = program_of_room(room)
        lang = language(data.get("lang"), languages)
        line_id = caption_id(data.get("id"))
        text = clean_line(data.get("text"))
        user = await _captioner(sender, str(room))
        await service.require_open(program_id)
        line = await service.fix_last(program_id, lang, line_id, text, user)
        return {"ok": True, "id": line.id, "rev": line.rev}

    async def turn(sender: Sender, data: dict[str, Any]) -> dict[str, Any]:
        room = data.get("room")
        program_id = program_of_room(room)
        lang = language(data.get("lang"), languages)
        take = data.get("take")
        if not isinstance(take, bool):
            raise CaptionError("invalid_take", "'take' must be true (take the turn) or false (give it up).")
        user = await _captioner(sender, str(room))
        await service.require_open(program_id)
        if take:
            current = await service.set_turn(program_id, lang, user.username)
        else:
            turns = {t.lang: t for t in await service.store.turns(program_id)}
            held = turns.get(lang)
            if held is not None and held.holder not in (None, user.username):
                raise CaptionError("not_your_turn", f"{held.holder} holds the turn of {lang}.", status=409)
            current = await service.set_turn(program_id, lang, None)
        return {"ok": True, "turn": current.public()}

    rooms.on("caption", _guarded(caption), family="caption", burst=LINE_BURST, per_second=LINE_PER_S)
    rooms.on("caption:fix", _guarded(fix), family="caption", burst=LINE_BURST, per_second=LINE_PER_S)
    rooms.on("caption:turn", _guarded(turn), family="caption:turn", burst=TURN_BURST, per_second=TURN_PER_S)
