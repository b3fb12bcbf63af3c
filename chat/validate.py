"""Input checks for chat events: text cleaning, room names, ids and small typed fields.

Text is NFC-normalised, control and format characters are dropped (newlines too; the zero-width
joiner stays, emoji sequences need it), the ends are trimmed; the result must be 1-300 characters
and show something (`kernel.text.has_visible`: not only joiners, variation selectors, Hangul
fillers, blanks). Message ids in the SQLite form are row numbers, so at most 2**63-1.
"""

from __future__ import annotations

import re
from typing import Any

from kernel.text import ZWJ, has_visible, normalize_text
from kernel.untrusted_json import INT_MAX

from .errors import ChatError

MAX_TEXT = 300
MAX_NICK = 24
ROOM_RE = re.compile(r"^(program|hall):([A-Za-z0-9_-]{1,64})$")
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
VIEWER_RE = re.compile(r"^[A-Za-z0-9_:.-]{1,80}$")
# Message ids: SQLite row numbers ("123") or Redis stream entries with an index ("1700-0:2").
MESSAGE_ID_RE = re.compile(r"^([0-9]{1,19}|[0-9]{1,15}-[0-9]{1,10}:[0-9]{1,5})$")


def fold(text: str) -> str:
    """The form blocked words are compared in: case-folded, without zero-width joiners."""
    return text.replace(ZWJ, "").casefold()


def clean_text(value: object, *, field: str = "text", max_len: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise ChatError("invalid_text", f"'{field}' must be a string.")
    if len(value) > max_len * 8:
        raise ChatError("text_too_long", f"'{field}' is longer than {max_len} characters.")
    text = normalize_text(value)  # the same rule for every slice's user text (kernel.text)
    if not has_visible(text):
        raise ChatError("empty_text", f"'{field}' is empty (or shows nothing).")
    if len(text) > max_len:
        raise ChatError("text_too_long", f"'{field}' is longer than {max_len} characters.")
    return text


def require_dict(data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ChatError("invalid_payload", "The payload must be a JSON object.")
    return data


def room_name(data: dict[str, Any]) -> tuple[str, str, str]:
    """(room, kind, id) from `data["room"]`; kind is 'program' or 'hall'."""
    room = data.get("room")
    if not isinstance(room, str):
        raise ChatError("invalid_room", "'room' must be 'program:<id>' or 'hall:<id>'.")
    match = ROOM_RE.fullmatch(room)
    if match is None:
        raise ChatError("invalid_room", "'room' must be 'program:<id>' or 'hall:<id>'.")
    return room, match.group(1), match.group(2)


def is_message_id(value: object) -> bool:
    """A message id of either store; a row number must fit SQLite's signed 64-bit integer."""
    if not isinstance(value, str) or not MESSAGE_ID_RE.fullmatch(value):
        return False
    return not value.isdigit() or int(value) <= INT_MAX


def message_id(value: object, field: str = "id") -> str:
    if not is_message_id(value):
        raise ChatError("invalid_id", f"'{field}' is not a message id.")
    assert isinstance(value, str)
    return value


def client_id(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not CLIENT_ID_RE.fullmatch(value):
        raise ChatError("invalid_client_id", "'client_id' is 1-64 letters, digits, '_' or '-'.")
    return value


def viewer_id(value: object, field: str = "viewer") -> str:
    if not isinstance(value, str) or not VIEWER_RE.fullmatch(value):
        raise ChatError("invalid_viewer", f"'{field}' is not a viewer id.")
    return value


def int_field(data: dict[str, Any], field: str, low: int, high: int) -> int:
    value = data.get(field)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ChatError("invalid_" + field, f"'{field}' must be an integer from {low} to {high}.")
    return value


def short_id(value: object, field: str) -> str:
    if not isinstance(value, str) or not CLIENT_ID_RE.fullmatch(value):
        raise ChatError("invalid_" + field, f"'{field}' is not a valid id.")
    return value
