"""The benchmark table: aggregation over seeds, direction of each column, best marking, renderers."""

import math

import numpy as np
import polars as pl
import pytest

from reelrec.bench._table import Column, best_models, summarize, to_csv_frame, to_markdown


@pytest.fixture
def runs(rng):
    rows = []
    for seed in range(3):
        rows.append({"model": "ease", "seed": seed, "ndcg@10": 0.36 + rng.normal(0, 0.01), "rmse": None,
                     "fit_seconds": 2.0 + seed, "pop_share@10": 0.3})
        rows.append({"model": "mf", "seed": seed, "ndcg@10": 0.12 + rng.normal(0, 0.01), "rmse": 0.9 + 0.01 * seed,
                     "fit_seconds": 0.5, "pop_share@10": 0.1})
        rows.append({"model": "item-mean", "seed": seed, "ndcg@10": 0.15, "rmse": 0.95, "fit_seconds": 0.01,
                     "pop_share@10": 0.2})
    return pl.DataFrame(rows)


def test_summary_is_mean_and_sample_std(runs):
    summary = summarize(runs, ["ndcg@10", "rmse", "fit_seconds"])
    assert summary["model"].to_list() == ["ease", "mf", "item-mean"]
    ease = runs.filter(pl.col("model") == "ease")["ndcg@10"].to_numpy()
    row = summary.row(0, named=True)
    assert row["runs"] == 3
    assert row["ndcg@10_mean"] == pytest.approx(ease.mean())
    assert row["ndcg@10_std"] == pytest.approx(ease.std(ddof=1))
    assert math.isnan(row["rmse_mean"]) and math.isnan(row["rmse_std"])


def test_best_follows_each_columns_direction(runs):
    summary = summarize(runs, ["ndcg@10", "rmse", "fit_seconds", "pop_share@10"])
    best = best_models(summary, ["ndcg@10", "rmse", "fit_seconds", "pop_share@10"])
    assert best["ndcg@10"] == ["ease"]
    assert best["rmse"] == ["mf"]  # lower error wins; ease has no rmse and is not considered
    assert best["fit_seconds"] == ["item-mean"]
    assert "pop_share@10" not in best  # descriptive, never "best"


def test_no_best_when_everyone_ties_or_only_one_model_has_a_value():
    summary = summarize(
        pl.DataFrame({"model": ["a", "b"], "seed": [0, 0], "coverage@10": [0.5, 0.5], "mae": [None, 0.7]}),
        ["coverage@10", "mae"],
    )
    assert best_models(summary, ["coverage@10", "mae"]) == {}


def test_markdown_bolds_exactly_the_best_cells(runs):
    cols = [Column("ndcg@10", "NDCG@10"), Column("rmse", "RMSE"), Column("pop_share@10", "top-1% share@10")]
    text = to_markdown(summarize(runs, [c.key for c in cols]), cols)
    lines = text.strip().splitlines()
    assert lines[0] == "| model | NDCG@10 ↑ | RMSE ↓ | top-1% share@10 |"
    ease = next(line for line in lines if line.startswith("| ease "))
    mf = next(line for line in lines if line.startswith("| mf "))
    assert ease.count("**") == 2 and "–" in ease  # best NDCG; no RMSE
    assert mf.count("**") == 2 and "**0.9100 ± 0.0100**" in mf
    assert text.count("**") == 4


def test_csv_frame_lists_wins_per_model(runs):
    cols = [Column("ndcg@10", "NDCG@10"), Column("rmse", "RMSE"), Column("fit_seconds", "train s", 2)]
    frame = to_csv_frame(summarize(runs, [c.key for c in cols]), cols)
    assert frame.columns == ["model", "runs", "ndcg@10_mean", "ndcg@10_std", "rmse_mean", "rmse_std",
                             "fit_seconds_mean", "fit_seconds_std", "best"]
    assert dict(zip(frame["model"], frame["best"], strict=True)) == {
        "ease": "ndcg@10", "mf": "rmse", "item-mean": "fit_seconds"
    }
    assert np.isnan(frame.filter(pl.col("model") == "ease")["rmse_mean"][0])
