"""``item_daily_features.csv``: KuaiRec's 58 columns, consistent counters, quality-driven engagement."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from reelrec.synth._daily import COUNTER_COLUMNS


@pytest.fixture(scope="module")
def daily(synth_dir: Path) -> pl.DataFrame:
    return pl.read_csv(synth_dir / "item_daily_features.csv")


def test_columns_and_dtypes(daily: pl.DataFrame) -> None:
    static = ["video_id", "date", "author_id", "video_type", "upload_dt", "upload_type", "visible_status",
              "video_duration", "video_width", "video_height", "music_id", "video_tag_id", "video_tag_name"]
    assert daily.columns == static + list(COUNTER_COLUMNS)
    assert len(daily.columns) == 58
    assert daily["video_duration"].dtype == pl.Float64 and daily["play_progress"].dtype == pl.Float64
    ints = [c for c in COUNTER_COLUMNS if c != "play_progress" and "collect" not in c]
    assert all(daily[c].dtype == pl.Int64 for c in ints)
    assert set(daily["video_type"].unique()) <= {"NORMAL", "AD"}
    assert daily["upload_dt"].str.contains(r"^\d{4}-\d{2}-\d{2}$").all()


def test_one_row_per_video_day_in_a_contiguous_window(daily: pl.DataFrame, synth_run) -> None:
    assert daily.select(["video_id", "date"]).is_unique().all()
    assert daily["video_id"].n_unique() == synth_run[1]["n_videos"]
    per_video = daily.height / synth_run[1]["n_videos"]
    assert per_video == pytest.approx(343_341 / 10_728, rel=0.12)
    days = daily.with_columns(pl.col("date").cast(pl.String).str.to_date("%Y%m%d").alias("d"))
    span = days.group_by("video_id").agg((pl.col("d").max() - pl.col("d").min()).dt.total_days() + 1, pl.len())
    assert (span["d"] == span["len"]).all()
    assert daily["date"].min() >= 20200705 and daily["date"].max() <= 20200905


def test_collect_columns_are_empty_then_zero(daily: pl.DataFrame) -> None:
    for col in ("collect_cnt", "collect_user_num", "cancel_collect_cnt", "cancel_collect_user_num"):
        early = daily.filter(pl.col("date") < 20200801)[col]
        late = daily.filter(pl.col("date") >= 20200801)[col]
        assert early.null_count() == early.len() and late.null_count() == 0 and (late == 0.0).all()


def test_counters_are_consistent(daily: pl.DataFrame) -> None:
    for col in COUNTER_COLUMNS:
        if col.endswith("_user_num"):
            cnt = "show_cnt" if col == "show_user_num" else col.replace("_user_num", "_cnt")
            assert (daily[col].fill_null(0) <= daily[cnt].fill_null(0)).all(), col
    assert (daily["play_cnt"] <= daily["show_cnt"]).all()
    assert (daily["complete_play_cnt"] <= daily["long_time_play_cnt"]).all()
    assert (daily["long_time_play_cnt"] <= daily["valid_play_cnt"]).all()
    assert (daily["valid_play_cnt"] + daily["short_time_play_cnt"] <= daily["play_cnt"]).all()
    assert (daily["click_like_cnt"] + daily["double_click_cnt"] == daily["like_cnt"]).all()
    assert (daily["direct_comment_cnt"] + daily["reply_comment_cnt"] == daily["comment_cnt"]).all()
    assert daily["play_progress"].min() > 0 and daily["play_progress"].max() <= 1


def test_static_fields_agree_with_the_matrices(daily: pl.DataFrame, big: pl.DataFrame) -> None:
    static = daily.group_by("video_id").agg(
        pl.col(c).n_unique() for c in ("author_id", "video_duration", "music_id", "video_tag_id", "upload_dt")
    )
    assert (static.drop("video_id").to_numpy() == 1).all()
    lengths = daily.group_by("video_id").agg(pl.col("video_duration").first())
    joined = big.select(["video_id", "video_duration"]).unique().join(lengths, on="video_id", suffix="_daily")
    assert (joined["video_duration"].cast(pl.Float64) == joined["video_duration_daily"]).all()


def test_views_fall_inside_each_video_window(daily: pl.DataFrame, big: pl.DataFrame) -> None:
    window = daily.group_by("video_id").agg(pl.col("date").min().alias("lo"), pl.col("date").max().alias("hi"))
    outside = big.join(window, on="video_id").filter((pl.col("date") < pl.col("lo")) | (pl.col("date") > pl.col("hi")))
    # only late-partitioned views (labelled the day before) and the rare coverage view may fall outside
    assert outside.height / big.height < 0.003


def test_magnitudes_and_quality_signal(daily: pl.DataFrame, big: pl.DataFrame) -> None:
    assert 1_000 < daily["show_cnt"].median() < 30_000  # KuaiRec: thousands to hundreds of thousands a day
    per_video = daily.group_by("video_id").agg(pl.col("play_progress").mean(), pl.col("show_cnt").mean())
    views = big.group_by("video_id").len()
    joined = per_video.join(views, on="video_id")
    rank = joined.select(pl.corr("show_cnt", "len", method="spearman")).item()
    assert rank > 0.5  # the platform's impressions and our logged views come from one popularity
    ratio = big.group_by("video_id").agg(pl.col("watch_ratio").mean()).join(per_video, on="video_id")
    assert ratio.select(pl.corr("play_progress", "watch_ratio", method="spearman")).item() > 0.3
    assert np.isfinite(daily["play_duration"].to_numpy()).all()
