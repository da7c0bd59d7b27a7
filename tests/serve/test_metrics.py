"""Prometheus text: counters per route and status, cumulative histogram buckets, escaped labels."""

from __future__ import annotations

import re

from reelrec.serve.metrics import Metrics

LINE = re.compile(r'^([a-z_]+)(\{[^}]*\})? (\S+)$')
LABEL = re.compile(r'[a-z_]+="(?:[^"\\]|\\.)*"')


def parse(text: str) -> dict[str, float]:
    """Sample name+labels (sorted by name: their order carries no meaning) -> value.

    Every non-comment line must be a valid sample.
    """
    out = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert line.startswith(("# HELP ", "# TYPE ")), line
            continue
        m = LINE.match(line)
        assert m, f"not a Prometheus sample: {line!r}"
        labels = sorted(LABEL.findall(m.group(2) or ""))
        out[m.group(1) + ("{" + ",".join(labels) + "}" if labels else "")] = float(m.group(3))
    return out


def test_counters_and_cumulative_buckets():
    m = Metrics(buckets=(0.001, 0.01, 0.1))
    for seconds in (0.0005, 0.005, 0.005, 0.05, 3.0):
        m.observe("GET", "/r", 200, seconds)
    m.observe("GET", "/r", 404, 0.0001)
    m.reload("ok")
    samples = parse(m.render())
    assert samples['reelrec_requests_total{method="GET",route="/r",status="200"}'] == 5
    assert samples['reelrec_requests_total{method="GET",route="/r",status="404"}'] == 1
    bucket = 'reelrec_request_duration_seconds_bucket{le="%s",method="GET",route="/r"}'
    assert [samples[bucket % le] for le in ("0.001", "0.01", "0.1", "+Inf")] == [2, 4, 5, 6]
    assert samples['reelrec_request_duration_seconds_count{method="GET",route="/r"}'] == 6
    total = samples['reelrec_request_duration_seconds_sum{method="GET",route="/r"}']
    assert abs(total - 3.0606) < 1e-9
    assert samples['reelrec_reloads_total{outcome="ok"}'] == 1
    assert samples['reelrec_reloads_total{outcome="failed"}'] == 0


def test_a_value_on_a_bucket_bound_counts_in_that_bucket():
    m = Metrics(buckets=(0.01,))
    m.observe("GET", "/r", 200, 0.01)
    assert parse(m.render())['reelrec_request_duration_seconds_bucket{le="0.01",method="GET",route="/r"}'] == 1


def test_labels_are_escaped_and_model_info_is_reported(artifact_root):
    from reelrec.serve import ServeSettings, load_state

    m = Metrics()
    m.observe("GET", 'a"b\\c\nd', 200, 0.001)
    state = load_state(artifact_root / "a", ServeSettings(artifact=artifact_root / "a"))
    text = m.render(state)
    assert 'route="a\\"b\\\\c\\nd"' in text
    samples = parse(text)
    info = [k for k in samples if k.startswith("reelrec_model_info")]
    assert len(info) == 1 and f'artifact_id="{state.artifact_id}"' in info[0] and 'model="popularity"' in info[0]
    assert samples["reelrec_model_items"] == len(state.items)


_WORKER = """
import sys
from reelrec.serve.metrics import Metrics
m = Metrics()
for _ in range(int(sys.argv[1])):
    m.observe("GET", "/health", 200, 0.003)
if sys.argv[2] == "exit":
    m.close()
else:
    print(m.render(), end="")
"""


def test_workers_pool_their_metrics_in_the_multiprocess_directory(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def worker(requests: int, then: str) -> str:
        done = subprocess.run([sys.executable, "-c", _WORKER, str(requests), then], env=env, capture_output=True,
                              text=True, timeout=120, check=True)
        return done.stdout

    worker(2, "exit")  # an earlier worker that has finished
    samples = parse(worker(3, "render"))
    assert samples['reelrec_requests_total{method="GET",route="/health",status="200"}'] == 5
    assert samples['reelrec_request_duration_seconds_bucket{le="0.005",method="GET",route="/health"}'] == 5
    # Per-process gauges: only the live worker, labelled by the collector with its pid.
    starts = [k for k in samples if k.startswith("reelrec_process_start_time_seconds")]
    assert len(starts) == 1 and 'pid="' in starts[0]
