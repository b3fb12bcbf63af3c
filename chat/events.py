"""Socket.IO event handlers for everyone: connect, join, leave, nick, chat, heart.

Each handler gets the connection and a validated dict and returns the ack; `Handlers.register`
wraps them with the rate limit, payload checks and the error shape. Refusals are counted and
logged at most once per connection per interval (`ChatService.note_refusal`); a connection that
stays over its rate limits is cut there. On the lean path the rate limit is checked before the
event is dispatched (`gate`), so a refused event costs no task.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from kernel.outage import is_store_outage

from .errors import ChatError
from .halls import HALLS
from .incoming import INVALID_EVENT, invalid_packet
from .lean import LeanServer
from .nicknames import imitates_staff
from .room_state import RoomState
from .service import ChatService, Conn, now_ms
from .store import NewMessage
from .validate import MAX_NICK, clean_text, client_id, fold, int_field, message_id, require_dict, room_name
from .wire import event_text

log = logging.getLogger("innotv.chat.events")

Handler = Callable[[Conn, dict[str, Any]], Awaitable[dict[str, Any]]]

HISTORY = 50
RECOVERY_LIMIT = 500
ACK_SECONDS = "innotv_chat_ack_seconds"
# Acks wait for the next tick (100 ms by default) when they store something.
ACK_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0)


def event_family(event: str) -> str:
    """The `family` label of an event: its name before a colon (`mod:ban` -> `mod`)."""
    return event.split(":", 1)[0]


class Handlers:
    def __init__(self, service: ChatService) -> None:
        self.service = service
        self.handlers: dict[str, Handler] = {}
        # Rate limits of events other slices registered: event -> (family, burst, refill per s).
        self.rates: dict[str, tuple[str, float, float]] = {}
        self._targets: tuple[Any, LeanServer] | None = None

    def add(self, event: str, fn: Handler, rate: tuple[str, float, float] | None = None) -> None:
        """Handle `event`; after `register`, it is registered at once."""
        self.handlers[event] = fn
        if rate is not None:
            self.rates[event] = rate
        if self._targets is not None:
            self._register_one(event, fn, *self._targets)

    def register(self, sio: Any, lean: LeanServer) -> None:
        """The same handlers for python-socketio (polling) and the lean WebSocket path; the lean
        path checks the rate limit itself, before dispatching (`gate`). An event nobody handles
        is answered `unknown_event` (after its rate limit: the family of unknown names)."""
        self._targets = (sio, lean)
        for event, fn in self.handlers.items():
            self._register_one(event, fn, sio, lean)
        lean.gate = self.gate
        unknown = self._unknown()

        async def catch_all(event: str, sid: str, *_args: Any) -> dict[str, Any]:
            return self.gate(sid, event) or await unknown(sid)

        sio.on("*", catch_all)
        lean.on_unknown = unknown  # the lean path has gated it already

    def _unknown(self) -> Callable[..., Awaitable[dict[str, Any]]]:
        service = self.service

        async def handler(sid: str, *_args: Any) -> dict[str, Any]:
            err = ChatError("unknown_event", "There is no such event.")
            conn = service.conns.get(sid)
            if conn is not None:
                service.note_refusal(conn, "unknown", err.code)
            return err.ack()

        return handler

    def _register_one(self, event: str, fn: Handler, sio: Any, lean: LeanServer) -> None:
        sio.on(event, self._wrap(event, fn, check_rate=True))
        lean.on(event, self._wrap(event, fn, check_rate=False))

    def gate(self, sid: str, event: str) -> dict[str, Any] | None:
        """The rate limit of `event` on this connection: None when it may run, else the ack."""
        conn = self.service.conns.get(sid)
        if conn is None:
            return None  # the handler answers `not_connected`
        try:
            conn.limiter.check(event, self.rates.get(event))
        except ChatError as err:
            self.service.note_refusal(conn, event, err.code)
            return err.ack()
        return None

    def _wrap(self, event: str, fn: Handler, *, check_rate: bool) -> Callable[..., Awaitable[dict[str, Any]]]:
        service = self.service
        family = event_family(event)

        async def handler(sid: str, *args: Any) -> dict[str, Any]:
            if check_rate:
                refused = self.gate(sid, event)
                if refused is not None:
                    return refused
            started = time.perf_counter()
            ack = await answer(sid, args)
            service.metrics.observe(ACK_SECONDS, time.perf_counter() - started, family=family,
                                    outcome="ok" if ack.get("ok") else "error")
            return ack

        async def answer(sid: str, args: tuple[Any, ...]) -> dict[str, Any]:
            conn = service.conns.get(sid)
            try:
                if conn is None:
                    raise ChatError("not_connected", "This connection is closing.")
                if len(args) != 1:
                    raise ChatError("invalid_payload", "Send exactly one JSON object.")
                return await fn(conn, require_dict(args[0]))
            except ChatError as err:
                if conn is not None:
                    service.note_refusal(conn, event, err.code)
                return err.ack()
            except Exception as exc:
                if is_store_outage(exc):
                    log.warning("chat event refused: the store does not answer",
                                extra={"event": event, "sid": sid, "error": type(exc).__name__})
                    return ChatError("store_unavailable", "The store does not answer; retry.").ack()
                log.exception("chat handler failed", extra={"event": event, "sid": sid})
                return ChatError("internal_error", "Something went wrong on our side.").ack()

        return handler

    # ---- shared helpers ----------------------------------------------------------------------
    async def joined_state(self, conn: Conn, data: dict[str, Any]) -> RoomState:
        room, _kind, _ident = room_name(data)
        if room not in conn.member.rooms:
            raise ChatError("not_joined", f"Join {room} first.")
        state = self.service.cached(room)
        if state is None:  # pragma: no cover - a joined room is always loaded
            raise ChatError("not_joined", f"Join {room} first.")
        return state

    async def refuse(self, conn: Conn, state: RoomState, code: str, message: str, **details: Any) -> None:
        """Tell the sender why (a `notice`), then refuse the event with the same code."""
        notice = {"code": code, "message": message, "room": state.name, **details}
        self.service.members.write_text([conn.member], event_text("notice", notice))
        raise ChatError(code, message, **details)

    async def check_can_write(self, conn: Conn, state: RoomState) -> None:
        if conn.can_moderate():
            if state.read_only:
                await self.refuse(conn, state, "read_only", "The chat is closed for this program now.")
            return
        if state.read_only:
            await self.refuse(conn, state, "read_only", "The chat is closed for this program now.")
        if state.banned(conn.viewer):
            await self.refuse(conn, state, "banned", "You are banned from this chat.")
        until = state.timed_out_until(conn.viewer, now_ms())
        if until is not None:
            await self.refuse(conn, state, "timed_out", "You are timed out.", until=until)


def make_handlers(service: ChatService) -> Handlers:
    h = Handlers(service)

    async def join(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
        room, kind, ident = room_name(data)
        if kind == "hall" and ident not in HALLS:
            raise ChatError("unknown_room", "There is no such hall.")
        since = data.get("since")
        if since is not None:
            since = message_id(since, "since")
        if room not in conn.member.rooms and len(conn.member.rooms) >= 5:
            raise ChatError("too_many_rooms", "A connection can be in at most 5 rooms.")
        state = await service.state(room, kind, ident)
        # Member first, history second: nothing stored in between is missed (ids may repeat;
        # clients skip ids they already have).
        service.members.add(room, conn.member)
        ack: dict[str, Any] = {"ok": True, "room": room}
        recovery = None
        if since is not None:
            recovery = await service.stores.history.recover(room, since, RECOVERY_LIMIT)
            ack["recovered"] = recovery is not None
        if recovery is not None:
            ack["messages"] = recovery.messages
            ack["deleted"] = recovery.deleted
        else:
            ack["messages"] = await service.snapshot(state, HISTORY)
            ack["deleted"] = []
        ack["hearts"] = service.hearts_payload(state)
        ack["viewers"] = service.viewers(state)
        ack["pinned"] = state.pinned
        ack["slow"] = state.slow
        ack["read_only"] = state.read_only
        ack["poll"] = await service.poll_view(state, conn)
        ack["questions"] = await service.questions(state)
        ack["program"] = state.program
        ack["you"] = {"viewer": conn.viewer, "nickname": conn.nickname, "role": conn.role}
        per_day = service.settings.hall_hearts_per_day
        if kind == "hall" and per_day:
            given = await service.stores.hall_hearts.given(room, service.hall_day(), conn.viewer)
            ack["hearted"] = given >= per_day  # this viewer's hearts for today are all counted
        if kind == "program" and not state.read_only and not conn.can_moderate():
            state.newcomers.add(conn.viewer)  # a unique viewer of the program (audience)
        if conn.can_moderate():
            # The blocked words are for moderators only: a viewer never learns the list.
            ack["words"] = state.words
        return ack

    async def leave(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
        room, _kind, _ident = room_name(data)
        service.members.remove(room, conn.member)
        return {"ok": True, "room": room}

    async def nick(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
        nickname = clean_text(data.get("nickname"), field="nickname", max_len=MAX_NICK)
        if not conn.can_moderate() and imitates_staff(
            nickname, await service.staff_names.get(), service.settings.reserved_nicknames
        ):
            raise ChatError("reserved_nickname",
                            "This nickname looks like a host's or producer's; pick another.")
        conn.nickname = nickname
        return {"ok": True, "nickname": nickname}

    async def chat(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
        state = await h.joined_state(conn, data)
        text = clean_text(data.get("text"))
        cid = client_id(data.get("client_id"))
        if conn.user is not None:
            await service.refresh_user(conn)  # the staff badge only while the session is valid
        await h.check_can_write(conn, state)
        lowered = fold(text)
        for word in state.words:
            if fold(word) in lowered:
                await h.refuse(conn, state, "blocked_word", "Your message contains a blocked word.")
        now = time.monotonic()
        if state.slow and not conn.can_moderate():
            last = state.last_chat.get(conn.viewer)
            if last is not None and now - last < state.slow:
                wait = round(state.slow - (now - last), 1)
                await h.refuse(conn, state, "slow_mode", f"Slow mode: wait {wait} s.", retry_after=wait)
        state.last_chat[conn.viewer] = now
        item = NewMessage(
            viewer=conn.viewer,
            nickname=conn.nickname,
            text=text,
            ts=now_ms(),
            role=conn.role,
            client_key=f"{conn.viewer}/{cid}" if cid else None,
        )
        stored_id = await service.wait_stored(service.enqueue(state, item))
        ack: dict[str, Any] = {"ok": True, "id": stored_id}
        mileage = await service.took_part(conn, "comment" if state.kind == "hall" else "chat", state.name,
                                          stored_id)
        if mileage is not None:
            ack["mileage"] = mileage
        return ack

    async def heart(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
        state = await h.joined_state(conn, data)
        count = int_field(data, "count", 1, 10)
        per_day = service.settings.hall_hearts_per_day
        if state.kind == "hall" and per_day:
            # A hall's hearts are a popularity vote: each viewer's count once per hall per day.
            counted = await service.stores.hall_hearts.admit(
                state.name, service.hall_day(), conn.viewer, count, per_day
            )
            state.hearts_pending += counted
            return {"ok": True, "counted": counted}
        state.hearts_pending += count
        return {"ok": True}

    async def invalid(_conn: Conn, _data: dict[str, Any]) -> dict[str, Any]:
        raise invalid_packet()

    h.add(INVALID_EVENT, invalid)
    h.add("join", join)
    h.add("leave", leave)
    h.add("nick", nick)
    h.add("chat", chat)
    h.add("heart", heart)
    return h


