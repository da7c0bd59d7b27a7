"""`reelrec train` and `reelrec evaluate`: artifacts, tables, JSON, seeds, and every error path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from tests.cli.helpers import popularity_ndcg_from_csv, run_cli
from tests.cli.helpers import run_in_process as run
from tests.conftest import make_toy_dataset

from reelrec.artifacts import load_artifact
from reelrec.models import BASELINES, model_class
from reelrec.synth import write_kuairec

# A default-model run that takes seconds: tiny towers, few epochs, no validation split, no refit.
_FAST_TWO_TOWER = """\
model = "two-tower"
seed = 3

[training]
epochs = 5
progress = false
validation_fraction = 0.0

[params]
embedding_size = 8
history_size = 8
n_negatives = 64
refit = false
"""

# Small factors and a light penalty: the factors (and so the seed) matter on data this small.
_MF_SET = ("--set", "params.reg=1.0", "--set", "params.embedding_size=8")


def _option_id(value: tuple[str, ...]) -> str | None:
    """Test ids that read like the command line: ``--k 0``."""
    return " ".join(value) if value[0].startswith("--") else None


def assert_one_error_line(code: int, err: str, *names: str) -> None:
    """Exit status 2, exactly one ``error:`` line naming each of ``names``, no traceback."""
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    for name in names:
        assert name in lines[0], (name, err)


@pytest.fixture(scope="module")
def single_thread():
    """Small models train fastest on one torch thread when other jobs share the cores."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OMP_NUM_THREADS", "1")
        yield


@pytest.fixture(scope="module")
def kuairec_dir(tmp_path_factory) -> Path:
    """Synthetic KuaiRec-shaped files (a big matrix plus a fully observed block)."""
    path = tmp_path_factory.mktemp("kr") / "kuairec"
    write_kuairec(path, scale=0.003, seed=0)
    return path


@pytest.fixture(scope="module")
def generic_dir(tmp_path_factory) -> Path:
    """The toy data set in the generic layout: interactions.csv with raw ids, no fully observed block."""
    ds = make_toy_dataset(n_users=40, n_items=60, per_user=15, with_block=False)
    path = tmp_path_factory.mktemp("generic") / "toy"
    path.mkdir()
    inter = ds.interactions
    pl.DataFrame(
        {
            "user_id": ds.users.raw(inter.user),
            "item_id": ds.items.raw(inter.item),
            "label": inter.label,
            "timestamp": inter.timestamp.astype(np.int64),
        }
    ).write_csv(path / "interactions.csv")
    return path


@pytest.fixture(scope="module")
def pop_run(tmp_path_factory, kuairec_dir, single_thread) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("pop") / "art"
    proc = run_cli("train", kuairec_dir, "--out", out, "--model", "popularity", "--json")
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(proc.stdout)


@pytest.fixture(scope="module")
def mf_artifact(tmp_path_factory, kuairec_dir, single_thread) -> Path:
    out = tmp_path_factory.mktemp("mf") / "art"
    proc = run_cli("train", kuairec_dir, "--out", out, "--model", "mf", "--seed", "1", "--quiet", *_MF_SET)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # --quiet prints nothing
    return out


# ---------------------------------------------------------------------------------------------- train
def test_train_json_writes_a_loadable_artifact(pop_run, kuairec_dir):
    out, result = pop_run
    assert result["model"] == "popularity" and result["protocol"] == "kuairec"  # auto: KuaiRec has a block
    assert Path(result["artifact"]) == out
    # Against a brute force from the raw CSVs; per-user figures are float32, hence 1e-6.
    assert result["metrics"]["ndcg@10"] == pytest.approx(popularity_ndcg_from_csv(kuairec_dir), abs=1e-6)
    assert "truth_graded_ndcg@10" in result["metrics"]
    art = load_artifact(out, model_class)
    assert art.model.name == "popularity"
    assert art.metrics["metrics"] == pytest.approx(result["metrics"])
    assert art.config["model"] == "popularity" and Path(art.config["data_path"]) == kuairec_dir
    items, scores = art.model.recommend_indices(np.arange(3, dtype=np.int32), k=5)
    assert items.shape == (3, 5) and (items >= 0).all()
    assert np.all(np.diff(scores, axis=1) <= 0)


