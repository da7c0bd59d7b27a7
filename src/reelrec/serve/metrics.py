"""Request counters and latency histograms, rendered in the Prometheus text exposition format (0.0.4)."""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reelrec.serve.state import ServingState

#: Upper bounds (seconds) of the latency buckets: fine below 25 ms, where the service should live.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Metrics:
    """In-process metrics of one worker: cheap to update on every request (no locks, no allocation).

    Updates happen on the event loop thread only, so plain dicts are safe. With ``--workers N`` every
    worker keeps its own numbers and a scrape sees the worker that answered it (``pid`` label).
    """

    def __init__(self, buckets: tuple[float, ...] = DEFAULT_BUCKETS) -> None:
        self.buckets = tuple(sorted(buckets))
        self.started = time.time()
        self.requests: defaultdict[tuple[str, str, int], int] = defaultdict(int)
        # (method, route) -> [per-bucket counts..., +Inf count], sum of seconds
        self.hist: dict[tuple[str, str], list[int]] = {}
        self.hist_sum: defaultdict[tuple[str, str], float] = defaultdict(float)
        self.reloads: defaultdict[str, int] = defaultdict(int)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished request and its latency."""
        self.requests[(method, route, status)] += 1
        key = (method, route)
        counts = self.hist.get(key)
        if counts is None:
            counts = self.hist[key] = [0] * (len(self.buckets) + 1)
        counts[bisect_left(self.buckets, seconds)] += 1
        self.hist_sum[key] += seconds

    def reload(self, outcome: str) -> None:
        """Count one reload attempt by outcome (``ok`` or ``failed``)."""
        self.reloads[outcome] += 1

    def render(self, state: ServingState | None = None) -> str:
        """All metrics as Prometheus text."""
        pid = str(os.getpid())
        lines = [
            "# HELP reelrec_requests_total HTTP requests answered, by method, route template and status.",
            "# TYPE reelrec_requests_total counter",
        ]
        for (method, route, status), n in sorted(self.requests.items()):
            lines.append(f"reelrec_requests_total{_labels(method=method, route=route, status=str(status))} {n}")
        lines += [
            "# HELP reelrec_request_duration_seconds Time from request start to the last response byte.",
            "# TYPE reelrec_request_duration_seconds histogram",
        ]
        for (method, route), counts in sorted(self.hist.items()):
            cumulative = 0
            for bound, n in zip((*self.buckets, float("inf")), counts, strict=True):
                cumulative += n
                le = "+Inf" if bound == float("inf") else _number(bound)
                labels = _labels(method=method, route=route, le=le)
                lines.append(f"reelrec_request_duration_seconds_bucket{labels} {cumulative}")
            base = _labels(method=method, route=route)
            lines.append(f"reelrec_request_duration_seconds_sum{base} {self.hist_sum[(method, route)]!r}")
            lines.append(f"reelrec_request_duration_seconds_count{base} {cumulative}")
        lines += [
            "# HELP reelrec_reloads_total Artifact reload attempts, by outcome.",
            "# TYPE reelrec_reloads_total counter",
        ]
        for outcome in sorted({"ok", "failed", *self.reloads}):
            lines.append(f"reelrec_reloads_total{_labels(outcome=outcome)} {self.reloads[outcome]}")
        lines += [
            "# HELP reelrec_process_start_time_seconds Unix time at which this worker started.",
            "# TYPE reelrec_process_start_time_seconds gauge",
            f"reelrec_process_start_time_seconds{_labels(pid=pid)} {_number(self.started)}",
        ]
        if state is not None:
            info = _labels(model=state.model_name, artifact_id=state.artifact_id, retrieval=state.retrieval, pid=pid)
            lines += [
                "# HELP reelrec_model_info The artifact this worker serves (value is always 1).",
                "# TYPE reelrec_model_info gauge",
                f"reelrec_model_info{info} 1",
                "# HELP reelrec_model_items Items in the served catalogue.",
                "# TYPE reelrec_model_items gauge",
                f"reelrec_model_items {len(state.items)}",
                "# HELP reelrec_model_users Users known to the served model.",
                "# TYPE reelrec_model_users gauge",
                f"reelrec_model_users {len(state.users)}",
            ]
        return "\n".join(lines) + "\n"
