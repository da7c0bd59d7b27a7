"""`reelrec bench` and `reelrec report` through the real command line, on files written to disk."""

import json

import numpy as np
import polars as pl
import pytest

from reelrec.cli import main
from reelrec.data import Dataset
from reelrec.eval import holdout_split
from reelrec.models import create_model
from tests.conftest import make_toy_dataset


def _write_generic(dataset: Dataset, folder):
    """The toy data set in the generic layout: interactions.csv plus users.csv."""
    folder.mkdir(parents=True)
    inter = dataset.interactions
    pl.DataFrame(
        {
            "user_id": dataset.users.raw(inter.user),
            "item_id": dataset.items.raw(inter.item),
            "label": inter.label,
            "timestamp": inter.timestamp.astype(np.int64),
        }
    ).write_csv(folder / "interactions.csv")
    users = dataset.user_features.frame.with_columns(pl.Series("user_id", dataset.users.raw_ids))
    users.select(["user_id", *dataset.user_features.columns]).write_csv(folder / "users.csv")
    return folder


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    data = make_toy_dataset(n_users=40, n_items=60, with_block=False)
    return _write_generic(data, tmp_path_factory.mktemp("d") / "toy")


def _strict(name):
    raise AssertionError(f"non-standard JSON constant {name} in --json output")


def _run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
        raise SystemExit(0)
    captured = capsys.readouterr()
    return exc.value.code, captured.out, captured.err


def test_bench_json_then_report(data_dir, tmp_path, capsys):
    out = tmp_path / "bench"
    code, stdout, _ = _run(
        [
            "bench", str(data_dir), "--models", "popularity,item-mean", "--seeds", "2", "--fast", "--k", "5,10",
            "--out", str(out), "--json",
        ],
        capsys,
    )
    assert code == 0
    doc = json.loads(stdout, parse_constant=_strict)  # strict JSON: no bare NaN for other tools to choke on
    assert doc["protocol"] == "holdout" and doc["ks"] == [5, 10] and doc["seeds"] == [0, 1]
    assert [row["model"] for row in doc["table"]] == ["popularity", "item-mean"]
    assert doc["best"]["ndcg@10"] and doc["significance"]["metric"] == "ndcg@10"
    assert "t_statistic" in doc["significance"] and doc["out"] == str(out)
    assert (out / "bench.csv").exists() and (out / "per_user.parquet").exists()

    code, stdout, _ = _run(["report", str(out), "--out", str(tmp_path / "r.html"), "--json"], capsys)
    assert code == 0
    report = json.loads(stdout)
    assert report["report"] == str(tmp_path / "r.html") and report["bytes"] > 10_000
    assert "cold-vs-warm" in report["sections"]


def test_bench_prints_a_table_with_the_best_marked(data_dir, tmp_path, capsys):
    code, stdout, _ = _run(
        ["bench", str(data_dir), "--models", "popularity,itemknn", "--seeds", "1", "--fast",
         "--out", str(tmp_path / "b")],
        capsys,
    )
    assert code == 0
    assert "popularity" in stdout and "itemknn" in stdout and "NDCG@10" in stdout
    assert "**" in stdout and "reelrec report" in stdout  # Markdown when not on a terminal: best in bold


def test_failed_model_exits_1_after_writing(data_dir, tmp_path, capsys):
    out = tmp_path / "b"
    code, _, err = _run(
        ["bench", str(data_dir), "--models", "popularity,mf", "--seeds", "1", "--param", "mf.epochs=0",
         "--out", str(out), "--quiet"],
        capsys,
    )
    assert code == 1
    assert "1 run(s) failed" in err
    assert "mf (seed 0)" in (out / "bench.md").read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--models", "popularity,nope"], "unknown model 'nope'"),
        (["--k", "ten"], "expected integers"),
        (["--param", "reg=5"], "expected MODEL.NAME=VALUE"),
        (["--protocol", "kuairec", "--models", "popularity"], "needs a fully observed block"),
    ],
)
def test_bad_arguments_are_one_clear_line(data_dir, tmp_path, capsys, argv, message):
    code, _, err = _run(["bench", str(data_dir), "--seeds", "1", "--out", str(tmp_path / "b"), *argv], capsys)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_help_shows_an_example(capsys):
    for command in ("bench", "report"):
        code, stdout, _ = _run([command, "--help"], capsys)
        assert code == 0 and f"Example: reelrec {command}" in stdout


def _artifact(data_dir, tmp_path, honest: bool):
    from reelrec.data import load_dataset

    dataset = load_dataset(data_dir)
    split = holdout_split(dataset, seed=0)
    model = create_model("item-mean").fit(split.train if honest else dataset)
    config = {"data": {"protocol": "holdout" if honest else "none", "split_seed": 0}}
    return model.save(tmp_path / "art", dataset=split.train, config=config,
                      metrics={"metrics": {"ndcg@10": 0.1}, "protocol": "holdout"})


def test_report_reevaluates_an_artifact_with_data(data_dir, tmp_path, capsys):
    art = _artifact(data_dir, tmp_path, honest=True)
    out = tmp_path / "a.html"
    code, _, _ = _run(["report", str(art), "--data", str(data_dir), "--out", str(out), "--quiet"], capsys)
    assert code == 0
    text = out.read_text(encoding="utf-8")
    for section in ("predicted-vs-true", "per-user-ndcg", "cold-vs-warm", "popularity-bias", "coverage"):
        body = text.split(f'<section id="{section}">')[1].split("</section>")[0]
        assert "<img " in body and "Not available" not in body, section
    assert "optimistic" not in text


def test_report_flags_an_artifact_trained_on_the_test_data(data_dir, tmp_path, capsys):
    art = _artifact(data_dir, tmp_path, honest=False)
    out = tmp_path / "a.html"
    code, _, _ = _run(["report", str(art), "--data", str(data_dir), "--out", str(out), "--quiet"], capsys)
    assert code == 0
    assert "100.0% of the test (user, video) pairs are in the model&#x27;s training data" in out.read_text()
