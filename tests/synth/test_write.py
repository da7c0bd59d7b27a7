"""``write_kuairec``: the file set, side tables, determinism, the parquet option and bad arguments."""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

import polars as pl
import pytest

from reelrec.synth import KUAIREC_FILES, TRUTH_FILE, write_kuairec

TINY = 0.002  # 321 users x 480 videos, about 25 k big-matrix rows


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_writes_exactly_the_kuairec_files_and_the_truth(synth_run) -> None:
    folder, summary = synth_run
    assert sorted(p.name for p in folder.iterdir()) == sorted([*KUAIREC_FILES, TRUTH_FILE])
    assert summary["rows"]["small_matrix"] == summary["rows"]["small_matrix_truth"]
    assert summary["rows"]["user_features"] == summary["n_users"]
    assert summary["bytes"]["big_matrix.csv"] == (folder / "big_matrix.csv").stat().st_size
    assert summary["seconds"] > 0 and summary["big_format"] == "csv"


def test_item_categories_are_python_literal_lists(synth_dir: Path, synth_run) -> None:
    frame = pl.read_csv(synth_dir / "item_categories.csv")
    assert frame.columns == ["video_id", "feat"] and frame["video_id"].to_list() == list(range(len(frame)))
    tags = [ast.literal_eval(text) for text in frame["feat"]]
    assert all(1 <= len(t) <= 4 and len(set(t)) == len(t) and all(0 <= x <= 30 for x in t) for t in tags)
    assert any(", " in text for text in frame["feat"])
    counts = pl.Series([len(t) for t in tags])
    assert counts.mean() == pytest.approx(1.183, abs=0.05) and (counts == 1).mean() > 0.75
    first = pl.Series([x for t in tags for x in t]).value_counts(sort=True)
    assert first["count"].item(0) > 1.2 * first["count"].item(1) and first[first.columns[0]].item(0) == 28


def test_users_and_social_network_agree(synth_dir: Path, synth_run) -> None:
    users = pl.read_csv(synth_dir / "user_features.csv")
    social = pl.read_csv(synth_dir / "social_network.csv")
    assert social.columns == ["user_id", "friend_list"] and social.height == synth_run[1]["n_social_users"]
    lists = {u: ast.literal_eval(f) for u, f in social.iter_rows()}
    members = set(lists)
    assert all(set(f) <= members and u not in f for u, f in lists.items())
    friends = users.filter(pl.col("user_id").is_in(list(members))).sort("user_id")["friend_user_num"].to_list()
    assert all(n >= len(lists[u]) for u, n in zip(sorted(lists), friends, strict=True))
    shares = users["user_active_degree"].value_counts(normalize=True).sort("proportion", descending=True)
    assert shares["user_active_degree"].item(0) == "full_active" and 0.8 < shares["proportion"].item(0) < 0.9


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    write_kuairec(tmp_path / "a", scale=TINY, seed=3)
    write_kuairec(tmp_path / "b", scale=TINY, seed=3)
    write_kuairec(tmp_path / "c", scale=TINY, seed=4)
    a, b, c = (_digests(tmp_path / name) for name in "abc")
    assert a == b
    assert all(a[name] != c[name] for name in ("big_matrix.csv", "small_matrix.csv", "user_features.csv"))


def test_rewrite_replaces_files_and_leaves_no_partials(tmp_path: Path) -> None:
    write_kuairec(tmp_path / "out", scale=TINY, seed=1)
    write_kuairec(tmp_path / "out", scale=TINY, seed=2)
    write_kuairec(tmp_path / "fresh", scale=TINY, seed=2)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted([*KUAIREC_FILES, TRUTH_FILE])
    assert _digests(tmp_path / "out") == _digests(tmp_path / "fresh")


def test_parquet_big_matrix_has_the_csv_rows(tmp_path: Path) -> None:
    csv = write_kuairec(tmp_path / "csv", scale=TINY, seed=0)
    pq = write_kuairec(tmp_path / "pq", scale=TINY, seed=0, big_format="parquet")
    shards = sorted((tmp_path / "pq" / "big_matrix").glob("part-*.parquet"))
    assert shards and not (tmp_path / "pq" / "big_matrix.csv").exists()
    from_parquet = pl.concat([pl.read_parquet(s) for s in shards])
    from_csv = pl.read_csv(tmp_path / "csv" / "big_matrix.csv")
    assert from_parquet.equals(from_csv)
    assert pq["rows"]["big_matrix"] == csv["rows"]["big_matrix"] == from_csv.height
    # switching back to CSV removes the shards, so a folder never holds two big matrices
    write_kuairec(tmp_path / "pq", scale=TINY, seed=0)
    assert not (tmp_path / "pq" / "big_matrix").exists() and (tmp_path / "pq" / "big_matrix.csv").exists()


def test_refuses_a_big_matrix_folder_it_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "big_matrix").mkdir()
    (tmp_path / "big_matrix" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="big_matrix exists and holds more than parquet shards"):
        write_kuairec(tmp_path, scale=TINY)
    assert (tmp_path / "big_matrix" / "notes.txt").exists()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"scale": 0}, ValueError, "scale=0"),
        ({"scale": -0.5}, ValueError, "scale=-0.5"),
        ({"seed": -1}, ValueError, "seed=-1, must be >= 0"),
        ({"seed": 1.5}, TypeError, "seed must be an integer"),
        ({"big_format": "xlsx"}, ValueError, "big_format='xlsx'"),
    ],
)
def test_bad_arguments_are_clear_errors(tmp_path: Path, kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        write_kuairec(tmp_path / "out", **{"scale": TINY, **kwargs})
    assert not (tmp_path / "out").exists()


def test_output_path_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file.csv"
    target.write_text("x")
    with pytest.raises(ValueError, match="exists and is not a directory"):
        write_kuairec(target, scale=TINY)
