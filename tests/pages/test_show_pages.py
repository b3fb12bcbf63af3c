"""Running the show in Debian Chromium: a host whose microphone is refused goes live from a
1280x720 fake camera in the lobby, starts the program on cue, takes a break on the slate, comes
back and ends the show from the stop dialog; viewers see every state change at once and then the
replay. A program that never aired says so. A producer starts and ends a program now and shapes
a replay (cut, thumbnail, hide, delete). The HLS is read back with PyAV."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright, expect

from live.tracks import whip_publish

from ..helpers import HOST, PRODUCER, Server
from ..live.support import decode, get_bytes, get_text, maps, segments, wait_for
from .conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    HAVE_CHROMIUM,
    PHONE,
    api_login,
    screenshot,
    watched_page,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

SEOUL = ZoneInfo("Asia/Seoul")
DISC = "\n#EXT-X-DISCONTINUITY\n"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def camera_only() -> AsyncIterator[Browser]:
    """Chromium with the fake camera but no automatic yes to permission prompts: a context given
    only the camera permission is refused the microphone, as a host who said no would be."""
    if not HAVE_CHROMIUM:
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    args = [a for a in CHROMIUM_ARGS if a != "--use-fake-ui-for-media-stream"]
    async with async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=CHROMIUM, args=args)
        yield instance
        await instance.close()


async def _program(site: Server, title: str, *, starts_in: timedelta | None, hours: float = 1,
                   hosts: list[str] | None = None) -> dict[str, Any]:
    """A program (now when `starts_in` is None) with a stream key."""
    producer = await site.producer()
    now = datetime.now(SEOUL).replace(microsecond=0)
    start = now + starts_in if starts_in is not None else now
    body = {"title": title, "kind": "live", "hosts": hosts or [],
            "starts_at": start.isoformat() if starts_in is not None else "now",
            "ends_at": (start + timedelta(hours=hours)).isoformat()}
    async with producer.post("/api/programs", json=body) as response:
        assert response.status == 201, await response.text()
        program = dict(await response.json())
    async with producer.post(f"/api/programs/{program['id']}/stream-key") as response:
        program["stream_key"] = (await response.json())["stream_key"]
    return program


async def _edit(page: Any, title: str) -> None:
    """Open a program's details on /produce (its row's edit button)."""
    await page.locator("#lineup-body tr", has_text=title).locator("button", has_text="수정").click()


async def _state(site: Server, program_id: str) -> str:
    program = await site.parts.schedule.service.get(program_id)
    assert program is not None
    return program.state


async def _decodes_at_its_resolution(client: aiohttp.ClientSession, base: str, master: str) -> None:
    """The newest segment of every variant decodes at the variant's RESOLUTION, with sound."""
    for line in master.splitlines():
        if not line.startswith("#EXT-X-STREAM-INF"):
            continue
        resolution = line.split("RESOLUTION=")[1].split(",")[0]
        uri = master.split(line + "\n", 1)[1].split("\n", 1)[0]
        rung = uri.split("/")[0]
        _, playlist, _ = await get_text(client, f"{base}/{uri}")
        init = await get_bytes(client, f"{base}/{rung}/{maps(playlist)[-1]}")
        frames, sound = decode(init, await get_bytes(client, f"{base}/{rung}/{segments(playlist)[-1]}"))
        assert {f"{f.width}x{f.height}" for f in frames} == {resolution}, (rung, resolution)
        assert sound > 0, rung


