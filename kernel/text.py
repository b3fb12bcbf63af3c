"""User text as every slice stores it: one normalisation for chat messages, questions, captions.

NFC-normalised; control and format characters dropped (newlines too; the zero-width joiner stays,
emoji sequences need it), along with surrogates, private-use and unassigned code points; the ends
trimmed. Limits on length are the caller's, counted after this.
"""

from __future__ import annotations

import unicodedata

ZWJ = "\u200d"
# Unicode categories removed from user text: controls, format characters (bidi overrides,
# zero-width joiners used to smuggle words past filters), surrogates, private use, unassigned.
_DROP_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}


def normalize_text(value: str) -> str:
    """`value` NFC-normalised, without control or format characters, trimmed (may be empty)."""
    text = unicodedata.normalize("NFC", value)
    text = "".join(ch for ch in text if ch == ZWJ or unicodedata.category(ch) not in _DROP_CATEGORIES)
    return text.strip()
