"""Blocking playlist reload for live media playlists (HLS delivery directives, RFC 8216bis §6.2.5.2).

A request for `<rung>/live.m3u8?_HLS_msn=N` is held until the playlist file lists segment N (or has
ended), for at most three target durations; with `_HLS_part=P`, until it lists part P of segment N
or anything later. A request for a partial segment that is not written yet but hinted
(`EXT-X-PRELOAD-HINT`) waits the same way, until the playlist lists that part. The playlist is
written by another thread or another process (the media worker, or a different innotv process on
a shared data dir), so nothing here is told about new segments: one watcher per playlist file,
shared by every request held on that file, keeps the file's identity (inode, size, modification
times) and is polled with `os.stat` every 50 ms; the file is read again only when that changes.
Watchers exist only while a request waits on them, and one task polls all of them, one
worker-thread call per round. A watched file that does not exist yet (a rendition's first playlist,
asked for as the program starts) is waited for like a future segment. A playlist without
partial segments (low-latency HLS off) answers `_HLS_part` once the whole segment is listed.
`_HLS_skip` (delta updates) is delta.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .llhls import PART_FILE

log = logging.getLogger("innotv.live.blocking")

DIRECTIVES = ("_HLS_msn", "_HLS_part", "_HLS_skip")
_NUMBER = re.compile(r"[0-9]{1,12}", re.ASCII)
SKIP_VALUES = ("YES", "v2")
# The spec asks servers to answer 400 at once for an _HLS_msn beyond the last segment plus two.
MAX_AHEAD = 2
# How long a request is held, in target durations (the spec's "three times the Target Duration").
HOLD_TARGETS = 3


class DirectiveError(ValueError):
    """A malformed or unanswerable delivery directive (answered with 400)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class PlaylistGone(Exception):
    """The playlist file disappeared while a request was held on it."""


class WatchersClosed(Exception):
    """The server is shutting down, or too many requests are already held."""


@dataclass(frozen=True)
class Directives:
    msn: int | None
    part: int | None
    skip: str | None


def parse_directives(given: Mapping[str, Sequence[str]]) -> Directives:
    """The delivery directives among a request's query values (name -> every value given).

    DirectiveError for anything malformed; a repeated directive is refused.
    """
    values: dict[str, str] = {}
    for name in DIRECTIVES:
        found = list(given.get(name, ()))
        if len(found) > 1:
            raise DirectiveError("bad_delivery_directive", f"{name} may be given once.")
        if found:
            values[name] = found[0]

    def number(name: str) -> int | None:
        raw = values.get(name)
        if raw is None:
            return None
        if not _NUMBER.fullmatch(raw):
            raise DirectiveError("bad_delivery_directive",
                                 f"{name} must be a non-negative decimal integer (at most 12 digits).")
        return int(raw)

    msn = number("_HLS_msn")
    part = number("_HLS_part")
    if part is not None and msn is None:
        raise DirectiveError("bad_delivery_directive", "_HLS_part needs _HLS_msn.")
    skip = values.get("_HLS_skip")
    if skip is not None and skip not in SKIP_VALUES:
        raise DirectiveError("bad_delivery_directive", "_HLS_skip must be YES or v2.")
    return Directives(msn, part, skip)


@dataclass(frozen=True)
class PlaylistState:
    """What a waiter needs to know about one version of a media playlist."""

    text: str
    last_msn: int  # the last complete segment; -1 while the playlist lists none
    target_s: int
    ended: bool
    last_part: tuple[int, int] | None = None  # (segment, index) of the last part listed
    last_part_file: int = -1  # the highest n of the part-<n>.m4s files listed
    hint: int | None = None  # n of the part-<n>.m4s named by EXT-X-PRELOAD-HINT

    def satisfies(self, msn: int, part: int | None = None) -> bool:
        """Whether this version lists segment `msn` (with `part`: part `part` of segment `msn`,
        or anything later)."""
        if self.ended or self.last_msn > msn:
            return True
        if part is None or self.last_part is None:
            return self.last_msn >= msn
        return self.last_part >= (msn, part)

    def lists_part_file(self, number: int) -> bool:
        return self.ended or self.last_part_file >= number

    @property
    def hold_s(self) -> float:
        return float(HOLD_TARGETS * max(1, self.target_s))


def parse_playlist(text: str) -> PlaylistState:
    first = 0
    target = 1
    count = 0
    ended = False
    in_segment = 0  # parts listed since the last segment URI
    last_part: tuple[int, int] | None = None
    last_file = -1
    hint: int | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            first = _int_after(line, first)
        elif line.startswith("#EXT-X-TARGETDURATION:"):
            target = _int_after(line, target)
        elif line.startswith("#EXT-X-SKIP:"):
            count += _int_attribute(line, "SKIPPED-SEGMENTS")
        elif line.startswith("#EXT-X-PART:"):
            last_part = (first + count, in_segment)
            in_segment += 1
            last_file = max(last_file, _part_number(line))
        elif line.startswith("#EXT-X-PRELOAD-HINT:"):
            number = _part_number(line)
            hint = number if number >= 0 else None
        elif line == "#EXT-X-ENDLIST":
            ended = True
        elif not line.startswith("#"):
            count += 1
            in_segment = 0
    return PlaylistState(text, first + count - 1, target, ended, last_part, last_file, hint)


