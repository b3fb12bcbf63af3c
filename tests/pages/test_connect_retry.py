"""A page whose Socket.IO connection is refused by the per-address limits (an office arriving at
once) connects by itself a moment later, after the time the server names."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Browser

from ..helpers import make_config, running_server
from .conftest import watched_page

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_a_refused_page_connects_again_by_itself(browser: Browser, tmp_path: Path) -> None:
    # One new connection per address in the bucket, one more every two seconds.
    config = make_config("sqlite", tmp_path / "d", None, chat_conn_burst_per_ip=1,
                         chat_conn_rate_per_ip=0.5)
    async with running_server(config) as srv:
        conns = srv.parts.chat.service.conns
        first = await watched_page(browser)
        await first.page.goto(f"{srv.url}/halls")
        second = await watched_page(browser)
        await second.page.goto(f"{srv.url}/halls")
        deadline = asyncio.get_running_loop().time() + 20
        while len(conns) < 2:  # the server's view: no event to await across the browser
            assert asyncio.get_running_loop().time() < deadline, f"{len(conns)} connected"
            await asyncio.sleep(0.1)
        assert await srv.metric("innotv_chat_connections_refused_total") >= 1  # refused first
        first.assert_clean()
        second.assert_clean()
        await first.context.close()
        await second.context.close()
