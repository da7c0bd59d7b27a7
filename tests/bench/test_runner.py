"""run_bench end to end on the toy data set: files, columns, best marking, significance, seeds, failures."""

import json

import numpy as np
import polars as pl
import pytest
from scipy import stats

from reelrec.bench import BenchResult, run_bench
from reelrec.errors import ReelrecError
from reelrec.eval import EvalProtocol, evaluate
from reelrec.models import create_model
from reelrec.tune import tune
from tests.conftest import make_toy_dataset

MODELS = ["popularity", "item-mean", "mf"]


@pytest.fixture(scope="module")
def bench(toy_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "run"
    result = run_bench(toy_dataset, MODELS, seeds=2, fast=True, out=out, progress=False, n_boot=2000)
    return result, out


def test_writes_every_file_with_the_expected_columns(bench):
    result, out = bench
    for name in ("bench.md", "bench.csv", "bench.json", "runs.parquet", "per_user.parquet",
                 "predictions.parquet", "history.json"):
        assert (out / name).is_file(), name
    csv = pl.read_csv(out / "bench.csv")
    assert csv["model"].to_list() == MODELS
    assert csv["runs"].to_list() == [2, 2, 2]
    for col in ("ndcg@10", "precision@10", "recall@10", "map@10", "hit_rate@10", "coverage@10", "graded_ndcg@10",
                "mae", "rmse", "fit_seconds", "recommend_seconds", "peak_rss_mib"):
        assert f"{col}_mean" in csv.columns and f"{col}_std" in csv.columns, col
    runs = pl.read_parquet(out / "runs.parquet")
    assert runs.height == 6 and sorted(runs["seed"].unique().to_list()) == [0, 1]
    per_user = pl.read_parquet(out / "per_user.parquet")
    assert {"model", "seed", "user", "user_id", "cold", "n_train", "ndcg@10"} <= set(per_user.columns)
    assert per_user["ndcg@10"].dtype == pl.Float32 and per_user["user"].dtype == pl.Int32
    preds = pl.read_parquet(out / "predictions.parquet")
    assert set(preds["model"].unique()) == {"item-mean", "mf"}  # the regressors only
    assert {"predicted", "true", "expected"} <= set(preds.columns)


def test_table_means_agree_with_the_per_user_results(bench):
    result, out = bench
    runs = pl.read_parquet(out / "runs.parquet")
    per_user = pl.read_parquet(out / "per_user.parquet")
    for row in runs.iter_rows(named=True):
        users = per_user.filter((pl.col("model") == row["model"]) & (pl.col("seed") == row["seed"]) & ~pl.col("cold"))
        assert np.nanmean(users["ndcg@10"].to_numpy()) == pytest.approx(row["ndcg@10"], rel=1e-5)
    csv = pl.read_csv(out / "bench.csv")
    for model in MODELS:
        vals = runs.filter(pl.col("model") == model)["ndcg@10"].to_numpy()
        rec = csv.filter(pl.col("model") == model).row(0, named=True)
        assert rec["ndcg@10_mean"] == pytest.approx(vals.mean(), abs=1e-6)
        assert rec["ndcg@10_std"] == pytest.approx(vals.std(ddof=1), abs=1e-6)


def test_best_per_column_is_marked_in_csv_and_markdown(bench):
    result, out = bench
    csv = pl.read_csv(out / "bench.csv")
    top = csv.sort("ndcg@10_mean", descending=True)["model"][0]
    wins = dict(zip(csv["model"], csv["best"].fill_null(""), strict=True))
    assert "ndcg@10" in wins[top].split(";")
    best_rmse = csv.filter(pl.col("rmse_mean").is_not_nan()).sort("rmse_mean")["model"][0]
    assert "rmse" in wins[best_rmse].split(";")
    md = (out / "bench.md").read_text()
    table = md.split("\n## ")[0]
    header = next(line for line in table.splitlines() if line.startswith("| model"))
    ndcg_col = header.split(" | ").index("NDCG@10 ↑")
    row = next(line for line in table.splitlines() if line.startswith(f"| {top} |"))
    assert row.split(" | ")[ndcg_col].startswith("**")


def test_significance_pairs_best_and_runner_up_over_users(bench):
    result, out = bench
    sig = json.loads((out / "bench.json").read_text())["significance"]
    csv = pl.read_csv(out / "bench.csv").sort("ndcg@10_mean", descending=True)
    assert (sig["a"], sig["b"]) == tuple(csv["model"][:2])
    assert sig["metric"] == "ndcg@10"
    per_user = pl.read_parquet(out / "per_user.parquet").filter(~pl.col("cold") & pl.col("ndcg@10").is_not_nan())
    means = {
        m: per_user.filter(pl.col("model") == m).group_by("user").agg(pl.col("ndcg@10").mean()).sort("user")
        for m in (sig["a"], sig["b"])
    }
    ref = stats.ttest_rel(means[sig["a"]]["ndcg@10"].to_numpy(), means[sig["b"]]["ndcg@10"].to_numpy())
    assert sig["n"] == means[sig["a"]].height
    assert sig["t_statistic"] == pytest.approx(ref.statistic, rel=1e-5)
    assert sig["p_value"] == pytest.approx(ref.pvalue, rel=1e-4)
    assert sig["ci_low"] <= sig["mean_diff"] <= sig["ci_high"]
    assert "## Significance" in (out / "bench.md").read_text()


def test_popularity_bias_has_its_known_value(bench, toy_dataset):
    result, _ = bench
    # Popularity ranks the top-1% videos first and, in the disjoint KuaiRec block, nothing is masked.
    n_top = result.info["popularity"]["n_top"]
    pop = result.runs.filter(pl.col("model") == "popularity")
    for k in (5, 10, 20):
        assert pop[f"pop_share@{k}"].to_list() == pytest.approx([min(n_top, k) / k] * 2)


def test_read_back_gives_the_same_table(bench):
    result, out = bench
    again = BenchResult.read(out)
    assert again.summary().equals(result.summary())
    assert again.best() == result.best()
    assert again.significance == result.significance


def test_holdout_seeds_change_the_split_and_protocol_auto_picks_holdout():
    data = make_toy_dataset(n_users=40, n_items=60, with_block=False)
    result = run_bench(data, ["popularity"], seeds=[3, 4], ks=(5,), fast=True, progress=False, n_boot=200)
    assert result.info["protocol"] == "holdout" and result.k == 5
    a, b = (result.per_user.filter(pl.col("seed") == s) for s in (3, 4))
    assert not np.array_equal(a["n_train"].to_numpy(), b["n_train"].to_numpy())
    assert result.info["significance"]["note"].startswith("fewer than two models")


def test_seed_reaches_model_initialisation(toy_dataset):
    result = run_bench(toy_dataset, ["mf"], seeds=2, fast=True, progress=False, n_boot=200)
    preds = result.predictions
    p0 = preds.filter(pl.col("seed") == 0).sort("user", "item")["predicted"].to_numpy()
    p1 = preds.filter(pl.col("seed") == 1).sort("user", "item")["predicted"].to_numpy()
    assert p0.shape == p1.shape and not np.allclose(p0, p1)  # KuaiRec split is fixed: only the init differs


def test_a_failing_model_is_recorded_and_the_rest_go_on(toy_dataset, tmp_path):
    result = run_bench(toy_dataset, ["popularity", "mf"], seeds=1, params={"mf": {"epochs": 0}}, out=tmp_path / "b",
                       progress=False, n_boot=200)
    assert result.runs["model"].to_list() == ["popularity"]
    assert result.info["failures"][0]["model"] == "mf"
    assert "epochs=0" in result.info["failures"][0]["error"]
    assert "## Failures" in (tmp_path / "b" / "bench.md").read_text()
    with pytest.raises(ReelrecError, match="every model failed; first: mf"):
        run_bench(toy_dataset, ["mf"], seeds=1, params={"mf": {"epochs": 0}}, progress=False)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"seeds": 0}, ValueError, "seeds=0"),
        ({"ks": ()}, ValueError, "at least one cut-off"),
        ({"ks": (5, 20), "k": 10}, ValueError, "k=10 is not one of the cut-offs"),
        ({"models": ["nope"]}, ValueError, "unknown model 'nope'"),
        ({"models": []}, ValueError, "models is empty"),
        ({"params": {"ease": {"reg": 1.0}}}, KeyError, "params given for models not in the bench"),
        ({"protocol": "leave-one-out"}, ValueError, "protocol='leave-one-out'"),
    ],
)
def test_bad_arguments_fail_fast_with_a_clear_message(toy_dataset, kwargs, error, match):
    kwargs = {"models": ["popularity"], **kwargs}
    with pytest.raises(error, match=match):
        run_bench(toy_dataset, progress=False, **kwargs)


