"""RTMP ingest: studio encoders (vMix, ATEM Mini, hardware encoders, OBS) publish to
`rtmp://<host>[:<port>]/live/<stream key>`.

One asyncio server on `live_rtmp_port` takes every program's publishers: the stream key (the
publish name) says which program, checked against the stored key hashes when the encoder asks to
publish, before any audio or video is read. Then the connection is a publisher like a WHIP one
(LiveService.publish_rtmp): one per program (a second one, RTMP or WHIP, is refused), its media
handed to the program's worker process: H.264 in Annex B form (passed through at the top rung's
size, as for WHIP, unless it has B-frames) and AAC in ADTS form (decoded and encoded again, as a
WHIP publisher's Opus is). When the connection drops the slate plays; when the encoder
unpublishes it is a WHIP DELETE.

What an encoder sends, and what we answer (RTMP 1.0 and what encoders do beyond it):
  handshake                 rtmp_handshake.py (plain or digest form)
  connect(app="live")       Set Chunk Size (4096), Window Acknowledgement Size, Set Peer Bandwidth,
                            _result NetConnection.Connect.Success; another app: _error, closed
  releaseStream, FCPublish  _result
  createStream              _result with stream id 1
  publish(<key>)            onStatus NetStream.Publish.Start; a wrong key, a program that is over
                            or a premiere, or one with a publisher: onStatus NetStream.Publish.BadName
                            (or .Failed) with the reason, then the connection is closed
  @setDataFrame/onMetaData  noted (whether it says there is sound)
  audio, video              after a successful publish only; before it, the connection is closed
  FCUnpublish, deleteStream the publisher stops (a break while live), the connection is closed

Bad input closes that connection and touches nothing else: a garbage handshake, chunks that break
the rules (rtmp_chunks.py), AMF0 that cannot be read, media before publish, video other than H.264
or sound other than AAC (flv.py), no video within `NO_VIDEO_S` of the publish, or nothing at all
for `IDLE_S`. Connections that never publish are closed after `PUBLISH_WITHIN_S`, and at most
`MAX_CONNECTIONS` are open at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Any

from kernel.errors import ApiError

from . import amf0
from .flv import AvcConfig, FlvError, adts_header, annex_b, parse_audio, parse_video
from .ladder import PublisherLimits
from .rtmp_chunks import (
    ACKNOWLEDGEMENT,
    AUDIO,
    COMMAND_AMF0,
    COMMAND_AMF3,
    DATA_AMF0,
    DATA_AMF3,
    SET_CHUNK_SIZE,
    SET_PEER_BANDWIDTH,
    VIDEO,
    WINDOW_ACK_SIZE,
    ChunkError,
    ChunkReader,
    Message,
    chunks,
)
from .rtmp_handshake import SIZE, HandshakeError, server_reply
from .service import LiveService, Publisher

log = logging.getLogger("innotv.live.rtmp")

APP = "live"
OUT_CHUNK_SIZE = 4096
WINDOW = 2_500_000
HANDSHAKE_S = 10.0  # the whole handshake
PUBLISH_WITHIN_S = 15.0  # from the connection to a successful publish
NO_VIDEO_S = 5.0  # after the publish, the first video must come within this
IDLE_S = 30.0  # nothing at all received for this long closes the connection
NO_SOUND_AFTER_S = 1.0  # no audio this long after the first picture: it sends none
MAX_CONNECTIONS = 64
STREAM_ID = 1

# Resolves a stream key to its program id (None: no program has it).
KeyLookup = Callable[[str], Awaitable[str | None]]


class Refused(Exception):
    """The publish is refused: say why in onStatus, then close."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class RtmpIngest:
    """The RTMP listener and its connections."""

    def __init__(self, live: LiveService, program_for_key: KeyLookup,
                 ensure_open: Callable[[str], Awaitable[None]]) -> None:
        self.live = live
        self.program_for_key = program_for_key
        self.ensure_open = ensure_open
        self.server: asyncio.Server | None = None
        self.connections: set[RtmpConnection] = set()

    async def start(self, host: str, port: int, reuse_port: bool = False) -> None:
        self.server = await asyncio.start_server(self._accept, host, port, reuse_port=reuse_port or None)

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self.connections) >= MAX_CONNECTIONS:
            log.warning("RTMP: %d connections open, refusing another", len(self.connections))
            writer.close()
            return
        connection = RtmpConnection(self, reader, writer)
        self.connections.add(connection)
        try:
            await connection.run()
        finally:
            self.connections.discard(connection)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for connection in list(self.connections):
            connection.close()
        if self.server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 5)


