"""The model's arithmetic: due states, next transitions, overlaps, the public shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schedule.model import first_overlap, new_program_id, next_transition, target_state

from .util import program, seoul

T0 = seoul(2026, 12, 3, 14)
LOBBY = timedelta(minutes=15)


def test_due_state_at_each_boundary() -> None:
    p = program("p", T0, 60)
    cases = [
        (T0 - LOBBY - timedelta(seconds=1), "scheduled"),
        (T0 - LOBBY, "lobby"),
        (T0 - timedelta(seconds=1), "lobby"),
        (T0, "live"),
        (T0 + timedelta(minutes=59, seconds=59), "live"),
        (T0 + timedelta(hours=1), "ended"),
    ]
    assert [target_state(p, now, LOBBY) for now, _ in cases] == [state for _, state in cases]
    assert target_state(p, T0, timedelta(0)) == "live"
    assert target_state(p.with_state("replay"), T0, LOBBY) == "replay"
    assert target_state(p.with_state("ended"), T0 - timedelta(days=1), LOBBY) == "ended"


def test_next_transition() -> None:
    p = program("p", T0, 60)
    assert next_transition(p, T0 - timedelta(days=1), LOBBY) == T0 - LOBBY
    assert next_transition(p, T0 - LOBBY, LOBBY) == T0
    assert next_transition(p, T0, LOBBY) == T0 + timedelta(hours=1)
    assert next_transition(p, T0 + timedelta(hours=1), LOBBY) is None
    assert next_transition(p.with_state("ended"), T0 - timedelta(days=1), LOBBY) is None


def test_first_overlap() -> None:
    a, b = program("a", T0, 60), program("b", T0 + timedelta(hours=1), 60)
    c = program("c", T0 - timedelta(hours=2), 600)
    assert first_overlap([a, b]) is None
    assert first_overlap([b, a, c]) == (c, a)


def test_public_shape_uses_seoul_time() -> None:
    p = program("p", datetime(2020, 12, 2, 5, 0, tzinfo=UTC), 90, title_en="Competition")
    assert p.public() == {
        "id": "p", "title": "프로그램 p", "title_en": "Competition", "description": "", "kind": "live",
        "starts_at": "2020-12-02T14:00:00+09:00", "ends_at": "2020-12-02T15:30:00+09:00", "hosts": [],
        "state": "scheduled", "version": 1,
    }


def test_new_ids_are_short_url_safe_and_distinct() -> None:
    ids = {new_program_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) <= 16 and i.replace("-", "").replace("_", "").isalnum() for i in ids)
