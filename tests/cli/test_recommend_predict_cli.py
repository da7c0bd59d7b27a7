"""`reelrec recommend` and `reelrec predict` on a saved artifact: outputs and every error path."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from tests.cli.helpers import run_cli

from reelrec.models import create_model


@pytest.fixture(scope="module")
def artifact(tmp_path_factory, toy_dataset):
    path = tmp_path_factory.mktemp("cli") / "art"
    create_model("popularity").fit(toy_dataset).save(path, dataset=toy_dataset)
    return path


def test_recommend_one_user_csv(artifact, toy_dataset):
    user = toy_dataset.users.raw_ids[2]
    proc = run_cli("recommend", artifact, "--user", user, "--k", "5")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == "user_id,item_id,rank,score"
    rows = [ln.split(",") for ln in lines[1:]]
    assert [r[2] for r in rows] == ["1", "2", "3", "4", "5"]
    seen = set(toy_dataset.items.raw(toy_dataset.interactions.item[toy_dataset.interactions.user == 2]).tolist())
    assert not seen & {int(r[1]) for r in rows}


def test_recommend_users_file_json_candidates_include_seen(artifact, toy_dataset, tmp_path):
    users = toy_dataset.users.raw_ids[:3]
    (tmp_path / "users.csv").write_text("user_id\n" + "\n".join(map(str, users)) + "\n")
    cands = toy_dataset.items.raw_ids[:4]
    (tmp_path / "cands.txt").write_text("\n".join(map(str, cands)) + "\n")
    out = tmp_path / "recs.json"
    proc = run_cli(
        "recommend", artifact, "--users-file", tmp_path / "users.csv", "--candidates", tmp_path / "cands.txt",
        "--include-seen", "--k", "10", "--out", out,
    )
    assert proc.returncode == 0, proc.stderr
    records = json.loads(out.read_text())
    assert {r["user_id"] for r in records} == set(users.tolist())
    assert {r["item_id"] for r in records} <= set(cands.tolist())
    # with --include-seen every candidate is recommendable: 4 per user
    assert len(records) == 3 * 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--user", "999999"), "not in the vocabulary"),
        (("--user", "abc"), "not an integer id"),
        ((), "exactly one of --user or --users-file"),
        (("--user", "100", "--k", "0"), "--k"),
    ],
)
def test_recommend_errors_are_one_line(artifact, args, message):
    proc = run_cli("recommend", artifact, *args)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_recommend_missing_artifact(tmp_path):
    proc = run_cli("recommend", tmp_path / "nope", "--user", "1")
    assert proc.returncode == 2
    assert "no such artifact directory" in proc.stderr and "Traceback" not in proc.stderr


def test_predict_rejects_ranking_only_model(artifact, tmp_path):
    (tmp_path / "pairs.csv").write_text("user_id,item_id\n100,5000\n")
    proc = run_cli("predict", artifact, "--pairs", tmp_path / "pairs.csv")
    assert proc.returncode == 2
    assert "does not predict the label" in proc.stderr


def test_predict_with_item_mean(tmp_path, toy_dataset):
    art = tmp_path / "im"
    model = create_model("item-mean").fit(toy_dataset)
    model.save(art)
    users = toy_dataset.users.raw_ids[[0, 1]]
    items = toy_dataset.items.raw_ids[[3, 4]]
    (tmp_path / "pairs.csv").write_text(f"user_id,item_id\n{users[0]},{items[0]}\n{users[1]},{items[1]}\n1,2\n")
    proc = run_cli("predict", art, "--pairs", tmp_path / "pairs.csv", "--out", tmp_path / "p.csv")
    assert proc.returncode == 0, proc.stderr
    frame = pl.read_csv(tmp_path / "p.csv")
    expected = model.predict(users, items)
    assert np.allclose(frame["prediction"][:2].to_numpy(), expected, atol=1e-5)
    assert frame["prediction"][2] is None


def test_predict_bad_pairs_file(tmp_path, toy_dataset):
    create_model("item-mean").fit(toy_dataset).save(tmp_path / "im")
    (tmp_path / "bad.csv").write_text("user,item\n1,2\n")
    proc = run_cli("predict", tmp_path / "im", "--pairs", tmp_path / "bad.csv")
    assert proc.returncode == 2
    assert "bad.csv" in proc.stderr and "user_id" in proc.stderr