def test_train_generic_folder_prints_table(tmp_path, generic_dir, single_thread):
    out = tmp_path / "im"
    proc = run_cli("train", generic_dir, "--out", out, "--model", "item-mean", "--protocol", "holdout")
    assert proc.returncode == 0, proc.stderr
    assert "metrics (mean over scored users)" in proc.stdout and "item-mean" in proc.stdout
    assert f"artifact written to {out}" in " ".join(proc.stdout.split())
    art = load_artifact(out, model_class)
    assert art.model.regresses and art.metrics["protocol"] == "holdout"
    frame = pl.read_csv(generic_dir / "interactions.csv")
    pred = art.model.predict(frame["user_id"][:5].to_numpy(), frame["item_id"][:5].to_numpy())
    assert pred.dtype == np.float32 and np.isfinite(pred).all()


def test_train_without_a_model_fits_the_default_hybrid(tmp_path, kuairec_dir, single_thread):
    out = tmp_path / "default"
    proc = run_cli("train", kuairec_dir, "--out", out, "--json", "--set", "params.embedding_size=8")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["model"] == "hybrid"
    art = load_artifact(out, model_class)
    assert art.model.name == "hybrid" and art.model.label_kind_ == "watch_ratio"
    assert art.model.get_params()["embedding_size"] == 8


def test_train_two_tower_from_toml_config_and_override(tmp_path, kuairec_dir, single_thread):
    config = tmp_path / "fast.toml"
    config.write_text(_FAST_TWO_TOWER)
    out = tmp_path / "tt"
    # --set wins over the file: two epochs, not five
    proc = run_cli("train", kuairec_dir, "--out", out, "--config", config, "--set", "training.epochs=2", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["model"] == "two-tower"
    art = load_artifact(out, model_class)
    assert art.model.name == "two-tower"
    assert art.config["training"]["epochs"] == 2 and art.config["seed"] == 3
    assert art.config["params"]["embedding_size"] == 8
    assert [h["epoch"] for h in art.metrics["history"]] == [1, 2]
    assert art.model.get_params()["embedding_size"] == 8


def test_seed_makes_training_repeatable(tmp_path, mf_artifact, kuairec_dir, single_thread):
    users = np.arange(10, dtype=np.int32)
    reference = load_artifact(mf_artifact, model_class).model.recommend_indices(users, k=10)
    runs = {}
    for seed in ("1", "2"):
        out = tmp_path / f"mf{seed}"
        proc = run_cli("train", kuairec_dir, "--out", out, "--model", "mf", "--seed", seed, "--quiet", *_MF_SET)
        assert proc.returncode == 0, proc.stderr
        runs[seed] = load_artifact(out, model_class).model.recommend_indices(users, k=10)
    assert np.array_equal(runs["1"][0], reference[0]) and np.array_equal(runs["1"][1], reference[1])
    assert load_artifact(tmp_path / "mf1", model_class).model.get_params()["reg"] == 1.0  # --set reached the model
    assert not np.array_equal(runs["2"][0], reference[0])  # another seed, other factors, other rankings


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (("--model", "nosuch"), ("model", "nosuch", "popularity")),
        (("--set", "foo"), ("foo", "key.sub=value")),
        (("--set", "training.epochs=-1"), ("training.epochs", "-1")),
        (("--set", "training.epochz=2"), ("training.epochz", "unknown field")),
        (("--set", "params.nosuch=1"), ("params.nosuch", "hybrid")),
        (("--set", "training.epochs=2", "--set", "training.epochs.x=1"), ("training.epochs", "not a table")),
        (("--set", "training.x.y=1"), ("training.x", "unknown field")),
        (("--protocol", "bogus"), ("data.protocol", "bogus")),
        (("--device", "tpu"), ("device", "tpu")),
        (("--model", "mf", "--set", "params.reg=-1"), ("reg=-1", "> 0")),
        # issue 13, item 6: these two were dropped silently (exit 0, artifact written)
        (("--model", "mf", "--set", "model.params.reg=2"), ("--set model.params.reg=2", "--model", "params.<name>")),
        (("--model", "popularity", "--set", "training.epochs=3"), ("training.epochs=3", "popularity", "ignored")),
    ],
    ids=_option_id,
)
def test_train_bad_options_are_one_error_line(capsys, tmp_path, kuairec_dir, args, names):
    code, out, err = run(capsys, "train", kuairec_dir, "--out", tmp_path / "art", *args)
    assert_one_error_line(code, err, *names)
    assert out == "" and not (tmp_path / "art").exists()


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ('model = "two-tower"\n[training\n', ("not valid TOML", "line 2")),
        ("[training]\nepochz = 2\n", ("training.epochz", "unknown field")),
        ("[training]\nepochs = 0\n", ("training.epochs", "greater than or equal to 1")),
        ("[data]\ntest_fraction = 1.5\n", ("data.test_fraction", "1.5")),
        ('model = "popularity"\n[params]\nfactors = 8\n', ("params.factors", "popularity")),
    ],
    ids=["invalid-toml", "unknown-field", "out-of-range", "data-out-of-range", "unknown-param"],
)
def test_train_bad_config_file_names_file_and_field(capsys, tmp_path, kuairec_dir, text, names):
    config = tmp_path / "run.toml"
    config.write_text(text)
    code, _, err = run(capsys, "train", kuairec_dir, "--out", tmp_path / "art", "--config", config)
    assert_one_error_line(code, err, "run.toml", *names)


