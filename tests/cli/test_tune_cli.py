"""`reelrec tune` through the real command line: the trials table, the chosen values, the artifact."""

from __future__ import annotations

import json

import pytest
from tests.bench.test_cli import _write_generic
from tests.cli.helpers import run_in_process as run
from tests.conftest import make_toy_dataset

from reelrec.artifacts import load_artifact
from reelrec.models import model_class


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    data = make_toy_dataset(n_users=40, n_items=60, with_block=False)
    return _write_generic(data, tmp_path_factory.mktemp("d") / "toy")


def test_prints_every_trial_and_saves_the_chosen_model(data_dir, tmp_path, capsys):
    art = tmp_path / "art"
    code, out, err = run(capsys, "tune", data_dir, "--model", "ease", "--trials", "4", "--seed", "1",
                         "--out", art)
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.startswith("| ") and not line.startswith("| trial")]
    assert len(rows) == 4 and rows[0].split("|")[2].strip() == "default"
    assert "chosen for ease" in out and f"artifact written to {art}" in out
    loaded = load_artifact(art, model_class)
    tuning = loaded.metrics["tuning"]
    scores = [t["score"] for t in tuning["trials"]]
    best = tuning["trials"][scores.index(max(scores))]
    assert tuning["chosen"] == best["params"] and tuning["n_trials"] == 4 and tuning["seconds"] > 0
    # The artifact is the chosen configuration, and its test figure is recorded beside the tuning.
    assert loaded.model.get_params()["reg"] == best["params"].get("reg", 500.0)
    assert 0 < loaded.metrics["metrics"]["ndcg@10"] < 1 and loaded.metrics["protocol"] == "holdout"


def test_json_output_and_the_same_seed_gives_the_same_choice(data_dir, capsys):
    first = run(capsys, "tune", data_dir, "--model", "itemknn", "--trials", "3", "--json")
    second = run(capsys, "tune", data_dir, "--model", "itemknn", "--trials", "3", "--json")
    assert first[0] == second[0] == 0, first[2]
    a, b = json.loads(first[1]), json.loads(second[1])
    assert a["chosen"] == b["chosen"] and [t["score"] for t in a["trials"]] == [t["score"] for t in b["trials"]]
    assert a["validation"]["test_rows"] > 0 and a["metric"] == "ndcg@10" and "artifact" not in a


def test_a_model_without_hyperparameters_is_said_so(data_dir, capsys):
    code, out, err = run(capsys, "tune", data_dir, "--model", "popularity", "--trials", "5")
    assert code == 0, err
    assert "popularity has no hyperparameters to tune" in out


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (("--model", "nope"), ("nope", "choose one of")),
        (("--model", "ease", "--param", "reg"), ("--param", "NAME=VALUE")),
        (("--model", "ease", "--metric", "ndcg@ten"), ("metric=",)),
        (("--model", "ease", "--param", "not_a_parameter=1"), ("every tuning trial of ease failed", "not_a_parameter")),
    ],
)
def test_bad_input_is_one_clear_error(data_dir, capsys, args, names):
    code, out, err = run(capsys, "tune", data_dir, "--trials", "2", *args)
    assert code == 2 and "Traceback" not in err, err
    for name in names:
        assert name in err, (name, err)


def test_bench_tune_prints_and_stores_the_chosen_values(data_dir, tmp_path, capsys):
    out = tmp_path / "bench"
    code, text, err = run(capsys, "bench", data_dir, "--models", "popularity,itemknn", "--seeds", "2", "--tune",
                          "--trials", "3", "--out", out)
    assert code == 0, err
    assert "## Tuning" in text and "tune s" in text
    rows = [line for line in text.split("## Tuning")[1].splitlines() if line.startswith("| itemknn")]
    assert len(rows) == 2  # one per seed
    stored = json.loads((out / "bench.json").read_text())["tuning"]
    assert stored["trials"] == 3 and set(stored["models"]) == {"popularity", "itemknn"}
    for seed, rec in stored["models"]["itemknn"].items():
        shown = next(r for r in rows if r.split("|")[2].strip() == seed)
        assert all(f"{k}=" in shown for k in rec["chosen"])
    assert "| itemknn |" in (out / "bench.md").read_text().split("## Tuning")[1]
