"""Each broadcasting program's media work runs in its own process: a worker that crashes is
replaced while the publisher carries on (viewers see a discontinuity, not an end), another program
and the chat never notice, and no worker outlives a server killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from live.ladder import parse_ladder
from live.tracks import whip_publish
from live.worker import WorkerSettings
from tests.chat.clients import viewer as chat_viewer
from tests.helpers import RedisServer, running_server, spawn_server

from .support import (
    get_text,
    has_segment,
    last_seq,
    new_program,
    process_alive,
    segments,
    small_config,
    wait_for,
)


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(c) for c in (task / "children").read_text().split())
    return found


async def test_a_crashed_worker_is_replaced_and_nothing_else_notices(tmp_path: Path) -> None:
    async with running_server(small_config(tmp_path)) as server:
        crashing, key_a = await new_program(server)
        steady, key_b = await new_program(server, later_hours=3)
        viewer = server.client()
        pubs = [await whip_publish(viewer, f"{server.url}/whip/{crashing}", key_a),
                await whip_publish(viewer, f"{server.url}/whip/{steady}", key_b)]
        paths = {p: f"/hls/{p}/240p/live.m3u8" for p in (crashing, steady)}
        for path in paths.values():
            await wait_for(lambda p=path: has_segment(viewer, p, 1), what="first segments")  # type: ignore[misc]
        live = server.parts.live.service
        victim = live.broadcasts[crashing].worker
        other = live.broadcasts[steady].worker
        assert victim.pid != os.getpid() and other.pid != victim.pid
        # workers yield to the server's event loop when cores run short (live_worker_nice 10)
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, victim.pid) == min(19, ours + 10)

        chat = await chat_viewer(server)
        await chat.join(f"program:{crashing}")

        seq_before = await last_seq(viewer, paths[crashing])
        steady_before = await last_seq(viewer, paths[steady])
        os.kill(victim.pid, signal.SIGKILL)
        assert await victim.done is None  # died without finishing: a crash, not a stop

        async def replaced() -> bool:
            worker = live.broadcasts[crashing].worker
            return worker is not None and worker is not victim and not worker.done.done()

        await wait_for(replaced, what="a new worker process")

        await wait_for(lambda: has_segment(viewer, paths[crashing], seq_before + 2),
                       what="segments after the crash")
        _, playlist, _ = await get_text(viewer, paths[crashing])
        after_crash = playlist.split(f"seg-{seq_before}.m4s", 1)[-1]
        assert "#EXT-X-DISCONTINUITY" in after_crash and "#EXT-X-MAP" in after_crash, playlist
        assert "#EXT-X-ENDLIST" not in playlist
        assert live.broadcasts[steady].worker is other and not other.done.done()
        assert await last_seq(viewer, paths[steady]) > steady_before
        ack = await chat.call("chat", {"room": f"program:{crashing}", "text": "still here"})
        assert ack.get("ok"), ack
        _, metrics, _ = await get_text(viewer, "/metrics")
        assert "innotv_live_worker_restarts_total 1.0" in metrics
        await chat.close()
        for pub in pubs:
            await pub.pc.close()


async def test_workers_do_not_outlive_a_killed_server(tmp_path: Path) -> None:
    server = spawn_server(tmp_path, extra_env={"INNOTV_LIVE_LADDER": "240p15:300",
                                                "INNOTV_LIVE_SEGMENT_S": "1"},
                          extra_args=["--demo"])
    try:
        await server.wait_ready()
        async with aiohttp.ClientSession() as client:
            async with client.get(f"{server.url}/api/programs/current") as r:
                on_air = (await r.json())["id"]  # "demo", or an expo program on at this hour

            async def worker_pids() -> set[int] | None:
                status, text, _ = await get_text(client, f"{server.url}/hls/{on_air}/240p/live.m3u8")
                return _children(server.proc.pid) or None if status == 200 and segments(text) else None

            pids = await wait_for(worker_pids, what="the demo's worker process")
        server.kill9()

        async def all_gone() -> bool:  # an orphan's exit cannot be awaited: poll with a deadline
            return not any(process_alive(pid) for pid in pids)

        await wait_for(all_gone, within=10, what="the workers of a killed server to exit")
    finally:
        server.kill9()


def test_worker_and_transcoder_entry_points_refuse_bad_input(tmp_path: Path) -> None:
    """They are started by the server, but someone may run them by hand: a usage line or a JSON
    error, never a traceback, and nothing written."""
    run = subprocess.run([sys.executable, "-m", "live.worker_main"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 2 and "usage" in run.stderr and "Traceback" not in run.stderr
    for fd in ("not-a-descriptor", "987"):  # 987: not open
        run = subprocess.run([sys.executable, "-m", "live.worker_main", fd],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    for job in ("not json", "[]", json.dumps({"root": str(tmp_path)})):
        run = subprocess.run([sys.executable, "-m", "live.transcode_main"], input=job,
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 1 and "bad job" in json.loads(run.stdout)["error"], run
        assert "Traceback" not in run.stderr
    settings = WorkerSettings(parse_ladder("120p15:100"), 1.0, "ultrafast", 1.0, 60).to_json()
    job = json.dumps({"root": str(tmp_path), "program_id": "p1", "source": str(tmp_path / "missing.mp4"),
                      "settings": settings, "window": 6, "log_level": "ERROR", "log_format": "json"})
    run = subprocess.run([sys.executable, "-m", "live.transcode_main"], input=job,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "missing.mp4" in json.loads(run.stdout)["error"]
    assert not list((tmp_path / "p1").glob("*/seg-*.m4s"))


async def test_two_servers_on_one_data_dir_never_write_one_program_at_once(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """With Redis, two innotv processes share a data directory. A second publisher through the other
    process is refused while the first is connected; once the first has gone (its process shows the
    slate), the other process takes the program over and the numbering carries on, no segment
    written twice."""
    config = small_config(tmp_path, "redis", redis_server.url)
    async with running_server(config) as one, running_server(config) as two:
        program_id, key = await new_program(one)
        viewer = one.client()
        playlist = f"/hls/{program_id}/240p/live.m3u8"
        first = await whip_publish(viewer, f"{one.url}/whip/{program_id}", key)
        await wait_for(lambda: has_segment(viewer, playlist, 1), what="segments from the first server")
        refused_at = await last_seq(viewer, playlist)
        try:
            await whip_publish(two.client(), f"{two.url}/whip/{program_id}", key)
            raise AssertionError("a second server took a program whose publisher is connected")
        except RuntimeError as exc:
            assert "409" in str(exc) and "already_publishing" in str(exc)
        await wait_for(lambda: has_segment(viewer, playlist, refused_at + 1),
                       what="the first server going on undisturbed")

        await first.pc.close()  # the first publisher goes: the first server shows the slate
        await wait_for(lambda: _playlist_mode(one, program_id, "slate"), what="the slate on the first server")
        before = await last_seq(viewer, playlist)

        async def taken_over() -> Any:
            try:
                return await whip_publish(two.client(), f"{two.url}/whip/{program_id}", key)
            except RuntimeError as exc:
                assert "409" in str(exc), exc
                return None  # refused while the first server lets go: try again

        second = await wait_for(taken_over, what="the second server taking the program over")
        await wait_for(lambda: has_segment(viewer, playlist, before + 3),
                       what="segments from the second server")
        assert one.parts.live.service.broadcasts[program_id].worker is None
        journal = (Path(config.core.data_dir) / "live" / program_id / "240p" / "segments.log").read_text()
        seqs = [json.loads(line)["seq"] for line in journal.splitlines()]
        assert seqs == list(range(len(seqs))), "a segment number was written twice or skipped"
        await second.pc.close()


async def _playlist_mode(server: Any, program_id: str, mode: str) -> bool:
    worker = server.parts.live.service.broadcasts[program_id].worker
    return worker is not None and (await worker.fresh_status()).get("mode") == mode