def _int_after(line: str, default: int) -> int:
    try:
        return int(line.split(":", 1)[1])
    except ValueError:
        return default


def _int_attribute(line: str, name: str) -> int:
    match = re.search(rf"{name}=(\d{{1,12}})", line)
    return int(match.group(1)) if match else 0


def _part_number(line: str) -> int:
    """n of the `part-<n>.m4s` URI in an EXT-X-PART or EXT-X-PRELOAD-HINT line (-1: none)."""
    match = re.search(r'URI="([^"]*)"', line)
    found = PART_FILE.match(match.group(1)) if match else None
    return int(found.group(1)) if found else -1


Signature = tuple[int, int, int, int]


def _signature(st: os.stat_result) -> Signature:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def read_playlist(path: Path) -> tuple[Signature, PlaylistState] | None:
    """The playlist and the identity of the version read (blocking: call it in a thread); None if absent."""
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            data = fh.read(4 * 1024 * 1024)
    except FileNotFoundError:
        return None
    return _signature(st), parse_playlist(data.decode("utf-8", errors="replace"))


Seen = tuple[Signature, PlaylistState] | None


def _poll(path: Path, known: Signature | None) -> tuple[bool, Seen]:
    """(changed, what is there now); reads the file only when its identity changed."""
    try:
        current = _signature(os.stat(path))
    except FileNotFoundError:
        return True, None
    if current == known:
        return False, None
    return True, read_playlist(path)


def _poll_all(files: list[tuple[Path, Signature | None]]) -> list[tuple[bool, Seen] | OSError]:
    """One round over every watched file, in one worker thread."""
    results: list[tuple[bool, Seen] | OSError] = []
    for path, known in files:
        try:
            results.append(_poll(path, known))
        except OSError as exc:
            results.append(exc)
    return results


Ready = Callable[[PlaylistState], bool]


class _Watcher:
    """One watched playlist file and the requests held on it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.waiters: dict[asyncio.Future[PlaylistState], Ready] = {}
        self.signature: Signature | None = None
        self.state: PlaylistState | None = None  # the version last read

    def update(self, seen: Seen) -> None:
        existed = self.signature is not None
        self.signature, self.state = seen if seen is not None else (None, None)
        for fut, ready in list(self.waiters.items()):
            if fut.done():
                continue
            if self.state is None:
                if existed:  # gone; a file not written yet is waited for until the hold ends
                    fut.set_exception(PlaylistGone())
            elif ready(self.state):
                fut.set_result(self.state)


class PlaylistWatchers:
    """Held playlist requests: one watcher per playlist file, shared by every request held on it.

    The watchers exist only while a request waits on them; one polling task serves all of them
    (one `os.stat` per watched file per round, all in one worker thread) and ends with the last.
    """

    def __init__(self, poll_s: float = 0.05, max_held: int = 20_000) -> None:
        self.poll_s = poll_s
        self.max_held = max_held
        self._watchers: dict[Path, _Watcher] = {}
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.held = 0  # requests waiting right now

    @property
    def watchers(self) -> int:
        """Playlist files watched now (those with at least one held request)."""
        return len(self._watchers)

    async def wait(self, path: Path, ready: Ready, hold_s: float) -> PlaylistState | None:
        """The playlist once `ready` says so of a version of it (e.g. it lists segment N, or
        has ended); None after `hold_s` seconds.

        Raises PlaylistGone when the file disappears, WatchersClosed when shutting down or full.
        """
        if self._closed or self.held >= self.max_held:
            raise WatchersClosed()
        watcher = self._watchers.get(path)
        if watcher is None:
            watcher = self._watchers[path] = _Watcher(path)
        elif watcher.state is not None and ready(watcher.state):
            return watcher.state  # read by the watcher after the caller's own look
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="hls-playlist-watchers")
        fut: asyncio.Future[PlaylistState] = asyncio.get_running_loop().create_future()
        watcher.waiters[fut] = ready
        self.held += 1
        try:
            async with asyncio.timeout(hold_s):
                return await fut
        except TimeoutError:
            return None
        finally:
            self.held -= 1
            watcher.waiters.pop(fut, None)
            if not watcher.waiters and self._watchers.get(path) is watcher:
                del self._watchers[path]

    async def _run(self) -> None:
        while self._watchers:
            watched = list(self._watchers.values())
            results = await asyncio.to_thread(_poll_all, [(w.path, w.signature) for w in watched])
            for watcher, result in zip(watched, results, strict=True):
                if isinstance(result, OSError):
                    log.warning("cannot read %s: %s", watcher.path, result)
                elif result[0]:
                    watcher.update(result[1])
            await asyncio.sleep(self.poll_s)

    async def close(self) -> None:
        """Release every held request (they answer 503) and stop polling."""
        self._closed = True
        for watcher in list(self._watchers.values()):
            for fut in watcher.waiters:
                if not fut.done():
                    fut.set_exception(WatchersClosed())
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
