"""The pages in a real browser against a real server: first-run setup, the producer desk, the
viewer lineup, hostile text shown as text, the CSP on every page, and screenshots at phone and
desktop sizes (test-artifacts/screenshots/)."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, expect

from kernel.security import CSP

from ..helpers import HOST, PRODUCER, Server, make_config, running_server
from .conftest import DESKTOP, PHONE, api_login, screenshot, watched_page

pytestmark = pytest.mark.asyncio(loop_scope="module")

SEOUL = ZoneInfo("Asia/Seoul")
HOSTILE = "<img src=x onerror=alert(1)>"
_slots = itertools.count(2)

# Form controls and buttons that a screen reader could not name.
UNNAMED_CONTROLS = """() => Array.from(document.querySelectorAll('input, select, textarea, button'))
  .filter((el) => el.type !== 'hidden' && !el.hidden && el.getAttribute('aria-hidden') !== 'true')
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
    && !el.getAttribute('aria-labelledby') && !(el.tagName === 'BUTTON' && el.textContent.trim()))
  .map((el) => el.id || el.outerHTML.slice(0, 60))"""


def slot(hours: int = 1) -> tuple[str, str]:
    """A free future slot (one per call, days apart) as ISO 8601 with +09:00."""
    day = datetime.now(SEOUL).replace(hour=10, minute=0, second=0, microsecond=0)
    start = day + timedelta(days=next(_slots))
    return start.isoformat(), (start + timedelta(hours=hours)).isoformat()


async def create_program(site: Server, title: str, starts_at: str, ends_at: str) -> dict[str, object]:
    client = await site.producer()
    body = {"title": title, "kind": "live", "starts_at": starts_at, "ends_at": ends_at}
    async with client.post("/api/programs", json=body) as response:
        assert response.status == 201, await response.text()
        return dict(await response.json())


async def test_setup_page_creates_the_first_producer(browser: Browser, tmp_path: Path) -> None:
    config = make_config("sqlite", tmp_path / "data", None)
    async with running_server(config) as fresh:
        token = await fresh.parts.auth.first_run_token()
        assert token
        w = await watched_page(browser)
        page = w.page
        await page.goto(f"{fresh.url}/setup#token={token}")
        # The token leaves the address bar at once.
        assert "token" not in page.url
        await page.fill("#username", "chief")
        await page.fill("#password", "a-long-password-1")
        await page.fill("#password2", "a-different-one-2")
        await page.click("#setup-submit")
        await expect(page.locator("#setup-status")).to_contain_text("두 비밀번호가 다릅니다")
        await page.fill("#password2", "a-long-password-1")
        await page.click("#setup-submit")
        await page.wait_for_url(f"{fresh.url}/produce")
        await expect(page.locator("#desk")).to_be_visible()
        await expect(page.locator("#who")).to_contain_text("chief")
        account = await fresh.parts.auth.store.get_account("chief")
        assert account is not None and account.role == "producer"
        # The link is spent: a second visit explains so in Korean.
        await page.goto(f"{fresh.url}/setup#token={token}")
        await page.fill("#username", "second")
        await page.fill("#password", "a-long-password-1")
        await page.fill("#password2", "a-long-password-1")
        await page.click("#setup-submit")
        await expect(page.locator("#setup-status")).to_contain_text("제작자 계정이 이미 있습니다")
        w.assert_clean()
        await w.context.close()


async def test_producer_creates_a_program_and_viewers_see_it(browser: Browser, site: Server) -> None:
    await site.producer()  # the account exists
    w = await watched_page(browser, DESKTOP)
    page = w.page
    await page.goto(f"{site.url}/produce")
    await page.fill("#login-username", PRODUCER[0])
    await page.fill("#login-password", PRODUCER[1])
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#desk")).to_be_visible()
    start, end = slot()
    await page.fill("#f-title", "전지적 90년대생 시점")
    await page.fill("#f-title-en", "The 90s-born view")
    await page.fill("#f-start", start[:16])
    await page.fill("#f-end", end[:16])
    await page.click("#save")
    await expect(page.locator("#form-status")).to_have_text("저장했습니다.")
    await expect(page.locator("#lineup-body")).to_contain_text("전지적 90년대생 시점")
    programs = await (await page.request.get(f"{site.url}/api/programs")).json()
    created = [p for p in programs["programs"] if p["title"] == "전지적 90년대생 시점"]
    assert len(created) == 1 and created[0]["starts_at"] == start

    viewer = await watched_page(browser, PHONE)
    await viewer.page.goto(f"{site.url}/")
    lineup = viewer.page.locator("#lineup")
    await expect(lineup).to_contain_text("전지적 90년대생 시점")
    # English toggle: remembered, and titles switch to their English version.
    await viewer.page.click("#lang")
    await expect(lineup).to_contain_text("The 90s-born view")
    await viewer.page.reload()
    await expect(viewer.page.locator("#lineup-h")).to_have_text("The ten-day lineup")
    w.assert_clean()
    viewer.assert_clean()
    await w.context.close()
    await viewer.context.close()


async def test_a_conflict_is_shown_inline_naming_the_other_program(browser: Browser, site: Server) -> None:
    start, end = slot(hours=2)
    await create_program(site, "정부혁신 우수사례 경진대회", start, end)
    w = await watched_page(browser, PHONE)
    await api_login(w.context, site.url, *PRODUCER)
    page = w.page
    await page.goto(f"{site.url}/produce")
    await expect(page.locator("#desk")).to_be_visible()
    later = start[:11] + "11:00"
    await page.fill("#f-title", "겹치는 방송")
    await page.fill("#f-start", later)
    await page.fill("#f-end", start[:11] + "13:00")
    await page.click("#save")
    status = page.locator("#form-status")
    await expect(status).to_contain_text("다른 방송과 시간이 겹칩니다")
    await expect(status).to_contain_text("정부혁신 우수사례 경진대회")
    await expect(page.locator("#f-start")).to_have_attribute("aria-invalid", "true")
    await screenshot(page, "produce-conflict-390x844")
    programs = await (await page.request.get(f"{site.url}/api/programs")).json()
    assert "겹치는 방송" not in [p["title"] for p in programs["programs"]]
    w.assert_clean()
    await w.context.close()


async def test_producer_uploads_premiere_media(browser: Browser, site: Server, tmp_path: Path) -> None:
    clip = tmp_path / "opening.mp4"
    ffmpeg = await asyncio.create_subprocess_exec(
        "ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=2",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:v", "libx264", "-preset", "ultrafast",
        "-c:a", "aac", "-shortest", str(clip))
    assert await ffmpeg.wait() == 0
    start, end = slot()
    client = await site.producer()
    body = {"title": "개막식", "kind": "premiere", "starts_at": start, "ends_at": end}
    async with client.post("/api/programs", json=body) as response:
        assert response.status == 201
    w = await watched_page(browser, DESKTOP)
    await api_login(w.context, site.url, *PRODUCER)
    page = w.page
    await page.goto(f"{site.url}/produce")
    await page.locator("#lineup-body tr", has_text="개막식").locator("button", has_text="수정").click()
    await expect(page.locator("#media-status")).to_have_text("아직 올린 파일이 없습니다.")
    await page.set_input_files("#media-file", str(clip))
    await page.click("#media-upload")
    await expect(page.locator("#media-status")).to_contain_text("준비 완료", timeout=60_000)
    w.assert_clean()
    await w.context.close()


async def test_producer_issues_a_key_and_adds_a_simulcast_target(browser: Browser, site: Server) -> None:
    start, end = slot()
    await create_program(site, "혁신 토크", start, end)
    w = await watched_page(browser, PHONE)
    await api_login(w.context, site.url, *PRODUCER)
    page = w.page
    await page.goto(f"{site.url}/produce")
    await page.locator("#lineup-body tr", has_text="혁신 토크").locator("button", has_text="수정").click()
    await page.click("#issue-key")
    await expect(page.locator("#key-box")).to_be_visible()
    key = (await page.locator("#key-value").inner_text()).strip()
    assert len(key) >= 20
    await page.fill("#simulcast-url", "rtmp://a.rtmp.youtube.com/live2/secret-key-1234")
    await page.click("#simulcast-add")
    target = page.locator("#simulcast-list li")
    await expect(target).to_have_count(1)
    await expect(target).to_contain_text("a.rtmp.youtube.com")
    await expect(target).not_to_contain_text("secret-key-1234")
    await page.fill("#simulcast-url", "http://example.com/x")
    await page.click("#simulcast-add")
    await expect(page.locator("#simulcast-status")).to_contain_text("rtmp:// 또는 rtmps://")
    await target.locator("button").click()
    await expect(target).to_have_count(0)
    await screenshot(page, "produce-details-390x844")
    w.assert_clean()
    await w.context.close()


async def test_lineup_export_and_import(browser: Browser, site: Server, tmp_path: Path) -> None:
    w = await watched_page(browser, DESKTOP)
    await api_login(w.context, site.url, *PRODUCER)
    page = w.page
    await page.goto(f"{site.url}/produce")
    await page.wait_for_selector("#lineup-body tr")
    async with page.expect_download() as info:
        await page.click("#export")
    downloaded = await (await info.value).path()
    exported = json.loads(await asyncio.to_thread(downloaded.read_text))
    api = await (await page.request.get(f"{site.url}/api/programs")).json()
    assert exported == api

    (a_start, a_end), (b_start, b_end) = slot(), slot()
    good = {"programs": [
        {"title": "가져온 방송 1", "kind": "live", "starts_at": a_start, "ends_at": a_end},
        {"title": "가져온 방송 2", "kind": "live", "starts_at": b_start, "ends_at": b_end},
    ]}
    (tmp_path / "good.json").write_text(json.dumps(good, ensure_ascii=False))
    await page.set_input_files("#import-file", str(tmp_path / "good.json"))
    await expect(page.locator("#lineup-status")).to_have_text("2개 방송을 가져왔습니다.")
    await expect(page.locator("#lineup-body")).to_contain_text("가져온 방송 2")

    # The second program overlaps the first: nothing of the file stays.
    c_start, c_end = slot()
    bad = {"programs": [
        {"title": "남으면 안 되는 방송", "kind": "live", "starts_at": c_start, "ends_at": c_end},
        {"title": "겹치는 가져오기", "kind": "live", "starts_at": c_start, "ends_at": c_end},
    ]}
    (tmp_path / "bad.json").write_text(json.dumps(bad, ensure_ascii=False))
    await page.set_input_files("#import-file", str(tmp_path / "bad.json"))
    await expect(page.locator("#lineup-status")).to_contain_text("아무것도 바뀌지 않음")
    lineup = await (await page.request.get(f"{site.url}/api/programs")).json()
    titles = [p["title"] for p in lineup["programs"]]
    assert "남으면 안 되는 방송" not in titles and "가져온 방송 1" in titles
    w.assert_clean()
    await w.context.close()


async def test_hostile_title_shows_as_text_and_runs_nothing(browser: Browser, site: Server) -> None:
    start, end = slot()
    program = await create_program(site, HOSTILE, start, end)
    w = await watched_page(browser, DESKTOP)
    page = w.page
    await page.goto(f"{site.url}/watch/{program['id']}")
    await expect(page.locator("#title")).to_have_text(HOSTILE)
    await expect(page.locator("#lineup")).to_contain_text(HOSTILE)
    assert await page.locator("img").count() == 0
    await api_login(w.context, site.url, *PRODUCER)
    await page.goto(f"{site.url}/produce")
    await expect(page.locator("#lineup-body")).to_contain_text(HOSTILE)
    assert await page.locator("img").count() == 0
    w.assert_clean()
    await w.context.close()


async def test_floating_hearts_honour_reduced_motion(browser: Browser, site: Server) -> None:
    start, end = slot()
    program = await create_program(site, "하트 시험", start, end)
    counts: dict[str, int] = {}
    for motion in ("no-preference", "reduce"):
        w = await watched_page(browser, PHONE, reduced_motion=motion)
        await w.page.goto(f"{site.url}/watch/{program['id']}")
        await expect(w.page.locator("#viewers")).not_to_be_empty()  # joined the room
        await w.page.click("#heart")
        await expect(w.page.locator("#hearts-total")).not_to_have_text("0")
        counts[motion] = await w.page.locator(".float-heart").count()
        w.assert_clean()
        await w.context.close()
    assert counts["no-preference"] >= 1 and counts["reduce"] == 0, counts


async def test_produce_needs_a_producer(browser: Browser, site: Server) -> None:
    await site.host()
    w = await watched_page(browser, PHONE)
    await w.page.goto(f"{site.url}/produce")
    await w.page.fill("#login-username", HOST[0])
    await w.page.fill("#login-password", HOST[1])
    await w.page.click("#login-form button[type=submit]")
    await expect(w.page.locator("#login-box .status")).to_contain_text("제작자 계정이 필요합니다")
    await expect(w.page.locator("#desk")).to_be_hidden()
    await w.page.fill("#login-password", "wrong-password-9")
    await w.page.click("#login-form button[type=submit]")
    await expect(w.page.locator("#login-box .status")).to_contain_text("아이디 또는 비밀번호가 틀렸습니다")
    w.assert_clean()
    await w.context.close()


async def test_every_page_carries_the_csp(site: Server) -> None:
    client = site.client()
    paths = ["/", "/watch/x", "/halls", "/halls/x", "/host", "/produce", "/setup",
             "/static/js/watch.js", "/static/css/app.css", "/static/vendor/hls.min.mjs"]
    for path in paths:
        async with client.get(path) as response:
            assert response.status == 200, path
            assert response.headers["Content-Security-Policy"] == CSP, path
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            if path.endswith((".js", ".mjs")):
                assert response.content_type in ("text/javascript", "application/javascript"), path
    assert "script-src 'self'" in CSP and "'unsafe-inline'" not in CSP


async def test_screenshots_of_every_page(browser: Browser, site: Server) -> None:
    """Each page at 390x844 and 1280x800, with no CSP refusal or script error on any."""
    start, end = slot()
    program = await create_program(site, "10일간의 정부혁신 이야기", start, end)
    for name, viewport in (("390x844", PHONE), ("1280x800", DESKTOP)):
        w = await watched_page(browser, viewport)
        page = w.page
        for label, path, ready in (
            ("watch", f"/watch/{program['id']}", "#lineup li"),
            ("home", "/", "#lineup li"),
            ("halls", "/halls", "#halls li"),
            ("setup", "/setup", "#setup-status"),
            ("login", "/produce", "#login-form"),
        ):
            await page.goto(site.url + path)
            await page.wait_for_selector(ready)
            await screenshot(page, f"{label}-{name}")
            assert await page.evaluate(UNNAMED_CONTROLS) == [], label
        await api_login(w.context, site.url, *PRODUCER)
        await page.goto(f"{site.url}/produce")
        await page.wait_for_selector("#lineup-body tr")
        await screenshot(page, f"produce-{name}")
        assert await page.evaluate(UNNAMED_CONTROLS) == [], "produce"
        await page.goto(f"{site.url}/host?program={program['id']}")
        await page.wait_for_selector("#program option", state="attached")
        await screenshot(page, f"host-{name}")
        assert await page.evaluate(UNNAMED_CONTROLS) == [], "host"
        w.assert_clean()
        await w.context.close()
    # The English version, as a visitor who chose it earlier sees it.
    w = await watched_page(browser, DESKTOP)
    await w.context.add_init_script("localStorage.setItem('innotv.lang', 'en')")
    await w.page.goto(f"{site.url}/watch/{program['id']}")
    await expect(w.page.locator("#lineup-h")).to_have_text("The ten-day lineup")
    await expect(w.page.locator("html")).to_have_attribute("lang", "en")
    await screenshot(w.page, "watch-en-1280x800")
    w.assert_clean()
    await w.context.close()


# Joins `room` on a fresh Socket.IO connection of the page (its cookies) and answers the raw ack.
RAW_JOIN = """async (room) => {
  const { ask, connect } = await import('/static/js/socket.js');
  const socket = connect();
  try { return await ask(socket, 'join', { room }); } finally { socket.close(); }
}"""


async def test_blocked_words_survive_a_console_reload(browser: Browser, site: Server) -> None:
    """The host's join ack carries the stored blocked words, so a reloaded console shows them and
    saving again keeps them; a viewer's join ack never carries the list."""
    await site.host()
    start, end = slot()
    client = await site.producer()
    body = {"title": "금칙어 시험", "kind": "live", "starts_at": start, "ends_at": end, "hosts": [HOST[0]]}
    async with client.post("/api/programs", json=body) as response:
        assert response.status == 201, await response.text()
        program = await response.json()
    room = f"program:{program['id']}"
    w = await watched_page(browser, DESKTOP)
    await api_login(w.context, site.url, *HOST)
    page = w.page
    await page.goto(f"{site.url}/host?program={program['id']}")
    await expect(page.locator("#console")).to_have_attribute("data-joined", room)
    await expect(page.locator("#blocked")).to_have_value("")
    await expect(page.locator("#blocked-save")).to_be_enabled()  # only once the stored list is shown
    await page.fill("#blocked", "스팸, 광고")
    await page.click("#blocked-save")
    await expect(page.locator("#mod-status")).to_have_text("금칙어 2개를 저장했습니다.")
    await expect(page.locator("#blocked")).to_have_value("광고, 스팸")

    # Reloaded, the console shows the stored list; an unrelated change and a save keep it.
    await page.reload()
    await expect(page.locator("#console")).to_have_attribute("data-joined", room)
    await expect(page.locator("#blocked")).to_have_value("광고, 스팸")
    await page.select_option("#slow", "5")
    await expect(page.locator("#actions li[data-action=slow]")).to_have_count(1)
    await expect(page.locator("#blocked-save")).to_be_enabled()
    await page.click("#blocked-save")
    await expect(page.locator("#mod-status")).to_have_text("금칙어 2개를 저장했습니다.")
    host_ack = await page.evaluate(RAW_JOIN, room)
    assert host_ack["words"] == ["광고", "스팸"] and host_ack["slow"] == 5, host_ack

    viewer = await watched_page(browser, PHONE)
    await viewer.page.goto(f"{site.url}/watch/{program['id']}")
    viewer_ack = await viewer.page.evaluate(RAW_JOIN, room)
    assert viewer_ack["ok"] is True and viewer_ack["you"]["role"] == "viewer"
    assert "words" not in viewer_ack, viewer_ack
    for each in (w, viewer):
        each.assert_clean()
        await each.context.close()


