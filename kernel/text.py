"""User text as every slice stores it: one normalisation for chat messages, questions, captions,
and whether such text shows anything at all.

`normalize_text`: NFC-normalised; control and format characters dropped (newlines too; the
zero-width joiner stays, emoji sequences need it), along with surrogates, private-use and
unassigned code points; the ends trimmed. Limits on length are the caller's, counted after this.

`has_visible`: text made only of invisible characters counts as empty. Zero-width joiners,
variation selectors, Hangul fillers (U+3164, U+115F, U+1160, U+FFA0), the blank Braille pattern
(U+2800), combining marks with nothing to sit on, format characters and whitespace all render as
nothing (or as a blank), so a nickname or message made only of them looks empty or impersonates
"no name". They stay allowed inside visible text (emoji sequences need the joiner and variation
selectors, Korean text may carry a filler).
"""

from __future__ import annotations

import unicodedata

ZWJ = "\u200d"
# Unicode categories removed from user text: controls, format characters (bidi overrides,
# zero-width joiners used to smuggle words past filters), surrogates, private use, unassigned.
_DROP_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}

# Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt) plus U+2800: shown as
# nothing by renderers that follow the standard.
_INVISIBLE_RANGES = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x2800, 0x2800),
    (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)
# Categories that draw nothing on their own: separators, marks, controls and formats, surrogates,
# unassigned.
_INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Mn", "Me", "Mc", "Cc", "Cf", "Cs", "Cn"})


def normalize_text(value: str) -> str:
    """`value` NFC-normalised, without control or format characters, trimmed (may be empty)."""
    text = unicodedata.normalize("NFC", value)
    text = "".join(ch for ch in text if ch == ZWJ or unicodedata.category(ch) not in _DROP_CATEGORIES)
    return text.strip()


def is_invisible(char: str) -> bool:
    code = ord(char)
    if any(low <= code <= high for low, high in _INVISIBLE_RANGES):
        return True
    return char.isspace() or unicodedata.category(char) in _INVISIBLE_CATEGORIES


def has_visible(text: str) -> bool:
    """Whether `text` has at least one character that shows."""
    return any(not is_invisible(char) for char in text)
