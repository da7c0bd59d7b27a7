"""`reelrec recommend --history`: a session history file moves one user's list; bad files get one line."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from tests.cli.helpers import run_cli, run_in_process

from reelrec.models import create_model


@pytest.fixture(scope="module")
def mf_artifact(tmp_path_factory, toy_dataset):
    path = tmp_path_factory.mktemp("cli-history") / "mf"
    create_model("mf", embedding_size=4, epochs=8, reg=1.0).fit(toy_dataset).save(path, dataset=toy_dataset)
    return path


@pytest.fixture(scope="module")
def ease_artifact(tmp_path_factory, toy_dataset):
    path = tmp_path_factory.mktemp("cli-history") / "ease"
    create_model("ease", reg=10.0).fit(toy_dataset).save(path, dataset=toy_dataset)
    return path


def _write_history(path, items, ratios, skipped=None):
    lines = ["item_id,watch_ratio" + (",skipped" if skipped is not None else "")]
    for i, (item, ratio) in enumerate(zip(items, ratios, strict=True)):
        cells = [str(item), "" if ratio is None else str(ratio)]
        if skipped is not None:
            cells.append("1" if skipped[i] else "0")
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_known_user_history_csv_has_predictions_and_leaves_the_history_out(mf_artifact, toy_dataset, tmp_path):
    user = toy_dataset.users.raw_ids[4]
    hist_items = toy_dataset.items.raw_ids[[3, 10, 20]].tolist()
    hist = _write_history(tmp_path / "recent.csv", hist_items, [2.0, None, 0.1], [False, False, True])
    proc = run_cli("recommend", mf_artifact, "--user", user, "--history", hist, "--k", "6")
    assert proc.returncode == 0, proc.stderr
    frame = pl.read_csv(proc.stdout.encode())
    assert frame.columns == ["user_id", "item_id", "rank", "score", "predicted_watch_ratio"]
    assert frame["rank"].to_list() == [1, 2, 3, 4, 5, 6]
    assert not set(frame["item_id"].to_list()) & set(hist_items)
    assert frame["user_id"].unique().to_list() == [user]
    assert frame["score"].is_sorted(descending=True)
    # predicted_watch_ratio is `reelrec predict`'s number for the pair.
    model = create_model("mf").load(mf_artifact)
    expected = model.predict(np.full(len(frame), user), frame["item_id"].to_numpy())
    np.testing.assert_allclose(frame["predicted_watch_ratio"].to_numpy(), expected, rtol=1e-4)


def test_history_changes_the_list_and_a_new_user_reads_stdin_to_json(ease_artifact, toy_dataset, tmp_path):
    user = toy_dataset.users.raw_ids[4]
    plain = run_cli("recommend", ease_artifact, "--user", user, "--k", "10")
    assert plain.returncode == 0, plain.stderr
    before = pl.read_csv(plain.stdout.encode())["item_id"].to_list()
    # History: the five videos most unlike the user's current list, as far as their ids go.
    far = [v for v in toy_dataset.items.raw_ids.tolist()[::-1] if v not in before][:5]
    hist = _write_history(tmp_path / "h.csv", far, [3.0] * 5)
    moved = run_cli("recommend", ease_artifact, "--user", user, "--k", "10", "--history", hist)
    assert moved.returncode == 0, moved.stderr
    after = pl.read_csv(moved.stdout.encode())["item_id"].to_list()
    assert after != before and not set(after) & set(far)

    out = tmp_path / "new.json"
    text = "item_id,watch_ratio,timestamp\n" + "".join(f"{v},1.0,{1000 + i}\n" for i, v in enumerate(far))
    proc = run_cli("recommend", ease_artifact, "--history", "-", "--k", "5", "--out", out, input=text)
    assert proc.returncode == 0, proc.stderr
    records = json.loads(out.read_text())
    assert [r["rank"] for r in records] == [1, 2, 3, 4, 5]
    assert all(r["user_id"] is None for r in records)
    assert "predicted_watch_ratio" not in records[0], "EASE ranks; it predicts no watch ratio"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("item_id,watch_ratio\n{a},1.0\n999999,1.0\n", "h.csv: row 3: column item_id: unknown item ids '999999'"),
        ("item_id,watch_ratio\n{a},fast\n", "h.csv: row 2: column watch_ratio: 'fast' is not a number"),
        ("item_id,watch_ratio\n{a},-1\n", "h.csv: row 2: column watch_ratio: '-1', expected a finite number >= 0"),
        ("item_id,watch_ratio,skipped\n{a},1.0,maybe\n", "h.csv: row 2: column skipped: 'maybe'"),
        ("item_id,watch_ratio,timestamp\n{a},1.0,noon\n", "h.csv: row 2: column timestamp: 'noon' is not a number"),
        ("item_id\n{a}\n", "h.csv: missing column 'watch_ratio'"),
        ("item_id,watch_ratio,mood\n{a},1,happy\n", "h.csv: unexpected column 'mood'"),
        ("", "h.csv: file is empty"),
    ],
)
def test_bad_history_files_get_one_line_naming_file_row_and_column(
    capsys, mf_artifact, toy_dataset, tmp_path, content, message
):
    path = tmp_path / "h.csv"
    path.write_text(content.format(a=toy_dataset.items.raw_ids[0]))
    code, _, err = run_in_process(capsys, "recommend", mf_artifact, "--history", path)
    assert code == 2
    assert message in " ".join(err.split()), err
    assert "Traceback" not in err


def test_history_with_users_file_and_unknown_scoring_are_refused(capsys, mf_artifact, toy_dataset, tmp_path):
    hist = _write_history(tmp_path / "h.csv", toy_dataset.items.raw_ids[:2].tolist(), [1.0, 1.0])
    users = tmp_path / "users.txt"
    users.write_text("1\n")
    code, _, err = run_in_process(capsys, "recommend", mf_artifact, "--history", hist, "--users-file", users)
    assert code == 2 and "--history is for one user" in " ".join(err.split())
    code, _, err = run_in_process(capsys, "recommend", mf_artifact, "--history", hist, "--scoring", "nope")
    assert code == 2 and "scoring='nope' is not one of mf's rules" in " ".join(err.split())


def test_scoring_reaches_the_plain_path_too(capsys, mf_artifact, toy_dataset):
    user = str(toy_dataset.users.raw_ids[1])
    code, out, err = run_in_process(capsys, "recommend", mf_artifact, "--user", user, "--scoring", "score", "--k", "3")
    assert code == 0, err
    assert out.splitlines()[0] == "user_id,item_id,rank,score,predicted_watch_ratio"
    code, _, err = run_in_process(capsys, "recommend", mf_artifact, "--user", user, "--scoring", "bogus")
    assert code == 2 and "bogus" in err