# room.js against a stand-in socket: the page-side contract of the room client, step by step.
ROOM_CLIENT = """async () => {
  const { openRoom } = await import('/static/js/room.js');
  const { ChatView } = await import('/static/js/chat.js');
  const listeners = {};
  const sent = [];
  const acks = [];
  const socket = {
    connected: true,
    on(event, fn) { (listeners[event] ||= []).push(fn); },
    off(event, fn) { listeners[event] = listeners[event].filter((f) => f !== fn); },
    emit(event, payload) { sent.push([event, payload]); },
    timeout() { return this; },
    async emitWithAck(event, payload) { sent.push([event, payload]); return acks.shift(); },
  };
  const fire = (event, payload) => (listeners[event] || []).forEach((fn) => fn(payload));
  const program = (state, version) => ({ id: 'p1', state, version, title: 't' });
  const ack = (extra) => ({ ok: true, room: 'program:p1', deleted: [],
    hearts: { room: 'program:p1', total: 3, per_minute: 1 }, viewers: 2, pinned: null, slow: 0,
    read_only: false, poll: null, questions: [], program: program('live', 1),
    you: { viewer: 'v1', nickname: 'n', role: 'viewer' }, ...extra });
  const msg = (id, text) => ({ id, viewer: 'v2', nickname: 'a', text, ts: 1 });
  const got = { joined: [], viewers: [], program: [], notice: [] };
  const chat = new ChatView(document.createElement('ul'));
  let joined;
  const first = new Promise((resolve) => { joined = resolve; });
  acks.push(ack({ messages: [msg('m1', 'hi')] }));
  const room = openRoom(socket, 'program:p1', {
    joined: (state, rejoin) => { got.joined.push({ state, rejoin }); joined(); },
    viewers: (count) => got.viewers.push(count),
    program: (p) => got.program.push(p.state),
    notice: (n) => got.notice.push(n.code),
  }, chat);
  await first;
  fire('messages', { room: 'program:p1', items: [msg('m2', 'yo')] });
  fire('messages', { room: 'program:other', items: [msg('x9', 'no')] });
  fire('viewers', { room: 'program:p1', count: 7 });
  fire('viewers', { room: 'hall:x', count: 99 });
  fire('program', program('ended', 1));
  fire('program', program('live', 1));  // older: same version, earlier state
  fire('program', { ...program('live', 1), id: 'p2' });  // another program
  fire('notice', { code: 'slow_mode', message: 'm', room: 'program:p1' });
  const second = new Promise((resolve) => { joined = resolve; });
  acks.push(ack({ messages: [], recovered: true, words: ['w'] }));
  fire('notice', { code: 'resync', message: 'm', rooms: ['program:p1'] });  // rejoins with since
  await second;
  const texts = Array.from(chat.list.querySelectorAll('li .text')).map((li) => li.textContent);
  const rejoin = got.joined[1];
  room.close();
  const left = Object.entries(listeners).filter(([, fns]) => fns.length).map(([e]) => e);
  return { sent, texts, viewers: got.viewers, program: got.program, notice: got.notice,
    first: got.joined[0].state, rejoin: rejoin.rejoin, words: rejoin.state.words, left };
}"""


async def test_room_client_hands_pages_exactly_the_server_fields(browser: Browser, site: Server) -> None:
    w = await watched_page(browser, PHONE)
    await w.page.goto(f"{site.url}/halls")
    result = await w.page.evaluate(ROOM_CLIENT)
    # One join, then after the resync notice a join with `since` = the newest message shown.
    assert result["sent"][0] == ["join", {"room": "program:p1"}]
    assert result["sent"][1] == ["join", {"room": "program:p1", "since": "m2"}]
    assert result["sent"][2] == ["leave", {"room": "program:p1"}]
    assert result["texts"] == ["hi", "yo"]  # another room's messages stay out
    assert result["viewers"] == [7]
    assert result["program"] == ["ended"]  # the late, older copy and another program's are ignored
    assert result["notice"] == ["slow_mode"]
    first = result["first"]
    assert first["hearts"]["total"] == 3 and first["viewers"] == 2 and first["read_only"] is False
    assert first["words"] is None  # a viewer's ack has none
    assert result["rejoin"] is True and result["words"] == ["w"]
    assert result["left"] == []  # close() takes every listener off the socket
    w.assert_clean()
    await w.context.close()