def test_train_missing_config_file(capsys, tmp_path, kuairec_dir):
    code, _, err = run(capsys, "train", kuairec_dir, "--out", tmp_path / "art", "--config", tmp_path / "no.toml")
    assert_one_error_line(code, err, "no.toml", "does not exist")


def test_train_missing_data(capsys, tmp_path):
    code, _, err = run(capsys, "train", tmp_path / "nodata", "--out", tmp_path / "art", "--model", "popularity")
    assert_one_error_line(code, err, "nodata", "no such file or folder")
    assert not (tmp_path / "art").exists()


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_train_refuses_to_overwrite_what_is_not_an_artifact(capsys, tmp_path, generic_dir, kind):
    target = tmp_path / "precious"
    if kind == "file":
        target.write_text("keep me\n")
    else:
        target.mkdir()
        (target / "notes.txt").write_text("keep me\n")
    code, _, err = run(capsys, "train", generic_dir, "--out", target, "--model", "popularity")
    assert_one_error_line(code, err, "precious", "not a reelrec artifact")
    kept = target if kind == "file" else target / "notes.txt"
    assert kept.read_text() == "keep me\n"


# ------------------------------------------------------------------------------------------- evaluate
def test_evaluate_kuairec_table_with_baselines(pop_run, kuairec_dir, single_thread):
    out, _ = pop_run
    proc = run_cli("evaluate", out, kuairec_dir, "--k", "10", "--quiet")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "protocol: kuairec" in text and "evaluated as saved" in text  # trained on exactly this split
    assert "metrics (mean over scored users)" in text and "ndcg@10" in text
    # Only the first table: a narrow terminal continues the columns in further tables with the same rows.
    first = text.split("(continued)")[0]
    rows = [line.split("│")[1].strip() for line in first.splitlines() if line.startswith("│")]
    assert rows[0] == "popularity *"
    assert set(rows[1:]) == set(BASELINES) - {"popularity"}


