"""The deployment kit as one stack: `deploy/stack up` starts Debian's nginx (TLS, HTTP/2), a
redis-server of its own and two `innotv serve` processes on one data directory; every client here
talks to nginx only, and innotv's own counters (each process's /metrics, read on its port) say
which process did the work.

- chat crosses the processes, over WebSocket and over long-polling (kept on one process by nginx);
- WHIP through nginx reaches the process that holds the program, HLS goes through nginx's cache
  (many players waiting on one blocking playlist reload cost innotv one request per rung, and one
  per rung for the segment), and when the other process is killed with SIGKILL during the show,
  its viewers reconnect through nginx, recover what they missed with `since`, no acknowledged
  message is lost and the broadcast carries on.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from live.tracks import whip_publish
from tests.chat.clients import ChatClient, connect, cookie_header
from tests.helpers import PRODUCER
from tests.live.support import decode, make_media_file, segments

pytestmark = [pytest.mark.stack, pytest.mark.media]

ROOT = Path(__file__).resolve().parents[2]
SMALL_LADDER = {"INNOTV_LIVE_LADDER": "240p15:300,120p15:120", "INNOTV_LIVE_SEGMENT_S": "1",
                "INNOTV_LIVE_SLATE_AFTER_S": "1", "INNOTV_LIVE_X264_PRESET": "ultrafast",
                "INNOTV_LOG_LEVEL": "WARNING"}


@dataclass
class Stack:
    url: str  # nginx, https, as the clients here address it
    cert: str
    origins: dict[int, str]  # innotv pid -> its own http URL (for /metrics only)
    redis_url: str
    state: dict[str, Any]

    def ssl(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cert)

    def session(self, local_addr: str | None = None, cookie: str = "") -> aiohttp.ClientSession:
        """A browser-like client of nginx: its own cookies (or `cookie` on every request), our
        Origin, optionally its own source address."""
        connector = aiohttp.TCPConnector(ssl=self.ssl(), limit=0,
                                         local_addr=(local_addr, 0) if local_addr else None)
        headers = {"Origin": self.url, **({"Cookie": cookie} if cookie else {})}
        return aiohttp.ClientSession(self.url, connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True),
                                     headers=headers)

    async def metric(self, pid: int, name: str, **labels: str) -> float:
        """A series of one process's /metrics (0 when absent), read on its own port."""
        label_text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        want = f"{name}{{{label_text}}}" if labels else name
        async with aiohttp.ClientSession() as client, client.get(self.origins[pid] + "/metrics") as resp:
            assert resp.status == 200
            for line in (await resp.text()).splitlines():
                if line.rsplit(" ", 1)[0] == want:
                    return float(line.rsplit(" ", 1)[1])
        return 0.0

    async def total(self, name: str, **labels: str) -> float:
        return sum([await self.metric(pid, name, **labels) for pid in self.origins])


