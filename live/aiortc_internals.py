"""Every use of aiortc's unpublished internals, in one place (aiortc is pinned to 1.16.0 in
pyproject; `tests/live/test_aiortc_internals.py` fails loudly when an upgrade changes them).

- Receiving the publisher's encoded packets: every receiver decodes in a thread running the module
  function `aiortc.rtcrtpreceiver.decoder_worker`. `install()` swaps that function for one that,
  for the tracks registered with `receive_packets(track)` (found by the track's `_queue`; our WHIP
  ingest only), hands on `av.Packet`s (H.264 Annex B access units or VP8 frames with pts in
  1/90000 and keyframes flagged; Opus packets with pts in 1/48000) and leaves every other receiver
  (an aiortc client in the same process) untouched. Nothing is decoded in the server's process:
  the WHEP preview forwards these packets, the program's media worker process decodes them.
- `request_keyframe(receiver)` sends an RTCP PLI (`RTCRtpReceiver._send_rtcp_pli`), which we do at
  every segment boundary so a preview or a decoder that lost a packet recovers.
- `keep_only_codec(transceiver, mime)` narrows a transceiver's negotiable codecs
  (`RTCRtpTransceiver._codecs`), so a preview is answered with the publisher's own codec.
- `end_remote_track(track)` puts the end-of-stream marker (None) into a received track's `_queue`:
  a receiver that never started (a publisher that never completed ICE/DTLS) does not end its
  track when its connection closes, and whatever awaits `recv()` (our pumps, a MediaRelay's
  reading task) would wait forever.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import weakref
from fractions import Fraction
from typing import Any

import aiortc.rtcrtpreceiver as _receiver
import av

log = logging.getLogger("innotv.live")

PINNED = {"aiortc": "1.16.0"}
VIDEO_TIME_BASE = Fraction(1, 90_000)  # RTP's video clock
_ORIGINAL = _receiver.decoder_worker
# The track queues whose receivers should deliver packets (weak: gone with their connection).
_PACKET_QUEUES: weakref.WeakSet[Any] = weakref.WeakSet()


def is_keyframe(codec: str, data: bytes) -> bool:
    """Whether an encoded video frame can be decoded on its own."""
    if codec == "vp8":
        return bool(data) and (data[0] & 0x01) == 0
    # H.264 Annex B: an IDR slice (NAL type 5) anywhere in the access unit
    at = 0
    while True:
        at = data.find(b"\x00\x00\x01", at)
        if at < 0 or at + 3 >= len(data):
            return False
        if data[at + 3] & 0x1F == 5:
            return True
        at += 3


def _packet_worker(loop: asyncio.AbstractEventLoop, input_q: queue.Queue[Any],
                   output_q: asyncio.Queue[Any]) -> None:
    while True:
        task = input_q.get()
        if task is None:
            asyncio.run_coroutine_threadsafe(output_q.put(None), loop)
            return
        codec, encoded = task
        name = str(codec.name).lower()
        data = bytes(encoded.data)
        packet = av.Packet(data)
        packet.pts = packet.dts = int(encoded.timestamp)
        packet.time_base = Fraction(1, int(codec.clockRate))
        packet.is_keyframe = is_keyframe(name, data) if name in ("h264", "vp8") else True
        asyncio.run_coroutine_threadsafe(output_q.put(packet), loop)


def _decoder_worker(loop: asyncio.AbstractEventLoop, input_q: queue.Queue[Any],
                    output_q: asyncio.Queue[Any], decode_error: threading.Event) -> None:
    if output_q in _PACKET_QUEUES:
        _packet_worker(loop, input_q, output_q)
    else:
        _ORIGINAL(loop, input_q, output_q, decode_error)


def install() -> None:
    """Idempotent: route registered receivers through `_packet_worker`."""
    if _receiver.decoder_worker is not _decoder_worker:
        _receiver.decoder_worker = _decoder_worker


def receive_packets(track: Any) -> bool:
    """Make this remote track deliver `av.Packet`s instead of decoded frames; False when aiortc
    changed inside."""
    queue_ = getattr(track, "_queue", None)
    if queue_ is None:
        return False
    install()
    _PACKET_QUEUES.add(queue_)
    return True


async def request_keyframe(receiver: Any) -> None:
    """Send an RTCP PLI for every source this receiver heard lately (aiortc private API)."""
    send = getattr(receiver, "_send_rtcp_pli", None)
    if send is None:
        return
    for source in receiver.getSynchronizationSources():
        try:
            await send(source.source)
        except Exception:
            log.debug("sending a PLI failed", exc_info=True)


def keep_only_codec(transceiver: Any, mime: str) -> bool:
    """Let `transceiver` negotiate only `mime` (e.g. "video/h264"); False when it cannot."""
    same = [c for c in transceiver._codecs if c.mimeType.lower() == mime]
    if not same:
        return False
    transceiver._codecs = same
    return True


def end_remote_track(track: Any) -> None:
    """End a received track now (see the module's docstring); harmless on one already ended."""
    queue_ = getattr(track, "_queue", None)
    if isinstance(queue_, asyncio.Queue):
        queue_.put_nowait(None)
