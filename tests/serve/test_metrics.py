"""Prometheus text: counters per route and status, cumulative histogram buckets, escaped labels."""

from __future__ import annotations

import re

from reelrec.serve.metrics import Metrics

LINE = re.compile(r'^([a-z_]+)(\{[^}]*\})? (\S+)$')


def parse(text: str) -> dict[str, float]:
    """Sample name+labels -> value; every non-comment line must be a valid sample."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert line.startswith(("# HELP ", "# TYPE ")), line
            continue
        m = LINE.match(line)
        assert m, f"not a Prometheus sample: {line!r}"
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
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
    bucket = 'reelrec_request_duration_seconds_bucket{method="GET",route="/r",le="%s"}'
    assert [samples[bucket % le] for le in ("0.001", "0.01", "0.1", "+Inf")] == [2, 4, 5, 6]
    assert samples['reelrec_request_duration_seconds_count{method="GET",route="/r"}'] == 6
    total = samples['reelrec_request_duration_seconds_sum{method="GET",route="/r"}']
    assert abs(total - 3.0606) < 1e-9
    assert samples['reelrec_reloads_total{outcome="ok"}'] == 1
    assert samples['reelrec_reloads_total{outcome="failed"}'] == 0


def test_a_value_on_a_bucket_bound_counts_in_that_bucket():
    m = Metrics(buckets=(0.01,))
    m.observe("GET", "/r", 200, 0.01)
    assert 'le="0.01"} 1' in m.render()


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
