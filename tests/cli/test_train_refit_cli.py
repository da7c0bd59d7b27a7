"""`reelrec train` refits on all the data after evaluating on the split, unless --no-refit (issue 10)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.cli.helpers import run_in_process as run

from reelrec.artifacts import load_artifact
from reelrec.data import load_dataset
from reelrec.models import model_class


@pytest.fixture(scope="module")
def folder(kuairec_tiny) -> Path:
    return kuairec_tiny


@pytest.fixture(scope="module")
def data(folder):
    return load_dataset(folder)


def train(capsys, folder: Path, out: Path, *args: str) -> tuple[dict, Path]:
    code, stdout, err = run(capsys, "train", folder, "--out", out, "--model", "popularity", "--json", *args)
    assert code == 0, err
    return json.loads(stdout), out


def n_pairs(user: np.ndarray, item: np.ndarray) -> int:
    return len(np.unique(np.stack([user, item]), axis=1)[0])


def test_holdout_refits_on_every_interaction_and_prints_the_splits_metrics(capsys, tmp_path, folder, data):
    refit, refit_out = train(capsys, folder, tmp_path / "refit", "--protocol", "holdout")
    kept, kept_out = train(capsys, folder, tmp_path / "kept", "--protocol", "holdout", "--no-refit")
    assert refit["refit"]["fitted"] and refit["refit"]["data"] == "all interactions"
    assert refit["refit"]["rows"] == len(data.interactions)
    assert kept["refit"] is None
    assert refit["metrics"] == kept["metrics"]  # the printed metrics are the split's either way
    every_pair = n_pairs(data.interactions.user, data.interactions.item)
    refitted, split_model = load_artifact(refit_out, model_class), load_artifact(kept_out, model_class)
    assert refitted.model.seen_.nnz == every_pair
    assert split_model.model.seen_.nnz < every_pair  # the test pairs stayed out of the split's model
    assert refitted.metrics["split"]["trained_on"] == "all interactions"
    assert split_model.metrics["split"]["trained_on"] == "split"


def test_kuairec_refit_uses_the_big_matrix_only(capsys, tmp_path, folder, data):
    result, out = train(capsys, folder, tmp_path / "art", "--set", "data.cold_user_fraction=0.2")
    assert result["protocol"] == "kuairec" and result["refit"]["fitted"]
    assert result["refit"]["data"] == "big matrix" and result["refit"]["rows"] == len(data.interactions)
    seen = load_artifact(out, model_class).model.seen_
    big = data.interactions
    assert seen.nnz == n_pairs(big.user, big.item)  # the cold users' big-matrix rows are back ...
    block = data.fully_observed
    assert np.asarray(seen[block.user, block.item]).sum() == 0  # ... and no cell of the block is training data


def test_kuairec_without_cold_users_keeps_the_split_model_and_says_why(capsys, tmp_path, folder, data):
    code, stdout, err = run(capsys, "train", folder, "--out", tmp_path / "art", "--model", "popularity")
    assert code == 0, err
    assert "already is the whole big matrix" in stdout
    assert f"{len(data.interactions):,} rows" in stdout


def test_text_output_says_the_model_was_refitted(capsys, tmp_path, folder):
    code, stdout, err = run(capsys, "train", folder, "--out", tmp_path / "art", "--model", "popularity",
                            "--protocol", "temporal")  # fmt: skip
    assert code == 0, err
    assert "refitted on all interactions" in stdout and "--no-refit" in stdout
    code, stdout, err = run(capsys, "train", folder, "--out", tmp_path / "kept", "--model", "popularity",
                            "--protocol", "temporal", "--no-refit")  # fmt: skip
    assert code == 0, err
    assert "the saved model is that model (--no-refit)" in stdout
    assert load_artifact(tmp_path / "kept", model_class).metrics["split"]["protocol"] == "temporal"


def test_protocol_none_has_nothing_to_refit(capsys, tmp_path, folder):
    code, stdout, err = run(capsys, "train", folder, "--out", tmp_path / "art", "--model", "popularity",
                            "--protocol", "none")  # fmt: skip
    assert code == 0, err
    assert "trained on all the data" in stdout