async def test_a_host_without_a_microphone_goes_live_in_720p_takes_a_break_and_ends_the_show(
        browser: Browser, camera_only: Browser, site: Server) -> None:
    await site.host()
    program = await _program(site, "혁신TV 진행 시험", starts_in=timedelta(hours=2), hosts=[HOST[0]])
    pid = str(program["id"])
    client = site.client()

    host = await watched_page(camera_only, DESKTOP, permissions=["camera"])
    await api_login(host.context, site.url, *HOST)
    await host.page.goto(f"{site.url}/host?program={pid}")
    await expect(host.page.locator("#start-now")).to_be_visible()
    await expect(host.page.locator("#end-now")).to_be_hidden()
    await host.page.fill("#stream-key", str(program["stream_key"]))
    posted = time.monotonic()
    await host.page.click("#go-live")
    await expect(host.page.locator("#publish-status")).to_contain_text("송출 중", timeout=20_000)
    await expect(host.page.locator("#mic-status")).to_contain_text("마이크 없이 송출합니다")
    await expect(host.page.locator("#mic-status")).to_contain_text("NotAllowedError")

    # A 720p camera gives 720p + 360p within 10 s, whatever size WebRTC starts at.
    async def master() -> str | None:
        status, text, _ = await get_text(client, f"/hls/{pid}/master.m3u8")
        return text if status == 200 else None

    text = await wait_for(master, within=10, what="the master playlist within 10 s")
    print(f"master playlist {time.monotonic() - posted:.1f} s after go-live")
    assert "RESOLUTION=1280x720" in text and "RESOLUTION=640x360" in text and text.count("STREAM-INF") == 2

    # A viewer waits in the lobby's countdown; the host starts the show: the viewer sees it at once.
    viewer = await watched_page(browser, PHONE)
    await viewer.page.goto(f"{site.url}/watch/{pid}")
    await expect(viewer.page.locator("#state-badge")).to_have_text("예정")
    await host.page.click("#start-now")
    await expect(host.page.locator("#on-air-status")).to_contain_text("방송이 시작되었습니다")
    await expect(viewer.page.locator("#state-badge")).to_have_text("생방송", timeout=10_000)
    await expect(host.page.locator("#end-now")).to_be_visible()
    assert await _state(site, pid) == "live"
    await viewer.page.wait_for_function(
        "() => { const v = document.querySelector('#video'); return v.currentTime > 1 && !v.paused; }",
        timeout=40_000)
    # every rung's segments at the rung's size, with sound (silence added by the server)
    _, live_master, _ = await get_text(client, f"/hls/{pid}/master.m3u8")
    await _decodes_at_its_resolution(client, f"/hls/{pid}", live_master)
    worker = site.parts.live.service.broadcasts[pid].worker
    assert worker is not None
    print(f"top rung session after the browser's ramp: {(await worker.fresh_status())['session_kind']}")

    # The stop button asks; a break shows the slate and keeps the program on.
    await host.page.click("#stop")
    await expect(host.page.locator("#stop-dialog")).to_be_visible()
    await screenshot(host.page, "host-stop-dialog-1280x800")
    await host.page.click("#stop-break")
    await expect(host.page.locator("#publish-status")).to_contain_text("쉬는 중")
    await expect(host.page.locator("#stop-dialog")).to_be_hidden()

    async def slate() -> str | None:
        _, text, _ = await get_text(client, f"/hls/{pid}/360p/live.m3u8")
        return text if DISC in text and len(segments(text.rsplit(DISC, 1)[1])) >= 2 else None

    await wait_for(slate, what="the slate of the break")
    assert await _state(site, pid) == "live"

    # Back from the break, then the end of the show from the dialog.
    await host.page.click("#go-live")
    await expect(host.page.locator("#publish-status")).to_contain_text("송출 중", timeout=20_000)
    await host.page.click("#stop")
    await host.page.click("#stop-end")
    await expect(host.page.locator("#on-air-status")).to_contain_text("방송을 종료했습니다")
    await expect(host.page.locator("#stop")).to_be_hidden()
    await expect(viewer.page.locator("#state-badge")).to_have_text("다시보기", timeout=30_000)
    await viewer.page.wait_for_function(
        "() => { const v = document.querySelector('#video'); return v.currentTime > 1 && !v.paused; }",
        timeout=30_000)
    ended = await site.parts.schedule.service.get(pid)
    assert ended is not None and ended.ends_at < ended.starts_at + timedelta(minutes=10), "ended now"
    _, vod_master, _ = await get_text(client, f"/vod/{pid}/master.m3u8")
    await _decodes_at_its_resolution(client, f"/vod/{pid}", vod_master)
    await expect(viewer.page.locator("#replays")).to_contain_text("혁신TV 진행 시험")
    for w in (host, viewer):
        w.assert_clean()
        await w.context.close()


async def test_a_program_that_never_aired_says_so_and_is_no_replay(browser: Browser, site: Server) -> None:
    program = await _program(site, "송출 없는 방송", starts_in=None)
    pid = str(program["id"])
    producer = await site.producer()

    async def live() -> bool:
        return await _state(site, pid) == "live"

    await wait_for(live, what="the program on")
    async with producer.post(f"/api/programs/{pid}/end") as response:
        assert response.status == 200
    w = await watched_page(browser, DESKTOP)
    vod: list[str] = []
    w.page.on("request", lambda r: vod.append(r.url) if "/vod/" in r.url else None)
    await w.page.goto(f"{site.url}/watch/{pid}")
    await expect(w.page.locator("#state-badge")).to_have_text("종료")
    await expect(w.page.locator("#overlay")).to_have_attribute("data-replay", "none")
    await expect(w.page.locator("#overlay-text")).to_contain_text("송출되지 않아 다시보기가 없습니다")
    assert await w.page.locator("#video").evaluate("v => v.currentSrc") == ""
    assert vod == [], "no playlist is asked for"
    await expect(w.page.locator("#replays")).not_to_contain_text("송출 없는 방송")
    await screenshot(w.page, "watch-never-aired-1280x800")
    w.assert_clean()
    await w.context.close()


