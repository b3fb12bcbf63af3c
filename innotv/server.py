"""Running the server: bind, print where to open it, wait for SIGTERM/SIGINT, shut down cleanly."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys

from aiohttp import web

from kernel.access_log import AccessLogger

from . import __version__
from .app import PARTS, create_app
from .config import Config

log = logging.getLogger("innotv.server")


def make_runner(app: web.Application, config: Config, shutdown_timeout: float | None = None) -> web.AppRunner:
    """The app's runner, with our access log (`kernel.access_log`) when it is on."""
    return web.AppRunner(
        app,
        access_log_class=AccessLogger,
        access_log=logging.getLogger("innotv.access") if config.core.access_log else None,
        handle_signals=False,
        shutdown_timeout=config.core.shutdown_timeout_s if shutdown_timeout is None else shutdown_timeout,
    )


async def serve(config: Config) -> None:
    app = create_app(config)
    runner = make_runner(app, config)
    await runner.setup()
    core = config.core
    site = web.TCPSite(runner, core.host, core.port, reuse_address=True)
    await site.start()
    # Thousands of long-lived chat connections make the cyclic GC's passes over the whole heap
    # the main cost of a join storm or a mass disconnect (measured: ~40-60 %); keep what exists at
    # start out of it and collect less often (bench/chat.py).
    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)
    parts = app[PARTS]
    base = core.link_base()
    log.info("listening", extra={"version": __version__, "host": core.host, "port": core.port,
                                 "store": parts.kernel.backend.kind})
    # Printed, not logged: the link is for the person at the console, not for log storage.
    print(f"innotv is running: open {base}/", flush=True)
    token = await parts.auth.first_run_token()
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
