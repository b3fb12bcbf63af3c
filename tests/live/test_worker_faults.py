"""Faults of the media side, through real processes: a worker that will not start is tried again
with backoff until it does; live playlists that cannot be ended do not hang the end; after the
server is killed with nobody publishing, the restarted server shows the slate until the program
ends, then writes the replay."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiohttp

from live.tracks import whip_publish
from tests.helpers import PRODUCER, running_server, spawn_server

from .support import (
    SMALL,
    end_program,
    get_text,
    has_segment,
    last_seq,
    new_program,
    process_alive,
    small_config,
    wait_for,
)

DISC = "#EXT-X-DISCONTINUITY"


async def test_worker_faults_neither_stop_nor_hang_the_broadcast(tmp_path: Path) -> None:
    """A worker that will not start is tried again with backoff until it does (the publisher
    kept meanwhile); then, live playlists that cannot be ended (a broken disk) do not keep the
    worker from ending with the program."""
    async with running_server(small_config(tmp_path)) as server:
        program_id, key = await new_program(server)
        viewer = server.client()
        path = f"/hls/{program_id}/240p/live.m3u8"
        pub = await whip_publish(viewer, f"{server.url}/whip/{program_id}", key)
        await wait_for(lambda: has_segment(viewer, path, 1), what="first segments")
        live = server.parts.live.service
        victim = live.broadcasts[program_id].worker
        assert victim is not None and victim.pid is not None
        # A fault on disk: where the program's lock file was, a directory. The running worker
        # keeps its lock; a new one cannot take it and dies while starting.
        lock = live.media_dir(program_id) / ".lock"
        lock.unlink()
        lock.mkdir()
        before = await last_seq(viewer, path)
        os.kill(victim.pid, signal.SIGKILL)

        async def failed_twice() -> bool:  # the crash, then a second failure during the restart
            return await server.metric("innotv_live_worker_start_failures_total") >= 2

        await wait_for(failed_twice, within=30, what="two failed starts")
        assert await last_seq(viewer, path) == before  # nothing produces segments meanwhile
        assert live.broadcasts[program_id].publisher is not None  # the publisher is kept
        lock.rmdir()  # the fault is repaired: the next try (with backoff) succeeds

        await wait_for(lambda: has_segment(viewer, path, before + 2), within=30,
                       what="segments once a worker starts again")
        _, playlist, _ = await get_text(viewer, path)
        assert DISC in playlist.split(f"seg-{before}.m4s", 1)[1] and "#EXT-X-ENDLIST" not in playlist
        assert await server.metric("innotv_live_worker_restarts_total") == 1

        worker = live.broadcasts[program_id].worker
        assert worker is not None and worker.pid is not None
        # where the live playlist is written first (then renamed), a directory: writing it raises
        blocker = live.media_dir(program_id) / "240p" / ".live.m3u8.tmp"
        blocker.mkdir()
        (blocker / "keep").write_text("")
        await end_program(server, program_id)
        assert await asyncio.wait_for(asyncio.shield(worker.done), 20) is False  # ended, nothing written
        assert not process_alive(worker.pid)
        assert await server.metric("innotv_live_media_workers") == 0
        await pub.pc.close()


async def test_after_a_crash_with_nobody_publishing_the_slate_plays_until_the_end(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # the program, its stream key and a producer account, stored before the server under test runs
    async with running_server(small_config(tmp_path)) as setup:
        program_id, key = await new_program(setup)
        program = await setup.parts.schedule.service.get(program_id)
        assert program is not None
    env = {f"INNOTV_{name.upper()}": str(value) for name, value in SMALL.items()}
    path = f"/hls/{program_id}/240p/live.m3u8"
    first = spawn_server(data, extra_env=env)
    second = None
    try:
        await first.wait_ready()
        async with aiohttp.ClientSession() as viewer:
            pub = await whip_publish(viewer, f"{first.url}/whip/{program_id}", key)
            await wait_for(lambda: has_segment(viewer, first.url + path, 1), what="first segments")
            first.kill9()
            await pub.pc.close()
            before = last_seq_on_disk(data / "live" / program_id / "240p" / "live.m3u8")

            second = spawn_server(data, extra_env=env)
            await second.wait_ready()
            await wait_for(lambda: has_segment(viewer, second.url + path, before + 2), within=20,
                           what="slate segments after the restart")
            _, playlist, _ = await get_text(viewer, second.url + path)
            assert DISC in playlist.split(f"seg-{before}.m4s", 1)[1]
            assert "#EXT-X-ENDLIST" not in playlist

            # the program ends (as the scheduler or a producer ends it: ProgramChanged "ended";
            # a scheduled end is at least a minute after the start, too long to wait for here)
            async with aiohttp.ClientSession(base_url=second.url, headers={"Origin": second.url},
                                             cookie_jar=aiohttp.CookieJar(unsafe=True)) as producer:
                async with producer.post("/api/session", json={"username": PRODUCER[0],
                                                               "password": PRODUCER[1]}) as resp:
                    assert resp.status == 200
                async with producer.post(f"/api/programs/{program_id}/end") as resp:
                    assert resp.status == 200, await resp.text()

            async def ended() -> str | None:
                _, text, _ = await get_text(viewer, second.url + path)
                return text if "#EXT-X-ENDLIST" in text else None

            final = await wait_for(ended, within=20, what="EXT-X-ENDLIST")
            assert len(final.split(DISC)) >= 2

            async def replay() -> bool:
                async with viewer.get(f"{second.url}/api/programs/{program_id}") as resp:
                    return bool((await resp.json())["state"] == "replay")

            await wait_for(replay, what="the program's state: replay")
            status, vod, _ = await get_text(viewer, f"{second.url}/vod/{program_id}/240p/vod.m3u8")
            # the replay is the show: what was published, without the slate
            assert status == 200 and "#EXT-X-ENDLIST" in vod and f"seg-{before}.m4s" in vod
    finally:
        first.kill9()
        if second is not None:
            second.kill9()


def last_seq_on_disk(playlist: Path) -> int:
    """The newest segment's number in a playlist file (the server that wrote it is gone)."""
    names = [line for line in playlist.read_text().splitlines() if line.startswith("seg-")]
    return max(int(n[4:-4]) for n in names)
