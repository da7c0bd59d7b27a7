"""`reelrec recommend` / `predict` inputs and outputs from issue 13: empty candidate lists, pipes and
standard input, unknown users, header and encoding mistakes, output paths, file modes and id types."""

from __future__ import annotations

import json
import os
import stat
import threading

import pytest
from tests.cli.helpers import run_cli, run_in_process

from reelrec._atomic import atomic_write_text
from reelrec.models import create_model

HEADER = "user_id,item_id,rank,score"


@pytest.fixture(scope="module")
def artifact(tmp_path_factory, toy_dataset):
    path = tmp_path_factory.mktemp("cli-inputs") / "art"
    create_model("popularity").fit(toy_dataset).save(path, dataset=toy_dataset)
    return path


@pytest.fixture(scope="module")
def users(toy_dataset):
    return [str(u) for u in toy_dataset.users.raw_ids[:3].tolist()]


def rows(stdout: str) -> list[list[str]]:
    lines = stdout.strip().splitlines()
    assert lines[0] == HEADER
    return [ln.split(",") for ln in lines[1:]]


# ---------------------------------------------------------------------------- empty candidate list
def test_empty_candidate_list_gives_a_header_only_csv(capsys, artifact, users, tmp_path):
    # issue 13, item 1: used to crash in _rank with an IndexError on the empty array
    (tmp_path / "c.csv").write_text("item_id\n")
    args = ("recommend", artifact, "--user", users[0], "--candidates", tmp_path / "c.csv")
    code, out, err = run_in_process(capsys, *args)
    assert code == 0, err
    assert out == HEADER + "\n"


def test_empty_candidate_list_gives_an_empty_json_list(capsys, artifact, users, tmp_path):
    (tmp_path / "c.csv").write_text("item_id\n")
    (tmp_path / "u.csv").write_text("user_id\n" + "\n".join(users) + "\n")
    out = tmp_path / "recs.json"
    args = ("recommend", artifact, "--users-file", tmp_path / "u.csv", "--candidates", tmp_path / "c.csv")
    code, _, err = run_in_process(capsys, *args, "--out", out)
    assert code == 0, err
    assert json.loads(out.read_text()) == []


def test_empty_candidates_in_the_python_api(toy_dataset):
    model = create_model("popularity").fit(toy_dataset)
    items, scores = model.recommend_indices([0, 1], k=3, candidates=[])
    assert items.shape == (2, 3) and (items == -1).all()
    assert scores.shape == (2, 3) and all(s != s for s in scores.ravel())  # NaN padding
    raw, _ = model.recommend(toy_dataset.users.raw_ids[0], k=3, candidates=[])
    assert list(raw) == [None, None, None]


# ------------------------------------------------------------------------------------ output paths
def test_out_is_a_directory(capsys, artifact, users, tmp_path):
    # issue 13, item 3: an IsADirectoryError traceback before
    code, out, err = run_in_process(capsys, "recommend", artifact, "--user", users[0], "--out", tmp_path)
    assert code == 2
    assert f"--out {tmp_path}: is a directory" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_outputs_respect_the_umask(capsys, artifact, users, tmp_path, mask):
    # issue 13, item 7: mkstemp's 0600 used to survive the rename
    old = os.umask(mask)
    try:
        csv_out, json_out = tmp_path / "r.csv", tmp_path / "r.json"
        for target in (csv_out, json_out):
            code, _, err = run_in_process(capsys, "recommend", artifact, "--user", users[0], "--out", target)
            assert code == 0, err
        report = atomic_write_text(tmp_path / "report.html", "<html></html>")
    finally:
        os.umask(old)
    for path in (csv_out, json_out, report):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask, path
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


# ----------------------------------------------------------------------------------- unknown users
def test_skip_unknown_users_reports_counts(capsys, artifact, users, tmp_path):
    (tmp_path / "u.csv").write_text("user_id\n" + "\n".join([users[0], "999999", users[1], "abc"]) + "\n")
    code, _, err = run_in_process(capsys, "recommend", artifact, "--users-file", tmp_path / "u.csv", "--k", "2")
    assert code == 2 and "'abc' is not an integer id (--skip-unknown skips them)" in err  # an error unless asked
    args = ("recommend", artifact, "--users-file", tmp_path / "u.csv", "--k", "2", "--skip-unknown")
    code, out, err = run_in_process(capsys, *args)
    assert code == 0, err
    assert [r[0] for r in rows(out)] == [users[0]] * 2 + [users[1]] * 2
    assert "skipped 2 of 4 user ids not in the model (e.g. 999999, abc)" in err


