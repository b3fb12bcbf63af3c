"""Browser fixtures: one Debian chromium per test module (Playwright's async API, never
`playwright install`), a real server per module, and pages that record dialogs and CSP
violations so a test can assert that nothing ran and nothing was refused."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Frame, Page, ViewportSize, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout

from ..helpers import HOST, PRODUCER, Server, make_config, running_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
HAVE_CHROMIUM = os.path.exists(CHROMIUM)
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@dataclass
class Watched:
    """A page plus what it did that it should not: dialogs opened, CSP refusals, page errors."""

    page: Page
    context: BrowserContext
    dialogs: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.dialogs == [], f"a dialog opened: {self.dialogs}"
        assert self.csp == [], f"CSP refused something: {self.csp}"
        assert self.errors == [], f"page errors: {self.errors}"


async def watched_page(
    browser: Browser, viewport: ViewportSize | None = None, **kwargs: Any
) -> Watched:
    """A fresh context (own cookies) and page at `viewport` (phone by default)."""
    context = await browser.new_context(viewport=viewport or PHONE, locale="ko-KR", **kwargs)
    page = await context.new_page()
    watched = Watched(page, context)

    async def on_dialog(dialog: Any) -> None:
        watched.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            watched.csp.append(message.text)

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("pageerror", lambda exc: watched.errors.append(str(exc)))
    return watched


async def api_login(context: BrowserContext, base: str, username: str, password: str) -> None:
    """Logs the context in through the REST API (the cookie lands in the context's jar)."""
    response = await context.request.post(
        f"{base}/api/session", data={"username": username, "password": password}
    )
    assert response.status == 200, await response.text()


PLAYER_STATE = """() => {
  const v = document.querySelector('#video');
  if (!v) return 'no #video';
  const ms = (x) => Math.round(x * 1000) / 1000;
  const ranges = (r) => [...Array(r.length).keys()].map((i) => [ms(r.start(i)), ms(r.end(i))]);
  return JSON.stringify({
    wall_ms: Date.now(), currentTime: ms(v.currentTime), paused: v.paused,
    readyState: v.readyState, playbackRate: v.playbackRate, visibility: document.visibilityState,
    buffered: ranges(v.buffered),
    tracks: [...v.textTracks].map((t) => ({
      kind: t.kind, language: t.language, label: t.label, mode: t.mode,
      cues: t.cues ? [...t.cues].slice(-6).map((c) => [c.id, ms(c.startTime), ms(c.endTime), c.text]) : null,
      active: t.activeCues ? [...t.activeCues].map((c) => c.id) : null})),
    layer: (document.querySelector('#cc-layer') || {}).outerHTML || null,
  });
}"""


async def player_state(target: Page | Frame) -> str:
    """What the page's player has (playhead, buffer, text tracks and their last cues, the caption
    layer), for the message of a test whose wait on the player ran out."""
    try:
        return str(await target.evaluate(PLAYER_STATE))
    except Exception as exc:  # the page itself is gone: say so rather than hide the first failure
        return f"(player state unavailable: {exc})"


@asynccontextmanager
async def player_explained(target: Page | Frame, what: str) -> AsyncIterator[None]:
    """A wait on the player that runs out fails with what the player had at that moment."""
    try:
        yield
    except (AssertionError, PlaywrightTimeout) as exc:
        raise AssertionError(f"{what}: {exc}\nplayer: {await player_state(target)}") from exc


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    async with async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        await instance.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    """A real server on SQLite shared by a module's tests (pages do not depend on the store)."""
    config = make_config("sqlite", tmp_path_factory.mktemp("pages") / "data", None)
    async with running_server(config) as server:
        # The accounts every test may log in with, so any one test can run alone.
        await server.parts.auth.add_user(PRODUCER[0], "producer", PRODUCER[1])
        await server.parts.auth.add_user(HOST[0], "host", HOST[1])
        yield server
