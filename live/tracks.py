"""aiortc tracks that play the generated source in real time, and a small WHIP publisher client.

Used by the tests and the benchmark to publish like a browser or OBS would; also a reference for
what a publisher must do (POST the offer with a Bearer key, keep the `Location` to DELETE it, and
say the largest picture it sends with `?size=WxH`, as the host page does). `GrowingPatternTrack`
starts small and grows, as a browser's encoder does while WebRTC estimates the bandwidth.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp
import av
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from .source import AUDIO_SAMPLES, TestPattern, Tone


class PatternTrack(MediaStreamTrack):
    """The test pattern, paced to real time."""

    kind = "video"

    def __init__(self, width: int = 320, height: int = 240, fps: int = 15) -> None:
        super().__init__()
        self.pattern = TestPattern(width, height, fps)
        self.fps = fps
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self.pattern.index / self.fps
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        return self.pattern.next_frame()

    def stop(self) -> None:
        super().stop()


class GrowingPatternTrack(PatternTrack):
    """The test pattern at `small` for `grow_after` seconds, then at `large` (each picture of the
    one pattern scaled), like a browser that starts small and ramps up."""

    def __init__(self, small: tuple[int, int], large: tuple[int, int], grow_after: float,
                 fps: int = 15) -> None:
        super().__init__(large[0], large[1], fps)
        self.small = small
        self.grow_after_frames = round(grow_after * fps)

    async def recv(self) -> av.VideoFrame:
        frame = await super().recv()
        if self.pattern.index <= self.grow_after_frames:
            small = frame.reformat(width=self.small[0], height=self.small[1])
            small.pts, small.time_base = frame.pts, frame.time_base
            return small
        return frame


class ToneTrack(MediaStreamTrack):
    """The tone, in 20 ms frames paced to real time."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.tone = Tone()
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self.tone.index * AUDIO_SAMPLES / 48_000
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        return self.tone.next_frame()


@dataclass
class Publication:
    pc: RTCPeerConnection
    location: str
    answer: str


def prefer_codec(pc: RTCPeerConnection, mime: str) -> None:
    """Offer only `mime` (e.g. "video/H264") on the video transceiver."""
    from aiortc.rtcrtpsender import RTCRtpSender

    caps = RTCRtpSender.getCapabilities("video")
    chosen = [c for c in caps.codecs if c.mimeType == mime]
    for transceiver in pc.getTransceivers():
        if transceiver.kind == "video":
            transceiver.setCodecPreferences(chosen)


async def make_offer(width: int = 320, height: int = 240, fps: int = 15,
                     video_codec: str | None = None, video: MediaStreamTrack | None = None,
                     audio: bool = True) -> RTCPeerConnection:
    """An offer sending `video` (default: the pattern at `width`x`height`) and, with `audio`, the tone."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver(video or PatternTrack(width, height, fps), direction="sendonly")
    if audio:
        pc.addTransceiver(ToneTrack(), direction="sendonly")
    if video_codec:
        prefer_codec(pc, video_codec)
    await pc.setLocalDescription(await pc.createOffer())
    return pc


async def whip_publish(session: aiohttp.ClientSession, url: str, key: str, *, width: int = 320,
                       height: int = 240, fps: int = 15, video_codec: str | None = None,
                       video: MediaStreamTrack | None = None, audio: bool = True,
                       announce: bool = True) -> Publication:
    """Publish the generated source to a WHIP endpoint, announcing `width`x`height` as the
    largest picture (unless not `announce`); raises on a non-201 answer."""
    pc = await make_offer(width, height, fps, video_codec, video, audio)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"}
    params = {"size": f"{width}x{height}"} if announce else {}
    try:
        async with session.post(url, data=pc.localDescription.sdp.encode(), headers=headers,
                                params=params) as resp:
            body = await resp.text()
            if resp.status != 201:
                raise RuntimeError(f"WHIP answered {resp.status}: {body}")
            location = resp.headers["Location"]
        await pc.setRemoteDescription(RTCSessionDescription(body, "answer"))
    except BaseException:
        await pc.close()
        raise
    return Publication(pc, location, body)
