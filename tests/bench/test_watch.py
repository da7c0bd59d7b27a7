"""Watch-time figures in a benchmark: XAUC/XGAUC in the table, errors by duration quintile beside it."""

import json
import math

import numpy as np
import polars as pl
import pytest

from reelrec.bench import BenchResult, run_bench
from reelrec.bench._result import header_for, metric_columns, watch_columns
from reelrec.bench._table import lower_is_better
from tests.eval.watch_data import kuairec_like

MODELS = ["popularity", "item-mean"]


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "watch"
    result = run_bench(kuairec_like(), MODELS, seeds=2, fast=True, out=out, progress=False, n_boot=200)
    return result, out


def test_main_table_has_xauc_and_the_watch_table_the_rest(bench):
    result, _ = bench
    main = [c.key for c in result.columns()]
    assert "xauc" in main and "xgauc" in main
    assert main.index("rmse") < main.index("xauc") < main.index("xgauc")
    assert not any("_dur_q" in c or c.endswith("_time") for c in main)
    watch = [c.key for c in result.watch_columns()]
    assert watch == ["xauc_time", "xgauc_time", *(f"mae_dur_q{q}" for q in range(1, 6)),
                     *(f"rmse_dur_q{q}" for q in range(1, 6))]


def test_models_that_do_not_predict_show_a_dash(bench):
    result, out = bench
    md = (out / "bench.md").read_text()
    table = md.split("\n## ")[0]
    header = next(line for line in table.splitlines() if line.startswith("| model"))
    col = header.split(" | ").index("XAUC ↑")
    row = next(line for line in table.splitlines() if line.startswith("| popularity |"))
    assert row.split(" | ")[col] == "–"
    runs = result.runs.filter(pl.col("model") == "item-mean")
    mean = float(np.mean(runs["xauc"].to_numpy()))
    item_row = next(line for line in table.splitlines() if line.startswith("| item-mean |"))
    assert item_row.split(" | ")[col].strip("*").startswith(f"{mean:.4f}")


def test_watch_section_lists_edges_and_values(bench):
    result, out = bench
    md = (out / "bench.md").read_text()
    section = md.split("## Watch time")[1]
    edges = result.duration_edges()
    assert sorted(edges) == [0, 1] and all(len(e) == 6 for e in edges.values())
    for seed, values in edges.items():
        assert f"seed {seed}: " + ", ".join(f"{e:g}" for e in values) in section
    assert "MAE q1 ↓" in section and "XAUC time ↑" in section
    csv = pl.read_csv(out / "bench.csv")
    for col in ("xauc", "xgauc", "xauc_time", "mae_dur_q1", "rmse_dur_q5"):
        assert f"{col}_mean" in csv.columns, col
    item = csv.filter(pl.col("model") == "item-mean").row(0, named=True)
    runs = result.runs.filter(pl.col("model") == "item-mean")
    assert item["mae_dur_q3_mean"] == pytest.approx(runs["mae_dur_q3"].mean(), rel=1e-5)
    assert math.isnan(csv.filter(pl.col("model") == "popularity")["mae_dur_q3_mean"][0])


def test_json_holds_the_watch_table_and_reads_back(bench):
    result, out = bench
    info = json.loads((out / "bench.json").read_text())
    rows = {r["model"]: r for r in info["watch_table"]}
    assert rows["item-mean"]["xauc_time_mean"] == pytest.approx(result.runs.filter(
        pl.col("model") == "item-mean")["xauc_time"].mean())
    assert rows["popularity"]["xauc_time_mean"] is None
    assert set(info["duration_edges"]) == {"0", "1"}
    again = BenchResult.read(out)
    assert "watch_table" not in again.info
    assert again.watch_summary().equals(result.watch_summary())
    assert again.duration_edges() == result.duration_edges()


def test_column_names_and_directions():
    cols = ["ndcg@10", "mae", "xauc", "mae_dur_q2", "rmse_dur_q1", "xauc_time", "mae_dur_q1", "duration_edges"]
    assert metric_columns(cols, 10) == ["ndcg@10", "mae", "xauc"]
    assert watch_columns(cols) == ["xauc_time", "mae_dur_q1", "mae_dur_q2", "rmse_dur_q1"]
    assert header_for("rmse_dur_q4") == "RMSE q4" and header_for("xgauc_time") == "XGAUC time"
    assert lower_is_better("mae_dur_q3") and lower_is_better("rmse_dur_q1")
    assert not lower_is_better("xauc") and not lower_is_better("xgauc_time")


def test_data_without_durations_has_no_watch_section(toy_dataset, tmp_path):
    result = run_bench(toy_dataset, ["item-mean"], seeds=1, fast=True, out=tmp_path / "b", progress=False)
    assert result.watch_columns() == [] and result.duration_edges() == {}
    assert "## Watch time" not in (tmp_path / "b" / "bench.md").read_text()
    assert "xauc" in [c.key for c in result.columns()]