def test_refuses_to_write_into_a_foreign_directory(toy_dataset, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ReelrecError, match=r"holds no bench\.json"):
        run_bench(toy_dataset, ["popularity"], seeds=1, out=tmp_path, progress=False, n_boot=200)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_tuning_chooses_on_validation_and_the_table_uses_the_choice(toy_dataset, tmp_path):
    result = run_bench(toy_dataset, ["popularity", "ease"], protocol="holdout", seeds=[0, 1], out=tmp_path / "b",
                       progress=False, n_boot=200, tune_trials=3)
    tuning = result.info["tuning"]
    assert tuning["trials"] == 3 and tuning["metric"] == "ndcg@10"
    assert tuning["models"]["popularity"]["0"]["n_trials"] == 0
    for seed in (0, 1):
        rec = tuning["models"]["ease"][str(seed)]
        protocol = EvalProtocol(toy_dataset, "holdout")
        split = protocol.split(seed)
        again = tune("ease", protocol.validation_split(split, seed), 3, seed=seed)
        assert rec["chosen"] == again.chosen and rec["n_trials"] == 3
        # The reported test figure is the chosen configuration's.
        model = create_model("ease", **again.chosen).fit(split.train)
        row = result.runs.filter((pl.col("model") == "ease") & (pl.col("seed") == seed)).row(0, named=True)
        assert row["ndcg@10"] == pytest.approx(evaluate(model, split).metrics["ndcg@10"])
        assert row["tune_seconds"] > 0
    md = (tmp_path / "b" / "bench.md").read_text()
    assert "## Tuning" in md and "tune s" in md and "3 random-search trials" in md
    assert json.loads((tmp_path / "b" / "bench.json").read_text())["tuning"]["models"]["ease"]["1"]["seconds"] > 0
