"""The text format of YouTube's live caption ingestion, both ways: what captioning services POST
to us, and what we POST to a simulcast destination's caption URL.

A body is one or more captions, each a timestamp line (`YYYY-MM-DDTHH:MM:SS.mmm`, UTC, optionally
followed by a space and a region such as `region:reg1#cue1`) and then its text lines (`<br>` is a
line break). The URL carries the caption key as `cid` and the POST's sequence number as `seq`; the
answer to a POST is the receiver's current time in the same timestamp format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

_STAMP = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z?(?:\s.*)?$",
                    re.ASCII)
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


class FormatError(ValueError):
    """The body is not in the caption ingestion format; the message says where."""


@dataclass(frozen=True)
class TimedText:
    at: int  # ms since the epoch
    text: str  # one line (its <br> line breaks became spaces)


def stamp(ms: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS.mmm` (UTC) of a time in ms since the epoch."""
    when = datetime.fromtimestamp(ms / 1000, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}"


def _parse_stamp(line: str) -> int | None:
    match = _STAMP.match(line)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = (match.group(7) or "0").ljust(6, "0")
    try:
        when = datetime(year, month, day, hour, minute, second, int(fraction), tzinfo=UTC)
    except ValueError:
        return None
    return int(when.timestamp() * 1000)


def parse(body: str, max_captions: int) -> list[TimedText]:
    """The captions of a POST body, in order; FormatError when text comes before any timestamp,
    a timestamp has no text, or there are more than `max_captions`."""
    out: list[TimedText] = []
    at: int | None = None
    lines: list[str] = []

    def close() -> None:
        if at is None:
            return
        text = " ".join(part.strip() for part in _BREAK.split(" ".join(lines)) if part.strip())
        if not text:
            raise FormatError(f"the caption at {stamp(at)} has no text")
        out.append(TimedText(at, text))
        if len(out) > max_captions:
            raise FormatError(f"more than {max_captions} captions in one POST")

    for number, raw in enumerate(body.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        when = _parse_stamp(line)
        if when is not None:
            close()
            at, lines = when, []
        elif at is None:
            raise FormatError(f"line {number}: text before the first timestamp (YYYY-MM-DDTHH:MM:SS.mmm)")
        else:
            lines.append(line)
    close()
    return out


def body(captions: list[TimedText]) -> str:
    """A POST body for these captions."""
    return "".join(f"{stamp(c.at)}\n{c.text}\n" for c in captions)
