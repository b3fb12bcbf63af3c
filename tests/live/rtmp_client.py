"""Publishers for the RTMP tests: Debian's ffmpeg (a real encoder, as studio gear would be) and a
bare protocol client that says exactly what a test needs (a garbage handshake, media before
publish, a wrong app), built on the chunk and AMF0 code the server reads with."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from live import amf0
from live.rtmp_chunks import COMMAND_AMF0, ChunkReader, Message, chunks
from live.rtmp_handshake import SIZE


async def ffmpeg_publish(url: str, seconds: float = 60, size: str = "426x240", fps: int = 15,
                         video: bool = True, audio: bool = True,
                         x264: list[str] | None = None) -> asyncio.subprocess.Process:
    """`ffmpeg` publishing the generated source (testsrc2 + a sine) to `url` in real time: H.264
    (x264, one keyframe a second, no B-frames unless `x264` says so) and AAC."""
    args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re"]
    if video:
        args += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}"]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    args += ["-t", str(seconds)]
    if video:
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", str(fps),
                 "-pix_fmt", "yuv420p", *(x264 or [])]
    if audio:
        args += ["-c:a", "aac", "-b:a", "64k"]
    args += ["-f", "flv", url]
    return await asyncio.create_subprocess_exec(*args, stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)


async def stop(proc: asyncio.subprocess.Process) -> None:
    """Kill an ffmpeg we started (by its PID), as a pulled cable would."""
    if proc.returncode is None:
        proc.kill()
    await proc.wait()


class RawRtmp:
    """One TCP connection speaking RTMP by hand."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.chunks = ChunkReader()
        self.txn = 1

    @classmethod
    async def connect(cls, port: int) -> RawRtmp:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def handshake(self) -> None:
        self.writer.write(bytes([3]) + bytes(8) + os.urandom(SIZE - 8))  # C0 + plain C1
        s0s1s2 = await self.reader.readexactly(1 + 2 * SIZE)
        assert s0s1s2[0] == 3
        self.writer.write(s0s1s2[1 : 1 + SIZE])  # C2 echoes S1

    def send(self, csid: int, message: Message) -> None:
        self.writer.write(chunks(csid, message, 128))

    def command(self, name: str, *args: Any, stream_id: int = 0) -> None:
        self.txn += 1
        payload = amf0.encode_all(name, float(self.txn), *args)
        self.send(3 if stream_id == 0 else 8, Message(COMMAND_AMF0, stream_id, 0, payload))

    async def publish(self, key: str, app: str = "live") -> list[Any]:
        """connect + createStream + publish; the values of the onStatus answer to publish (or
        of whatever came last before the connection closed)."""
        self.command("connect", {"app": app, "type": "nonprivate", "tcUrl": f"rtmp://127.0.0.1/{app}"})
        self.command("releaseStream", None, key)
        self.command("FCPublish", None, key)
        self.command("createStream", None)
        self.command("publish", None, key, "live", stream_id=1)
        last: list[Any] = []
        async with asyncio.timeout(10):
            while True:
                data = await self.reader.read(65536)
                if not data:
                    return last
                for message in self.chunks.feed(data):
                    if message.type_id == COMMAND_AMF0:
                        last = amf0.decode_all(message.payload)
                        if last and last[0] == "onStatus":
                            return last

    async def closed_within(self, seconds: float) -> bool:
        """Whether the server closes the connection within `seconds` (what it sends is read)."""
        try:
            async with asyncio.timeout(seconds):
                while await self.reader.read(65536):
                    pass
            return True
        except TimeoutError:
            return False
        except ConnectionError:
            return True

    def close(self) -> None:
        self.writer.close()


def status_code(values: list[Any]) -> str:
    """`code` of an onStatus (or _error) answer."""
    for value in values:
        if isinstance(value, dict) and "code" in value:
            return str(value["code"])
    return ""
