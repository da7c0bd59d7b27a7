"""The session protocol: its split (same targets for every N, no leak), its metrics and its probes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reelrec.data import Dataset, Interactions
from reelrec.eval import EvalProtocol, evaluate_session, refit_gap, session_relevance, session_split, skip_effect
from reelrec.eval._session_probes import _with_revealed
from reelrec.feed import FeedRules
from reelrec.models import create_model
from tests.conftest import make_toy_dataset


@pytest.fixture(scope="module")
def data() -> Dataset:
    # 70 views per user with replacement: most users have 35+ distinct videos, a few fewer.
    return make_toy_dataset(n_users=40, n_items=150, per_user=70, with_block=False, seed=3)


@pytest.fixture(scope="module")
def split(data: Dataset):
    return session_split(data, reveal=(0, 1, 5, 20), n_targets=20, min_targets=5, min_train=10)


def _held(split, r: int) -> np.ndarray:
    return split.items[split.offsets[r] : split.offsets[r + 1]]


def test_targets_are_the_same_for_every_n_and_never_revealed(split) -> None:
    rows, items, _ = split.targets()
    assert len(split) > 10
    for n in split.reveal:
        hist = split.histories(n)
        assert [len(h) for h in hist] == [n] * len(split)
        for r, h in enumerate(hist):
            held = _held(split, r)
            np.testing.assert_array_equal(h.items, held[:n])  # the first n held-out views, in order
            targets = items[rows == r]
            np.testing.assert_array_equal(targets, held[split.target_start :])
            assert not np.isin(h.items, targets).any()
    with pytest.raises(ValueError, match="n=21"):
        split.histories(21)


def test_held_out_views_are_in_time_order_and_distinct(data: Dataset, split) -> None:
    ts = split.timestamp
    for r in range(len(split)):
        lo, hi = split.offsets[r], split.offsets[r + 1]
        assert (np.diff(ts[lo:hi]) >= 0).all()
        assert len(np.unique(split.items[lo:hi])) == hi - lo
        assert split.target_start + 5 <= hi - lo <= split.target_start + 20


def test_no_training_view_leaks(data: Dataset, split) -> None:
    train = split.train.interactions
    assert split.train.fully_observed is None
    for r, u in enumerate(split.users):
        mine = train.user == u
        assert not np.isin(train.item[mine], _held(split, r)).any()
        assert train.timestamp[mine].max() <= split.timestamp[split.offsets[r]]
    # Every input row is in train, held out (a held-out pair's rows) or a counted late re-view.
    held_keys = np.unique(np.repeat(split.users, np.diff(split.offsets)).astype(np.int64) * data.n_items + split.items)
    keys = data.interactions.user.astype(np.int64) * data.n_items + data.interactions.item
    n_held_rows = int(np.isin(keys, held_keys).sum())
    assert len(train) + n_held_rows + split.params["late_reviews_dropped"] == len(data.interactions)


def test_users_with_too_few_views_are_skipped_and_counted(data: Dataset) -> None:
    strict = session_split(data, n_targets=20, min_targets=15, min_train=10)
    distinct = np.asarray([len(np.unique(data.interactions.item[data.interactions.user == u])) for u in range(40)])
    expected = np.flatnonzero(distinct >= 20 + 15 + 10)
    assert 0 < len(expected) < 40
    np.testing.assert_array_equal(strict.users, expected)
    assert strict.params["skipped_users"] == 40 - len(expected)
    skipped = np.setdiff1d(np.arange(40), expected)
    # A skipped user keeps every row for training.
    assert np.isin(data.interactions.user, skipped).sum() == np.isin(strict.train.interactions.user, skipped).sum()


def test_a_model_that_ignores_history_scores_the_same_for_every_n(split) -> None:
    model = create_model("popularity").fit(split.train)
    scores = [model._score_sessions(split.users, split.histories(n), None) for n in split.reveal]
    for s in scores[1:]:
        np.testing.assert_array_equal(s, scores[0])
    # Yet each ranking excludes the revealed views and the training views.
    recs = evaluate_session(model, split, 20).recommendations
    seen = split.train.interactions
    for r, u in enumerate(split.users):
        assert not np.isin(recs[r], _held(split, r)[:20]).any()
        assert not np.isin(recs[r], seen.item[seen.user == u]).any()


def test_ndcg_of_one_user_by_brute_force(data: Dataset, split) -> None:
    model = create_model("itemknn").fit(split.train)
    result = evaluate_session(model, split, 5, k=10)
    r = int(np.nanargmax(result.per_user["ndcg@10"]))
    held = _held(split, r)
    labels = split.label[split.offsets[r] : split.offsets[r + 1]]
    relevant = set(held[split.target_start :][labels[split.target_start :] >= 2.0].tolist())
    assert relevant
    recs = result.recommendations[r]
    dcg = sum(1 / math.log2(i + 2) for i, x in enumerate(recs.tolist()) if x in relevant)
    idcg = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), 10)))
    assert result.per_user["ndcg@10"][r] == pytest.approx(dcg / idcg, rel=1e-5)
    hits = sum(x in relevant for x in recs.tolist())
    assert result.per_user["recall@10"][r] == pytest.approx(hits / len(relevant), rel=1e-5)
    # Users with no relevant target are not scored.
    rel = session_relevance(split)
    none = np.asarray(rel.n_relevant) == 0
    assert np.isnan(result.per_user["ndcg@10"][none]).all()
    assert result.metrics["n_scored"] == float((~none).sum())


def test_feed_rules_in_the_protocol_trade_accuracy_for_variety(split) -> None:
    model = create_model("popularity").fit(split.train)
    plain = evaluate_session(model, split, 5)
    ruled = evaluate_session(model, split, 5, rules=FeedRules(max_per_tag=2, explore_share=0.2))
    assert ruled.metrics["distinct_tags@10"] > plain.metrics["distinct_tags@10"]
    assert ruled.metrics["few_view_share@10"] >= plain.metrics["few_view_share@10"]
    assert ruled.settings["rules"]["max_per_tag"] == 2


def test_skip_marking_needs_watch_ratios_and_the_probes_run(data: Dataset, split) -> None:
    hist = split.histories(20, mark_skips=True)
    wr = np.concatenate([h.watch_ratio for h in hist])
    np.testing.assert_array_equal(np.concatenate([h.skipped for h in hist]), wr < 0.3)
    model = create_model("itemknn").fit(split.train)
    effect = skip_effect(model, split, n=20, skip_below=0.8)
    assert effect["users"] == sum(bool((h.watch_ratio < 0.8).any()) for h in split.histories(20))
    assert 0.0 <= effect["mean_rank_pct_plain"] <= 1.0
    gap = refit_gap(lambda: create_model("itemknn"), split, n=5, fitted=model)
    assert gap["users"] == evaluate_session(model, split, 5).metrics["n_scored"]
    refit = _with_revealed(split, 5)
    assert len(refit.interactions) == len(split.train.interactions) + 5 * len(split)
    rated = data.with_interactions(data.interactions, label_name="rating")
    with pytest.raises(ValueError, match="watch-ratio"):
        session_split(rated).histories(5, mark_skips=True)


def test_protocol_builds_the_split_and_missing_times_are_named(data: Dataset) -> None:
    split = EvalProtocol(data).session_split(min_train=10)
    assert split.params["protocol"] == "session" and "data_fingerprint" in split.params
    inter = data.interactions
    ts = inter.timestamp.copy()
    ts[7] = np.nan
    broken = data.with_interactions(Interactions(inter.user, inter.item, inter.label, ts))
    with pytest.raises(ValueError, match="row 7"):
        session_split(broken)


def test_blind_control_excludes_the_history_without_passing_it(split) -> None:
    model = create_model("itemknn").fit(split.train)
    blind = evaluate_session(model, split, 20, blind=True)
    seen = evaluate_session(model, split, 20)
    plain = evaluate_session(model, split, 0)
    for r in range(len(split)):
        assert not np.isin(blind.recommendations[r], _held(split, r)[:20]).any()
    # ItemKNN folds the history in, so seeing it changes the ranking; the blind one is N=0 minus the videos.
    assert not np.array_equal(blind.recommendations, seen.recommendations)
    kept = [np.setdiff1d(plain.recommendations[r], _held(split, r)[:20]) for r in range(len(split))]
    assert all(np.isin(k, blind.recommendations[r]).all() for r, k in enumerate(kept))
