"""The chat engine of one process: connections, room state, the per-tick flush and the relay.

Every `tick_ms` each busy room's pending messages, deletions and hearts are written to the
history store in one call (`write_tick`, one round trip) and the stored messages go out as ONE
`messages` frame (encoded once, see fanout). With Redis, the same frame is relayed to the other
processes over the bus (`relay.py`), so two `innotv serve` processes are one chat. `hearts` goes
out at most 5 times a second per room, `viewers` once a second when it changed, poll counts (to
hosts) and the question list (the top 50 of `question_list`) at most once a second.

Hosts' and producers' connections are not viewers: they are left out of the counts and of a
program's audience (peak, unique viewers, watch time: recorded with each viewer count while the
program is open). Their rights are checked again before every staff action, and end at once when
the accounts slice announces that their sessions ended.

Once a second the tick also sweeps the connections: one holding more than the buffer cap of
unsent bytes (or queued packets) for longer than `chat_stall_grace_s` is not reading and is cut,
whether or not it joined a room. Refused events are logged at most once per connection every
`REFUSALS_LOG_EVERY_S`, with their count (`note_refusal`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from kernel.bus import Bus
from kernel.clock import Clock, SystemClock
from kernel.errors import ApiError
from kernel.identity import User
from kernel.metrics import Metrics
from kernel.outage import is_store_outage
from kernel.tasks import cancel_and_wait
from kernel.topics import ACCESS_CHANGED, PROGRAM_CHANGED, AccessChanged, ProgramChanged

from .errors import ChatError
from .fanout import Member, RoomMembers
from .hall_cases import HallCase
from .limits import Limiter
from .nicknames import StaffNames, default_nickname
from .ports import Participation, Programs, Staff, Visitors
from .relay import (
    ROOM_DIRTY,
    ROOM_EVENT,
    ROOM_SETTING,
    TICK_STORED,
    VIEWER_NOTICE,
    RoomDirty,
    RoomEvent,
    RoomSettingChanged,
    TickStored,
    ViewerNotice,
)
from .room_state import Pending, RoomState
from .settings import ChatSettings
from .store import ChatStores, NewMessage, question_list
from .wire import event_text

log = logging.getLogger("innotv.chat")

MAX_PER_TICK = 2000
MAX_PENDING = 10_000
HEARTS_EVERY_S = 0.2
VIEWERS_EVERY_S = 1.0
POLL_EVERY_S = 0.5
QUESTIONS_EVERY_S = 1.0
ACK_TIMEOUT_S = 10.0
TICK_SECONDS = "innotv_chat_tick_seconds"
TICK_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
MESSAGES_TOTAL = "innotv_chat_messages_total"
HEARTS_TOTAL = "innotv_chat_hearts_total"
SNAPSHOT = 50
QUESTIONS_SHOWN = 50
SEOUL = ZoneInfo("Asia/Seoul")
REFUSALS_LOG_EVERY_S = 10.0


@dataclass(slots=True)
class Conn:
    sid: str
    viewer: str
    user: User | None
    nickname: str
    address: str
    member: Member
    limiter: Limiter = field(default_factory=Limiter)
    last_question: float = 0.0
    # The login session the connection was opened with (its store key), for a host or producer.
    session: str | None = None
    # When its unsent bytes first passed the cap (0: not backed up).
    stalled_since: float = 0.0
    # Refused events since the last log line about them, by code.
    refused: dict[str, int] | None = None
    refused_logged_at: float = float("-inf")
    cut: bool = False  # cut for flooding: what it still sends is not logged

    @property
    def role(self) -> str:
        return self.user.role if self.user else "viewer"

    def can_moderate(self) -> bool:
        return self.user is not None and self.user.can("host")


def now_ms() -> int:
    return int(time.time() * 1000)


def minute_of(ms: int) -> int:
    return ms // 60_000


class ChatService:
    def __init__(self, settings: ChatSettings, stores: ChatStores, bus: Bus, metrics: Metrics,
                 programs: Programs, visitors: Visitors, *, relay: bool, staff: Staff | None = None,
                 clock: Clock | None = None) -> None:
        self.settings = settings
        self.stores = stores
        self.bus = bus
        self.metrics = metrics
        self.programs = programs
        self.visitors = visitors
        self.clock = clock or SystemClock()

        async def no_staff() -> list[str]:
            return []

        self.staff_names = StaffNames(staff.usernames if staff is not None else no_staff)
        self.hall_cases: dict[str, list[HallCase]] = {}  # set up by the slice (halls.hall_cases)
        self.process = secrets.token_hex(6)
        self.conns: dict[str, Conn] = {}
        self.members = RoomMembers(settings.buffer_kib * 1024, self._on_stalled, settings.stall_grace_s)
        self._states: dict[str, RoomState] = {}
        self._loading: dict[str, asyncio.Future[RoomState]] = {}
        self._task: asyncio.Task[None] | None = None
        # With Redis several processes serve one chat: what one stores, it relays to the others.
        self._relay = relay
        self._viewers_at = 0.0
        # How a connection is cut (the server's transports know): `reconnect` False tells the
        # client not to come back on its own (a Socket.IO DISCONNECT first).
        self.cut: Callable[[Conn, bool], None] = lambda _conn, _reconnect: None
        # Who earns for taking part (the events slice), if anyone.
        self.participation: Participation | None = None

    # ---- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        await self.stores.setup()
        self._task = asyncio.create_task(self._tick_loop(), name="chat-tick")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        # Whatever is pending is written before we go: acknowledged-to-be work is not lost.
        for state in list(self._states.values()):
            if state.busy():
                with contextlib.suppress(Exception):
                    await self._flush(state)

    # ---- rooms ------------------------------------------------------------------------------
    def cached(self, room: str) -> RoomState | None:
        return self._states.get(room)

    async def state(self, room: str, kind: str, ident: str) -> RoomState:
        state = self._states.get(room)
        if state is not None:
            return state
        loading = self._loading.get(room)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[RoomState] = asyncio.get_running_loop().create_future()
        self._loading[room] = future
        try:
            state = RoomState(room, kind, ident)
            if kind == "program":
                state.program = await self._program(ident)
            state.meta = await self.stores.room_settings.meta(room)
            state.hearts_total, state.hearts_minute = await self.stores.counters.hearts(
                room, minute_of(now_ms())
            )
            self._states[room] = state
            future.set_result(state)
            return state
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: the caller re-raises it
            raise
        finally:
            self._loading.pop(room, None)

    # ---- the tick ---------------------------------------------------------------------------
    def enqueue(self, state: RoomState, item: NewMessage) -> asyncio.Future[str]:
        if item.client_key is not None:
            existing = state.pending_keys.get(item.client_key)
            if existing is not None:
                return existing
        if len(state.pending) >= MAX_PENDING:
            raise ChatError("busy", "The chat is very busy; try again in a moment.")
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        state.pending.append(Pending(item, future))
        if item.client_key is not None:
            state.pending_keys[item.client_key] = future
        return future

    def enqueue_deletion(self, state: RoomState, message_id: str) -> asyncio.Future[str]:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        state.deletions.append((message_id, future))
        return future

    async def wait_stored(self, future: asyncio.Future[str]) -> str:
        try:
            return await asyncio.wait_for(asyncio.shield(future), ACK_TIMEOUT_S)
        except TimeoutError:
            raise ChatError("store_unavailable", "Not stored yet; retry with the same client_id.") from None

    async def _tick_loop(self) -> None:
        interval = self.settings.tick_ms / 1000
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at += interval
            delay = next_at - loop.time()
            if delay < 0:
                next_at = loop.time()
                delay = 0
            await asyncio.sleep(delay)
            started = time.perf_counter()
            try:
                await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("chat tick failed")
            self.metrics.observe(TICK_SECONDS, time.perf_counter() - started)

    async def _tick(self) -> None:
        busy = [s for s in self._states.values() if s.busy()]
        if busy:
            await asyncio.gather(*(self._flush(s) for s in busy))
        now = time.monotonic()
        for state in self._states.values():
            if state.hearts_total != state.hearts_sent and now - state.hearts_sent_at >= HEARTS_EVERY_S:
                state.hearts_sent = state.hearts_total
                state.hearts_sent_at = now
                self.members.broadcast(state.name, "hearts", self.hearts_payload(state))
            if state.poll_dirty and now - state.poll_sent_at >= POLL_EVERY_S:
                state.poll_dirty = False
                state.poll_sent_at = now
                await self._send_poll_counts(state)
            if state.questions_dirty and now - state.questions_sent_at >= QUESTIONS_EVERY_S:
                state.questions_dirty = False
                state.questions_sent_at = now
                questions = await self.questions(state)
                self.members.broadcast(state.name, "questions", {"room": state.name, "items": questions})
        if now - self._viewers_at >= VIEWERS_EVERY_S:
            self._viewers_at = now
            self._sweep_unread(now)
            await self._report_viewers()

    def hearts_payload(self, state: RoomState) -> dict[str, Any]:
        return {"room": state.name, "total": state.hearts_total, "per_minute": state.hearts_minute}

    async def _flush(self, state: RoomState) -> None:
        batch = state.pending[:MAX_PER_TICK]
        del state.pending[:MAX_PER_TICK]
        deletions = state.deletions
        state.deletions = []
        deleted = [message_id for message_id, _ in deletions]
        hearts = state.hearts_pending
        state.hearts_pending = 0
        for pending in batch:
            if pending.item.client_key is not None:
                state.pending_keys.pop(pending.item.client_key, None)
        ms = now_ms()
        try:
            result = await self.stores.history.write_tick(
                state.name, [p.item for p in batch], deleted, hearts, minute_of(ms)
            )
        except Exception as exc:
            if is_store_outage(exc):
                log.warning("chat store write failed: the store does not answer",
                            extra={"room": state.name, "error": type(exc).__name__})
            else:
                log.exception("chat store write failed", extra={"room": state.name})
            state.hearts_pending += hearts
            error = ChatError("store_unavailable", "The message could not be stored; retry.")
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(error)
                    pending.future.exception()
            for _, future in deletions:
                if not future.done():
                    future.set_exception(error)
                    future.exception()
            return
        items = []
        for pending, message_id, fresh in zip(batch, result.ids, result.fresh, strict=True):
            if not pending.future.done():
                pending.future.set_result(message_id)
            if fresh:
                items.append(pending.item.public(message_id))
        for message_id, future in deletions:
            if not future.done():
                future.set_result(message_id)
        if items:
            self.metrics.inc(MESSAGES_TOTAL, len(items), kind=state.kind)
        if hearts:
            self.metrics.inc(HEARTS_TOTAL, hearts, kind=state.kind)
        state.hearts_total = max(state.hearts_total, result.hearts_total)
        state.hearts_minute = result.hearts_minute
        self._deliver(state, items, deleted)
        if deleted and state.pinned and state.pinned.get("id") in deleted:
            await self.set_meta(state, "pinned", None)
            await self.emit(state.name, "pinned", {"room": state.name, "message": None})
        if self._relay and (items or deleted or hearts):
            await self.bus.publish(TICK_STORED, TickStored(
                self.process, state.name, items, deleted, result.hearts_total, result.hearts_minute
            ))

    async def snapshot(self, state: RoomState, limit: int) -> list[dict[str, Any]]:
        """The room's last `limit` messages, from memory once loaded."""
        if state.recent is not None:
            return list(state.recent[-limit:])
        version = state.version
        loaded = await self.stores.history.recent(state.name, SNAPSHOT)
        if state.recent is None and state.version == version:
            state.recent = loaded
        return loaded[-limit:]

    async def questions(self, state: RoomState) -> list[dict[str, Any]]:
        if state.questions_cache is not None:
            return list(state.questions_cache)
        version = state.version
        stored = await self.stores.polls_and_questions.questions(state.name)
        loaded = question_list(stored, QUESTIONS_SHOWN)
        if state.version == version and not state.questions_dirty:
            state.questions_cache = loaded
        return loaded

    def _deliver(self, state: RoomState, items: list[dict[str, Any]], deleted: list[str]) -> None:
        state.apply(items, deleted, SNAPSHOT)
        if items:
            self.members.broadcast(state.name, "messages", {"room": state.name, "items": items})
        if deleted:
            self.members.broadcast(state.name, "deleted", {"room": state.name, "ids": deleted})

    async def _report_viewers(self) -> None:
        counts = {name: self.members.count(name) for name in self._states}
        counts = {name: n for name, n in counts.items() if n or self._states[name].viewers}
        totals: dict[str, int] = {}
        if counts:
            try:
                totals = await self.stores.presence.report_viewers(self.process, counts)
            except Exception:
                log.warning("viewer count report failed", exc_info=True)
                return
        await self._record_audience(counts, totals)
        for name, total in totals.items():
            state = self._states.get(name)
            if state is None:
                continue
            state.viewers = total
            if total != state.viewers_sent:
                state.viewers_sent = total
                self.members.broadcast(name, "viewers", {"room": name, "count": total})

    async def _record_audience(self, counts: dict[str, int], totals: dict[str, int]) -> None:
        """Each open program room's audience: its viewers now (all processes) towards the peak
        and the minute's most, this process's viewer-seconds since the last report, and the
        viewers who joined since."""
        now = time.monotonic()
        minute = minute_of(now_ms())
        for name, state in list(self._states.items()):
            if state.kind != "program" or state.read_only:
                state.audience_at = 0.0
                state.watch_carry = 0.0
                continue
            if state.audience_at:
                state.watch_carry += counts.get(name, 0) * (now - state.audience_at)
            state.audience_at = now
            seconds = int(state.watch_carry)
            newcomers = list(state.newcomers)
            total = totals.get(name, 0)
            if not (total or seconds or newcomers):
                continue
            try:
                await self.stores.audience.record(name, minute, total, seconds, newcomers)
            except Exception:
                log.warning("audience report failed", exc_info=True, extra={"room": name})
                continue  # kept for the next report
            state.watch_carry -= seconds
            state.newcomers.difference_update(newcomers)

    def viewers(self, state: RoomState) -> int:
        return max(state.viewers, self.members.count(state.name)) if self._relay else self.members.count(
            state.name
        )

    # ---- polls and questions ----------------------------------------------------------------
    async def poll_view(self, state: RoomState, conn: Conn | None) -> dict[str, Any] | None:
        poll = state.poll
        if poll is None:
            return None
        polls = self.stores.polls_and_questions
        view = dict(poll)
        view["room"] = state.name
        if poll.get("revealed") or (conn is not None and conn.can_moderate()):
            view["counts"] = await polls.poll_counts(poll["id"], len(poll["choices"]))
        if conn is not None:
            view["voted"] = await polls.has_voted(poll["id"], conn.viewer)
        return view

    async def _send_poll_counts(self, state: RoomState) -> None:
        poll = state.poll
        if poll is None:
            return
        view = dict(poll)
        view["room"] = state.name
        counts = await self.stores.polls_and_questions.poll_counts(poll["id"], len(poll["choices"]))
        view["counts"] = counts
        # Live counts go to the moderators (hosts, producers), not to every staff connection: a
        # captioner sees what viewers see until the reveal.
        moderators = [m for m in self.members.members(state.name)
                      if (conn := self.conns.get(m.sid)) is not None and conn.can_moderate()]
        if moderators:
            self.members.write_text(moderators, event_text("poll", view))

    def mark(self, state: RoomState, what: str) -> None:
        if what == "poll":
            state.poll_dirty = True
        else:
            state.questions_dirty = True
            state.questions_cache = None
            state.version += 1

    async def announce_dirty(self, state: RoomState, what: str) -> None:
        self.mark(state, what)
        if self._relay:
            await self.bus.publish(ROOM_DIRTY, RoomDirty(self.process, state.name, what))

    # ---- cross-process events -----------------------------------------------------------------
    def subscribe(self) -> None:
        """Listen to the bus: the chat's relays and program state changes."""
        self.bus.subscribe(ROOM_EVENT, self._on_room_event)
        self.bus.subscribe(ROOM_SETTING, self._on_setting)
        self.bus.subscribe(VIEWER_NOTICE, self._on_notice)
        self.bus.subscribe(TICK_STORED, self._on_tick)
        self.bus.subscribe(ROOM_DIRTY, self._on_dirty)
        self.bus.subscribe(PROGRAM_CHANGED, self._on_program)
        self.bus.subscribe(ACCESS_CHANGED, self._on_access)

    async def emit(self, room: str, event: str, data: Any, *, staff_only: bool = False) -> None:
        """Send an event to the room on every process (this one included); `staff_only`: to its
        hosts', producers' and captioners' connections only."""
        await self.bus.publish(ROOM_EVENT, RoomEvent(room, event, data, staff_only))

    def broadcast_local(self, prefix: str, event: str, data: Any) -> int:
        """Send an event to this process's members of every room whose name starts with
        `prefix` (each process does the same for its own, e.g. on a bus event); a dict payload
        gets each room's name as `room`."""
        sent = 0
        for room in list(self._states):
            if room.startswith(prefix):
                payload = {**data, "room": room} if isinstance(data, dict) else data
                sent += self.members.broadcast(room, event, payload)
        return sent

    async def took_part(self, conn: Conn, kind: str, room: str, ref: str) -> dict[str, Any] | None:
        """Tell `participation` that this viewer took part; what they earned (None: nothing, also
        for hosts and producers, and when it fails or takes longer than 2 s)."""
        if self.participation is None or conn.user is not None:
            return None
        try:
            return await asyncio.wait_for(self.participation.took_part(conn.viewer, kind, room, ref), 2.0)
        except Exception:
            log.warning("participation not recorded", exc_info=True, extra={"kind": kind, "room": room})
            return None

    async def set_meta(self, state: RoomState, name: str, value: str | None) -> None:
        await self.stores.room_settings.set_meta(state.name, name, value)
        # Applied here at once (the bus may deliver later), and on every process by the bus.
        _apply_setting(state, name, value)
        await self.bus.publish(ROOM_SETTING, RoomSettingChanged(state.name, name, value))

    async def notify_viewer(self, room: str, viewer: str, notice: dict[str, Any]) -> None:
        await self.bus.publish(VIEWER_NOTICE, ViewerNotice(room, viewer, notice))

    async def _on_room_event(self, event: RoomEvent) -> None:
        self.members.broadcast(event.room, event.event, event.data, privileged_only=event.staff_only)

    async def _on_setting(self, event: RoomSettingChanged) -> None:
        state = self._states.get(event.room)
        if state is not None:
            _apply_setting(state, event.name, event.value)

    async def _on_notice(self, event: ViewerNotice) -> None:
        targets = [m for m in self.members.members(event.room) if m.viewer == event.viewer]
        if targets:
            self.members.write_text(targets, event_text("notice", event.notice))

    async def _on_tick(self, event: TickStored) -> None:
        state = self._states.get(event.room)
        if state is None or event.process == self.process:
            return
        if event.hearts_total > state.hearts_total:
            state.hearts_total = event.hearts_total
            state.hearts_minute = event.hearts_minute
        self._deliver(state, event.items, event.deleted)

    async def _on_dirty(self, event: RoomDirty) -> None:
        state = self._states.get(event.room)
        if state is not None and event.process != self.process:
            self.mark(state, event.what)

    async def _on_program(self, event: ProgramChanged) -> None:
        """To the program's room, and to every host's and producer's connection elsewhere: their
        consoles list every program and follow each one's state."""
        room = f"program:{event.id}"
        state = self._states.get(room)
        if state is not None:
            state.program = dict(event.program)
        self.members.broadcast(room, "program", event.program)
        staff = [c.member for c in list(self.conns.values())
                 if c.member.privileged and room not in c.member.rooms]
        if staff:
            self.members.write_text(staff, event_text("program", event.program))

    # ---- halls ------------------------------------------------------------------------------
    def hall_day(self) -> str:
        """Today in Seoul (YYYY-MM-DD): a viewer's hall hearts count once per hall per day."""
        return self.clock.now().astimezone(SEOUL).date().isoformat()

    async def _program(self, program_id: str) -> dict[str, Any]:
        """The program's public JSON; `unknown_room` when there is no such program."""
        try:
            program = await self.programs.require(program_id)
        except ApiError as err:
            if err.status == 404:
                raise ChatError("unknown_room", "There is no such program.") from None
            raise
        return program.public()

    # ---- staff rights -----------------------------------------------------------------------
    async def _on_access(self, event: AccessChanged) -> None:
        """A session ended or a role changed (any process): that person's connections here hold
        the role they hold now; those that lost it are told why (`notice` `session_ended`), so
        their console can ask them to log in again."""
        user = User(event.username, event.role) if event.role else None
        for conn in list(self.conns.values()):
            if conn.user is None or conn.user.username != event.username:
                continue
            if event.session is None or conn.session == event.session:
                self._set_user(conn, user)
                if user is None:
                    notice = {"code": "session_ended", "reason": event.reason,
                              "message": "Your login session ended; log in again."}
                    self.members.write_text([conn.member], event_text("notice", notice))

    def _set_user(self, conn: Conn, user: User | None) -> None:
        conn.user = user
        self.members.set_privileged(conn.member, user is not None)  # staff: any account
        if user is None:
            conn.session = None
            conn.nickname = default_nickname(conn.viewer)

    async def refresh_user(self, conn: Conn) -> None:
        """Read a staff connection's session again from the store (the bus tells every process
        when it ends, but a staff action does not wait for that to arrive)."""
        if conn.user is not None and conn.session is not None:
            user = await self.visitors.user_of_session(conn.session)
            if user != conn.user:
                self._set_user(conn, user)

    async def require_moderator(self, conn: Conn) -> None:
        """`forbidden` unless the connection's session still holds host or producer, now."""
        await self.refresh_user(conn)
        if not conn.can_moderate():
            raise ChatError("forbidden", "Only hosts and producers can do this.")

    # ---- connections ------------------------------------------------------------------------
    def _on_stalled(self, member: Member) -> None:
        self.metrics.inc("innotv_chat_stalled_total")

    def _sweep_unread(self, now: float) -> None:
        """Cut the connections that have not read for longer than the stall grace."""
        cap = self.members.buffer_cap
        grace = self.settings.stall_grace_s
        for conn in list(self.conns.values()):
            if conn.cut:
                continue
            if not conn.member.backed_up(cap):
                conn.stalled_since = 0.0
            elif not conn.stalled_since:
                conn.stalled_since = now
            elif now - conn.stalled_since > grace:
                conn.stalled_since = 0.0
                conn.cut = True
                log.warning("chat connection cut: not reading",
                            extra={"sid": conn.sid, "viewer": conn.viewer, "address": conn.address})
                self.metrics.inc("innotv_chat_cut_total", reason="not_reading")
                self.cut(conn, True)

    def note_refusal(self, conn: Conn, event: str, code: str) -> None:
        """Count a refused event; log the connection's refusals at most once per interval."""
        if conn.cut:
            return
        counts = conn.refused
        if counts is None:
            counts = conn.refused = {}
        counts[code] = counts.get(code, 0) + 1
        self.metrics.inc("innotv_chat_events_refused_total")
        now = time.monotonic()
        if code == "rate_limited" and conn.limiter.refused(now, self.settings.flood_cut_s):
            self._log_refusals(conn, event)
            log.warning("chat connection cut: over its rate limits for too long",
                        extra={"sid": conn.sid, "viewer": conn.viewer, "address": conn.address})
            self.metrics.inc("innotv_chat_cut_total", reason="flooding")
            conn.cut = True
            self.cut(conn, False)
            return
        if now - conn.refused_logged_at >= REFUSALS_LOG_EVERY_S:
            conn.refused_logged_at = now
            self._log_refusals(conn, event)

    def flush_refusals(self, conn: Conn) -> None:
        """At disconnect: log the refusals not logged yet."""
        if conn.refused:
            self._log_refusals(conn, None)

    def _log_refusals(self, conn: Conn, event: str | None) -> None:
        counts = conn.refused or {}
        conn.refused = None
        log.info("chat events refused", extra={
            "count": sum(counts.values()), "codes": counts, "event": event, "sid": conn.sid,
            "viewer": conn.viewer, "address": conn.address,
        })


def _apply_setting(state: RoomState, name: str, value: str | None) -> None:
    if value is None:
        state.meta.pop(name, None)
    else:
        state.meta[name] = value
