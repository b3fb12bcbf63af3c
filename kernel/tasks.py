"""Stopping background tasks for sure.

A cancellation can be swallowed on its way through a library (a read timeout that fires at the
same moment, seen with redis-py on Python 3.11): the task then carries on and a shutdown that
awaits it hangs. `cancel_and_wait` cancels again until the task has ended.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("innotv.tasks")

RECANCEL_EVERY_S = 0.5


async def cancel_and_wait(task: asyncio.Task[object] | None) -> None:
    """Cancel `task` and return once it has ended, cancelling again if it kept running."""
    if task is None:
        return
    attempts = 0
    while not task.done():
        task.cancel()
        attempts += 1
        await asyncio.wait({task}, timeout=RECANCEL_EVERY_S)
    if attempts > 1:
        log.warning("a task ignored its cancellation; cancelled it again",
                    extra={"task": task.get_name(), "attempts": attempts})
    if not task.cancelled() and task.exception() is not None:
        log.warning("a task failed while stopping", exc_info=task.exception(),
                    extra={"task": task.get_name()})
