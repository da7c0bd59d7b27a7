"""Drifting short-term interests: consecutive views share a topic more often, the viewed set is unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from reelrec.synth import write_kuairec
from reelrec.synth._drift import check_drift


def _tag_runs(folder: Path) -> tuple[float, pl.DataFrame]:
    """Share of consecutive distinct views of a user sharing the primary tag, and the (user, video) pairs."""
    big = pl.read_csv(folder / "big_matrix.csv", columns=["user_id", "video_id"])
    feat = pl.read_csv(folder / "item_categories.csv")["feat"].to_list()
    primary = np.asarray([int(s.strip("[]").split(",")[0]) for s in feat])
    user, video = big["user_id"].to_numpy(), big["video_id"].to_numpy()
    tag = primary[video]
    # Exact duplicates sit right after their original; comparing distinct videos keeps them out.
    pairs = (user[1:] == user[:-1]) & (video[1:] != video[:-1])
    return float((tag[1:] == tag[:-1])[pairs].mean()), big.unique().sort(["user_id", "video_id"])


def test_drift_raises_tag_autocorrelation_but_keeps_the_views(tmp_path: Path) -> None:
    runs = {}
    for drift in (0.0, 0.5):
        out = tmp_path / f"d{drift}"
        summary = write_kuairec(out, scale=0.02, seed=3, drift=drift)
        assert summary["drift"] == drift
        runs[drift] = _tag_runs(out)
    (plain, views_plain), (drifted, views_drifted) = runs[0.0], runs[0.5]
    # Measured at scale 0.02: 0.109 without drift, 0.153 at 0.5; the margin leaves room for seed noise.
    assert drifted > plain * 1.2
    assert views_plain.equals(views_drifted)  # only the order changed (and which rows are logged twice)


def test_no_drift_is_the_random_order(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write_kuairec(a, scale=0.002, seed=1, drift=0.0)
    write_kuairec(b, scale=0.002, seed=1, drift=0.7)
    big_a = pl.read_csv(a / "big_matrix.csv")
    big_b = pl.read_csv(b / "big_matrix.csv")
    assert big_a.height == big_b.height
    assert not big_a["timestamp"].equals(big_b["timestamp"])
    assert (a / "small_matrix.csv").read_bytes() == (b / "small_matrix.csv").read_bytes()


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), True, "0.5"])
def test_bad_drift_is_a_clear_error(bad: object) -> None:
    with pytest.raises(ValueError, match="drift="):
        check_drift(bad)  # type: ignore[arg-type]
