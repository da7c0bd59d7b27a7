"""Toy data whose videos have a length, as KuaiRec's ``video_duration`` (milliseconds), for watch-time tests."""

from __future__ import annotations

import dataclasses

from reelrec.data import Dataset, FeatureTable
from tests.conftest import make_toy_dataset


def with_video_duration(data: Dataset, source: str = "kuairec") -> Dataset:
    """``data`` with its ``duration`` item feature named ``video_duration`` and the given source."""
    feats = data.item_features
    frame = feats.frame.rename({"duration": "video_duration"})
    kinds = {("video_duration" if k == "duration" else k): v for k, v in feats.kinds.items()}
    return dataclasses.replace(data, item_features=FeatureTable(frame, kinds), source=source)


def kuairec_like(**kwargs) -> Dataset:
    """:func:`make_toy_dataset` (45 users, 60 videos by default) with KuaiRec video lengths."""
    options = {"n_users": 45, "n_items": 60, "per_user": 20, **kwargs}
    return with_video_duration(make_toy_dataset(**options))
