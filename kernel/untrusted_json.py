"""Parsing JSON that strangers send: REST bodies, lineup files, Socket.IO packets.

Python's `json.loads` accepts more than the rest of the server can take: integers of thousands
of digits (it raises ValueError past 4,300, and those below that overflow SQLite's 64-bit
integers later), `NaN`/`Infinity` (not JSON), numbers that become `inf`, and nesting so deep that
it raises RecursionError (or, below that, makes any later recursive walk risky). `loads_untrusted`
refuses all of these with one exception type, `UntrustedJsonError`, so each entry point answers a
clear 400 (or an ack error) instead of a 500.

Limits: integers within the signed 64-bit range (what SQLite and Redis counters hold), finite
floats, nesting at most `MAX_DEPTH` arrays/objects deep.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
# 19 digits and a sign are enough for any 64-bit integer; longer is refused before int() runs.
_MAX_INT_CHARS = 20
# A string literal (skipped whole) or one bracket: what the depth scan looks at. A string that
# never closes runs to the end of the text (possessively): otherwise every quote of `"a\` repeated
# would rescan the rest of the text, quadratic time (22 s for 60 KB).
_TOKENS = re.compile(r'"(?:[^"\\]|\\.?)*+(?:"|\Z)|[\[\]{}]', re.DOTALL)


class UntrustedJsonError(ValueError):
    """The text is not JSON we accept; `reason` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _parse_int(text: str) -> int:
    if len(text) > _MAX_INT_CHARS:
        raise UntrustedJsonError("an integer outside the 64-bit range")
    value = int(text)
    if not INT_MIN <= value <= INT_MAX:
        raise UntrustedJsonError("an integer outside the 64-bit range")
    return value


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UntrustedJsonError("a number too large for a double")
    return value


def _parse_constant(name: str) -> Any:
    raise UntrustedJsonError(f"{name} is not JSON")


def _depth_exceeds(text: str, limit: int) -> bool:
    """Whether arrays/objects nest deeper than `limit` (brackets inside strings do not count)."""
    if text.count("[") + text.count("{") <= limit:
        return False  # too few brackets to nest that deep: the common case, no scan
    depth = 0
    for match in _TOKENS.finditer(text):
        first = match.group()[0]  # a bracket, or the quote opening a string (skipped)
        if first in ("[", "{"):
            depth += 1
            if depth > limit:
                return True
        elif first in ("]", "}"):
            depth -= 1
    return False


def loads_untrusted(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of `text` (bytes must be UTF-8), or UntrustedJsonError."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise UntrustedJsonError("not UTF-8") from None
    if _depth_exceeds(text, max_depth):
        raise UntrustedJsonError(f"nested more than {max_depth} levels deep")
    try:
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float,
                          parse_constant=_parse_constant)
    except UntrustedJsonError:
        raise
    except (ValueError, RecursionError):
        raise UntrustedJsonError("not valid JSON") from None
