"""A caption line as stored and sent, and the checks on what people send.

A line has a number in its program (`id`, from 1, all languages together), its language, when the
words were spoken (`at`, wall clock ms: the commit minus the captioner's delay, or the time a
captioning service gave), its text (one line, at most `MAX_CHARS` characters after the chat's
normalisation), who sent it (`by`: an account name, or `ingest` for a captioning service) and how
often it was corrected (`rev`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kernel.text import has_visible, normalize_text

from .errors import CaptionError

MAX_CHARS = 200
PROGRAM_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ROOM_PREFIX = "program:"


@dataclass(frozen=True)
class NewCaption:
    lang: str
    at: int  # ms since the epoch
    text: str
    by: str
    client_key: str | None = None  # retries of the same line (a console's client_id, an ingest seq)


@dataclass(frozen=True)
class Caption:
    id: int
    lang: str
    at: int
    text: str
    by: str
    rev: int = 0

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "lang": self.lang, "at": self.at, "text": self.text, "by": self.by,
                "rev": self.rev}


@dataclass(frozen=True)
class Turn:
    """Who is captioning a language of a program now (None: nobody), since when (ms)."""

    lang: str
    holder: str | None
    since: int

    def public(self) -> dict[str, Any]:
        return {"lang": self.lang, "holder": self.holder, "since": self.since}


def clean_line(value: object, field: str = "text") -> str:
    """The line as stored: the chat's normalisation (kernel.text), 1 to MAX_CHARS characters, and
    something that shows (a line of Hangul fillers or joiners would be a blank caption)."""
    if not isinstance(value, str):
        raise CaptionError("invalid_text", f"'{field}' must be a string.")
    if len(value) > MAX_CHARS * 8:
        raise CaptionError("text_too_long", f"'{field}' is longer than {MAX_CHARS} characters.")
    text = normalize_text(value)
    if not has_visible(text):
        raise CaptionError("empty_text", f"'{field}' is empty (or shows nothing).")
    if len(text) > MAX_CHARS:
        raise CaptionError("text_too_long", f"'{field}' is longer than {MAX_CHARS} characters.")
    return text


def language(value: object, languages: tuple[str, ...]) -> str:
    """A captioned language (the first one when not given)."""
    if value is None:
        return languages[0]
    if not isinstance(value, str) or value not in languages:
        raise CaptionError("invalid_lang", f"'lang' must be one of {', '.join(languages)}.")
    return value


def program_of_room(value: object) -> str:
    """The program id of a `program:<id>` room name."""
    if not isinstance(value, str) or not value.startswith(ROOM_PREFIX) or len(value) > 80:
        raise CaptionError("invalid_room", "'room' must be 'program:<id>'.")
    program_id = value[len(ROOM_PREFIX):]
    if not PROGRAM_ID_RE.fullmatch(program_id):
        raise CaptionError("invalid_room", "'room' must be 'program:<id>'.")
    return program_id


def caption_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10**9:
        raise CaptionError("invalid_id", "'id' must be a caption line's number.")
    return value
