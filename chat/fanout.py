"""Room membership and the broadcast path: one encoded frame, written to every member.

Members of a room live in a dict we own (sid -> Member), so joining, leaving and disconnecting
are O(1) whatever the crowd. Staff connections (`privileged`: hosts, producers, captioners) are
members like any other but are not counted as viewers (`count`).

A broadcast encodes the packet once; for each member it is one buffered write of the ready
WebSocket frame into the connection's transport (no task, no await), or one `put_nowait` into
the Engine.IO queue for long-polling clients. A member whose unsent bytes exceed the cap is
taken out of the room and told to resync (`notice` code `resync`); if it stays stalled for
`stall_grace_s` its connection is cut, so it never holds the others back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

from .socketio_internals import EioLink, message_packet
from .wire import event_text, ws_frame

log = logging.getLogger("innotv.chat.fanout")

POLLING_QUEUE_CAP = 512


class Member:
    """One connection's place in the fan-out: where to write and who it is.

    A lean WebSocket connection (`chat.lean`) has `eio` None and its `transport` set; a
    python-engineio connection (long-polling, or upgraded from it) has its `EioLink` in `eio`,
    whose transport is known once it is upgraded.
    """

    __slots__ = ("eio", "privileged", "rooms", "sid", "transport", "viewer")

    def __init__(
        self, sid: str, eio: EioLink | None, viewer: str, privileged: bool,
        transport: asyncio.Transport | None = None
    ) -> None:
        self.sid = sid
        self.eio = eio
        self.transport = transport
        self.viewer = viewer
        self.privileged = privileged
        # A list, not a set: a connection is in at most 5 rooms (usually 1), and an empty set
        # alone costs 216 bytes per connection.
        self.rooms: list[str] = []

    def ws_transport(self) -> asyncio.Transport | None:
        return self.transport if self.eio is None else self.eio.transport()

    def backed_up(self, cap: int) -> bool:
        """More than `cap` bytes unsent (or, long-polling, more than POLLING_QUEUE_CAP packets)."""
        sock = self.eio
        transport = self.transport if sock is None else sock.transport()
        if transport is not None:
            return not transport.is_closing() and transport.get_write_buffer_size() > cap
        return sock is not None and not sock.closed() and sock.backlog() > POLLING_QUEUE_CAP


class RoomMembers:
    def __init__(self, buffer_cap: int, on_stalled: Callable[[Member], None],
                 stall_grace_s: float = 10.0) -> None:
        self.buffer_cap = buffer_cap
        self.stall_grace_s = stall_grace_s
        self._rooms: dict[str, dict[str, Member]] = {}
        self._staff: dict[str, int] = {}  # privileged members per room (not viewers)
        self._on_stalled = on_stalled

    def add(self, room: str, member: Member) -> None:
        members = self._rooms.setdefault(room, {})
        if member.sid not in members and member.privileged:
            self._staff[room] = self._staff.get(room, 0) + 1
        members[member.sid] = member
        if room not in member.rooms:
            member.rooms.append(room)

    def remove(self, room: str, member: Member) -> None:
        members = self._rooms.get(room)
        if members is not None:
            if members.pop(member.sid, None) is not None and member.privileged:
                self._staff_left(room)
            if not members:
                del self._rooms[room]
        if room in member.rooms:
            member.rooms.remove(room)

    def _staff_left(self, room: str) -> None:
        left = self._staff.get(room, 0) - 1
        if left > 0:
            self._staff[room] = left
        else:
            self._staff.pop(room, None)

    def remove_everywhere(self, member: Member) -> None:
        for room in list(member.rooms):
            self.remove(room, member)

    def set_privileged(self, member: Member, privileged: bool) -> None:
        """A connection gained or lost staff rights: the viewer counts of its rooms follow."""
        if member.privileged == privileged:
            return
        for room in member.rooms:
            if privileged:
                self._staff[room] = self._staff.get(room, 0) + 1
            else:
                self._staff_left(room)
        member.privileged = privileged

    def count(self, room: str) -> int:
        """The room's viewers here: its members that are not hosts' or producers' connections."""
        return len(self._rooms.get(room, ())) - self._staff.get(room, 0)

    def members(self, room: str) -> Iterable[Member]:
        return list(self._rooms.get(room, {}).values())

    def broadcast(self, room: str, event: str, data: Any, *, privileged_only: bool = False) -> int:
        """Send one event to the room's members here; returns how many were written to."""
        members = self._rooms.get(room)
        if not members:
            return 0
        text = event_text(event, data)
        return self.write_text(list(members.values()), text, privileged_only=privileged_only)

    def write_text(self, members: list[Member], text: str, *, privileged_only: bool = False) -> int:
        frame = ws_frame(text)
        pkt = message_packet(text)
        cap = self.buffer_cap
        stalled: list[Member] = []
        sent = 0
        for member in members:
            if privileged_only and not member.privileged:
                continue
            sock = member.eio
            # Member.ws_transport(), inlined for the lean members (nearly all): this loop runs for
            # every member of a room each tick.
            transport = member.transport if sock is None else sock.transport()
            if transport is not None:
                if transport.is_closing():
                    continue
                if transport.get_write_buffer_size() > cap:
                    stalled.append(member)
                    continue
                transport.write(frame)
            elif sock is not None:
                if sock.closed():
                    continue
                if sock.backlog() > POLLING_QUEUE_CAP:
                    stalled.append(member)
                    continue
                sock.put(pkt)
            else:
                continue
            sent += 1
        for member in stalled:
            self._stall(member)
        return sent

    def _stall(self, member: Member) -> None:
        rooms = list(member.rooms)
        self.remove_everywhere(member)
        log.warning("dropped a stalled reader", extra={"sid": member.sid, "rooms": rooms})
        text = event_text(
            "notice",
            {"code": "resync", "message": "You fell behind; join again with `since`.", "rooms": rooms},
        )
        sock = member.eio
        transport = member.ws_transport()
        if transport is not None:
            if not transport.is_closing():
                transport.write(ws_frame(text))
                asyncio.get_running_loop().call_later(
                    self.stall_grace_s, _cut_if_stalled, transport, self.buffer_cap
                )
        elif sock is not None and not sock.closed():
            sock.put(message_packet(text))
        self._on_stalled(member)


def _cut_if_stalled(transport: asyncio.WriteTransport, cap: int) -> None:
    if not transport.is_closing() and transport.get_write_buffer_size() > cap:
        transport.abort()
