"""The viewer on a phone in Debian Chromium: the chat input docked at the bottom of the screen,
the nickname asked once in a small dialog (staff names refused), the next show first in the
lineup, share and add-to-calendar, a replay that looks like one, a complete English mode with
proper plurals; and the halls: one heart per hall a day, the case count opening the cases."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, expect

from schedule.model import Program, new_program_id
from tests.chat.clients import host as host_client
from tests.chat.clients import viewer as viewer_client

from ..helpers import HOST, Server
from .conftest import DESKTOP, PHONE, screenshot, watched_page

pytestmark = pytest.mark.asyncio(loop_scope="module")

SEOUL = ZoneInfo("Asia/Seoul")
HANGUL = r"/[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]/"
# The visible text of the page that is ours (not titles, nicknames, messages or other user text,
# nor the language switch, which offers 한국어 in Korean on purpose).
OUR_VISIBLE_TEXT = """() => {
  const userText = ['#title', '#description', '.ptitle', '#overlay-text', '.nick', '#nick-shown',
    '.messages .text', '#questions .text', '.pinned', '#lang'].join(', ');
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || el.closest(userText)) continue;
    if (!el.getClientRects().length || getComputedStyle(el).visibility === 'hidden') continue;
    out.push(node.textContent.trim());
  }
  for (const el of document.querySelectorAll('[aria-label], [placeholder]')) {
    if (el.closest(userText) || !el.getClientRects().length) continue;
    out.push(el.getAttribute('aria-label') || '', el.getAttribute('placeholder') || '');
  }
  return out.filter(Boolean);
}"""


async def program(site: Server, title: str, starts_in: timedelta, minutes: int = 60) -> dict[str, Any]:
    """A program of this module; the ones near now are placed so that none overlaps another:
    a replay-to-be from -5 to +4 min, an English one from +5, a lobby one from +10."""
    producer = await site.producer()
    start = (datetime.now(SEOUL) + starts_in).replace(microsecond=0)
    end = start + timedelta(minutes=minutes)
    if end <= datetime.now(SEOUL):
        # Over already: people cannot create a program in the past, so it comes the way an
        # operator restores an old lineup (an import through the lineup service).
        past = Program(id=new_program_id(), title=title, kind="live", starts_at=start, ends_at=end,
                       hosts=(HOST[0],))
        await site.parts.schedule.service.save_many([past], "replace")
        stored = await site.parts.schedule.service.require(past.id)
        return stored.public()
    # One that should be on already starts "now".
    starts_at = "now" if starts_in <= timedelta(0) else start.isoformat()
    body = {"title": title, "kind": "live", "hosts": [HOST[0]], "starts_at": starts_at,
            "ends_at": end.isoformat()}
    async with producer.post("/api/programs", json=body) as response:
        assert response.status == 201, await response.text()
        return dict(await response.json())


async def chat_bottom(page: Page) -> float:
    box = await page.locator("#chat-text").bounding_box()
    assert box is not None
    return float(box["y"] + box["height"])


async def test_phone_chat_is_docked_and_the_nickname_asked_once(browser: Browser, site: Server) -> None:
    lobby = await program(site, "곧 시작하는 토크", timedelta(minutes=10), minutes=20)
    w = await watched_page(browser, PHONE)
    page = w.page
    await page.goto(f"{site.url}/watch/{lobby['id']}")
    await expect(page.locator("#chat-text")).to_be_enabled()  # the lobby is open for chat
    bottom = await chat_bottom(page)
    assert PHONE["height"] - 70 <= bottom <= PHONE["height"], bottom

    # The first message asks for a nickname; staff-like names are refused in the dialog.
    await page.fill("#chat-text", "안녕하세요!")
    await page.click("#chat-send")
    dialog = page.locator("#nick-dialog")
    await expect(dialog).to_be_visible()
    await expect(page.locator("#nickname")).to_have_value(await page.locator("#nick-shown").inner_text())
    await page.fill("#nickname", "진 행 자")
    await page.click("#nick-save")
    await expect(page.locator("#nick-status")).to_contain_text("진행자나 제작진처럼 보이는 닉네임")
    await expect(page.locator("#nickname")).to_have_attribute("aria-invalid", "true")
    await screenshot(page, "nick-dialog-390x844")
    await page.fill("#nickname", "민지")
    await page.click("#nick-save")
    await expect(dialog).to_be_hidden()
    mine = page.locator("#messages li", has_text="안녕하세요!")
    await expect(mine.locator(".nick")).to_have_text("민지")
    await expect(page.locator("#nick-shown")).to_have_text("민지")

    # A busy chat scrolls above the input; the input stays at the bottom of the screen.
    others = await asyncio.gather(*(viewer_client(site) for _ in range(6)))
    room = f"program:{lobby['id']}"
    for other in others:
        await other.join(room)
    await asyncio.gather(*(other.call("chat", {"room": room, "text": f"반가워요 {i}-{n}"})
                           for i, other in enumerate(others) for n in range(5)))
    await expect(page.locator("#messages")).to_contain_text("반가워요 5-4")
    assert abs(await chat_bottom(page) - bottom) < 1
    await page.fill("#chat-text", "두 번째는 바로")
    await page.click("#chat-send")
    await expect(page.locator("#messages li", has_text="두 번째는 바로")).to_be_visible()
    assert not await dialog.is_visible()
    await screenshot(page, "watch-phone-chat-390x844")

    # Reloaded: the name is kept and the dialog does not come back.
    await page.reload()
    await expect(page.locator("#nick-shown")).to_have_text("민지")
    await page.fill("#chat-text", "새로고침 후에도")
    await page.click("#chat-send")
    again = page.locator("#messages li", has_text="새로고침 후에도")
    await expect(again.locator(".nick")).to_have_text("민지")
    assert not await dialog.is_visible()
    # The chip reopens the dialog on demand.
    await page.click("#nick-open")
    await expect(dialog).to_be_visible()
    await page.click("#nick-cancel")
    await expect(dialog).to_be_hidden()
    for other in others:
        await other.close()
    w.assert_clean()
    await w.context.close()


async def test_the_next_show_comes_first(browser: Browser, site: Server) -> None:
    past = await program(site, "지난주의 방송", timedelta(days=-7))
    await program(site, "모레의 방송", timedelta(days=2))
    w = await watched_page(browser, PHONE)
    page = w.page
    await page.goto(f"{site.url}/")
    lineup = (await (await page.request.get(f"{site.url}/api/programs")).json())["programs"]
    now = datetime.now(SEOUL)
    upcoming = [p for p in lineup if datetime.fromisoformat(p["ends_at"]) > now
                and p["state"] not in ("ended", "replay")]
    first = page.locator("#lineup li").first
    await expect(first).to_have_attribute("data-id", upcoming[0]["id"])
    await expect(first).to_have_class(re.compile(r"\bnext\b"))
    # Programs that are over wait, folded, at the end.
    folded = page.locator("#lineup details.past")
    await expect(folded.locator(f"li[data-id='{past['id']}']")).to_be_hidden()
    await folded.locator("summary").click()
    await expect(folded.locator(f"li[data-id='{past['id']}']")).to_be_visible()
    w.assert_clean()
    await w.context.close()


async def test_share_and_add_to_calendar(browser: Browser, site: Server) -> None:
    show = await program(site, "공유할 방송", timedelta(days=3))
    url = f"{site.url}/watch/{show['id']}"
    # A phone with a share sheet: the system sheet gets the program's address.
    w = await watched_page(browser, PHONE)
    await w.context.add_init_script(
        "navigator.share = async (data) => { (window.__shared ||= []).push(data); };")
    await w.page.goto(url)
    # The viewer taps share on the program's page once it shows the program (a tap before the
    # program has loaded shares the page's own address and title, the brand).
    await expect(w.page.locator("#title")).to_have_text("공유할 방송")
    await w.page.click("#share")
    await w.page.wait_for_function("() => (window.__shared || []).length === 1")
    shared = await w.page.evaluate("window.__shared[0]")
    assert shared == {"title": "공유할 방송", "url": url}
    calendar = w.page.locator("#calendar")
    await expect(calendar).to_be_visible()
    href = await calendar.get_attribute("href")
    assert href == f"/schedule/{show['id']}.ics"
    ics = await (await w.page.request.get(site.url + href)).text()
    assert f"UID:{show['id']}@innotv" in ics and ics.count("BEGIN:VEVENT") == 1
    w.assert_clean()
    await w.context.close()

    # Without one: the address is copied.
    plain = await watched_page(browser, PHONE)
    await plain.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    await plain.context.add_init_script("delete Navigator.prototype.share; delete navigator.share;")
    await plain.page.goto(url)
    assert await plain.page.evaluate("typeof navigator.share") == "undefined"
    await plain.page.click("#share")
    await expect(plain.page.locator("#share-status")).to_have_text("링크를 복사했습니다.")
    assert await plain.page.evaluate("navigator.clipboard.readText()") == url
    plain.assert_clean()
    await plain.context.close()


async def test_a_replay_looks_like_a_replay(browser: Browser, site: Server) -> None:
    show = await program(site, "끝나는 방송", timedelta(minutes=-5), minutes=9)
    room = f"program:{show['id']}"
    hostess = await host_client(site)
    await hostess.join(room)
    opened = await hostess.call("poll:open", {"room": room, "question": "오늘 방송 어땠나요?",
                                              "choices": ["좋아요", "아쉬워요"]})
    assert opened["ok"], opened
    w = await watched_page(browser, PHONE)
    page = w.page
    await page.goto(f"{site.url}/watch/{show['id']}")
    await expect(page.locator("#poll")).to_contain_text("오늘 방송 어땠나요?")
    await expect(page.locator("#viewers")).to_contain_text("시청자 1명")
    await expect(page.locator("#chat-text")).to_be_visible()
    # It ends: the page becomes a replay page without a live count, the old vote or a chat input.
    producer = await site.producer()
    async with producer.post(f"/api/programs/{show['id']}/end") as r:  # as the producer would
        assert r.status == 200, await r.text()
    await expect(page.locator("#state-badge")).to_have_text("종료")
    await expect(page.locator("#poll")).to_be_hidden()
    await expect(page.locator("#viewers")).to_be_hidden()
    await expect(page.locator("#chat-text")).to_be_hidden()
    await expect(page.locator("#calendar")).to_be_hidden()
    await expect(page.locator("#chat-status")).to_have_text("방송 중에 오간 채팅입니다 (읽기 전용).")
    await page.reload()  # the same when opened later
    await expect(page.locator("#state-badge")).to_have_text("종료")
    await expect(page.locator("#poll")).to_be_hidden()
    await expect(page.locator("#viewers")).to_be_hidden()
    await screenshot(page, "watch-replay-390x844")
    await hostess.close()
    w.assert_clean()
    await w.context.close()


async def test_english_mode_is_complete_with_plurals(browser: Browser, site: Server) -> None:
    show = await program(site, "영어 시험 방송", timedelta(minutes=5), minutes=4)
    w = await watched_page(browser, PHONE)
    await w.context.add_init_script("localStorage.setItem('innotv.lang', 'en')")
    page = w.page
    await page.goto(f"{site.url}/watch/{show['id']}")
    await expect(page.locator("#viewers")).to_have_text("1 watching")
    await page.click("#heart")
    await expect(page.locator("#hearts-total")).to_have_text("1")
    await expect(page.locator("#heart")).to_have_attribute("aria-label", "Send a heart · 1 heart")
    await expect(page.locator("#lineup details.past summary")).to_contain_text("past broadcast")
    visible = await page.evaluate(OUR_VISIBLE_TEXT)
    korean = [text for text in visible if await page.evaluate(f"(t) => {HANGUL}.test(t)", text)]
    assert korean == [], korean
    await screenshot(page, "watch-en-390x844")
    # Plurals beyond one, written the English way.
    fans = await asyncio.gather(*(viewer_client(site) for _ in range(2)))
    for fan in fans:
        await fan.join(f"program:{show['id']}")
    await expect(page.locator("#viewers")).to_have_text("3 watching")
    await asyncio.gather(*(fan.call("heart", {"room": f"program:{show['id']}", "count": 10}) for fan in fans))
    await expect(page.locator("#heart")).to_have_attribute("aria-label", "Send a heart · 21 hearts")
    for fan in fans:
        await fan.close()
    w.assert_clean()
    await w.context.close()


async def test_halls_one_heart_a_day_and_the_cases(browser: Browser, site: Server) -> None:
    w = await watched_page(browser, PHONE)
    page = w.page
    await page.goto(f"{site.url}/halls")
    link = page.locator("#halls li[data-id=social-value] .cases-link")
    await expect(link).to_have_text("사례 11건")
    await link.click()
    await page.wait_for_url(f"{site.url}/halls/social-value#cases")
    cases = page.locator("#cases li")
    await expect(cases).to_have_count(11)
    await expect(page.locator("#cases-toggle")).to_have_attribute("aria-expanded", "true")
    await page.click("#cases-toggle")
    await expect(page.locator("#cases")).to_be_hidden()
    await page.click("#cases-toggle")
    await expect(cases.first).to_contain_text("사회적 가치 사례 1")

    before = int(await page.locator("#hall-hearts").inner_text())
    await page.click("#hall-heart")
    await expect(page.locator("#heart-note")).to_have_text("하트를 보냈습니다 (전시관마다 하루 한 번).")
    await expect(page.locator("#hall-hearts")).to_have_text(str(before + 1))
    await expect(page.locator("#hall-heart")).to_have_attribute("aria-pressed", "true")
    await page.click("#hall-heart")
    await expect(page.locator("#heart-note")).to_contain_text("오늘은 이 전시관에 이미 하트를 보냈습니다")
    await page.reload()  # the join tells the page that today's heart is given
    await expect(page.locator("#hall-heart")).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#hall-hearts")).to_have_text(str(before + 1))
    await screenshot(page, "hall-cases-390x844")

    desktop = await watched_page(browser, DESKTOP)
    await desktop.page.goto(f"{site.url}/halls/regional#cases")
    regional = desktop.page.locator("#cases li")
    await expect(regional).to_have_count(17)
    await expect(regional.first).to_contain_text("서울특별시")
    await expect(regional.last).to_contain_text("제주특별자치도")
    await desktop.page.click("#lang")
    await expect(desktop.page.locator("#cases-toggle")).to_have_text("17 cases")
    await expect(regional.first).to_contain_text("Seoul")
    await screenshot(desktop.page, "hall-cases-1280x800")
    for each in (w, desktop):
        each.assert_clean()
        await each.context.close()
