"""The server's handle on one program's media worker process (see worker_main.py).

`offer_*` never block and never wait: a message goes into the socket's write buffer, or, when the
child has fallen `max_buffer` bytes behind, the packet is dropped and counted. Control messages
(publisher, gone, stop, destinations) are never dropped. `done` resolves with whether anything
was recorded, or with None when the process died without saying (a crash). Either way the
server writes the replay from the journal on disk (replay.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
from pathlib import Path
from typing import Any

from .ipc import pack, read_message_async
from .ladder import PublisherLimits
from .worker import WorkerSettings

log = logging.getLogger("innotv.live")

MAX_BUFFER = 8 * 1024 * 1024  # about 20 s at 3 Mbit/s: the child is stuck, not slow
START_S = 30.0  # a child that has not answered by then is broken


class WorkerLocked(Exception):
    """Another worker (of another innotv process on the same data directory) has this program."""


class WorkerUnavailable(Exception):
    """The worker process could not be started, or died or hung before it said it was ready."""


class WorkerProcess:
    def __init__(self, program_id: str, root: Path, settings: WorkerSettings, window: int,
                 log_level: str, log_format: str, nice: int = 0, max_buffer: int = MAX_BUFFER) -> None:
        self.program_id = program_id
        self._init = {"program_id": program_id, "root": str(root), "settings": settings.to_json(),
                      "window": window, "log_level": log_level, "log_format": log_format,
                      "nice": nice}
        self.max_buffer = max_buffer
        self.dropped = 0  # packets dropped here because the child fell behind
        self.status: dict[str, Any] = {}  # the child's latest report (see worker_main.status_of)
        self.done: asyncio.Future[bool | None] = asyncio.get_running_loop().create_future()
        self.started = asyncio.Event()  # set once the child runs and messages can be sent
        self._proc: asyncio.subprocess.Process | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._status_waiters: list[asyncio.Future[dict[str, Any]]] = []

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    async def start(self, destinations: tuple[str, ...] = ()) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "live.worker_main", str(theirs.fileno()),
                pass_fds=(theirs.fileno(),), stdin=asyncio.subprocess.DEVNULL)
        except BaseException as exc:
            ours.close()
            self.done.set_result(None)  # never ran: whoever waits for it goes on
            self.started.set()
            if isinstance(exc, Exception):
                raise WorkerUnavailable(f"the media worker of {self.program_id} could not be "
                                        f"started: {exc}") from exc
            raise
        finally:
            theirs.close()
        proc = self._proc
        try:
            reader, self._writer = await asyncio.open_unix_connection(sock=ours)
            self._send(["init", {**self._init, "destinations": list(destinations)}])
            async with asyncio.timeout(START_S):
                first = await read_message_async(reader)
            if first is None or first[0][0] != "ready":
                if first is not None and first[0][0] == "locked":
                    raise WorkerLocked()
                raise WorkerUnavailable(f"the media worker of {self.program_id} exited while starting")
        except BaseException as exc:
            if self._writer is not None:
                self._writer.close()
            else:
                ours.close()
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            await asyncio.shield(proc.wait())
            self.done.set_result(None)
            self.started.set()
            if isinstance(exc, (WorkerLocked, WorkerUnavailable)) or not isinstance(exc, Exception):
                raise
            raise WorkerUnavailable(f"the media worker of {self.program_id} did not start: "
                                    f"{type(exc).__name__}") from exc
        self._reader_task = asyncio.create_task(self._read(reader))
        self.started.set()

    # ---- to the child ----
    def _send(self, header: list[Any], payload: bytes = b"") -> bool:
        writer = self._writer
        if writer is None or writer.is_closing() or self.done.done():
            return False
        writer.write(pack(header, payload))
        return True

    def _room(self) -> bool:
        writer = self._writer
        if writer is not None and writer.transport.get_write_buffer_size() > self.max_buffer:
            self.dropped += 1
            return False
        return True

    def offer_video(self, epoch: str, codec: str, data: bytes, pts: int, keyframe: bool,
                    dts: int | None = None) -> bool:
        """A received access unit, times in 1/90000 (`dts` when it differs from `pts`)."""
        header: list[Any] = ["video", epoch, codec, pts, keyframe]
        if dts is not None and dts != pts:
            header.append(dts)
        return self._room() and self._send(header, data)

    def offer_audio(self, epoch: str, data: bytes, pts: int, codec: str = "opus") -> bool:
        """A received sound packet: Opus (pts in 1/48000) or AAC in ADTS form (pts in 1/48000)."""
        header: list[Any] = ["audio", epoch, pts] if codec == "opus" else ["audio", epoch, pts, codec]
        return self._room() and self._send(header, data)

    def publisher(self, epoch: str, limits: PublisherLimits) -> None:
        """What that publisher can send: before its first packet."""
        self._send(["publisher", epoch, limits.to_json()])

    def generate(self, epoch: str, width: int, height: int, fps: int) -> None:
        self._send(["generate", epoch, width, height, fps])

    def set_destinations(self, urls: tuple[str, ...]) -> None:
        self._send(["destinations", list(urls)])

    def gone(self, epoch: str) -> None:
        self._send(["gone", epoch])

    def show_slate(self) -> None:
        """Nobody publishes (yet): show the slate until a publisher comes."""
        self._send(["slate"])

    def caption(self, line: dict[str, Any]) -> None:
        """A stored caption line {id, rev, lang, at, text} (a control message: never dropped)."""
        self._send(["caption", line])

    def stop(self, finalise: bool = True) -> None:
        self._send(["stop", finalise])

    async def fresh_status(self) -> dict[str, Any]:
        """The child's status as of now (asked for, not the last periodic report)."""
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._status_waiters.append(waiter)
        if not self._send(["status"]):
            self._status_waiters.remove(waiter)
            return dict(self.status)
        return await waiter

    # ---- from the child ----
    async def _read(self, reader: asyncio.StreamReader) -> None:
        recorded: bool | None = None
        try:
            while True:
                message = await read_message_async(reader)
                if message is None:
                    break
                header, _ = message
                if header[0] == "status" and len(header) == 2 and isinstance(header[1], dict):
                    self.status = header[1]
                    waiters, self._status_waiters = self._status_waiters, []
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_result(self.status)
                elif header[0] == "done" and len(header) == 2:
                    recorded = bool(header[1])
        except Exception:
            log.exception("reading from the media worker of %s failed", self.program_id)
        finally:
            if self._writer is not None:
                self._writer.close()
            code = await self._proc.wait() if self._proc is not None else None
            if recorded is None:
                log.error("the media worker of %s ended without finishing (exit %s)",
                          self.program_id, code)
            for waiter in self._status_waiters:
                if not waiter.done():
                    waiter.set_result(dict(self.status))
            if not self.done.done():
                self.done.set_result(recorded)

    async def kill(self) -> None:
        """Last resort at shutdown: the child did not finish in time."""
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
        if self._reader_task is not None:
            with contextlib.suppress(BaseException):
                await self._reader_task
