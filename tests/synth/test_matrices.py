"""The big and small matrices as written: format, quirks, the planted truth and calibration."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from reelrec.synth._matrices import MATRIX_COLUMNS

from .conftest import SCALE

F = math.sqrt(SCALE)
_TIME = r"^2020-(07|08|09)-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$"


def test_columns_order_and_dtypes(big: pl.DataFrame, small: pl.DataFrame) -> None:
    assert tuple(big.columns) == MATRIX_COLUMNS == tuple(small.columns)
    assert big.dtypes == [pl.Int64, pl.Int64, pl.Int64, pl.Int64, pl.String, pl.Int64, pl.Float64, pl.Float64]
    # untimed rows make the small matrix's date a float column, written as 20200705.0
    assert small.dtypes == [pl.Int64, pl.Int64, pl.Int64, pl.Int64, pl.String, pl.Float64, pl.Float64, pl.Float64]


def test_text_formats_match_kuairec(synth_dir: Path) -> None:
    big_line = (synth_dir / "big_matrix.csv").open().readlines()[1].rstrip("\n").split(",")
    small_lines = (synth_dir / "small_matrix.csv").open().readlines()[1:200]
    assert big_line[5].isdigit() and len(big_line[5]) == 8
    assert any(line.split(",")[5].endswith(".0") for line in small_lines)
    assert any(line.split(",")[4:7] == ["", "", ""] for line in (synth_dir / "small_matrix.csv").open())


def test_time_is_local_utc8_and_timestamp_has_ms(big: pl.DataFrame) -> None:
    assert big["time"].str.contains(_TIME).all()
    local = big["time"].str.to_datetime("%Y-%m-%d %H:%M:%S%.3f", time_unit="ms")
    epoch_ms = local.dt.epoch("ms") - 8 * 3_600_000
    np.testing.assert_array_equal(epoch_ms.to_numpy(), np.round(big["timestamp"].to_numpy() * 1000).astype(np.int64))
    assert big["timestamp"].null_count() == 0 and big["time"].null_count() == 0
    assert (big["timestamp"] % 1 != 0).mean() > 0.99  # a ms fraction on nearly every row


def test_date_is_the_local_date_except_late_partitions(big: pl.DataFrame) -> None:
    local = big["time"].str.slice(0, 10).str.replace_all("-", "").cast(pl.Int64)
    differs = local != big["date"]
    assert 0.0002 < differs.mean() < 0.003  # KuaiRec: about 0.1 %
    late = big.filter(differs)
    assert late["time"].str.slice(11, 2).eq("00").all()  # only views just after midnight
    assert big["date"].min() == 20200705 and big["date"].max() == 20200905


def test_watch_ratio_is_play_over_duration(big: pl.DataFrame, small: pl.DataFrame) -> None:
    for frame in (big, small):
        ratio = frame["play_duration"].to_numpy() / frame["video_duration"].to_numpy()
        np.testing.assert_array_equal(ratio, frame["watch_ratio"].to_numpy())
        assert frame["play_duration"].min() == 0 and (frame["watch_ratio"] == 0).any()


def test_rows_grouped_by_user_and_ordered_by_time(big: pl.DataFrame, small: pl.DataFrame) -> None:
    assert big["user_id"].is_sorted()
    assert big.with_row_index().sort(["user_id", "timestamp"], maintain_order=True)["index"].is_sorted()
    assert small["user_id"].is_sorted()
    timed = small.drop_nulls("timestamp").with_row_index()
    assert timed.sort(["user_id", "timestamp"], maintain_order=True)["index"].is_sorted()


def test_big_matrix_duplicates_and_repeat_views(big: pl.DataFrame) -> None:
    key = ["user_id", "video_id", "play_duration", "video_duration", "timestamp", "watch_ratio"]
    distinct_rows = big.unique(subset=key).height
    assert 1 - distinct_rows / big.height == pytest.approx(0.0773, abs=0.006)  # exact duplicates
    # a few duplicated events carry two different `date` labels (KuaiRec: about 2.2 k of 968 k)
    dated = big.group_by(key).agg(pl.col("date").n_unique().alias("dates"), pl.len())
    assert (dated.filter(pl.col("len") > 1)["dates"] > 1).sum() >= 1
    pairs = big.select(["user_id", "video_id"]).n_unique()
    assert distinct_rows / pairs == pytest.approx(1.1227, abs=0.03)  # repeat views at other times
    n_users, n_videos = big["user_id"].n_unique(), big["video_id"].n_unique()
    assert pairs / (n_users * n_videos) == pytest.approx(0.134, abs=0.012)


def test_every_user_and_video_in_the_big_matrix(big: pl.DataFrame, synth_run) -> None:
    summary = synth_run[1]
    assert big["user_id"].n_unique() == summary["n_users"]
    assert big["video_id"].n_unique() == summary["n_videos"]  # the whole catalogue
    assert set(big["video_id"].unique()) == set(range(summary["n_videos"]))


def test_small_block_is_disjoint_nested_and_nearly_full(big: pl.DataFrame, small: pl.DataFrame, synth_run) -> None:
    summary = synth_run[1]
    shared = small.select(["user_id", "video_id"]).join(big.select(["user_id", "video_id"]).unique(),
                                                          on=["user_id", "video_id"])
    assert shared.height == 0
    assert set(small["user_id"].unique()) <= set(big["user_id"].unique())
    assert small["user_id"].n_unique() == summary["n_small_users"]
    assert small["video_id"].n_unique() == summary["n_small_videos"]
    assert small.select(["user_id", "video_id"]).is_unique().all()
    cells = summary["n_small_users"] * summary["n_small_videos"]
    assert 1 - small.height / cells == pytest.approx(0.0038, abs=0.002)  # blocked videos
    assert small["time"].null_count() / small.height == pytest.approx(0.039, abs=0.004)
    untimed = small.filter(pl.col("time").is_null())
    assert untimed["date"].null_count() == untimed["timestamp"].null_count() == untimed.height
    assert small["video_duration"].min() >= 3000


def test_truth_aligns_and_is_the_expectation(small: pl.DataFrame, truth: pl.DataFrame) -> None:
    assert truth.columns == ["user_id", "video_id", "expected_watch_ratio"]
    assert truth.height == small.height
    assert (truth["user_id"] == small["user_id"]).all() and (truth["video_id"] == small["video_id"]).all()
    expected = truth["expected_watch_ratio"].to_numpy()
    observed = small["watch_ratio"].to_numpy()
    assert (expected > 0).all() and np.isfinite(expected).all()
    assert observed.mean() == pytest.approx(expected.mean(), rel=0.04)
    # high expectations are realised as high watch ratios (the signal survives the noise)
    hi = expected > np.quantile(expected, 0.9)
    lo = expected < np.quantile(expected, 0.1)
    assert np.median(observed[hi]) > 2.5 * np.median(observed[lo])
    assert (observed[hi] >= 2).mean() > 4 * (observed[lo] >= 2).mean()


def test_watch_ratio_distribution_matches_kuairec(big: pl.DataFrame, small: pl.DataFrame) -> None:
    x = big["watch_ratio"].to_numpy()
    q25, q50, q75 = np.quantile(x, [0.25, 0.5, 0.75])
    assert 0.85 < x.mean() < 1.05  # KuaiRec 0.944
    assert 0.27 < q25 < 0.36 and 0.65 < q50 < 0.79 and 1.08 < q75 < 1.30  # 0.315 / 0.724 / 1.178
    assert 0.30 < (x > 1).mean() < 0.38  # 33.8 %
    assert 0.075 < (x < 0.1).mean() < 0.105  # 8.9 %
    assert 0.005 < (x > 5).mean() < 0.015  # 0.92 %
    assert x.max() > 50  # a tail up to hundreds
    y = small["watch_ratio"].to_numpy()
    q25, q50, q75 = np.quantile(y, [0.25, 0.5, 0.75])
    assert 0.80 < y.mean() < 1.02  # KuaiRec 0.907
    assert 0.40 < q25 < 0.54 and 0.68 < q50 < 0.84 and 1.02 < q75 < 1.24  # 0.468 / 0.769 / 1.121
    assert 0.02 < (y >= 2).mean() < 0.10  # relevant cells: a minority


def test_activity_and_duration_match_kuairec(big: pl.DataFrame) -> None:
    per_user = big.group_by("user_id").len()["len"].to_numpy() / F
    assert per_user.mean() == pytest.approx(1746, rel=0.08)
    assert np.median(per_user) == pytest.approx(1846, rel=0.12)
    means = big.group_by("user_id").agg(pl.col("watch_ratio").mean())["watch_ratio"].to_numpy()
    assert 0.15 < means.std() < 0.35  # KuaiRec 0.214 at full scale; more noise with fewer views
    per_video = big.group_by("video_id").len()["len"].to_numpy()
    assert per_video.mean() > 2 * np.median(per_video)  # long-tailed popularity
    dur = big["video_duration"].to_numpy()
    q25, q50, q75 = np.quantile(dur, [0.25, 0.5, 0.75])
    assert 6800 < q25 < 8200 and 8600 < q50 < 10600 and 11000 < q75 < 13600  # 7,434 / 9,636 / 12,179
    assert dur.min() < 3000 and dur.max() > 100_000
