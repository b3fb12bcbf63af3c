"""The captions slice's settings: the languages captioned, the captioner's delay, how long a line
stays on screen, the console's pause and line length, the per-tick batching and forwarding."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from kernel.settings import ConfigError

LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
MAX_LANGUAGES = 4


@dataclass(frozen=True)
class CaptionSettings:
    PREFIX: ClassVar[str] = "captions_"

    # The languages captioned, the first one the main (BCP 47: "ko", "en"); each is a subtitles
    # rendition of the HLS and of the replay, fed by its own captioner.
    languages: tuple[str, ...] = ("ko",)
    # How long after the words were spoken a captioner commits the line (listening plus typing):
    # a line is timed at its commit minus this.
    delay_ms: int = 2000
    # How long a line stays on screen (the player shows the last two lines at most).
    hold_ms: int = 5000
    # The console commits a line after this much typing pause, or at `line_chars` characters.
    pause_ms: int = 1500
    line_chars: int = 60
    # Lines are stored and sent to the viewers once per tick, like chat messages.
    tick_ms: int = 100
    # A caption URL of a simulcast destination gets each line within this (else retried, then
    # dropped with a log line).
    forward_timeout_s: float = 5.0

    def validate(self) -> None:
        if not 1 <= len(self.languages) <= MAX_LANGUAGES:
            raise ConfigError(f"captions_languages: 1 to {MAX_LANGUAGES} languages, e.g. ko or ko,en")
        if len(set(self.languages)) != len(self.languages):
            raise ConfigError("captions_languages: a language is listed twice")
        for lang in self.languages:
            if not LANGUAGE_RE.fullmatch(lang):
                raise ConfigError(f"captions_languages: {lang[:20]!r} is not a language code like ko or en")
        if not 0 <= self.delay_ms <= 30_000:
            raise ConfigError("captions_delay_ms: must be between 0 and 30000")
        if not 1000 <= self.hold_ms <= 15_000:
            raise ConfigError("captions_hold_ms: must be between 1000 and 15000")
        if not 300 <= self.pause_ms <= 10_000:
            raise ConfigError("captions_pause_ms: must be between 300 and 10000")
        if not 10 <= self.line_chars <= 200:
            raise ConfigError("captions_line_chars: must be between 10 and 200")
        if not 10 <= self.tick_ms <= 1000:
            raise ConfigError("captions_tick_ms: must be between 10 and 1000")
        if not 0.5 <= self.forward_timeout_s <= 60:
            raise ConfigError("captions_forward_timeout_s: must be between 0.5 and 60")
