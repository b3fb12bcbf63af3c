"""The host console and the producer desk in Debian Chromium, against a real server that a real
aiortc publisher (live/tracks.py) sends a small picture to: on-air numbers, stream health, chat
with the host badge, moderation one click each (a chosen time-out length, hiding a question with
the asker's name), the program list following states; the producer's labelled numbers, preview,
report with CSV, and account management that logs a changed person out at once."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from live.tracks import Publication, whip_publish

from ..helpers import HOST, PRODUCER, Server, make_config, running_server
from .conftest import DESKTOP, PHONE, api_login, screenshot, watched_page

pytestmark = pytest.mark.asyncio(loop_scope="module")

SEOUL = ZoneInfo("Asia/Seoul")
SMALL = {"live_ladder": "240p15:300", "live_segment_s": 1.0, "live_x264_preset": "ultrafast"}


@dataclass
class Studio:
    server: Server
    live: dict[str, Any]  # on air now, an aiortc publisher sending to it
    later: dict[str, Any]  # tomorrow

    @property
    def url(self) -> str:
        return self.server.url


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def studio(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Studio]:
    """A server with a one-rung small ladder (2 shared cores), the test accounts, a live program
    hosted by HOST with an aiortc publisher sending 320x240 at 15 fps, and a later program."""
    config = make_config("sqlite", tmp_path_factory.mktemp("studio") / "data", None, **SMALL)
    async with running_server(config) as server:
        await server.parts.auth.add_user(PRODUCER[0], "producer", PRODUCER[1])
        await server.parts.auth.add_user(HOST[0], "host", HOST[1])
        producer = await server.producer()
        now = datetime.now(SEOUL).replace(microsecond=0)
        programs = []
        for title, start, hours in (("혁신TV 생방송", None, 2), ("내일의 토크", now + timedelta(days=1), 1)):
            begins = start or now  # None: on the air at once ("now")
            body = {"title": title, "kind": "live", "hosts": [HOST[0]],
                    "starts_at": start.isoformat() if start else "now",
                    "ends_at": (begins + timedelta(hours=hours)).isoformat()}
            async with producer.post("/api/programs", json=body) as response:
                assert response.status == 201, await response.text()
                programs.append(await response.json())
        async with producer.post(f"/api/programs/{programs[0]['id']}/stream-key") as response:
            key = (await response.json())["stream_key"]
        publisher = server.client()
        pub = await whip_publish(publisher, f"{server.url}/whip/{programs[0]['id']}", key,
                                 width=320, height=240, fps=15, video_codec="video/VP8")
        try:
            yield Studio(server, programs[0], programs[1])
        finally:
            await _unpublish(publisher, pub)


async def _unpublish(client: Any, pub: Publication) -> None:
    async with client.delete(pub.location) as response:
        assert response.status in (200, 404)
    await pub.pc.close()


async def test_host_console_shows_what_matters_and_moderates(browser: Browser, studio: Studio) -> None:
    live, later = studio.live, studio.later
    pid, room = live["id"], f"program:{live['id']}"
    host = await watched_page(browser, DESKTOP)
    await api_login(host.context, studio.url, *HOST)
    page = host.page
    await page.goto(f"{studio.url}/host?program={pid}")
    await expect(page.locator("#console")).to_have_attribute("data-joined", room)

    # On air: elapsed and remaining time tick, the stream health is measured by the server.
    onair = page.locator("#onair")
    await expect(onair.locator("[data-onair=state]")).to_have_text("생방송")
    elapsed = onair.locator("[data-onair=elapsed]")
    first = await elapsed.inner_text()
    await expect(elapsed).not_to_have_text(first)  # a second later
    remaining = await onair.locator("[data-onair=remaining]").inner_text()
    assert remaining.startswith(("01:", "1:")), remaining  # about 1 h 58 min left
    health = page.locator("#health")
    await expect(health.locator("dd[data-key=resolution]")).to_have_text("320×240", timeout=30_000)
    await expect(health.locator("dd[data-key=source]")).to_have_text("송출자 (WHIP)")
    await expect(health.locator("dd[data-key=connection]")).to_have_text("연결됨")
    await expect(health.locator("dd[data-key=fps]")).to_contain_text("초당")
    await expect(health.locator("dd[data-key=bitrate]")).to_contain_text("kbit/s")

    # A viewer on a phone; the host's own connection is no viewer.
    fan = await watched_page(browser, PHONE)
    await fan.page.goto(f"{studio.url}/watch/{pid}")
    await expect(onair.locator("[data-onair=viewers]")).to_have_text("1")

    # The host chats from the console; everyone sees the host badge.
    await page.fill("#host-chat-text", "안녕하세요, 진행자 민지입니다")
    await page.click("#host-chat-send")
    said = fan.page.locator("#messages li", has_text="진행자 민지입니다")
    await expect(said.locator(".role-badge")).to_have_text("진행자")
    await expect(said).to_have_attribute("data-role", "host")

    # The viewer writes (the nickname asked once), the host times them out for the chosen length.
    await fan.page.fill("#chat-text", "도배 도배 도배")
    await fan.page.click("#chat-send")
    await fan.page.fill("#nickname", "열혈시청자")
    await fan.page.click("#nick-save")
    line = page.locator("#messages li", has_text="도배 도배 도배")
    await expect(line.locator(".nick")).to_have_text("열혈시청자")
    await expect(line.locator("[data-action=timeout]")).to_be_visible()
    hosts_own = page.locator("#messages li", has_text="진행자 민지입니다")
    await expect(hosts_own.locator("[data-action]")).to_have_count(0)  # no buttons on staff words

    # A question shows who asked; hiding it is one click and takes it off every list.
    await fan.page.click("#tab-qa")
    await fan.page.fill("#qa-text", "광고 링크를 눌러 주세요")
    await fan.page.click("#qa-form button[type=submit]")
    asked = page.locator("#questions li", has_text="광고 링크")
    await expect(asked.locator(".asker")).to_have_text("열혈시청자")
    await asked.locator("[data-action=hide]").click()
    await expect(fan.page.locator("#questions")).not_to_contain_text("광고 링크")
    await expect(page.locator("#questions")).not_to_contain_text("광고 링크")
    await expect(page.locator("#actions li[data-action=hide_question]")).to_have_count(1)

    await fan.page.click("#tab-chat")
    await page.select_option("#timeout-length", "60")
    viewer = await line.get_attribute("data-viewer")
    await line.locator("[data-action=timeout]").click()
    await expect(fan.page.locator("#messages")).to_contain_text("일시적으로 채팅이 제한되었습니다")
    state = studio.server.parts.chat.service.cached(room)
    assert state is not None and viewer
    until = state.timed_out_until(viewer, int(time.time() * 1000))
    assert until is not None and 50 <= until / 1000 - time.time() <= 61

    # The program list follows every program's state, also of programs not open here.
    option = page.locator(f"#program option[value='{later['id']}']")
    await expect(option).to_contain_text("(예정)")
    await studio.server.parts.schedule.service.set_state(later["id"], "lobby")
    await expect(option).to_contain_text("(곧 시작)")
    await expect(option).to_have_attribute("data-state", "lobby")
    await studio.server.parts.schedule.service.set_state(later["id"], "scheduled")

    await page.evaluate("window.scrollTo(0, 0)")
    await screenshot(page, "host-console-1280x800")
    phone = await watched_page(browser, PHONE)
    await api_login(phone.context, studio.url, *HOST)
    await phone.page.goto(f"{studio.url}/host?program={pid}")
    await expect(phone.page.locator("#health dd[data-key=resolution]")).to_have_text("320×240")
    await screenshot(phone.page, "host-console-390x844")
    for each in (host, fan, phone):
        each.assert_clean()
        await each.context.close()


async def test_producer_desk_numbers_preview_and_report(browser: Browser, studio: Studio,
                                                        tmp_path: Path) -> None:
    live = studio.live
    pid = live["id"]
    fan = await watched_page(browser, PHONE)
    await fan.page.goto(f"{studio.url}/watch/{pid}")
    await expect(fan.page.locator("#viewers")).not_to_be_empty()
    w = await watched_page(browser, DESKTOP)
    await api_login(w.context, studio.url, *PRODUCER)
    page = w.page
    await page.goto(f"{studio.url}/produce")
    await page.locator("#lineup-body tr", has_text="혁신TV 생방송").locator("button", has_text="수정").click()
    numbers = page.locator("#numbers")
    await expect(numbers.locator("dt").first).to_have_text("지금 시청자")
    await expect(numbers.locator("dd[data-stat=viewers]")).to_have_text("1")  # the desk is no viewer
    await expect(numbers.locator("dd[data-stat=peak_viewers]")).not_to_have_text("—")
    await expect(numbers.locator("dd[data-stat=unique_viewers]")).not_to_have_text("0", timeout=10_000)
    await expect(page.locator("#health dd[data-key=resolution]")).to_have_text("320×240")
    # The preview shows the publisher's picture over WHEP, with next to no delay.
    await page.click("#preview-start")
    await page.wait_for_function("() => document.querySelector('#preview').currentTime > 0.5",
                                 timeout=30_000)
    await expect(page.locator("#preview-status")).to_contain_text("WHEP")
    await page.locator("#detail-panel").evaluate("el => el.scrollIntoView()")
    await screenshot(page, "produce-desk-1280x800")

    # The report page: labelled totals, a row per minute, and the same as CSV.
    await page.click("#report-link")
    await page.wait_for_url(f"{studio.url}/produce/report/{pid}")
    await expect(page.locator("#report-h")).to_have_text("혁신TV 생방송")
    await expect(page.locator("#totals dd[data-total=peak_viewers]")).not_to_have_text("—")
    await expect(page.locator("#minutes tr").first).to_be_visible()
    async with page.expect_download() as info:
        await page.click("#csv")
    downloaded = await (await info.value).path()
    rows = list(csv.reader(io.StringIO(await asyncio.to_thread(downloaded.read_text))))
    assert rows[0] == ["minute (Asia/Seoul)", "viewers", "messages", "hearts"]
    assert ["measure", "value"] in rows
    await screenshot(page, "report-1280x800")
    phone = await watched_page(browser, PHONE)
    await api_login(phone.context, studio.url, *PRODUCER)
    await phone.page.goto(f"{studio.url}/produce/report/{pid}")
    await expect(phone.page.locator("#report-h")).to_have_text("혁신TV 생방송")
    await screenshot(phone.page, "report-390x844")
    await phone.page.goto(f"{studio.url}/produce")
    row = phone.page.locator("#lineup-body tr", has_text="혁신TV 생방송")
    await row.locator("button", has_text="수정").click()
    await expect(phone.page.locator("#health dd[data-key=resolution]")).to_have_text("320×240")
    await phone.page.locator("#detail-panel").evaluate("el => el.scrollIntoView()")
    await screenshot(phone.page, "produce-desk-390x844")
    for each in (w, fan, phone):
        each.assert_clean()
        await each.context.close()


async def test_accounts_on_the_desk_take_effect_at_once(browser: Browser, studio: Studio) -> None:
    w = await watched_page(browser, DESKTOP)
    await api_login(w.context, studio.url, *PRODUCER)
    page = w.page
    await page.goto(f"{studio.url}/produce")
    await page.fill("#a-username", "Minji")
    await page.fill("#a-password", "short")
    await page.click("#account-add")
    await expect(page.locator("#accounts-status")).to_contain_text("10자 이상")
    await expect(page.locator("#a-password")).to_have_attribute("aria-invalid", "true")
    await page.fill("#a-password", "minji-password-1")
    await page.click("#account-add")
    row = page.locator("#accounts-body tr[data-username=minji]")
    await expect(row).to_be_visible()
    await expect(row.locator("select")).to_have_value("host")
    own = page.locator(f"#accounts-body tr[data-username={PRODUCER[0]}]")
    await expect(own.locator("select")).to_be_disabled()
    await expect(own.locator("[data-action=remove]")).to_have_count(0)

    # Minji has the host console open; a new password from the desk logs her out there at once.
    minji = await watched_page(browser, PHONE)
    await api_login(minji.context, studio.url, "minji", "minji-password-1")
    await minji.page.goto(f"{studio.url}/host")
    await expect(minji.page.locator("#console")).to_be_visible()
    await expect(minji.page.locator("#console")).to_have_attribute("data-socket", "connected")
    await row.locator("[data-action=password]").click()
    await row.locator("input[type=password]").fill("minji-password-2")
    await row.locator("[data-action=password-save]").click()
    await expect(page.locator("#accounts-status")).to_contain_text("로그아웃됨")
    await expect(minji.page.locator("#login-form")).to_be_visible()  # the console reloaded
    await expect(minji.page.locator("#console")).to_be_hidden()
    await minji.page.fill("#login-username", "minji")
    await minji.page.fill("#login-password", "minji-password-2")
    await minji.page.click("#login-form button[type=submit]")
    await expect(minji.page.locator("#console")).to_have_attribute("data-socket", "connected")

    # A role change: her console logs her out again (she logs in again as a producer).
    await row.locator("select").select_option("producer")
    await expect(page.locator("#accounts-status")).to_contain_text("역할을 바꿨습니다")
    await expect(minji.page.locator("#login-form")).to_be_visible()
    users = await (await page.request.get(f"{studio.url}/api/users")).json()
    assert {u["username"]: u["role"] for u in users["users"]}["minji"] == "producer"
    stale = await minji.context.request.get(f"{studio.url}/api/users")
    assert stale.status == 401

    # Removal asks once more, then the account is gone.
    await row.locator("[data-action=remove]").click()
    await row.locator("[data-action=remove-confirm]").click()
    await expect(page.locator("#accounts-body tr[data-username=minji]")).to_have_count(0)
    gone = await minji.context.request.post(
        f"{studio.url}/api/session", data={"username": "minji", "password": "minji-password-2"},
        headers={"Origin": studio.url})
    assert gone.status == 401
    await page.locator("#accounts-panel").evaluate("el => el.scrollIntoView()")
    await screenshot(page, "accounts-1280x800")
    for each in (w, minji):
        each.assert_clean()
        await each.context.close()
