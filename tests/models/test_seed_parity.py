"""benchmarks/seed_parity.py without TensorFlow: its help, its verdicts, and the preset's side on tiny data."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest
import torch
from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def parity():
    spec = importlib.util.spec_from_file_location("seed_parity", REPO_ROOT / "benchmarks" / "seed_parity.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_help_names_the_options(parity, capsys):
    with pytest.raises(SystemExit) as stop:
        parity.main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    for option in ("--scale", "--seeds", "--threads", "--dry-run", "--notebook-python"):
        assert option in out


def _run(who: str, seed: int, rmse: float, mae: float, seconds: float) -> dict:
    return {"who": who, "seed": seed, "rmse": rmse, "mae": mae, "ndcg@10": 0.5, "train_seconds": seconds,
            "train_cpu_seconds": seconds, "peak_rss_mb": 100.0}  # fmt: skip


def test_verdicts_compare_against_the_notebooks_spread_and_time(parity):
    seeds = ((0, 0.70, 0.50, 10), (1, 0.72, 0.52, 12), (2, 0.71, 0.51, 11))
    notebook = [_run("notebook", s, r, m, t) for s, r, m, t in seeds]
    close = [_run("preset", s, 0.715, 0.535, 11.5) for s in range(3)]
    lines = parity.summarise(notebook + close)
    # RMSE: |0.715 - 0.71| = 0.005 <= spread 0.02; MAE: |0.535 - 0.51| = 0.025 > 0.02; time 11.5 <= 1.05 x 11.
    assert [line.split(":")[0] for line in lines if line.startswith("verdict")] == [
        "verdict RMSE", "verdict MAE", "verdict time"
    ]  # fmt: skip
    verdicts = [line.rsplit(": ", 1)[1] for line in lines if line.startswith("verdict")]
    assert verdicts == ["met", "NOT met", "met"]
    slow = [_run("preset", s, 0.71, 0.51, 11.6) for s in range(3)]
    assert [line.rsplit(": ", 1)[1] for line in parity.summarise(notebook + slow) if line.startswith("verdict")] == [
        "met", "met", "NOT met"
    ]  # fmt: skip


def test_dry_run_trains_the_preset_on_the_rows_of_a_split(parity, tmp_path):
    threads = torch.get_num_threads()
    try:
        runs = parity.main(["--dry-run", "--scale", "0.002", "--seeds", "0", "--epochs", "1", "--work", str(tmp_path)])
    finally:
        torch.set_num_threads(threads)
    (run,) = runs
    train = np.load(tmp_path / "dry-s0.002" / "seed0" / "train_rows.npy")
    test = np.load(tmp_path / "dry-s0.002" / "seed0" / "test_rows.npy")
    # The split partitions the log's rows, 80/20.
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(run["rows"]))
    assert run["test_rows"] == len(test) == math.ceil(0.2 * run["rows"]) and run["train_rows"] == len(train)
    assert run["who"] == "preset" and run["threads"] == 1 and len(run["loss"]) == 1
    assert 0 < run["mae"] < run["rmse"] < 5 and 0 <= run["ndcg@10"] <= 1 and run["ndcg_users"] > 0
