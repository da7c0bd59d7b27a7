"""Each plot draws a PNG from real benchmark tables, and returns None when it has nothing to draw."""

import io

import numpy as np
import polars as pl
import pytest
from matplotlib.image import imread

from reelrec.bench import BenchResult
from reelrec.report import _plots


def _png_ok(png):
    assert png is not None and png[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = imread(io.BytesIO(png), format="png")
    assert float(np.std(pixels[..., :3])) > 0.01


@pytest.fixture(scope="module")
def bench(bench_dir):
    return BenchResult.read(bench_dir)


def test_every_plot_draws_from_a_bench(bench):
    colours = _plots.all_colours(bench.runs, bench.per_user, extra=list(bench.history))
    _png_ok(_plots.training_curves(bench.history, colours))
    _png_ok(_plots.metrics_at_k(bench.runs, colours))
    _png_ok(_plots.predicted_vs_true(bench.predictions, colours, "watch_ratio"))
    _png_ok(_plots.per_user_histogram(bench.per_user, "ndcg@10", colours))
    _png_ok(_plots.cold_vs_warm(bench.per_user, "ndcg@10", colours))
    _png_ok(_plots.popularity_bias(bench.runs, 10, 0.05, colours))
    _png_ok(_plots.coverage(bench.runs, colours))


def test_nothing_to_draw_gives_none():
    empty = pl.DataFrame()
    colours = _plots.colour_map(["a"])
    assert _plots.training_curves({}, colours) is None
    assert _plots.training_curves({"a": {"0": []}}, colours) is None
    assert _plots.metrics_at_k(pl.DataFrame({"model": ["a"], "rmse": [1.0]}), colours) is None
    assert _plots.predicted_vs_true(empty, colours, "watch_ratio") is None
    assert _plots.per_user_histogram(empty, "ndcg@10", colours) is None
    assert _plots.cold_vs_warm(empty, "ndcg@10", colours) is None
    assert _plots.popularity_bias(pl.DataFrame({"model": ["a"]}), 10, None, colours) is None
    assert _plots.coverage(pl.DataFrame({"model": ["a"]}), colours) is None


def test_training_curves_accept_loss_or_train_loss():
    history = {
        "a": {"0": [{"epoch": 1, "loss": 2.0, "val_ndcg@10": 0.1}, {"epoch": 2, "loss": 1.5, "val_ndcg@10": 0.2}]},
        "b": {"0": [{"epoch": 1, "train_loss": 3.0, "val_loss": 3.2}, {"epoch": 2, "train_loss": 2.0}]},
    }
    _png_ok(_plots.training_curves(history, _plots.colour_map(["a", "b"])))


def test_ks_of_reads_cutoffs_from_column_names():
    assert _plots.ks_of(["ndcg@20", "ndcg@5", "graded_ndcg@10", "rmse"], "ndcg") == [5, 20]
