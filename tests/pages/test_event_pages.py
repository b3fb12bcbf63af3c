"""Today's event in Debian Chromium: on the viewer's phone, joining through the page's dialog with
consent, a vote that shows its mileage at once, a donation that moves the thermometer on another
viewer's page; on the producer's desk, a campaign, the audit and a prize draw among the donors
(the commitment, then the masked winner, who leaves contact details); and a live quiz opened and
revealed on the host console, answered inside its countdown and showing the mileage it earned;
nothing refused by the CSP, no page error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from tests.chat.clients import host as host_client

from ..helpers import HOST, PRODUCER, Server
from .conftest import DESKTOP, api_login, screenshot, watched_page

pytestmark = pytest.mark.asyncio(loop_scope="module")

SEOUL = ZoneInfo("Asia/Seoul")
PASSWORD = "mileage-password-1"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def on_air(site: Server) -> AsyncIterator[dict[str, Any]]:
    """A program live now and a campaign taking donations, for the module's viewers."""
    producer = await site.producer()
    now = datetime.now(SEOUL)
    body = {"title": "오늘의 이벤트 특집", "kind": "live", "hosts": [HOST[0]], "starts_at": "now",
            "ends_at": (now + timedelta(minutes=50)).isoformat()}
    async with producer.post("/api/programs", json=body) as r:
        assert r.status == 201, await r.text()
        program = await r.json()
    scheduler = site.parts.schedule.scheduler
    scheduler.poke()
    await asyncio.wait_for(scheduler.wait_pass(datetime.now(SEOUL)), 10)
    cause = {"title": "나눔 캠페인", "beneficiary": "사회복지공동모금회", "goal": 1000,
             "starts_at": now.isoformat(), "ends_at": (now + timedelta(days=1)).isoformat()}
    async with producer.post("/api/events/campaigns", json=cause) as r:
        assert r.status == 201, await r.text()
        campaign = (await r.json())["campaign"]
    yield {"program": program["id"], "campaign": campaign["id"]}


async def join_through_the_dialog(page: Page, email: str, nickname: str) -> None:
    await page.locator("#event-join").click()
    await page.locator("#event-email").fill(email)
    await page.locator("#event-password").fill(PASSWORD)
    await page.locator("#event-nickname").fill(nickname)
    await page.locator("#event-submit").click()
    await expect(page.locator("#event-form-status")).to_contain_text("동의")  # consent comes first
    await page.locator("#event-consent").check()
    await page.locator("#event-submit").click()
    await expect(page.locator("#event-balance")).to_have_text("0 마일리지")
    await expect(page.locator("#event-who")).to_contain_text(nickname)


async def test_join_vote_and_donate(browser: Browser, site: Server, on_air: dict[str, Any]) -> None:
    program = on_air["program"]
    viewer = await watched_page(browser)
    other = await watched_page(browser)
    for watched in (viewer, other):
        await watched.page.goto(f"{site.url}/watch/{program}")
        await expect(watched.page.locator("#event")).to_be_visible()
    page = viewer.page
    await join_through_the_dialog(page, "phone@example.kr", "홍길동")

    staff = await host_client(site)
    room = f"program:{program}"
    await staff.join(room)
    poll = {"room": room, "question": "최고의 사례는?", "choices": ["가", "나"]}
    opened = await staff.call("poll:open", poll)
    assert opened["ok"], opened
    await page.locator('#poll button[data-choice="1"]').click()
    await expect(page.locator("#event-status")).to_have_text("+10 마일리지 적립!")
    await expect(page.locator("#event-balance")).to_have_text("10 마일리지")
    await expect(page.locator("#event-ledger li").first).to_contain_text("투표 +10")

    thermo = page.locator(f'.thermo[data-campaign="{on_air["campaign"]}"]')
    await thermo.locator('input[type="number"]').fill("4")
    await thermo.locator('button[type="submit"]').click()
    await expect(page.locator("#event-balance")).to_have_text("6 마일리지")
    await expect(thermo.locator(".raised")).to_contain_text("4 / 1,000")
    # the other viewer's thermometer moves too (the room's `campaign` event)
    raised = other.page.locator(f'.thermo[data-campaign="{on_air["campaign"]}"] .raised')
    await expect(raised).to_contain_text("4 / 1,000", timeout=2000)
    await expect(other.page.locator(".thermo progress")).to_have_attribute("value", "4")
    await screenshot(page, "event-join-vote-donate")

    # The producer's desk: a new campaign, the audit, and a prize draw among the donors.
    desk = await watched_page(browser, DESKTOP)
    await api_login(desk.context, site.url, *PRODUCER)
    producer = desk.page
    await producer.goto(f"{site.url}/produce")
    campaigns = producer.locator("#campaign-list li")
    await expect(campaigns.and_(producer.locator(f'[data-campaign="{on_air["campaign"]}"]'))).to_contain_text(
        "4 / 1,000")
    await producer.locator("#c-title").fill("두 번째 캠페인")
    await producer.locator("#c-beneficiary").fill("지역 아동센터")
    await producer.locator("#c-goal").fill("0")
    await producer.locator("#campaign-create").click()
    await expect(producer.locator("#campaign-status")).to_contain_text("목표")  # invalid_goal, nothing made
    await producer.locator("#c-goal").fill("5000")
    await producer.locator("#campaign-create").click()
    await expect(campaigns.filter(has_text="두 번째 캠페인")).to_contain_text("0 / 5,000")
    await producer.locator("#audit").click()
    await expect(producer.locator("#campaign-status")).to_contain_text("원장 대조 통과: 기록 2건")
    row = producer.locator("#lineup-body tr", has_text="오늘의 이벤트 특집")
    await row.locator("button", has_text="수정").click()
    await producer.locator("#event-box summary").click()
    await expect(producer.locator("#rule-vote")).to_have_value("10")
    await producer.locator("#draw-title").fill("박람회 기념품")
    await producer.locator("#draw-campaign").select_option(on_air["campaign"])
    await producer.locator("#draw-prepare").click()
    drawn = producer.locator("#draw-list li.draw")
    await expect(drawn).to_contain_text("응모 1명")
    viewer_draw = page.locator("#event-draws .draw")
    await expect(viewer_draw).to_contain_text("참가 1명")  # the commitment, published before the draw
    await drawn.locator("button", has_text="추첨하기").click()
    await expect(drawn.locator(".winners")).to_have_text("당첨: 홍*동 · 예비: —")
    await viewer_draw.locator('input[type="text"]').fill("홍길동")
    await viewer_draw.locator('input[type="tel"]').fill("010-1234-5678")
    await viewer_draw.locator('input[type="checkbox"]').check()
    await viewer_draw.locator('button[type="submit"]').click()
    await expect(viewer_draw).to_contain_text("연락처를 받았습니다.")
    await drawn.locator("button", has_text="당첨자 연락처").click()
    await expect(drawn.locator(".claims li")).to_contain_text("홍길동 · 010-1234-5678")
    await screenshot(producer, "event-producer-desk")
    for each in (viewer, other, desk):
        each.assert_clean()
    await staff.close()
    for each in (viewer, other, desk):
        await each.context.close()


