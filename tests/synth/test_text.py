"""``kuairec_caption_category.csv``: ten columns, Chinese text with commas, quotes and line breaks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from reelrec.synth._text import CATEGORY_NAMES, caption_frame, tag_vocab
from reelrec.synth._videos import sample_videos, tag_shares

COLUMNS = [
    "video_id", "manual_cover_text", "caption", "topic_tag", "first_level_category_id", "first_level_category_name",
    "second_level_category_id", "second_level_category_name", "third_level_category_id", "third_level_category_name",
]


def test_caption_file_columns_and_categories(synth_dir: Path, synth_run) -> None:
    frame = pl.read_csv(synth_dir / "kuairec_caption_category.csv")
    assert frame.columns == COLUMNS
    assert frame["video_id"].to_list() == list(range(synth_run[1]["n_videos"]))
    assert set(frame["first_level_category_name"].unique()) <= set(CATEGORY_NAMES)
    assert frame["topic_tag"].str.contains(r"^\[.*\]$").all()
    # categories nest: one first-level category per second-level one
    nested = frame.group_by("second_level_category_id").agg(pl.col("first_level_category_id").n_unique())
    assert (nested["first_level_category_id"] == 1).all()
    assert frame["manual_cover_text"].null_count() > 0 and frame["caption"].null_count() == 0


def test_awkward_captions_survive_a_csv_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n_sub = rng.integers(2, 9, 31)
    videos = sample_videos(3000, rng, tag_shares(rng), n_sub)
    frame = caption_frame(rng, videos, tag_vocab(rng, n_sub))
    assert frame["caption"].str.contains(",").any()
    assert frame["caption"].str.contains('"').any() and frame["caption"].str.contains("\n").any()
    frame.write_csv(tmp_path / "c.csv")
    assert pl.read_csv(tmp_path / "c.csv").equals(frame)
