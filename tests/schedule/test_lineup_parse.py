"""Lineup files that are refused before the store is touched: one clear line naming the program."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schedule.lineup import LineupFileError, parse_lineup


def _program(**fields: Any) -> dict[str, Any]:
    base = {"title": "방송", "kind": "live", "starts_at": "2026-11-27T16:00:00+09:00",
            "ends_at": "2026-11-27T17:00:00+09:00"}
    return base | fields


BAD: list[tuple[str, bytes, str]] = [
    ("not utf-8", b'{"programs": ["\xff"]}', "not valid JSON"),
    ("deeply nested", b"[" * 100_000, "not valid JSON"),
    ("an array", b"[]", '{"programs"'),
    ("programs not a list", b'{"programs": {}}', '{"programs"'),
    ("extra top-level field", json.dumps({"programs": [], "x": 1}).encode(), "unknown field 'x'"),
    ("program not an object", b'{"programs": [1]}', "program 1"),
    ("missing title", json.dumps({"programs": [_program(title=None) | {"title": 1}]}).encode(), "title"),
    ("control character", json.dumps({"programs": [_program(title="a\u0000b")]}).encode(),
     "program 1: title contains a control character"),
    ("bad id", json.dumps({"programs": [_program(id="../etc")]}).encode(), "program 1 (id '../etc')"),
    ("reserved id", json.dumps({"programs": [_program(id="current")]}).encode(), "program 1"),
    ("bad state", json.dumps({"programs": [_program(state="paused")]}).encode(), "state"),
    ("unknown field", json.dumps({"programs": [_program(colour=1)]}).encode(), "colour"),
    ("too long", json.dumps({"programs": [_program(ends_at="2026-11-28T16:00:00+09:00")]}).encode(),
     "12 hours"),
]


@pytest.mark.parametrize(("case", "raw", "hint"), BAD, ids=[b[0] for b in BAD])
def test_bad_files_are_named(case: str, raw: bytes, hint: str) -> None:
    with pytest.raises(LineupFileError) as caught:
        parse_lineup(raw, "lineup.json")
    message = str(caught.value)
    assert message.startswith("lineup.json: ") and "\n" not in message
    assert hint in message, message


def test_exported_fields_are_accepted_and_ids_kept() -> None:
    raw = json.dumps({"programs": [_program(id="keep-me", state="ended", version=7, hosts=[],
                                            title_en=None, description="")]}).encode()
    (program,) = parse_lineup(raw, "f")
    assert (program.id, program.state, program.version) == ("keep-me", "scheduled", 1)
    (fresh,) = parse_lineup(json.dumps({"programs": [_program()]}).encode(), "f")
    assert fresh.id and fresh.id != "keep-me"
