"""`innotv lineup expo|export|import` run as real subprocesses against the store a running server
uses (both backends), checked through the server's `GET /api/programs`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from innotv.config import Config
from kernel.clock import ManualClock
from schedule import lineup as lineup_cli
from schedule.expo import expo_lineup
from tests.helpers import Server, running_server

from .util import lineup, seoul


@pytest.fixture
async def server(config: Config) -> AsyncIterator[Server]:
    """The server on a clock stopped before the 2026 expo: its programs stay `scheduled` whatever
    day the suite runs on (the CLI only writes the store; the server's scheduler moves states)."""
    async with running_server(config, clock=ManualClock(seoul(2026, 11, 1, 9))) as srv:
        yield srv


async def cli(server: Server, *args: str) -> tuple[int, str, str]:
    """Run `python -m innotv lineup ...` on the server's store; (exit code, stdout, stderr)."""
    config = server.config
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNOTV_")}
    env["INNOTV_LOG_LEVEL"] = "WARNING"
    store = ["--data-dir", str(config.core.data_dir)]
    if config.core.redis_url:
        store += ["--redis-url", config.core.redis_url]
        env["INNOTV_REDIS_PREFIX"] = config.core.redis_prefix
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "innotv", "lineup", *args, *store,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _by_id(programs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in programs}


async def test_expo_lineup_is_the_ten_days(server: Server) -> None:
    code, out, err = await cli(server, "expo")
    assert (code, err) == (0, ""), err
    assert "11 created" in out
    programs = await lineup(server.client())
    assert len(programs) == 11
    assert [p["starts_at"] for p in programs] == sorted(p["starts_at"] for p in programs)
    opening = programs[0]
    assert (opening["kind"], opening["starts_at"]) == ("premiere", "2026-11-24T10:00:00+09:00")
    daily = [p for p in programs if p["kind"] == "live"]
    days = [date(2026, 11, 24 + i) if i < 7 else date(2026, 12, i - 6) for i in range(10)]
    assert [p["starts_at"] for p in daily] == [f"{d.isoformat()}T14:00:00+09:00" for d in days]
    assert all(p["ends_at"].endswith("+09:00") and p["state"] == "scheduled" for p in programs)
    titles = {p["starts_at"][:10]: p["title"] for p in daily}
    assert titles["2026-11-26"] == "전지적 90년대생 시점"
    assert titles["2026-12-02"] == "2020 정부혁신 우수사례 경진대회"  # a proper name, kept as is
    assert titles["2026-12-03"] == "10일간의 정부혁신 이야기"
    assert all(p["title_en"] for p in programs)
    assert _by_id(programs)["expo-2026-11-26"]["title"] == "전지적 90년대생 시점"

    # Running it again changes nothing, and keeps what producers edited.
    producer = await server.producer()
    edit = {"version": 1, "title": "정해진 제목"}
    async with producer.patch("/api/programs/expo-2026-11-25", json=edit) as r:
        assert r.status == 200
    edited = await lineup(server.client())
    code, out, _ = await cli(server, "expo")
    assert code == 0 and "0 created, 0 updated, 11 unchanged" in out
    assert await lineup(server.client()) == edited


@pytest.mark.parametrize("backend_kind", ["sqlite"])  # dates, not storage
async def test_expo_2020_has_the_original_dates(server: Server) -> None:
    code, _, err = await cli(server, "expo", "--year", "2020")
    assert code == 0, err
    programs = _by_id(await lineup(server.client()))
    assert programs["expo-2020-opening"]["starts_at"] == "2020-11-24T10:00:00+09:00"
    assert programs["expo-2020-11-26"]["title"] == "전지적 90년대생 시점"
    assert programs["expo-2020-12-02"]["title"] == "2020 정부혁신 우수사례 경진대회"
    assert programs["expo-2020-12-03"]["starts_at"] == "2020-12-03T14:00:00+09:00"
    assert date(2020, 11, 24).weekday() == date(2026, 11, 24).weekday() == 1  # both Tuesdays


async def test_expo_year_out_of_range(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(lineup_command="expo", year=1800)
    assert await lineup_cli.run(server.parts.schedule.service, args) == 1
    err = capsys.readouterr().err
    assert err.startswith("innotv: --year 1800") and err.count("\n") == 1
    assert await lineup(server.client()) == []


async def _load_expo(server: Server) -> None:
    """The expo lineup loaded in-process (the CLI path is covered above)."""
    await server.parts.schedule.service.save_many(expo_lineup(2026), "missing")


async def test_export_import_round_trip(server: Server, tmp_path: Path) -> None:
    await _load_expo(server)
    code, exported, err = await cli(server, "export")
    assert code == 0, err
    data = json.loads(exported)
    assert data["programs"] == await lineup(server.client())

    data["programs"][1]["title"] = "새 제목"
    data["programs"].append({"title": "추가 방송", "kind": "live", "starts_at": "2026-12-04T14:00:00+09:00",
                             "ends_at": "2026-12-04T15:00:00+09:00"})
    file = tmp_path / "lineup.json"
    file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    code, out, err = await cli(server, "import", str(file))
    assert code == 0, err
    assert "1 created, 1 updated, 10 unchanged" in out
    after = await lineup(server.client())
    assert len(after) == 12
    changed = _by_id(after)[data["programs"][1]["id"]]
    assert (changed["title"], changed["version"]) == ("새 제목", 2)
    assert after[-1]["title"] == "추가 방송"
    # Exported again and re-imported: nothing changes.
    code, exported, _ = await cli(server, "export")
    file.write_text(exported, encoding="utf-8")
    code, out, _ = await cli(server, "import", str(file))
    assert code == 0 and "0 created, 0 updated" in out
    assert await lineup(server.client()) == after


def _program(**fields: Any) -> dict[str, Any]:
    base = {"title": "방송", "kind": "live", "starts_at": "2026-11-27T16:00:00+09:00",
            "ends_at": "2026-11-27T17:00:00+09:00"}
    return base | fields


# Refused before the store is touched (the file system, JSON, a program's fields): one backend.
BAD_FILES: list[tuple[str, str | bytes, str]] = [
    ("missing", "", "cannot read"),
    ("not json", b"{programs: oops", "not valid JSON"),
    ("naive time",
     json.dumps({"programs": [_program(), _program(id="second", starts_at="2026-11-28T14:00")]}),
     "program 2 (id 'second')"),
]
# Refused by what the store holds (accounts, stored programs): both backends.
BAD_FOR_THE_STORE: list[tuple[str, str | bytes, str]] = [
    ("unknown host", json.dumps({"programs": [_program(hosts=["ghost"])]}), "ghost"),
    ("overlap with the lineup", json.dumps({"programs": [_program(), _program(
        id="p3", starts_at="2026-11-26T14:30:00+09:00", ends_at="2026-11-26T15:00:00+09:00")]}),
     "전지적 90년대생 시점"),
]


async def _refused_and_intact(server: Server, tmp_path: Path,
                              cases: list[tuple[str, str | bytes, str]]) -> None:
    await _load_expo(server)
    before = await lineup(server.client())
    for case, content, hint in cases:
        file = tmp_path / f"{case.replace(' ', '_')}.json"
        if content:
            file.write_bytes(content if isinstance(content, bytes) else content.encode())
        code, out, err = await cli(server, "import", str(file))
        assert code == 1, (case, out, err)
        assert err.startswith("innotv: ") and err.count("\n") == 1, (case, err)
        assert hint in err, (case, err)
        assert "Traceback" not in err
        assert await lineup(server.client()) == before, case


@pytest.mark.parametrize("backend_kind", ["sqlite"])
async def test_bad_import_files_leave_the_lineup_intact(server: Server, tmp_path: Path) -> None:
    await _refused_and_intact(server, tmp_path, BAD_FILES)


async def test_imports_the_store_refuses_leave_the_lineup_intact(server: Server, tmp_path: Path) -> None:
    await _refused_and_intact(server, tmp_path, BAD_FOR_THE_STORE)