async def test_a_live_quiz_from_the_host_console_answered_in_time(
    browser: Browser, site: Server, on_air: dict[str, Any]
) -> None:
    program = on_air["program"]
    watched = await watched_page(browser)
    page = watched.page
    await page.goto(f"{site.url}/watch/{program}")
    await join_through_the_dialog(page, "quiz@example.kr", "김퀴즈")

    studio = await watched_page(browser, DESKTOP)
    await api_login(studio.context, site.url, *HOST)
    host = studio.page
    await host.goto(f"{site.url}/host")
    await expect(host.locator("#console")).to_have_attribute("data-joined", f"program:{program}")
    panel = host.locator("#quiz-panel")
    await panel.locator("#quiz-question").fill("박람회는 며칠 동안 열리나요?")
    await panel.locator("#quiz-choices").fill("3일")
    await panel.locator("#quiz-open").click()
    await expect(panel.locator("#quiz-status")).to_contain_text("보기 두 개 이상")  # nothing sent
    await panel.locator("#quiz-choices").fill("3일\n10일")
    await panel.locator("#quiz-answer").fill("2")
    await panel.locator("#quiz-window").fill("6")
    await panel.locator("#quiz-open").click()
    await expect(panel.locator("#quiz-card li.right")).to_have_text("✔ 10일")
    await expect(panel.locator("#quiz-left")).to_contain_text("초 남음")
    await panel.locator("#quiz-reveal").click()  # too early: the server says so
    await expect(panel.locator("#quiz-status")).to_contain_text("답할 시간이 끝난 뒤에")

    card = page.locator("#event-quiz")
    await expect(card).to_contain_text("박람회는 며칠 동안 열리나요?")
    await expect(page.locator("#event-quiz-left")).to_contain_text("초 남음")
    await card.locator('button[data-choice="1"]').click()
    await expect(page.locator("#event-quiz-left")).to_contain_text("답을 냈습니다")
    await expect(page.locator("#event-quiz-left")).to_have_text("마감되었습니다. 정답 발표를 기다려 주세요.",
                                                               timeout=10_000)
    await expect(panel.locator("#quiz-left")).to_have_text("마감되었습니다. 정답을 공개하세요.")
    await panel.locator("#quiz-reveal").click()
    await expect(panel.locator("#quiz-left")).to_have_text("정답 1명 / 응답 1명")
    await expect(panel.locator("#quiz-reveal")).to_be_hidden()
    await expect(page.locator("#event-quiz-left")).to_have_text("정답입니다!")
    await expect(card.locator(".right")).to_contain_text("✔ 10일")
    await expect(page.locator("#event-balance")).to_have_text("20 마일리지")
    await screenshot(page, "event-quiz")
    await screenshot(host, "event-quiz-host")
    watched.assert_clean()
    studio.assert_clean()
    for each in (watched, studio):
        await each.context.close()
