"""Feed rules: tag cap, exploration slots, no-op when off, padding, short pools, first tags."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from reelrec.data import FeatureTable
from reelrec.feed import FeedRules, apply_feed_rules, item_first_tags
from reelrec.models import create_model
from tests.conftest import make_toy_dataset


def _pool(items: list[int]) -> tuple[np.ndarray, np.ndarray]:
    ranked = np.asarray([items], np.int32)
    scores = np.asarray([[float(len(items) - i) if x >= 0 else np.nan for i, x in enumerate(items)]], np.float32)
    return ranked, scores


def test_inactive_rules_pass_the_top_k_through() -> None:
    rng = np.random.default_rng(0)
    ranked = np.stack([rng.permutation(30)[:12] for _ in range(4)]).astype(np.int32)
    scores = -np.sort(-rng.random((4, 12)), axis=1).astype(np.float32)
    items, out = apply_feed_rules(ranked, scores, 5, FeedRules(), np.zeros(30, np.int32), np.zeros(30, np.float32))
    assert not FeedRules().active
    np.testing.assert_array_equal(items, ranked[:, :5])
    np.testing.assert_array_equal(out, scores[:, :5])


def test_tag_cap_is_respected_and_keeps_score_order() -> None:
    # items 0..9 share tag 0, 10..19 tag 1, 20..29 tag 2; the pool ranks all of tag 0 first.
    first_tag = np.repeat(np.arange(3), 10).astype(np.int32)
    ranked, scores = _pool(list(range(30)))
    items, out = apply_feed_rules(ranked, scores, 6, FeedRules(max_per_tag=2), first_tag, np.full(30, 100, np.float32))
    assert items[0].tolist() == [0, 1, 10, 11, 20, 21]
    counts = np.bincount(first_tag[items[0]])
    assert counts.max() <= 2
    assert (np.diff(out[0]) <= 0).all()


def test_untagged_items_are_never_capped() -> None:
    first_tag = np.full(20, -1, np.int32)
    ranked, scores = _pool(list(range(20)))
    items, _ = apply_feed_rules(ranked, scores, 5, FeedRules(max_per_tag=1), first_tag, np.zeros(20, np.float32))
    assert items[0].tolist() == [0, 1, 2, 3, 4]


def test_exploration_slots_take_few_view_videos_in_score_order() -> None:
    views = np.full(40, 500.0, np.float32)
    few = [25, 12, 33, 7]  # few-view videos, in the order the pool ranks them
    views[few] = [3, 0, 10, 1]
    order = [i for i in range(40) if i not in few]
    pool = [*order[:5], 12, *order[5:15], 7, 25, *order[15:], 33]
    ranked, scores = _pool(pool)
    rules = FeedRules(explore_share=0.3)  # 3 of 10 slots
    items, out = apply_feed_rules(ranked, scores, 10, rules, np.full(40, -1, np.int32), views)
    chosen = items[0].tolist()
    assert [x for x in chosen if views[x] <= 10] == [12, 7, 25]  # the best three few-view videos
    assert [x for x in chosen if views[x] > 10] == order[:7]
    assert (np.diff(out[0]) <= 0).all()


def test_exploration_slots_fall_back_to_well_viewed_videos() -> None:
    views = np.full(20, 500.0, np.float32)
    views[15] = 2  # the only few-view video in the pool
    ranked, scores = _pool(list(range(20)))
    items, _ = apply_feed_rules(ranked, scores, 5, FeedRules(explore_share=0.4), np.full(20, -1, np.int32), views)
    assert items[0].tolist() == [0, 1, 2, 3, 15]


def test_padding_and_fewer_candidates_than_k() -> None:
    first_tag = np.asarray([0, 0, 0, 1, 1], np.int32)
    ranked = np.asarray([[0, 1, 3, -1, -1, -1], [-1] * 6], np.int32)
    scores = np.asarray([[3, 2, 1, np.nan, np.nan, np.nan], [np.nan] * 6], np.float32)
    rules = FeedRules(max_per_tag=1, explore_share=0.2)
    items, out = apply_feed_rules(ranked, scores, 5, rules, first_tag, np.full(5, 100, np.float32))
    # Row 0 has three candidates: the capped one still fills a slot rather than leave the feed short.
    assert items[0].tolist() == [0, 1, 3, -1, -1]
    assert np.isnan(out[0, 3:]).all() and not np.isnan(out[0, :3]).any()
    assert (items[1] == -1).all() and np.isnan(out[1]).all()
    # A pool narrower than k with the rules off is padded too.
    items, out = apply_feed_rules(ranked[:, :2], scores[:, :2], 4, FeedRules(), first_tag, np.zeros(5, np.float32))
    assert items[0].tolist() == [0, 1, -1, -1] and np.isnan(out[0, 2:]).all()


def test_pool_size_and_validation() -> None:
    assert FeedRules().pool_size(10) == 10
    assert FeedRules(max_per_tag=2).pool_size(10) >= 30
    assert FeedRules(explore_share=0.1).pool_size(10) >= FeedRules(max_per_tag=2).pool_size(10)
    with pytest.raises(ValueError, match="max_per_tag"):
        FeedRules(max_per_tag=0)
    with pytest.raises(ValueError, match="explore_share"):
        FeedRules(explore_share=1.5)
    with pytest.raises(ValueError, match="k=0"):
        FeedRules().pool_size(0)


def test_item_first_tags_reads_the_first_tag() -> None:
    data = make_toy_dataset(n_users=20, n_items=30, per_user=8)
    model = create_model("popularity").fit(data)
    n = len(model.items_)
    lists = [[i % 4, 9] if i % 5 else [] for i in range(n)]
    table = FeatureTable(pl.DataFrame({"tags": lists}, schema={"tags": pl.List(pl.Int64)}), {"tags": "multi"})
    tags = item_first_tags(model, table)
    expected = [i % 4 if i % 5 else -1 for i in range(n)]
    assert tags.tolist() == expected
    genres = pl.DataFrame({"genres": [["Drama", "War"] if i % 2 else ["Comedy"] for i in range(n)]})
    codes = item_first_tags(model, genres)
    assert len(set(codes[1::2].tolist())) == 1 and len(set(codes[::2].tolist())) == 1 and codes[0] != codes[1]
    assert (item_first_tags(model, pl.DataFrame({"x": list(range(n))})) == -1).all()
    with pytest.raises(ValueError, match="rows"):
        item_first_tags(model, pl.DataFrame({"tags": [[1]]}))
