"""Request counters and latency histograms on ``prometheus_client``, one registry per app.

With several uvicorn workers (``reelrec serve --workers N``) the CLI points ``PROMETHEUS_MULTIPROC_DIR``
at a fresh temporary directory before the workers start: every worker then writes its numbers there,
and a scrape answered by any worker reports the sum over all of them (counters, histograms) and one
series per live worker (``pid`` label) for the per-process gauges.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client import disable_created_metrics as _disable_created_metrics

if TYPE_CHECKING:
    from reelrec.serve.state import ServingState

#: Upper bounds (seconds) of the latency buckets: fine below 25 ms, where the service should live.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Set (by ``reelrec serve`` with several workers) to share metrics between worker processes.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# `*_created` timestamps per series double the exposition and nothing here reads them.
_disable_created_metrics()


def multiprocess_dir() -> str | None:
    """The shared metrics directory when workers pool their metrics, else ``None``."""
    return os.environ.get(MULTIPROC_ENV) or None


class Metrics:
    """The service's metrics: cheap to update on every request, rendered as Prometheus text on scrape.

    Parameters
    ----------
    buckets : tuple of float
        Upper bounds (seconds) of the latency histogram; a value on a bound counts in that bucket.
    """

    def __init__(self, buckets: tuple[float, ...] = DEFAULT_BUCKETS) -> None:
        self.buckets = tuple(sorted(buckets))
        self.shared = multiprocess_dir() is not None
        self.registry = CollectorRegistry()
        reg = self.registry
        self.requests = Counter(
            "reelrec_requests",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=reg,
        )
        self.duration = Histogram(
            "reelrec_request_duration_seconds",
            "Time from request start to the last response byte.",
            ("method", "route"),
            buckets=self.buckets,
            registry=reg,
        )
        self._reloads = Counter("reelrec_reloads", "Artifact reload attempts, by outcome.", ("outcome",), registry=reg)
        self._outcomes = {"ok", "failed"}
        for outcome in self._outcomes:
            self._reloads.labels(outcome)
        # Per-process gauges carry a `pid` label; in multiprocess mode the collector adds it itself.
        pid = () if self.shared else ("pid",)
        self.start_time = Gauge(
            "reelrec_process_start_time_seconds",
            "Unix time at which this worker started.",
            pid,
            registry=reg,
            multiprocess_mode="liveall",
        )
        self.model_info = Gauge(
            "reelrec_model_info",
            "The artifact this worker serves (value is always 1).",
            ("model", "artifact_id", "retrieval", *pid),
            registry=reg,
            multiprocess_mode="liveall",
        )
        self.model_items = Gauge(
            "reelrec_model_items", "Items in the served catalogue.", registry=reg, multiprocess_mode="livemostrecent"
        )
        self.model_users = Gauge(
            "reelrec_model_users", "Users known to the served model.", registry=reg, multiprocess_mode="livemostrecent"
        )
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._pid = () if self.shared else (str(os.getpid()),)
        self.started = time.time()
        (self.start_time.labels(*self._pid) if self._pid else self.start_time).set(self.started)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished request and its latency."""
        series = self._series.get((method, route, status))
        if series is None:  # looking children up by label costs more than the update itself: once per series
            series = self._series[(method, route, status)] = (
                self.requests.labels(method, route, str(status)),
                self.duration.labels(method, route),
            )
        series[0].inc()
        series[1].observe(seconds)

    def reload(self, outcome: str) -> None:
        """Count one reload attempt by outcome (``ok`` or ``failed``)."""
        self._outcomes.add(outcome)
        self._reloads.labels(outcome).inc()

    @property
    def reloads(self) -> dict[str, int]:
        """This worker's reload attempts by outcome (``{"ok": 1, "failed": 0}``)."""
        value = self.registry.get_sample_value
        return {o: int(value("reelrec_reloads_total", {"outcome": o}) or 0) for o in sorted(self._outcomes)}

    def render(self, state: ServingState | None = None) -> str:
        """All metrics as Prometheus text (of every worker, in multiprocess mode)."""
        if state is not None:
            self.model_info.clear()  # a reload replaces the served artifact's series
            self.model_info.labels(state.model_name, state.artifact_id, state.retrieval, *self._pid).set(1)
            self.model_items.set(len(state.items))
            self.model_users.set(len(state.users))
        registry = self.registry
        if self.shared:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry).decode()

    def close(self) -> None:
        """Drop this worker's live gauges from the shared directory (multiprocess mode) as it exits."""
        if self.shared:
            multiprocess.mark_process_dead(os.getpid())
