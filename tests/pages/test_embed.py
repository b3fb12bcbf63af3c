"""The embeddable player in Chromium: a portal page on another origin frames `/embed/{id}?chat=1`
when that origin is in `INNOTV_EMBED_ORIGINS` (the video plays, the chat works inside the frame,
a captioning service's line is drawn over the video, and `?transcript=1` lists it); a page on an
origin not listed cannot frame it, and no origin can frame the other pages."""

from __future__ import annotations

import html
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, Frame, Page, expect

from captions.youtube_format import stamp
from live.tracks import whip_publish
from tests.helpers import free_port, make_config, running_server

from .conftest import DESKTOP, player_explained, watched_page
from .test_live_pages import live_program

pytestmark = pytest.mark.asyncio(loop_scope="module")
PLAYING = "() => { const v = document.querySelector('#video'); return v.currentTime > 1 && !v.paused; }"
CUE_LOADED = """(text) => [...document.querySelector('#video').textTracks].some(
  (t) => t.language === 'ko' && t.mode === 'hidden'
    && [...(t.cues || [])].some((c) => c.text.includes(text)))"""
SMALL = {"live_ladder": "240p15:300", "live_x264_preset": "ultrafast", "live_segment_s": 1.0}


@asynccontextmanager
async def portal() -> AsyncIterator[str]:
    """Another site's page (the expo portal): `/?src=URL` is a page with that URL in an iframe,
    which reports in its title when the frame has loaded (or failed to)."""

    async def page(request: web.Request) -> web.Response:
        src = html.escape(request.query["src"], quote=True)
        return web.Response(content_type="text/html", text=(
            "<!doctype html><title>portal</title>"
            f'<iframe id="player" src="{src}" width="960" height="400" '
            "onload=\"document.title='framed'\"></iframe>"))

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://localhost:{port}"  # another origin, and another site, than 127.0.0.1
    finally:
        await runner.cleanup()


async def framed(page: Page, portal_url: str, src: str) -> Frame | None:
    """Open the portal framing `src`; the frame when our page loaded in it, else None."""
    await page.goto(f"{portal_url}/?src={src}")
    await page.wait_for_function("() => document.title === 'framed'")
    frame = page.frame_locator("#player")
    child = next((f for f in page.frames if f.parent_frame is not None), None)
    assert child is not None
    return child if await frame.locator("#video").count() else None


async def test_only_the_listed_origins_frame_the_player(browser: Browser, tmp_path: Path) -> None:
    async with portal() as allowed, portal() as stranger:
        config = make_config("sqlite", tmp_path / "data", None, embed_origins=allowed, **SMALL)
        async with running_server(config) as site:
            program = await live_program(site)
            pid = program["id"]
            publisher = site.client()
            pub = await whip_publish(publisher, f"{site.url}/whip/{pid}", str(program["stream_key"]))
            try:
                async with site.client().get(f"/embed/{pid}") as r:
                    assert r.status == 200
                    assert f"frame-ancestors {allowed};" in r.headers["Content-Security-Policy"]
                    assert "X-Frame-Options" not in r.headers
                viewer = await watched_page(browser, DESKTOP)
                frame = await framed(viewer.page, allowed, f"{site.url}/embed/{pid}?chat=1")
                assert frame is not None, "the listed portal could not frame the player"
                await frame.wait_for_function(PLAYING, timeout=40_000)
                inside = viewer.page.frame_locator("#player")
                await expect(inside.locator("#chat-panel")).to_be_visible()
                await inside.locator("#chat-text").fill("포털에서 인사드립니다")
                await inside.locator("#chat-send").click()
                await expect(inside.locator("#messages")).to_contain_text("포털에서 인사드립니다")
                # captions: a captioning service's line is drawn over the embedded video
                async with (await site.producer()).post(f"/api/programs/{pid}/caption-key") as r:
                    key = (await r.json())["caption_key"]
                async with site.client(origin=False).post(
                        f"/captions/{pid}/ingest", params={"cid": key, "seq": "1"},
                        data=f"{stamp(int(time.time() * 1000))}\n포털 자막 <b>한 줄</b>\n".encode()) as r:
                    assert r.status == 200, await r.text()
                # on the embedded player's subtitle track (hidden: the page draws it), and drawn
                # over the video when playback reaches the line, as text
                async with player_explained(frame, "the caption on the embedded player"):
                    await frame.wait_for_function(CUE_LOADED, arg="포털 자막", timeout=20_000)
                    await expect(inside.locator("#cc-layer p").last).to_have_text(
                        "포털 자막 <b>한 줄</b>", timeout=20_000)
                await expect(inside.locator("#cc")).to_have_attribute("aria-pressed", "true")
                viewer.assert_clean()

                # without ?chat=1: the player alone
                alone = await watched_page(browser, DESKTOP)
                assert await framed(alone.page, allowed, f"{site.url}/embed/{pid}") is not None
                await expect(alone.page.frame_locator("#player").locator("#chat-panel")).to_be_hidden()
                await expect(alone.page.frame_locator("#player").locator("#transcript")).to_have_count(0)
                # with ?transcript=1: the transcript beside the player, the line in it as text
                reader = await watched_page(browser, DESKTOP)
                assert await framed(reader.page, allowed, f"{site.url}/embed/{pid}?transcript=1") is not None
                beside = reader.page.frame_locator("#player")
                await expect(beside.locator("#transcript-panel")).to_be_visible()
                await expect(beside.locator("#transcript")).to_contain_text("포털 자막 <b>한 줄</b>")
                await expect(beside.locator("#chat-panel")).to_be_hidden()
                reader.assert_clean()

                # an origin not listed: the browser refuses to show the player in its frame
                outsider = await watched_page(browser, DESKTOP)
                assert await framed(outsider.page, stranger, f"{site.url}/embed/{pid}?chat=1") is None
                # every other page keeps frame-ancestors 'none' (and X-Frame-Options: DENY)
                assert await framed(outsider.page, allowed, f"{site.url}/watch/{pid}") is None
                async with site.client().get(f"/watch/{pid}") as r:
                    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
                    assert r.headers["X-Frame-Options"] == "DENY"
            finally:
                await pub.pc.close()


async def test_no_origin_frames_the_player_by_default(browser: Browser, tmp_path: Path) -> None:
    async with portal() as someone:
        async with running_server(make_config("sqlite", tmp_path / "data", None)) as site:
            async with site.client().get("/embed/any") as r:
                assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
                assert r.headers["X-Frame-Options"] == "DENY"
            page = await watched_page(browser, DESKTOP)
            assert await framed(page.page, someone, f"{site.url}/embed/any") is None
