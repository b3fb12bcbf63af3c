"""The media workers' figures on this process's `/metrics`.

Segment write latency is measured where segments are written, in the media worker processes
(`ProgramMedia.add_segment`), kept there as plain bucket counts (`kernel.metrics.BucketCounts`)
and sent with every status report (twice a second). This process adds up the latest report of
each running worker and the final report of each finished one, so the histograms only grow, as
counters must, across worker restarts and broadcasts.

Why not prometheus-client's multiprocess mode: it needs an environment variable and a directory
of memory-mapped files shared by every process before the library is imported (the one global
registry, while each app here has its own), it leaves a file per process id to clean up (a
worker per broadcast, restarted after a crash), and the workers already report their status to
the server that owns them: two histograms more in that report cost nothing.

Frames dropped, frames that failed to encode and packets that failed to decode are counters the
same way (each worker's count grows while it runs; a finished worker's last count is kept).
The input a publisher sends (pictures per second, kbit/s) is a gauge per program with a running
worker: bounded by the broadcasts this process carries.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from kernel.metrics import add_snapshots, histogram_family

from .media import SEGMENT_DELAY_BUCKETS, SEGMENT_WRITE_BUCKETS
from .worker_process import WorkerProcess

HISTOGRAMS = {
    "segment_write_seconds": (
        "innotv_live_segment_write_seconds",
        "time a media worker took to write one segment (file, journal line, live playlist)",
        SEGMENT_WRITE_BUCKETS),
    "segment_delay_seconds": (
        "innotv_live_segment_delay_seconds",
        "from the wall-clock end of a live segment's media to its being written (encoding delay)",
        SEGMENT_DELAY_BUCKETS),
}


# status key -> (counter, help); the figure of one worker only grows while it runs
COUNTS = {
    "dropped": ("innotv_live_frames_dropped_total",
                "packets and frames dropped because a media worker fell behind"),
    "errors": ("innotv_live_worker_errors_total", "frames that failed to encode"),
    "decode_errors": ("innotv_live_decode_errors_total", "received packets that failed to decode"),
}


def _counts(worker: WorkerProcess) -> dict[str, float]:
    found: dict[str, float] = {}
    for key in COUNTS:
        raw = worker.status.get(key, 0)
        found[key] = float(raw) if isinstance(raw, (int, float)) else 0.0
    found["dropped"] += worker.dropped  # dropped here, before the worker's socket
    return found


class WorkerFigures:
    def __init__(self) -> None:
        self._running: set[WorkerProcess] = set()
        self._finished: dict[str, dict[str, Any]] = {}  # key of HISTOGRAMS -> summed snapshot
        self._finished_counts = dict.fromkeys(COUNTS, 0.0)

    def track(self, worker: WorkerProcess) -> None:
        """Count `worker`'s reports from now on; its last report stays counted once it ends."""
        self._running.add(worker)
        worker.done.add_done_callback(lambda _done: self._retire(worker))

    def _retire(self, worker: WorkerProcess) -> None:
        if worker in self._running:
            self._running.discard(worker)
            for key, amount in _counts(worker).items():
                self._finished_counts[key] += amount
            for key, (_, _, bounds) in HISTOGRAMS.items():
                if key in worker.status:
                    self._finished[key] = add_snapshots(self._finished.get(key), worker.status[key], bounds)

    def collect(self) -> Iterable[Metric]:
        running = list(self._running)
        for key, (name, help_text, bounds) in HISTOGRAMS.items():
            total = self._finished.get(key)
            for worker in running:
                if key in worker.status:
                    total = add_snapshots(total, worker.status[key], bounds)
            yield histogram_family(name, help_text, total, bounds)
        counts = dict(self._finished_counts)
        for worker in running:
            for key, amount in _counts(worker).items():
                counts[key] += amount
        for key, (name, help_text) in COUNTS.items():
            yield CounterMetricFamily(name, help_text, value=counts[key])
        fps = GaugeMetricFamily("innotv_live_input_fps", "pictures per second a program's publisher sends "
                                "(over the last 5 s; absent without input)", labels=["program"])
        kbps = GaugeMetricFamily("innotv_live_input_kbps", "kbit/s a program's publisher sends (over the "
                                 "last 5 s; absent without input)", labels=["program"])
        for worker in running:
            meter = worker.status.get("input")
            if isinstance(meter, dict):
                if isinstance(meter.get("fps"), (int, float)):
                    fps.add_metric([worker.program_id], float(meter["fps"]))
                if isinstance(meter.get("kbps"), (int, float)):
                    kbps.add_metric([worker.program_id], float(meter["kbps"]))
        yield fps
        yield kbps