def _run_stack(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("INNOTV_")}, **SMALL_LADDER,
           "INNOTV_PYTHON": sys.executable}
    return subprocess.run([str(ROOT / "deploy" / "stack"), *args], capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    directory = tmp_path_factory.mktemp("stack")
    started = _run_stack("up", "--dir", str(directory), "--processes", "2", "--json")
    assert started.returncode == 0, started.stderr + started.stdout
    state = json.loads(started.stdout)
    port = state["nginx"]["port"]
    try:
        yield Stack(f"https://127.0.0.1:{port}", state["cert"],
                    {p["pid"]: p["url"] for p in state["innotv"]}, state["redis_url"], state)
    finally:
        stopped = _run_stack("down", "--dir", str(directory))
        assert stopped.returncode == 0, stopped.stderr
        for proc in [*state["innotv"], state["nginx"], state["redis"]]:
            gone = not Path(f"/proc/{proc['pid']}").exists() or _zombie(proc["pid"])
            assert gone, f"{proc['name']} still runs"


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return True


async def _viewer(stack: Stack, sessions: list[aiohttp.ClientSession], *, transports: list[str],
                  local_addr: str | None = None, reconnection: bool = False) -> ChatClient:
    """A viewer of the page behind nginx: the viewer cookie from GET /api/session, then Socket.IO,
    both through nginx (from `local_addr` when given)."""
    session = stack.session(local_addr)
    sessions.append(session)
    async with session.get("/api/session") as resp:
        assert resp.status == 200
    cookie = cookie_header(session, stack.url)
    # Socket.IO makes a new HTTP session for every (re)connection; each carries the viewer cookie.
    return await connect(stack.url, cookies="", transports=transports, reconnection=reconnection,
                         reconnection_delay=0.2, randomization_factor=0.2,
                         http_session=lambda: stack.session(local_addr, cookie))


async def _placed(stack: Stack, make: Callable[[], Awaitable[ChatClient]]) -> tuple[ChatClient, int]:
    """A new client and the innotv process (pid) it landed on: the one whose connection count rose."""
    before = {pid: await stack.metric(pid, "innotv_chat_connections") for pid in stack.origins}
    client = await make()
    after = {pid: await stack.metric(pid, "innotv_chat_connections") for pid in stack.origins}
    rose = [pid for pid in stack.origins if after[pid] == before[pid] + 1]
    assert len(rose) == 1, (before, after)
    return client, rose[0]


async def _on_each_process(stack: Stack, make: Callable[[int], Awaitable[ChatClient]],
                           tries: int = 30) -> dict[int, ChatClient]:
    """One client per innotv process, made by `make(i)` until every process has one."""
    found: dict[int, ChatClient] = {}
    for i in range(tries):
        client, pid = await _placed(stack, lambda i=i: make(i))  # type: ignore[misc]
        if pid in found:
            await client.close()
        else:
            found[pid] = client
        if len(found) == len(stack.origins):
            return found
    raise AssertionError(f"{tries} clients never reached every process: {list(found)}")


async def _curl(stack: Stack, *args: str) -> str:
    """curl (HTTP/2 capable, unlike aiohttp) against nginx; prints what `-w` asks for."""
    proc = await asyncio.create_subprocess_exec(
        "curl", "-s", "-o", "/dev/null", "--cacert", stack.cert, *args,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_https_with_http2_redirects_and_a_closed_metrics_page(stack: Stack) -> None:
    """HTTP/2 over TLS, a state-changing request over HTTP/2 passes innotv's origin check (the Host
    nginx passes on is the one the browser used), http moves to https, /metrics stays internal."""
    status = await _curl(stack, "--http2", "-w", "%{http_version} %{http_code}", stack.url + "/healthz")
    assert status == "2 200"
    refused = await _curl(stack, "--http2", "-w", "%{http_version} %{http_code}", "-X", "POST",
                          "-H", f"Origin: {stack.url}", "-H", "Content-Type: application/json",
                          "--data", '{"username": "nobody", "password": "wrong-password-1"}',
                          stack.url + "/api/session")
    assert refused == "2 401", refused  # invalid_credentials, not 403 csrf_failed
    plain = stack.state["http_url"].replace("localhost", "127.0.0.1") + "/watch/x?y=1"
    assert await _curl(stack, "-w", "%{http_code} %{redirect_url}", plain) == \
        f"301 {stack.state['url']}/watch/x?y=1"
    async with stack.session() as client, client.get("/metrics") as resp:
        assert resp.status == 403 and (await resp.json())["error"]["code"] == "forbidden"
    for origin in stack.origins.values():  # each process's own port still serves it
        async with aiohttp.ClientSession() as client, client.get(origin + "/metrics") as resp:
            assert resp.status == 200 and "innotv_hls_requests_total" in await resp.text()


async def _login(client: aiohttp.ClientSession, username: str, **headers: str) -> int:
    async with client.post("/api/session", json={"username": username, "password": "wrong-password-1"},
                           headers=headers) as resp:
        return resp.status


async def test_innotv_sees_each_clients_address_never_a_forged_one(stack: Stack) -> None:
    """Failed logins are limited per account and client address (5 in 15 min). Through nginx,
    innotv tells two clients apart by address, and a client cannot pose as another with its own
    X-Forwarded-For: the guesser is stopped, the same account from another address is not."""
    async with stack.session("127.0.0.2") as guessing, stack.session("127.0.0.3") as other:
        for _ in range(5):
            assert await _login(guessing, "prod") == 401
        assert await _login(guessing, "prod") == 429
        assert await _login(guessing, "prod", **{"X-Forwarded-For": "198.51.100.7"}) == 429
        assert await _login(other, "prod") == 401


async def test_chat_crosses_processes_over_websocket_and_long_polling(stack: Stack) -> None:
    room = "hall:social-value"
    sessions: list[aiohttp.ClientSession] = []
    clients: list[ChatClient] = []
    try:
        ws = await _on_each_process(stack, lambda _i: _viewer(stack, sessions, transports=["websocket"]))
        # long-polling is kept on one process by client address: clients from other loopback addresses
        polling = await _on_each_process(stack, lambda i: _viewer(
            stack, sessions, transports=["polling"], local_addr=f"127.0.0.{2 + i}"))
        upgrading, _pid = await _placed(stack, lambda: _viewer(
            stack, sessions, transports=["polling", "websocket"], local_addr="127.0.0.77"))
        clients = [*ws.values(), *polling.values(), upgrading]
        for client in clients:
            await client.join(room)
        one, two = list(stack.origins)
        said = await ws[one].call("chat", {"room": room, "text": "websocket on one"})
        assert said["ok"], said
        for listener in (polling[two], ws[two], upgrading):
            assert (await listener.wait_message("websocket on one", room))["id"] == said["id"]
        said = await polling[two].call("chat", {"room": room, "text": "polling on two"})
        assert said["ok"], said
        for listener in (ws[one], polling[one], upgrading):
            assert (await listener.wait_message("polling on two", room))["id"] == said["id"]
        said = await upgrading.call("chat", {"room": room, "text": "upgraded"})
        assert said["ok"], said
        await ws[one].wait_message("upgraded", room)
        await polling[two].wait_message("upgraded", room)
        # the polling session moved to WebSocket on the process that holds it (same sid)
        assert upgrading.sio.transport() == "websocket"
    finally:
        for client in clients:
            await client.close()
        for session in sessions:
            await session.close()


@pytest.fixture(scope="module")
def producer(stack: Stack) -> tuple[str, str]:
    """The first producer, made once with the real CLI on the stack's Redis."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("INNOTV_")},
           "INNOTV_REDIS_URL": stack.redis_url, "INNOTV_DATA_DIR": stack.state["data_dir"]}
    made = subprocess.run([sys.executable, "-m", "innotv", "user", "add", PRODUCER[0], "--role", "producer",
                           "--password-stdin"], input=PRODUCER[1] + "\n", capture_output=True, text=True,
                          timeout=60, env=env, cwd=ROOT)
    assert made.returncode == 0, made.stderr
    return PRODUCER


async def _logged_in(stack: Stack, account: tuple[str, str]) -> aiohttp.ClientSession:
    """A producer's browser session through nginx."""
    client = stack.session()
    async with client.post("/api/session", json={"username": account[0], "password": account[1]}) as resp:
        assert resp.status == 200, await resp.text()
        assert "Secure" in resp.headers["Set-Cookie"]  # innotv knows the client came over https
    return client


async def _program(producer: aiohttp.ClientSession, kind: str = "live", hours: int = 0) -> tuple[str, str]:
    """A program on now (or `hours` later) and its stream key."""
    now = datetime.now(UTC) + timedelta(hours=hours)
    starts_at = (now.replace(second=0, microsecond=0) + timedelta(minutes=1)).isoformat() if hours else "now"
    body = {"title": "스택 리허설", "kind": kind, "starts_at": starts_at,
            "ends_at": (now + timedelta(minutes=30)).isoformat()}
    async with producer.post("/api/programs", json=body) as resp:
        assert resp.status == 201, await resp.text()
        program_id = str((await resp.json())["id"])
    async with producer.post(f"/api/programs/{program_id}/stream-key") as resp:
        assert resp.status == 200, await resp.text()
        return program_id, str((await resp.json())["stream_key"])


async def _get(client: aiohttp.ClientSession, path: str) -> tuple[int, bytes, dict[str, str]]:
    async with client.get(path) as resp:
        return resp.status, await resp.read(), dict(resp.headers)


async def _last_msn(client: aiohttp.ClientSession, playlist: str) -> int:
    status, body, _ = await _get(client, playlist)
    names = segments(body.decode()) if status == 200 else []
    return max((int(n.rsplit("-", 1)[1][:-4]) for n in names), default=-1)


async def _has_segment(client: aiohttp.ClientSession, playlist: str, msn: int) -> bool:
    return await _last_msn(client, playlist) >= msn


async def _until(check: Callable[[], Awaitable[Any]], within: float, what: str) -> Any:
    """Poll another process's state with a deadline (nothing there to await)."""
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def _rungs(players: list[aiohttp.ClientSession], program_id: str) -> list[str]:
    """The program's rungs once each lists a few segments (through nginx)."""

    async def master_playlist() -> bytes | None:
        status, body, _ = await _get(players[0], f"/hls/{program_id}/master.m3u8")
        return body if status == 200 else None

    master = await _until(master_playlist, 20, "the master playlist")
    rungs = [line.split("/")[0] for line in master.decode().splitlines() if line.endswith("live.m3u8")]
    assert len(rungs) == 2, master
    for rung in rungs:
        await _until(partial(_has_segment, players[0], f"/hls/{program_id}/{rung}/live.m3u8", 1),
                     20, f"segments of {rung}")
    return rungs


async def _one_origin_request_per_rung(stack: Stack, players: list[aiohttp.ClientSession], program_id: str,
                                       rungs: list[str]) -> None:
    """Every player waits on the same blocking reload of each rung, then fetches the segment it
    announces: innotv sees one playlist and one segment request per rung, everyone gets the same."""
    await asyncio.gather(*(_get(p, "/healthz") for p in players))  # every player connected first
    held_before = await stack.total("innotv_hls_requests_total", route="hls", file="blocking_playlist")
    segs_before = await stack.total("innotv_hls_requests_total", route="hls", file="segment")
    # two segments ahead: every player's request is at nginx before innotv can answer the first
    targets = {r: await _last_msn(players[0], f"/hls/{program_id}/{r}/live.m3u8") + 2 for r in rungs}
    asked = [(rung, p) for rung in rungs for p in players]
    answers = await asyncio.gather(*(_get(p, f"/hls/{program_id}/{rung}/live.m3u8?_HLS_msn={targets[rung]}")
                                     for rung, p in asked))
    names = {rung: f"seg-{targets[rung]}.m4s" for rung in rungs}
    for (status, body, _h), (rung, _p) in zip(answers, asked, strict=True):
        assert status == 200 and names[rung] in segments(body.decode()), body
    held = await stack.total("innotv_hls_requests_total", route="hls", file="blocking_playlist") - held_before
    assert held == len(rungs), f"{held:.0f} blocking reloads reached innotv for {len(answers)} players"

    fetched = await asyncio.gather(*(_get(p, f"/hls/{program_id}/{rung}/{names[rung]}") for rung, p in asked))
    segs = await stack.total("innotv_hls_requests_total", route="hls", file="segment") - segs_before
    assert segs == len(rungs), f"{segs:.0f} segment requests reached innotv for {len(fetched)} players"
    first = {rung: body for (_s, body, _h), (rung, _p) in zip(fetched, asked, strict=True)}
    for (status, body, headers), (rung, _p) in zip(fetched, asked, strict=True):
        assert status == 200 and "immutable" in headers["Cache-Control"] and body == first[rung]
    top = rungs[0]
    init_name = [line.split('"')[1] for line in answers[0][1].decode().splitlines()
                 if line.startswith("#EXT-X-MAP")][-1]
    _s, init, _h = await _get(players[0], f"/hls/{program_id}/{top}/{init_name}")
    frames, audio = decode(init, first[top])
    assert frames and audio and frames[0].height == int(top[:-1])


async def test_the_show_goes_on_through_nginx(stack: Stack, producer: tuple[str, str]) -> None:
    producer_client = await _logged_in(stack, producer)
    sessions = [producer_client]
    viewers: list[ChatClient] = []
    publication = None
    try:
        program_id, key = await _program(producer_client)
        room = f"program:{program_id}"

        # WHIP through nginx lands on one process, which holds the program from then on
        publication = await whip_publish(producer_client, f"{stack.url}/whip/{program_id}", key)
        publishers = {pid: await stack.metric(pid, "innotv_live_publishers") for pid in stack.origins}
        holder = next(pid for pid, n in publishers.items() if n == 1)
        victim = next(pid for pid in stack.origins if pid != holder)
        assert publishers[victim] == 0 and await stack.metric(holder, "innotv_live_media_workers") == 1
        players = [stack.session() for _ in range(40)]
        sessions += players
        rungs = await _rungs(players, program_id)
        for _ in range(3):  # another publisher is sent to the holder every time, which refuses it itself
            async with stack.session() as other:
                try:
                    await whip_publish(other, f"{stack.url}/whip/{program_id}", key)
                    raise AssertionError("a second publisher was accepted")
                except RuntimeError as exc:
                    assert "409" in str(exc) and "Someone is already publishing" in str(exc), exc

        # HLS through the cache
        await _one_origin_request_per_rung(stack, players, program_id, rungs)

        # viewers on both processes; the one that does not hold the program is killed
        async def join_viewer(_i: int) -> ChatClient:
            client = await _viewer(stack, sessions, transports=["websocket"], reconnection=True)
            await client.join(room)
            return client

        placed = await _on_each_process(stack, join_viewer)
        viewers = list(placed.values())
        stranded, staying = placed[victim], placed[holder]
        acked = [(await v.call("chat", {"room": room, "text": f"before {i}"}))["id"]
                 for i, v in enumerate(viewers)]
        await stranded.wait_message("before 1", room)
        last_seen = stranded.messages(room)[-1]["id"]
        reconnected = asyncio.Event()
        stranded.sio.on("connect", reconnected.set)  # the page re-joins on every connect

        os.kill(victim, 9)
        for i in range(3):  # said while the stranded viewer is away (or on its way back)
            ack = await staying.call("chat", {"room": room, "text": f"during {i}"})
            assert ack["ok"], ack
            acked.append(ack["id"])
        await asyncio.wait_for(reconnected.wait(), 20)
        back = await stranded.call("join", {"room": room, "since": last_seen})
        assert back["ok"] and back["recovered"] is True, back
        missed = [m["id"] for m in back["messages"]]
        assert missed[-3:] == acked[-3:], (missed, acked)
        assert await stack.metric(holder, "innotv_chat_connections") == len(viewers)
        ack = await stranded.call("chat", {"room": room, "text": "back"})
        assert ack["ok"], ack
        acked.append(ack["id"])
        await staying.wait_message("back", room)
        fresh = await _viewer(stack, sessions, transports=["websocket"])
        viewers.append(fresh)
        snapshot = await fresh.join(room)
        assert set(acked) <= {m["id"] for m in snapshot["messages"]}, "an acknowledged message was lost"

        # the broadcast carries on, through nginx, from the process that holds it
        playlist = f"/hls/{program_id}/{rungs[0]}/live.m3u8"
        after_kill = await _last_msn(players[0], playlist)
        status, body, _ = await _get(players[1], f"{playlist}?_HLS_msn={after_kill + 2}")
        assert status == 200 and f"seg-{after_kill + 2}.m4s" in segments(body.decode())
        assert "#EXT-X-DISCONTINUITY" not in body.decode().split(f"seg-{after_kill}.m4s")[-1]
        assert await stack.metric(holder, "innotv_live_publishers") == 1

        # the publisher's session is known through nginx (its DELETE reaches the holder)
        async with producer_client.delete(stack.url + publication.location) as resp:
            assert resp.status == 200, await resp.text()
    finally:
        for viewer in viewers:
            await viewer.close()
        if publication is not None:
            await publication.pc.close()
        for session in sessions:
            await session.close()


async def test_a_premiere_upload_streams_through_nginx(stack: Stack, producer: tuple[str, str],
                                                       tmp_path: Path) -> None:
    """A premiere's file (3 MB here, more than the 2 MB nginx allows other requests) passes nginx
    and reaches innotv whole; innotv answers once it has it all and starts transcoding it."""
    media = make_media_file(tmp_path / "premiere.mp4", seconds=3, width=1280, height=720, fps=30)
    size = media.stat().st_size
    assert size > 2 * 1024 * 1024
    client = await _logged_in(stack, producer)
    try:
        program_id, _key = await _program(client, kind="premiere", hours=3)
        async with client.post(f"/api/programs/{program_id}/media", data=media.read_bytes(),
                               headers={"Content-Type": "video/mp4"}) as resp:
            assert resp.status == 202, await resp.text()
            status = await resp.json()
        assert status["bytes"] == size and status["state"] == "transcoding", status
    finally:
        await client.close()
