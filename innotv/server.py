"""Running the server: bind, print where to open it, wait for SIGTERM/SIGINT, shut down cleanly."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys

from aiohttp import web

from .app import DEPS, create_app
from .config import Config
from .logs import AccessLogger

log = logging.getLogger("innotv.server")


async def serve(config: Config) -> None:
    app = create_app(config)
    runner = web.AppRunner(
        app,
        access_log_class=AccessLogger,
        handle_signals=False,
        shutdown_timeout=config.shutdown_timeout_s,
    )
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, reuse_address=True)
    await site.start()
    # Thousands of long-lived chat connections make the cyclic GC's passes over the whole heap
    # the main cost of a join storm or a mass disconnect (measured: ~40-60 %); keep what exists at
    # start out of it and collect less often (bench/chat.py).
    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)
    deps = app[DEPS]
    base = config.link_base()
    log.info(
        "listening",
        extra={"host": config.host, "port": config.port, "store": deps.backend.kind},
    )
    # Printed, not logged: the link is for the person at the console, not for log storage.
    print(f"innotv is running: open {base}/", flush=True)
    token = await deps.auth.first_run_token()
    if token:
        print(
            "No producer account exists yet. Create the first one with this one-time link "
            f"(valid 24 h):\n  {base}/setup#token={token}",
            flush=True,
        )

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    await runner.cleanup()
    log.info("stopped")


def run(config: Config) -> int:
    try:
        asyncio.run(serve(config))
    except OSError as exc:
        print(f"innotv: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0
