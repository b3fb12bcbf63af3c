"""Per-address connection limits that stop a flooder and not an office: 2,000 viewers behind one
address all join and chat with the default settings, while a flood of new connections from one
address is refused with a CONNECT_ERROR code and another address still connects."""

from __future__ import annotations

import asyncio
import json
import resource
from pathlib import Path

import pytest

from tests.chat.clients import HALL
from tests.chat.raw import Raw
from tests.helpers import Server, make_config, running_server

OFFICE = 2000


async def attempt(url: str, local_host: str | None = None) -> tuple[Raw, dict[str, object] | None]:
    """One new connection: (the client, None once connected) or (the client, the CONNECT_ERROR's
    data) when refused."""
    raw = await Raw.open(url, local_host)
    opened = await raw.text(20)
    assert opened.startswith("0"), opened
    raw.send("40")
    reply = await raw.text(20)
    if reply.startswith("44"):
        return raw, json.loads(reply[2:])["data"]
    assert reply.startswith("40{"), reply
    return raw, None


async def office_viewer(url: str, refusals: list[str]) -> Raw:
    """Connect and join as a viewer's page would: after a refusal, wait what it says and retry."""
    while True:
        raw, refused = await attempt(url)
        if refused is None:
            break
        refusals.append(str(refused["code"]))
        assert refused["code"] == "connect_rate_limited", refused
        raw.abort()
        await asyncio.sleep(float(refused["retry_after"]))  # type: ignore[arg-type]
    raw.send('421["join",{"room":"' + HALL + '"}]')
    ack = await raw.until("431[", 30)
    assert json.loads(ack[3:])[0]["ok"], ack
    return raw


@pytest.fixture
def many_files() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = OFFICE * 2 + 500  # both ends of every connection live in this process
    if hard < need:
        pytest.skip(f"needs {need} open files, the hard limit is {hard}")
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def test_two_thousand_viewers_behind_one_address_join_and_chat(
    many_files: None, tmp_path: Path
) -> None:
    async with running_server(make_config("sqlite", tmp_path / "d", None)) as srv:
        refusals: list[str] = []
        viewers = await asyncio.gather(*(office_viewer(srv.url, refusals) for _ in range(OFFICE)))
        service = srv.parts.chat.service
        assert len(service.conns) == OFFICE and service.members.count(HALL) == OFFICE
        # All of them arrived in the same second or two: some were asked to come back a moment
        # later, none was turned away for good.
        assert set(refusals) <= {"connect_rate_limited"}
        # 100 of them chat; every one of the 2,000 receives the last message, the senders their acks.
        senders = 100
        last = f'"office {senders - 1}"'

        async def follow(raw: Raw, ack: str | None) -> None:
            acked, seen = ack is None, False
            while not (acked and seen):
                text = await raw.text(30)
                if ack is not None and text.startswith(ack):
                    assert json.loads(text[len(ack) - 1 :])[0]["ok"], text
                    acked = True
                seen = seen or last in text

        following = [asyncio.ensure_future(follow(raw, f"43{i + 2}[" if i < senders else None))
                     for i, raw in enumerate(viewers)]
        for i, raw in enumerate(viewers[:senders]):
            raw.send(f'42{i + 2}["chat",{{"room":"{HALL}","text":"office {i}"}}]')
        await asyncio.gather(*following)
        for raw in viewers:
            raw.abort()


async def test_a_connection_flood_is_refused_while_another_address_connects(tmp_path: Path) -> None:
    config = make_config("sqlite", tmp_path / "d", None, chat_conn_burst_per_ip=20, chat_conn_rate_per_ip=1)
    async with running_server(config) as srv:
        results = await asyncio.gather(*(attempt(srv.url) for _ in range(40)))
        refused = [data for _, data in results if data is not None]
        assert 15 <= len(refused) <= 20, len(refused)  # 20 in the bucket, about 1 more a second
        for data in refused:
            assert data["code"] == "connect_rate_limited"
            assert 1.0 <= float(data["retry_after"]) <= 20.0  # type: ignore[arg-type]
        # a refused connection is closed by the server, not left open
        for raw, data in results:
            if data is not None:
                await raw.closed()
        assert len(srv.parts.chat.lean.links) == 40 - len(refused)
        # another address is not held back by the flood
        other, data = await attempt(srv.url, local_host="127.0.0.2")
        assert data is None
        other.send('421["join",{"room":"' + HALL + '"}]')
        assert json.loads((await other.until("431["))[3:])[0]["ok"]
        assert await srv.metric("innotv_chat_connections_refused_total") == len(refused)
        for raw, _ in [*results, (other, None)]:
            raw.abort()


async def test_open_connections_per_address_are_capped(tmp_path: Path) -> None:
    """The cap still exists (far higher by default); past it: `too_many_connections`."""
    async with running_server(make_config("sqlite", tmp_path / "d", None, chat_max_conns_per_ip=3)) as srv:
        first = [await attempt(srv.url) for _ in range(3)]
        assert all(data is None for _, data in first)
        raw, data = await attempt(srv.url)
        assert data == {"code": "too_many_connections"}
        for r, _ in [*first, (raw, None)]:
            r.abort()


async def polling_connect(srv: Server) -> str:
    """A long-polling Socket.IO CONNECT by hand: the server's answer packet ("40..." or "44...")."""
    client = srv.client(origin=False)
    base = "/socket.io/?EIO=4&transport=polling"
    async with client.get(base) as r:
        assert r.status == 200, await r.text()
        sid = json.loads((await r.text())[1:])["sid"]
    async with client.post(f"{base}&sid={sid}", data="40") as r:
        assert r.status == 200
    async with client.get(f"{base}&sid={sid}") as r:
        return (await r.text()).split("\x1e")[0]


async def test_long_polling_sessions_pay_the_bucket_and_count_against_the_cap(tmp_path: Path) -> None:
    config = make_config("sqlite", tmp_path / "d", None, chat_conn_burst_per_ip=3,
                         chat_conn_rate_per_ip=0.01, chat_max_conns_per_ip=2)
    async with running_server(config) as srv:
        assert (await polling_connect(srv)).startswith("40")
        assert (await polling_connect(srv)).startswith("40")
        # the third session's handshake is paid for, but its CONNECT passes the cap
        refused = await polling_connect(srv)
        assert refused.startswith("44"), refused
        assert json.loads(refused[2:])["data"] == {"code": "too_many_connections"}
        # the bucket is empty now: a new Engine.IO session is refused before it exists
        async with srv.client().get("/socket.io/?EIO=4&transport=polling") as r:
            assert r.status == 429
            assert (await r.json())["error"]["code"] == "connect_rate_limited"
            assert int(r.headers["Retry-After"]) >= 1
