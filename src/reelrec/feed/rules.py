"""Feed rules applied after ranking: a cap on videos sharing a tag and exploration slots for new videos.

A pure relevance ranking fills a short-video feed with near-duplicates of one topic and keeps showing
the videos that already have views. The rules re-pick the top ``k`` from a longer ranked pool: at most
``max_per_tag`` videos per first tag, and a share of the slots kept for videos with few training views
(the best-scored of them), so new uploads get impressions without a separate model.

Stability: provisional.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

#: Item feature columns read as the video's topic, in order of preference (KuaiRec tags, MovieLens genres).
TAG_COLUMNS = ("tags", "genres")
#: Ranked candidates per final slot the caller passes while a tag cap is on (room to skip capped tags).
CAP_POOL_FACTOR = 5
#: Ranked candidates per final slot while exploration is on (few-view videos rank low for most models).
EXPLORE_POOL_FACTOR = 20


@dataclass(frozen=True)
class FeedRules:
    """Which feed rules apply; the defaults switch every rule off.

    Attributes
    ----------
    max_per_tag : int or None
        At most this many videos sharing a first tag in one top-``k`` (``None``: no cap). Videos
        without a tag are never capped.
    explore_share : float
        Share of the ``k`` slots kept for videos with few views (``0``: off), rounded to whole slots.
    explore_max_views : int
        "Few views" means at most this many training views.
    """

    max_per_tag: int | None = None
    explore_share: float = 0.0
    explore_max_views: int = 10

    def __post_init__(self) -> None:
        if self.max_per_tag is not None and (isinstance(self.max_per_tag, bool) or self.max_per_tag < 1):
            raise ValueError(f"max_per_tag={self.max_per_tag!r}, must be None (off) or an integer >= 1")
        if not (0.0 <= self.explore_share <= 1.0) or math.isnan(self.explore_share):
            raise ValueError(f"explore_share={self.explore_share!r}, must be in [0, 1]")
        if self.explore_max_views < 0:
            raise ValueError(f"explore_max_views={self.explore_max_views!r}, must be >= 0")

    @property
    def active(self) -> bool:
        """Whether any rule changes a ranking (otherwise the top ``k`` pass through untouched)."""
        return self.max_per_tag is not None or self.explore_share > 0.0

    def explore_slots(self, k: int) -> int:
        """Slots of a top-``k`` kept for few-view videos."""
        return min(k, round(self.explore_share * k))

    def pool_size(self, k: int) -> int:
        """How many ranked candidates the caller should pass to :func:`apply_feed_rules` for a top-``k``."""
        if k < 1:
            raise ValueError(f"k={k}, must be >= 1")
        if self.explore_slots(k) > 0:
            return EXPLORE_POOL_FACTOR * k
        return CAP_POOL_FACTOR * k if self.active else k


def apply_feed_rules(
    ranked: NDArray[np.int32],
    scores: NDArray[np.float32],
    k: int,
    rules: FeedRules,
    first_tag: NDArray[np.int32],
    item_views: NDArray[np.float32],
) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """The top ``k`` of each ranked pool after the feed rules, best score first.

    Each row is walked in score order once: a video whose first tag already holds ``max_per_tag``
    slots is skipped; videos with few views are taken whenever a slot is free, the others only
    while they leave the exploration slots free. If the few-view videos in the pool cannot fill
    the exploration slots, the skipped well-viewed videos fill them; if the tag cap leaves slots
    empty (a pool short of distinct tags), the best skipped videos fill them, so a feed is never
    shorter than the pool allows.

    Parameters
    ----------
    ranked : ndarray of int32, shape (n, pool)
        Item indices, best first; ``-1`` pads rows with fewer candidates.
    scores : ndarray of float32, shape (n, pool)
        Their scores (``NaN`` at padding).
    k : int
        Slots per row.
    rules : FeedRules
    first_tag : ndarray of int32, shape (n_items,)
        First tag of each item, ``-1`` when it has none (see :func:`item_first_tags`).
    item_views : ndarray of float32, shape (n_items,)
        Training views of each item (``Recommender.item_popularity_``).

    Returns
    -------
    items : ndarray of int32, shape (n, k)
    scores : ndarray of float32, shape (n, k)
        ``-1`` / ``NaN`` where a row has fewer than ``k`` candidates.
    """
    ranked = np.asarray(ranked, dtype=np.int32)
    scores = np.asarray(scores, dtype=np.float32)
    if ranked.ndim != 2 or ranked.shape != scores.shape:
        raise ValueError(f"ranked and scores must be 2-D and the same shape, got {ranked.shape} and {scores.shape}")
    if k < 1:
        raise ValueError(f"k={k}, must be >= 1")
    n, pool = ranked.shape
    out_i = np.full((n, k), -1, np.int32)
    out_s = np.full((n, k), np.nan, np.float32)
    if not rules.active:
        width = min(k, pool)
        out_i[:, :width], out_s[:, :width] = ranked[:, :width], scores[:, :width]
        out_s[out_i < 0] = np.nan
        return out_i, out_s
    valid = ranked >= 0
    if valid.any() and int(ranked[valid].max()) >= min(len(first_tag), len(item_views)):
        raise KeyError(f"ranked item index {int(ranked[valid].max())} beyond first_tag/item_views")
    safe = np.where(valid, ranked, 0)
    tags = np.where(valid, np.asarray(first_tag, np.int32)[safe], -1)
    few = valid & (np.asarray(item_views)[safe] <= rules.explore_max_views)
    cap = pool if rules.max_per_tag is None else rules.max_per_tag
    n_main = k - rules.explore_slots(k)
    for r in range(n):
        picked = _pick_row(ranked[r], tags[r], few[r], k, n_main, cap)
        picked.sort()  # pool positions: best score first, stable among ties
        out_i[r, : len(picked)] = ranked[r, picked]
        out_s[r, : len(picked)] = scores[r, picked]
    return out_i, out_s


def _pick_row(
    items: NDArray[np.int32], tags: NDArray[np.int32], few: NDArray[np.bool_], k: int, n_main: int, cap: int
) -> list[int]:
    """Pool positions chosen for one row (see :func:`apply_feed_rules` for the order of preference)."""
    picked: list[int] = []
    held: dict[int, int] = {}
    skipped_main: list[int] = []
    skipped_cap: list[int] = []
    main = 0
    for pos in range(len(items)):
        if len(picked) == k:
            break
        if items[pos] < 0:
            continue
        tag = int(tags[pos])
        if tag >= 0 and held.get(tag, 0) >= cap:
            skipped_cap.append(pos)
            continue
        if not few[pos]:
            if main >= n_main:
                skipped_main.append(pos)
                continue
            main += 1
        picked.append(pos)
        if tag >= 0:
            held[tag] = held.get(tag, 0) + 1
    # Exploration slots the pool's few-view videos could not fill go to the next well-viewed videos.
    for pos in skipped_main:
        if len(picked) == k:
            break
        tag = int(tags[pos])
        if tag >= 0 and held.get(tag, 0) >= cap:
            skipped_cap.append(pos)
            continue
        picked.append(pos)
        if tag >= 0:
            held[tag] = held.get(tag, 0) + 1
    # Only a pool short of distinct tags gets here: fill the feed rather than leave it short.
    for pos in sorted(skipped_cap):
        if len(picked) == k:
            break
        picked.append(pos)
    return picked


def item_first_tags(model: Any, item_features: pl.DataFrame | Any | None = None) -> NDArray[np.int32]:
    """First tag of each of the model's items as an int code, ``-1`` where it has none.

    Reads ``item_features`` (a :class:`~reelrec.data.FeatureTable` or a polars frame in item index
    order) or, when omitted, the model's own ``item_features_`` if it keeps them; the first of
    :data:`TAG_COLUMNS` present is used (KuaiRec ``tags``: multi-valued, the first tag; MovieLens
    ``genres``). Integer tags keep their id; text tags are numbered in order of first appearance.
    Without a tag column every item gets ``-1`` (the tag cap then has nothing to cap).
    """
    n_items = len(model.items_)
    source = item_features if item_features is not None else getattr(model, "item_features_", None)
    frame = getattr(source, "frame", source)
    out = np.full(n_items, -1, np.int32)
    if not isinstance(frame, pl.DataFrame):
        return out
    column = next((c for c in TAG_COLUMNS if c in frame.columns), None)
    if column is None:
        return out
    if frame.height != n_items:
        raise ValueError(f"item features have {frame.height} rows, expected one per model item ({n_items})")
    series = frame[column]
    first = series.list.first() if isinstance(series.dtype, pl.List) else series
    values = first.to_list()
    codes: dict[Any, int] = {}
    for i, value in enumerate(values):
        if value is None:
            continue
        if isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= 0:
            out[i] = int(value)
        else:
            out[i] = codes.setdefault(value, len(codes))
    return out