async def test_a_producer_runs_programs_and_shapes_a_replay(browser: Browser, site: Server) -> None:
    # A short broadcast from a real publisher (aiortc), ended: a replay of about 5 s.
    program = await _program(site, "다듬을 다시보기", starts_in=None, hours=0.5)
    pid = str(program["id"])
    client = site.client()
    pub = await whip_publish(client, f"{site.url}/whip/{pid}", str(program["stream_key"]))

    async def five_segments() -> bool:
        status, text, _ = await get_text(client, f"/hls/{pid}/240p/live.m3u8")
        return status == 200 and len(segments(text)) >= 5

    await wait_for(five_segments, within=40, what="five segments")
    producer = await site.producer()
    async with producer.post(f"/api/programs/{pid}/end") as response:
        assert response.status == 200
    await pub.pc.close()

    async def replay() -> bool:
        return await _state(site, pid) == "replay"

    await wait_for(replay, what="the replay")
    later = await _program(site, "곧 시작할 방송", starts_in=timedelta(hours=5), hours=0.5)

    w = await watched_page(browser, DESKTOP)
    await api_login(w.context, site.url, *PRODUCER)
    page = w.page
    await page.goto(f"{site.url}/produce")
    await _edit(page, "다듬을 다시보기")
    box = page.locator("#replay-box")
    await expect(box).to_have_attribute("data-state", "ready")
    await expect(page.locator("#replay-state")).to_contain_text("공개 중")
    await page.wait_for_function("() => document.querySelector('#replay-thumb')?.naturalWidth === 320")
    first_thumb = await page.locator("#replay-thumb").get_attribute("src")
    # cut: 1.4-3.2 s is kept as 1-4 s (segment boundaries)
    await page.fill("#replay-in", "1.4")
    await page.fill("#replay-out", "3.2")
    await page.click("#replay-cut")
    await expect(page.locator("#replay-status")).to_have_text("저장했습니다.")
    await expect(page.locator("#replay-in")).to_have_value("1")
    await expect(page.locator("#replay-out")).to_have_value("4")
    await expect(page.locator("#replay-state")).to_contain_text("3.0초")
    _, vod, _ = await get_text(client, f"/vod/{pid}/240p/vod.m3u8")
    assert len(segments(vod)) == 3
    # a bad cut is refused inline and changes nothing
    await page.fill("#replay-in", "3")
    await page.fill("#replay-out", "2")
    await page.click("#replay-cut")
    await expect(page.locator("#replay-status")).to_contain_text("시작은 끝보다 앞이어야")
    await expect(page.locator("#replay-in")).to_have_attribute("aria-invalid", "true")
    assert (await get_text(client, f"/vod/{pid}/240p/vod.m3u8"))[1] == vod
    # the thumbnail
    await page.fill("#replay-thumb-at", "2")
    await page.click("#replay-thumb-pick")
    await expect(page.locator("#replay-status")).to_have_text("저장했습니다.")
    await expect(page.locator("#replay-thumb")).not_to_have_attribute("src", str(first_thumb))
    await page.wait_for_function("() => document.querySelector('#replay-thumb')?.naturalWidth === 320")
    await screenshot(page, "produce-replay-1280x800")

    # hidden: a viewer on its page is told at once; shown again: it plays
    viewer = await watched_page(browser, PHONE)
    await viewer.page.goto(f"{site.url}/watch/{pid}")
    await expect(viewer.page.locator("#state-badge")).to_have_text("다시보기")
    await page.click("#replay-hide")
    await expect(page.locator("#replay-state")).to_contain_text("숨김")
    await expect(viewer.page.locator("#overlay")).to_have_attribute("data-replay", "hidden")
    await expect(viewer.page.locator("#overlay-text")).to_contain_text("다시보기를 볼 수 없습니다")
    await page.click("#replay-show")
    await expect(viewer.page.locator("#state-badge")).to_have_text("다시보기")
    await viewer.page.wait_for_function(
        "() => { const v = document.querySelector('#video'); return v.currentTime > 0.5; }", timeout=30_000)
    # deleted, after a confirmation
    await page.click("#replay-delete")
    await page.click("#replay-delete-confirm")
    await expect(box).to_have_attribute("data-state", "deleted")
    await expect(page.locator("#replay-edit")).to_be_hidden()
    assert (await get_text(client, f"/vod/{pid}/master.m3u8"))[0] == 404

    # start and end another program now from the desk
    await _edit(page, "곧 시작할 방송")
    await page.click("#cue-start")
    await expect(page.locator("#cue-status")).to_contain_text("방송이 시작되었습니다")
    await expect(page.locator("#lineup-body tr", has_text="곧 시작할 방송")).to_contain_text("생방송")
    assert await _state(site, str(later["id"])) == "live"
    await page.click("#cue-end")
    await expect(page.locator("#lineup-body tr", has_text="곧 시작할 방송")).to_contain_text("종료")
    await expect(page.locator("#replay-box")).to_have_attribute("data-state", "none")
    for watched in (w, viewer):
        watched.assert_clean()
        await watched.context.close()
