"""Nicknames that imitate staff: viewers may not take a host's or producer's account name, nor a
name containing a reserved word (진행자, host, admin, …: the `chat_reserved_nicknames` setting).

Both sides are compared as a *skeleton*: Unicode NFKC (full-width and styled letters become plain
ones, Hangul jamo sequences compose), case-folded, the usual look-alikes folded to one Latin letter (Cyrillic
and Greek letters that look Latin, digits used as letters: 0→o, 1/i/|→l, 3→e, 4→a, 5→s, 7→t,
"rn"→m, "vv"→w), and everything that is not a letter or a digit dropped (spaces, dots,
underscores, zero-width and emoji). So "H0ST", "ｈｏｓｔ", "h.o.s.t" and "һоѕt" (Cyrillic) all
are "host". An account name is refused when the skeletons are equal; a reserved word when the
nickname's skeleton contains it.

`StaffNames` keeps the account names for a few seconds, so a burst of `nick` events does not read
the accounts store each time.
"""

from __future__ import annotations

import secrets
import time
import unicodedata
from collections.abc import Awaitable, Callable, Iterable

# One Latin letter for each look-alike (after NFKC and case folding).
_LOOKALIKES = str.maketrans({
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "l", "ї": "l", "ј": "j", "ѕ": "s", "ԁ": "d",
    "ӏ": "l", "һ": "h", "ԛ": "q", "ԝ": "w", "ѡ": "w",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "l", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w", "μ": "u", "σ": "o", "ς": "c",
    # Latin variants and digits used as letters
    "ı": "l", "i": "l", "|": "l", "ɡ": "g", "ɑ": "a",
    "0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "$": "s", "@": "a",
})


def default_nickname(viewer: str) -> str:
    """A viewer's nickname until they pick one: 시청자- and the end of their viewer id."""
    return "시청자-" + (viewer[-4:] if len(viewer) >= 4 else secrets.token_hex(2))


def skeleton(text: str) -> str:
    """The form two names are compared in (see the module's docstring)."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_LOOKALIKES)
    kept = "".join(ch for ch in folded if ch.isalnum())
    return kept.replace("rn", "m").replace("vv", "w")


def imitates_staff(nickname: str, account_names: Iterable[str], reserved: Iterable[str]) -> bool:
    """Whether a viewer's nickname looks like a staff account's name or holds a reserved word."""
    nick = skeleton(nickname)
    if not nick:
        return False
    if any(skeleton(name) == nick for name in account_names):
        return True
    return any(word and word in nick for word in (skeleton(w) for w in reserved))


class StaffNames:
    """The account names, read through `load` at most once every `ttl_s` seconds."""

    def __init__(self, load: Callable[[], Awaitable[list[str]]], ttl_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._load = load
        self._ttl_s = ttl_s
        self._clock = clock
        self._names: list[str] = []
        self._loaded_at: float | None = None

    async def get(self) -> list[str]:
        now = self._clock()
        if self._loaded_at is None or now - self._loaded_at >= self._ttl_s:
            self._names = list(await self._load())
            self._loaded_at = now
        return self._names