class RtmpConnection:
    def __init__(self, ingest: RtmpIngest, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.ingest = ingest
        self.live = ingest.live
        self.reader = reader
        self.writer = writer
        self.peer = writer.get_extra_info("peername")
        self.chunks = ChunkReader()
        self.received = 0
        self.last_data = time.monotonic()
        self.ack_window = 0
        self.acked = 0
        self.connected = False
        self.program_id: str | None = None
        self.publisher: Publisher | None = None
        self.avc: AvcConfig | None = None
        self.aac_config: bytes | None = None
        self.sound_expected = True  # onMetaData may say there is none
        self.first_video_at: float | None = None
        self.sound_seen = False
        self.sound_off = False  # told the worker it sends none: later sound is ignored
        self.limits_sent = False
        self.published_at = 0.0
        self.deliberate = False  # it unpublished (FCUnpublish / deleteStream)

    def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()

    # ---- the connection's life ----
    async def run(self) -> None:
        opened = time.monotonic()
        reason = "closed by the encoder"
        try:
            async with asyncio.timeout(HANDSHAKE_S):
                c0c1 = await self.reader.readexactly(1 + SIZE)
                self.writer.write(server_reply(c0c1))
                await self.reader.readexactly(SIZE)  # C2: nothing in it we need
            while True:
                remaining = self._deadline(opened) - time.monotonic()
                if remaining <= 0:
                    reason = self._timeout_reason()
                    break
                try:
                    async with asyncio.timeout(remaining):
                        data = await self.reader.read(65536)
                except TimeoutError:
                    continue  # the deadline may have moved meanwhile; looked at again above
                if not data:
                    break
                self._count(len(data))
                for message in self.chunks.feed(data):
                    await self._on_message(message)
                    if self.writer.is_closing():
                        reason = "closed after the encoder unpublished" if self.deliberate else reason
                        return
                self._check_sound()
                await self.writer.drain()
        except (HandshakeError, ChunkError, amf0.AmfError, FlvError) as exc:
            reason = f"bad input: {exc}"
        except Refused as refused:
            reason = f"refused: {refused.description}"
        except (TimeoutError, asyncio.IncompleteReadError):
            reason = "handshake incomplete"
        except ConnectionError:
            reason = "connection lost"
        finally:
            log.info("RTMP %s (%s): %s", self.peer, self.program_id or "no program", reason)
            self.close()
            await self._stopped()

    def _deadline(self, opened: float) -> float:
        """When this connection is closed unless something happens first: the publish, then the
        first video, then any data at all."""
        if self.publisher is None:
            return opened + PUBLISH_WITHIN_S
        if self.first_video_at is None:
            return self.published_at + NO_VIDEO_S
        return self.last_data + IDLE_S

    def _timeout_reason(self) -> str:
        if self.publisher is None:
            return f"did not publish within {PUBLISH_WITHIN_S:.0f} s"
        if self.first_video_at is None:
            return f"no video within {NO_VIDEO_S:.0f} s of publishing"
        return f"nothing received for {IDLE_S:.0f} s"

    async def _stopped(self) -> None:
        if self.publisher is not None and self.program_id is not None:
            pub, self.publisher = self.publisher, None
            await self.live.rtmp_stopped(self.program_id, pub, self.deliberate)

    def _count(self, size: int) -> None:
        """Acknowledge what we received every window (the encoder's Window Acknowledgement Size)."""
        self.last_data = time.monotonic()
        self.received += size
        if self.ack_window and self.received - self.acked >= self.ack_window:
            self.acked = self.received
            self._send(2, Message(ACKNOWLEDGEMENT, 0, 0, struct.pack(">I", self.received & 0xFFFFFFFF)))

    def _send(self, csid: int, message: Message) -> None:
        if not self.writer.is_closing():
            self.writer.write(chunks(csid, message, OUT_CHUNK_SIZE))

    # ---- messages ----
    async def _on_message(self, message: Message) -> None:
        kind = message.type_id
        if kind == WINDOW_ACK_SIZE and len(message.payload) >= 4:
            self.ack_window = struct.unpack(">I", message.payload[:4])[0]
        elif kind in (COMMAND_AMF0, COMMAND_AMF3):
            payload = message.payload[1:] if kind == COMMAND_AMF3 else message.payload
            await self._on_command(amf0.decode_all(payload))
        elif kind in (DATA_AMF0, DATA_AMF3):
            payload = message.payload[1:] if kind == DATA_AMF3 else message.payload
            self._on_data(amf0.decode_all(payload))
        elif kind in (AUDIO, VIDEO):
            if self.publisher is None:
                raise ChunkError("media before a successful publish")
            if kind == VIDEO:
                self._on_video(message)
            else:
                self._on_audio(message)
        # other control messages (Set Chunk Size is the chunk reader's, acknowledgements, user
        # control, Set Peer Bandwidth, aggregates) need nothing from us

    async def _on_command(self, values: list[Any]) -> None:
        if len(values) < 2 or not isinstance(values[0], str):
            raise amf0.AmfError("a command must start with its name and transaction id")
        name, txn = values[0], values[1]
        if name == "connect":
            self._on_connect(txn, values[2] if len(values) > 2 else None)
        elif not self.connected:
            raise ChunkError(f"{name!r} before connect")
        elif name in ("releaseStream", "FCPublish"):
            self._command(3, 0, "_result", txn, None)
        elif name == "createStream":
            self._command(3, 0, "_result", txn, None, STREAM_ID)
        elif name == "publish":
            await self._on_publish(values[3] if len(values) > 3 else None)
        elif name in ("FCUnpublish", "deleteStream", "closeStream"):
            self.deliberate = self.publisher is not None
            self.close()

    def _on_connect(self, txn: Any, info: Any) -> None:
        app = str(info.get("app", "")) if isinstance(info, dict) else ""
        app = app.split("?", 1)[0].strip("/")
        self._send(2, Message(SET_CHUNK_SIZE, 0, 0, struct.pack(">I", OUT_CHUNK_SIZE)))
        if app != APP:
            self._command(3, 0, "_error", txn, None, {
                "level": "error", "code": "NetConnection.Connect.Rejected",
                "description": f"Publish to rtmp://<host>/{APP}/<stream key>, not to app {app!r}."})
            raise Refused("NetConnection.Connect.Rejected", f"app {app!r} is not {APP!r}")
        self.connected = True
        self._send(2, Message(WINDOW_ACK_SIZE, 0, 0, struct.pack(">I", WINDOW)))
        self._send(2, Message(SET_PEER_BANDWIDTH, 0, 0, struct.pack(">IB", WINDOW, 2)))
        self._command(3, 0, "_result", txn, {"fmsVer": "FMS/3,0,1,123", "capabilities": 31},
                      {"level": "status", "code": "NetConnection.Connect.Success",
                       "description": "Connection succeeded.", "objectEncoding": 0})

    async def _on_publish(self, name: Any) -> None:
        if self.publisher is not None:
            raise ChunkError("publish twice on one connection")
        key = str(name or "").split("?", 1)[0]
        try:
            program_id = await self.ingest.program_for_key(key) if 0 < len(key) <= 200 else None
            if program_id is None:
                raise Refused("NetStream.Publish.BadName", "invalid stream key")
            self.program_id = program_id
            await self.ingest.ensure_open(program_id)
            self.publisher = await self.live.publish_rtmp(program_id, self.close)
        except ApiError as err:
            self._status("error", "NetStream.Publish.BadName", f"{err.code}: {err.message}")
            raise Refused("NetStream.Publish.BadName", err.code) from None
        except Refused as refused:
            self._status("error", refused.code, refused.description)
            raise
        self.published_at = time.monotonic()
        self._status("status", "NetStream.Publish.Start", f"Publishing to {program_id}.")

    def _on_data(self, values: list[Any]) -> None:
        if values and values[0] == "@setDataFrame":
            values = values[1:]
        if len(values) >= 2 and values[0] == "onMetaData" and isinstance(values[1], dict):
            meta = values[1]
            codec = meta.get("audiocodecid")
            self.sound_expected = codec not in (None, 0, "", False) or bool(meta.get("stereo"))

    def _on_video(self, message: Message) -> None:
        tag = parse_video(message.payload)
        if tag is None:
            return
        if tag.config is not None:
            self.avc = tag.config
            return
        if self.avc is None:
            return  # no SPS/PPS yet: nothing here can be decoded
        data = annex_b(tag.nal_units, self.avc.length_size)
        if tag.keyframe:
            data = self.avc.parameter_sets + data
        if self.first_video_at is None:
            if not tag.keyframe:
                return  # a stream starts at a keyframe
            self.first_video_at = time.monotonic()
        self._announce()
        assert self.publisher is not None and self.program_id is not None
        pts = (message.timestamp + tag.composition_ms) * 90
        self.live.rtmp_video(self.program_id, self.publisher, data, pts, tag.keyframe, message.timestamp * 90)

    def _on_audio(self, message: Message) -> None:
        tag = parse_audio(message.payload)
        if tag.config is not None:
            self.aac_config = tag.config
            return
        if self.aac_config is None or not tag.frame or self.sound_off:
            return
        self.sound_seen = True
        assert self.publisher is not None and self.program_id is not None
        frame = adts_header(self.aac_config, len(tag.frame)) + tag.frame
        self.live.rtmp_audio(self.program_id, self.publisher, frame, message.timestamp * 48)

    def _announce(self) -> None:
        """Before the first picture: what this publisher sends (its first picture is its size)."""
        if self.limits_sent or self.publisher is None or self.program_id is None:
            return
        self.limits_sent = True
        limits = PublisherLimits(audio=self.sound_seen or self.sound_expected, sized_by_picture=True)
        self.live.rtmp_limits(self.program_id, self.publisher, limits)

    def _check_sound(self) -> None:
        """No sound a second after the first picture: the worker adds silence from then on."""
        pub = self.publisher
        if (pub is None or self.program_id is None or self.sound_seen or self.sound_off
                or self.first_video_at is None or time.monotonic() - self.first_video_at < NO_SOUND_AFTER_S):
            return
        self.sound_off = True
        if pub.limits.audio:
            self.live.rtmp_limits(self.program_id, pub, PublisherLimits(audio=False, sized_by_picture=True))

    # ---- answers ----
    def _command(self, csid: int, stream_id: int, *values: Any) -> None:
        self._send(csid, Message(COMMAND_AMF0, stream_id, 0, amf0.encode_all(*values)))

    def _status(self, level: str, code: str, description: str) -> None:
        self._command(5, STREAM_ID, "onStatus", 0, None,
                      {"level": level, "code": code, "description": description})
