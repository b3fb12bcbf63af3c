"""Captions in Chromium: a captioner types on /caption (a line on Enter, the last line corrected),
and a viewer of /watch/{id} gets the line on the HLS subtitle track (hls.js: the text track's
active cue), drawn over the player (the CC toggle, remembered across a reload) and in the
transcript; after the show, the transcript beside the replay is searchable and a line jumps to
its moment. Hostile text stays text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, expect

from live.tracks import whip_publish
from tests.captions.conftest import CAPTIONERS
from tests.live.support import end_program, wait_for_state

from ..helpers import Server
from .conftest import DESKTOP, api_login, player_explained, watched_page

pytestmark = pytest.mark.asyncio(loop_scope="module")

HOSTILE = "<img src=x onerror=alert(1)> 자막"

ACTIVE_CUES = """() => {
  const v = document.querySelector('#video');
  const out = [];
  for (const t of v.textTracks) {
    for (const c of (t.activeCues || [])) out.push([t.language, t.mode, c.id, c.text]);
  }
  return out;
}"""


async def program_with_key(site: Server) -> tuple[str, str]:
    producer = await site.producer()
    body = {"title": "자막 방송", "kind": "live", "starts_at": "now",
            "ends_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}
    async with producer.post("/api/programs", json=body) as response:
        assert response.status == 201, await response.text()
        program_id = str((await response.json())["id"])
    async with producer.post(f"/api/programs/{program_id}/stream-key") as response:
        key = str((await response.json())["stream_key"])
    return program_id, key


async def test_a_line_typed_on_the_console_is_on_the_viewers_player_and_in_the_transcript(
        browser: Browser, site: Server) -> None:
    if not await site.parts.auth.exists("cap1"):
        await site.add_user("cap1", "captioner", CAPTIONERS["cap1"])
    program_id, key = await program_with_key(site)
    await wait_for_state(site, program_id, "live")
    publication = await whip_publish(site.client(), f"{site.url}/whip/{program_id}", key)
    viewer = await watched_page(browser, DESKTOP)
    console = await watched_page(browser, DESKTOP)
    try:
        await viewer.page.goto(f"{site.url}/watch/{program_id}")
        await viewer.page.wait_for_function(
            "() => { const v = document.querySelector('#video'); "
            "return v && v.currentTime > 1 && !v.paused; }",
            timeout=40_000)
        await api_login(console.context, site.url, "cap1", CAPTIONERS["cap1"])
        await console.page.goto(f"{site.url}/caption")
        field = console.page.locator("#caption-text")
        await expect(field).to_be_visible()
        await field.fill("첫 줄은 오타가 잇습니다")
        await field.press("Enter")
        sent = console.page.locator("#lines li .text")
        await expect(sent).to_have_text(["첫 줄은 오타가 잇습니다"], timeout=10_000)
        await expect(console.page.locator("#turn")).to_have_attribute("data-holder", "cap1")
        await console.page.locator("#fix-open").click()
        await console.page.locator("#fix-text").fill("첫 줄은 오타가 있습니다")
        await console.page.locator("#fix-form button").click()
        await expect(sent).to_have_text(["첫 줄은 오타가 있습니다"], timeout=10_000)
        await field.fill(HOSTILE)
        await field.press("Enter")

        # The viewer: hls.js puts the line on the subtitle track, the page draws it over the player.
        async with player_explained(viewer.page, "the typed line on the viewer's player"):
            cues = await viewer.page.wait_for_function(
                f"() => ({ACTIVE_CUES})().filter(c => c[3].includes('자막')).length"
                f" ? ({ACTIVE_CUES})() : null", timeout=30_000)
            active = await cues.json_value()
            assert any(lang == "ko" and mode == "hidden" and cue_id.endswith("c2-0")
                       for lang, mode, cue_id, _ in active)
            layer = viewer.page.locator("#cc-layer p")
            await expect(layer.last).to_have_text(HOSTILE)
        assert await viewer.page.locator("#cc-layer img").count() == 0
        # The transcript follows the socket: both lines, the corrected text.
        await viewer.page.locator("#tab-transcript").click()
        await expect(viewer.page.locator("#transcript li .text")).to_have_text(
            ["첫 줄은 오타가 있습니다", HOSTILE], timeout=10_000)
        # CC off, remembered across a reload.
        await viewer.page.locator("#cc").click()
        await expect(viewer.page.locator("#cc")).to_have_attribute("aria-pressed", "false")
        await expect(viewer.page.locator("#cc-layer")).to_be_hidden()
        await viewer.page.reload()
        await expect(viewer.page.locator("#cc")).to_have_attribute("aria-pressed", "false")
        await viewer.page.locator("#cc").click()
        await expect(viewer.page.locator("#cc")).to_have_attribute("aria-pressed", "true")

        # After the show: the transcript beside the replay, searchable, a line jumps to its moment.
        await publication.pc.close()
        await end_program(site, program_id)
        await wait_for_state(site, program_id, "replay")
        await viewer.page.goto(f"{site.url}/watch/{program_id}")
        await viewer.page.locator("#tab-transcript").click()
        items = viewer.page.locator("#transcript li button .text")
        await expect(items).to_have_text(["첫 줄은 오타가 있습니다", HOSTILE], timeout=20_000)
        await expect(viewer.page.locator("#transcript-srt")).to_have_attribute(
            "href", f"/vod/{program_id}/captions-ko.srt")
        await viewer.page.locator("#transcript-search").fill("오타")
        await expect(items).to_have_text(["첫 줄은 오타가 있습니다"])
        await viewer.page.wait_for_function("() => document.querySelector('#video').readyState >= 1",
                                            timeout=30_000)
        await viewer.page.locator("#transcript-search").fill("")
        second = viewer.page.locator("#transcript li").nth(1)
        second_start = float(await second.get_attribute("data-start") or "0")
        await second.locator("button").click()
        async with player_explained(viewer.page, f"the replay at the second line ({second_start} s)"):
            await viewer.page.wait_for_function(
                f"() => Math.abs(document.querySelector('#video').currentTime - {second_start}) < 1.5",
                timeout=10_000)
        viewer.assert_clean()
        console.assert_clean()
    finally:
        await viewer.context.close()
        await console.context.close()
