"""A second language (English) is captioned by its own captioner with its own turn, and is its own
subtitle rendition in the multivariant playlist."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from live.ladder import Rung
from live.media import master_text
from live.subtitles import media_lines
from tests.chat.clients import viewer
from tests.chat.conftest import close_all
from tests.helpers import Server, make_config, running_server

from .conftest import captioner
from .support import program_on_air


@pytest.fixture
async def bilingual(tmp_path: Path) -> AsyncIterator[Server]:
    config = make_config("sqlite", tmp_path / "data", None, captions_languages="ko,en")
    async with running_server(config) as srv:
        try:
            yield srv
        finally:
            await close_all()


async def test_each_language_has_its_own_captioner_and_turn(bilingual: Server) -> None:
    server = bilingual
    program_id = await program_on_air(server)
    room = f"program:{program_id}"
    korean, english = await captioner(server, "cap1"), await captioner(server, "cap2")
    watcher = await viewer(server)
    for client in (korean, english, watcher):
        await client.join(room)
    assert (await korean.call("caption", {"room": room, "text": "안녕하세요"}))["lang"] == "ko"
    assert (await english.call("caption", {"room": room, "text": "Hello", "lang": "en"}))["lang"] == "en"
    not_yours = await english.call("caption", {"room": room, "text": "끼어들기"})
    assert not_yours["error"]["code"] == "not_your_turn"
    await watcher.rec.wait_for("captions", lambda f: any(i["lang"] == "en" for i in f["items"]))
    async with server.client().get(f"/api/programs/{program_id}/captions") as resp:
        body = await resp.json()
    assert body["languages"] == ["ko", "en"]
    assert [(i["lang"], i["text"], i["by"]) for i in body["items"]] == [("ko", "안녕하세요", "cap1"),
                                                                        ("en", "Hello", "cap2")]
    assert sorted((t["lang"], t["holder"]) for t in body["turns"]) == [("en", "cap2"), ("ko", "cap1")]


def test_each_language_is_a_subtitle_rendition() -> None:
    text = master_text((Rung("240p", 320, 240, 15, 300),), {"240p": "avc1.42e01e"}, "live.m3u8",
                       subtitles=media_lines(["ko", "en"]))
    media = [line for line in text.splitlines() if line.startswith("#EXT-X-MEDIA:")]
    assert media == [
        '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="한국어",LANGUAGE="ko",DEFAULT=YES,AUTOSELECT=YES,'
        'FORCED=NO,CHARACTERISTICS="public.accessibility.transcribes-spoken-dialog",URI="subs/ko/live.m3u8"',
        '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,'
        'FORCED=NO,CHARACTERISTICS="public.accessibility.transcribes-spoken-dialog",URI="subs/en/live.m3u8"',
    ]
    assert text.splitlines()[-2].endswith(',SUBTITLES="subs"')