def test_skip_unknown_with_only_unknown_users_gives_no_rows(capsys, artifact, tmp_path):
    (tmp_path / "u.txt").write_text("999998\n999999\n")
    args = ("recommend", artifact, "--users-file", tmp_path / "u.txt", "--skip-unknown")
    code, out, err = run_in_process(capsys, *args)
    assert code == 0, err
    assert out == HEADER + "\n" and "skipped 2 of 2" in err


# -------------------------------------------------------------------------------- pipes and stdin
def test_users_file_from_a_pipe(capsys, artifact, users, tmp_path):
    # issue 13, item 8: polars' "OSError: No such device" traceback on a FIFO before
    fifo = tmp_path / "users.fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "w") as fh:
            fh.write("\n".join(users) + "\n")

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        code, out, err = run_in_process(capsys, "recommend", artifact, "--users-file", fifo, "--k", "1")
    finally:
        writer.join(timeout=10)
    assert code == 0, err
    assert [r[0] for r in rows(out)] == users


def test_users_and_candidates_from_standard_input(artifact, users, toy_dataset, tmp_path):
    cands = [str(i) for i in toy_dataset.items.raw_ids[:4].tolist()]
    proc = run_cli("recommend", artifact, "--users-file", "-", "--k", "2", input="user_id\n" + "\n".join(users))
    assert proc.returncode == 0, proc.stderr
    assert [r[0] for r in rows(proc.stdout)] == [u for u in users for _ in range(2)]
    (tmp_path / "u.txt").write_text(users[0] + "\n")
    proc = run_cli(
        "recommend", artifact, "--users-file", tmp_path / "u.txt", "--candidates", "-", "--include-seen",
        input="\n".join(cands) + "\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert {r[1] for r in rows(proc.stdout)} == set(cands)


# ------------------------------------------------------------------------------- malformed id files
def test_non_utf8_users_file_names_the_file(capsys, artifact, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("user_id\n1\n2\nJos\xe9\n".encode("latin-1"))
    code, _, err = run_in_process(capsys, "recommend", artifact, "--users-file", path)
    assert code == 2
    assert f"{path}: line 4: not UTF-8 text" in err and "Traceback" not in err


def test_candidates_file_with_another_header_is_refused(capsys, artifact, users, toy_dataset, tmp_path):
    # issue 13, item 8: the header 'video_id' used to be read as an id
    ids = "\n".join(str(i) for i in toy_dataset.items.raw_ids[:3].tolist())
    (tmp_path / "c.csv").write_text("video_id\n" + ids + "\n")
    code, _, err = run_in_process(capsys, "recommend", artifact, "--user", users[0], "--candidates", tmp_path / "c.csv")
    assert code == 2
    assert f"{tmp_path / 'c.csv'}: line 1: 'video_id' looks like a header" in err and "'item_id'" in err


def test_unknown_candidate_names_the_file(capsys, artifact, users, tmp_path):
    (tmp_path / "c.txt").write_text("video_id\n")
    code, _, err = run_in_process(capsys, "recommend", artifact, "--user", users[0], "--candidates", tmp_path / "c.txt")
    assert code == 2
    assert f"--candidates {tmp_path / 'c.txt'}: id 'video_id' is not an integer id" in err


# ----------------------------------------------------------------------------------- predict types
def test_predict_json_ids_have_the_types_recommend_writes(capsys, toy_dataset, tmp_path):
    # issue 13, item 8: predict wrote "12" where recommend writes 12
    art = tmp_path / "im"
    create_model("item-mean").fit(toy_dataset).save(art, dataset=toy_dataset)
    user, item = toy_dataset.users.raw_ids[0], toy_dataset.items.raw_ids[1]
    (tmp_path / "pairs.csv").write_text(f"user_id,item_id\n{user},{item}\n")
    args = ("predict", art, "--pairs", tmp_path / "pairs.csv", "--out", tmp_path / "p.json")
    code, _, err = run_in_process(capsys, *args)
    assert code == 0, err
    code, _, err = run_in_process(capsys, "recommend", art, "--user", user, "--k", "1", "--out", tmp_path / "r.json")
    assert code == 0, err
    (pred,) = json.loads((tmp_path / "p.json").read_text())
    (rec,) = json.loads((tmp_path / "r.json").read_text())
    assert pred["user_id"] == int(user) and pred["item_id"] == int(item)
    assert type(pred["user_id"]) is type(rec["user_id"]) is int
    assert type(pred["item_id"]) is type(rec["item_id"]) is int
