"""Prometheus metrics of one app: counters, gauges and histograms in a registry of its own.

`Metrics` wraps a `prometheus_client.CollectorRegistry` made by the app factory (never the
library's global default registry: the tests start several apps in one process, and each app's
`/metrics` shows only its own figures). Slices register a metric once by name and bump it by
name, so no slice holds prometheus-client objects and every call site reads the same:

    metrics.counter("innotv_chat_cut_total", "...", labels=("reason",))
    metrics.inc("innotv_chat_cut_total", reason="flooding")
    metrics.histogram("innotv_chat_ack_seconds", "...", labels=("family",), buckets=ACK_BUCKETS)
    metrics.observe("innotv_chat_ack_seconds", 0.031, family="chat")
    metrics.gauge("innotv_chat_connections", "...", lambda: float(len(conns)))

A counter registered without `labels` takes its label names from its first `inc` (so a call site
written before label names were declared keeps working); `labels=()` declares it unlabelled,
and it is shown as 0 before its first `inc`. Figures that come from elsewhere (the media worker
processes' reports) are added as a collector with `collector(...)`. The process's own figures
(open files, memory, CPU) are always there (`process_*`).
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# Seconds: from a millisecond to ten seconds (HTTP handlers, acks, ticks, disk writes).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self._counters: dict[str, Counter] = {}
        self._pending: dict[str, str] = {}  # counters whose label names come with their first inc
        self._histograms: dict[str, Histogram] = {}

    def counter(self, name: str, help_text: str, labels: Sequence[str] | None = None) -> None:
        """A counter (its name ends in `_total`); `labels=None`: named by its first `inc`."""
        if name in self._counters or name in self._pending:
            return
        if labels is None:
            self._pending[name] = help_text
            return
        self._counters[name] = Counter(name, help_text, tuple(labels), registry=self.registry)

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        counter = self._counters.get(name)
        if counter is None:
            help_text = self._pending.pop(name, None)
            if help_text is None:
                raise KeyError(f"no counter {name!r} is registered")
            counter = Counter(name, help_text, tuple(sorted(labels)), registry=self.registry)
            self._counters[name] = counter
        (counter.labels(**labels) if labels else counter).inc(amount)

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        """A gauge whose value is read when /metrics is scraped."""
        Gauge(name, help_text, registry=self.registry).set_function(read)

    def histogram(self, name: str, help_text: str, labels: Sequence[str] = (),
                  buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        if name not in self._histograms:
            self._histograms[name] = Histogram(name, help_text, tuple(labels), buckets=tuple(buckets),
                                               registry=self.registry)

    def observe(self, name: str, value: float, **labels: str) -> None:
        histogram = self._histograms[name]
        (histogram.labels(**labels) if labels else histogram).observe(value)

    def collector(self, collect: Callable[[], Iterable[Metric]]) -> None:
        """Metric families computed at each scrape (e.g. figures other processes reported)."""
        self.registry.register(_FunctionCollector(collect))

    def render(self) -> bytes:
        """The Prometheus text format (0.0.4), without the `*_created` series."""
        return generate_latest(_WithoutCreated(self.registry))


class _FunctionCollector(Collector):
    def __init__(self, collect: Callable[[], Iterable[Metric]]) -> None:
        self._collect = collect

    def collect(self) -> Iterable[Metric]:
        return self._collect()


class _WithoutCreated(Collector):
    """The registry's families less the `_created` samples prometheus-client adds to counters and
    histograms: one timestamp per series that no panel uses, which would double what is scraped."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        for family in self._registry.collect():
            if any(s.name.endswith("_created") for s in family.samples):
                kept = Metric(family.name, family.documentation, family.type, family.unit)
                kept.samples = [s for s in family.samples if not s.name.endswith("_created")]
                family = kept
            yield family


class BucketCounts:
    """A histogram kept without prometheus-client, for a process that reports its figures to
    another (the media workers, in their status reports): `snapshot()` is plain JSON, and the
    server adds the snapshots up into one family (`histogram_family`). Thread-safe."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(sorted(bounds))
        self._counts = [0] * (len(self.bounds) + 1)  # per bucket (not cumulative); the last is +Inf
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        index = bisect.bisect_left(self.bounds, value)  # the first bound >= value (`le`)
        with self._lock:
            self._counts[index] += 1
            self._sum += value

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"bounds": list(self.bounds), "counts": list(self._counts), "sum": self._sum}


def add_snapshots(total: dict[str, Any] | None, more: Any, bounds: Sequence[float]) -> dict[str, Any]:
    """`total` plus the snapshot `more` (one of `BucketCounts.snapshot()`); a snapshot with other
    bounds, or that is not one, adds nothing."""
    base = total or {"bounds": list(bounds), "counts": [0] * (len(bounds) + 1), "sum": 0.0}
    try:
        counts = [int(c) for c in more["counts"]]
        added_sum = float(more["sum"])
        same = [float(b) for b in more["bounds"]] == [float(b) for b in bounds]
    except (TypeError, ValueError, KeyError):
        return base
    if not same or len(counts) != len(base["counts"]):
        return base
    return {"bounds": list(bounds), "counts": [a + b for a, b in zip(base["counts"], counts, strict=True)],
            "sum": base["sum"] + added_sum}


def histogram_family(name: str, help_text: str, snapshot: dict[str, Any] | None,
                     bounds: Sequence[float]) -> HistogramMetricFamily:
    """A histogram family (cumulative buckets) from a snapshot; all zero when there is none."""
    snap = add_snapshots(None, snapshot or {}, bounds)
    cumulative, running = [], 0
    for bound, count in zip([*map(floatToGoString, bounds), "+Inf"], snap["counts"], strict=True):
        running += count
        cumulative.append((bound, float(running)))
    return HistogramMetricFamily(name, help_text, buckets=cumulative, sum_value=snap["sum"])