def test_evaluate_holdout_json_refits_on_the_split(capsys, tmp_path, mf_artifact, kuairec_dir):
    code, out, err = run(
        capsys, "evaluate", mf_artifact, kuairec_dir, "--protocol", "holdout", "--k", "5", "--k", "10",
        "--no-baselines", "--json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["model"] == "mf" and result["protocol"] == "holdout"
    assert "re-fitted" in result["note"]  # the artifact was trained on the kuairec split, not this one
    assert set(result["comparison"]) == {"mf"}
    metrics = result["comparison"]["mf"]
    assert {"ndcg@5", "ndcg@10", "mae", "rmse"} <= set(metrics) and "ndcg@20" not in metrics
    # Watch-time figures of a label-predicting model on KuaiRec-shaped data (issue 10, section 3).
    assert {"xauc", "xgauc", "xauc_time", "xgauc_time", "mae_dur_q1", "rmse_dur_q5"} <= set(metrics)
    assert 0.5 < metrics["xauc"] < 1.0  # MF orders watch ratios better than chance
    # The refit is the artifact's model (params, seed) on the holdout split: `train` on that split with
    # the same options gives the same figures (to float32 rounding of the per-user values).
    code, out, err = run(
        capsys, "train", kuairec_dir, "--out", tmp_path / "mf", "--model", "mf", "--seed", "1", *_MF_SET,
        "--protocol", "holdout", "--json",
    )  # fmt: skip
    assert code == 0, err
    trained = json.loads(out)["metrics"]
    for name in ("ndcg@5", "ndcg@10", "mae", "rmse"):
        assert metrics[name] == pytest.approx(trained[name], rel=1e-6), name
    assert metrics["rmse"] >= metrics["mae"] > 0.0


def test_evaluate_on_other_data_refits_instead_of_reusing(capsys, tmp_path, pop_run, generic_dir):
    out, _ = pop_run
    code, stdout, err = run(capsys, "evaluate", out, generic_dir, "--no-baselines", "--json", "--split", "temporal")
    assert code == 0, err
    result = json.loads(stdout)
    assert result["protocol"] == "temporal"  # auto: no fully observed block, so a holdout; --split makes it temporal
    assert "re-fitted" in result["note"]
    # The same split through `train`: the refitted popularity must give exactly its figure.
    code, out, err = run(
        capsys, "train", generic_dir, "--out", tmp_path / "pop", "--model", "popularity", "--json",
        "--protocol", "holdout", "--set", 'data.split="temporal"',
    )  # fmt: skip
    assert code == 0, err
    expected = json.loads(out)["metrics"]["ndcg@10"]
    assert result["comparison"]["popularity"]["ndcg@10"] == pytest.approx(expected, rel=1e-9)
    assert expected > 0.0  # a figure of zero would make the comparison above vacuous


def test_evaluate_threshold_changes_relevance(capsys, pop_run, kuairec_dir):
    out, _ = pop_run
    precision = []
    for threshold in ("0.5", "3"):
        code, stdout, err = run(
            capsys, "evaluate", out, kuairec_dir, "--no-baselines", "--json", "--k", "10", "--threshold", threshold
        )
        assert code == 0, err
        precision.append(json.loads(stdout)["comparison"]["popularity"]["precision@10"])
    assert precision[0] > precision[1]  # fewer cells count as relevant at a higher threshold


def test_evaluate_missing_artifact(capsys, tmp_path, kuairec_dir):
    code, _, err = run(capsys, "evaluate", tmp_path / "noart", kuairec_dir)
    assert_one_error_line(code, err, "noart", "no such artifact directory")


def test_evaluate_folder_that_is_not_an_artifact(capsys, kuairec_dir):
    code, _, err = run(capsys, "evaluate", kuairec_dir, kuairec_dir, "--no-baselines")
    assert_one_error_line(code, err, "kuairec", "manifest.json")


def test_evaluate_missing_data(capsys, tmp_path, pop_run):
    code, _, err = run(capsys, "evaluate", pop_run[0], tmp_path / "nodata", "--no-baselines")
    assert_one_error_line(code, err, "nodata", "no such file or folder")


def test_evaluate_kuairec_protocol_on_data_without_block(capsys, pop_run, generic_dir):
    code, _, err = run(capsys, "evaluate", pop_run[0], generic_dir, "--protocol", "kuairec", "--no-baselines")
    assert_one_error_line(code, err, "kuairec", "fully observed block")


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (("--k", "0"), ("ks", "0", ">= 1")),
        (("--k", "10", "--k", "-3"), ("ks", "-3")),
        (("--threshold", "nan"), ("threshold", "nan")),
        (("--threshold", "inf"), ("threshold", "inf")),
        (("--protocol", "bogus"), ("protocol", "bogus")),
        (("--protocol", "holdout", "--test-fraction", "1.5"), ("test_fraction", "1.5")),
        (("--protocol", "holdout", "--split", "sideways"), ("split", "sideways")),
        (("--cold-users", "2"), ("cold", "2")),
        (("--protocol", "none"), ("protocol", "none")),
    ],
    ids=_option_id,
)
def test_evaluate_bad_options_are_one_error_line(capsys, pop_run, kuairec_dir, args, names):
    code, out, err = run(capsys, "evaluate", pop_run[0], kuairec_dir, "--no-baselines", *args)
    assert_one_error_line(code, err, *names)
    assert out == ""
