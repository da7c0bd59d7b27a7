"""evaluate through the public contract: perfect and reversed rankers, cold users, regressors, errors, anchors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reelrec.data import Dataset, IdMap, Interactions, load_dataset
from reelrec.errors import DataWarning, NotFittedError
from reelrec.eval import default_threshold, evaluate, holdout_split, kuairec_split
from reelrec.models import create_model
from reelrec.models._popularity import Popularity
from tests.conftest import make_toy_dataset
from tests.eval.models import CountingPopularity, Oracle, UserMean


@pytest.fixture(scope="module")
def toy() -> Dataset:
    return make_toy_dataset(n_users=45, n_items=60, per_user=20)


@pytest.fixture(scope="module")
def holdout(toy):
    return holdout_split(toy, seed=0)


@pytest.fixture(scope="module")
def block(toy):
    return kuairec_split(toy)


def _relevant_counts(split, threshold: float) -> np.ndarray:
    test = split.test
    pairs = np.unique(np.stack([test.user, test.item])[:, test.label >= threshold], axis=1)
    return np.bincount(pairs[0], minlength=split.train.n_users)


def _brute_ndcg(ranked: list[int], relevant: set[int], k: int) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, item in enumerate(ranked[:k]) if item in relevant)
    return dcg / sum(1 / math.log2(i + 2) for i in range(min(k, len(relevant))))


def test_oracle_reaches_one_on_both_protocols(holdout, block):
    for split in (holdout, block):
        result = evaluate(Oracle(split.test).fit(split.train), split, ks=(5, 10))
        assert result.n_scored > 0
        for name in ("ndcg@5", "ndcg@10", "map@10", "hit_rate@10", "graded_ndcg@10"):
            assert result.metrics[name] == pytest.approx(1.0, abs=1e-6), (split.protocol, name)
        rel = _relevant_counts(split, 2.0)[result.users]
        scored = rel > 0
        expected = np.minimum(rel[scored], 10) / rel[scored]
        np.testing.assert_allclose(result.per_user["recall@10"][scored], expected, rtol=1e-6)


def test_reversed_oracle_scores_zero(holdout):
    result = evaluate(Oracle(holdout.test, sign=-1.0).fit(holdout.train), holdout, ks=(5,))
    for name in ("ndcg@5", "precision@5", "recall@5", "map@5", "hit_rate@5", "graded_ndcg@5"):
        assert result.metrics[name] == 0.0


def test_popularity_numbers_match_a_recount_and_never_show_seen_items(holdout):
    model = Popularity().fit(holdout.train)
    result = evaluate(model, holdout, ks=(10,))
    assert result.threshold == 2.0  # watch_ratio default
    train = holdout.train.interactions
    catalogue = set(np.unique(train.item).tolist())
    for row, user in enumerate(result.users.tolist()):
        shown = [i for i in result.recommendations[row].tolist() if i >= 0]
        assert set(shown) <= catalogue
        assert not set(shown) & set(train.item[train.user == user].tolist())
        relevant = set(holdout.test.item[(holdout.test.user == user) & (holdout.test.label >= 2.0)].tolist())
        got = result.per_user["ndcg@10"][row]
        if relevant:
            assert got == pytest.approx(_brute_ndcg(shown, relevant, 10), rel=1e-5)
        else:
            assert np.isnan(got)
    assert result.n_scored == int((_relevant_counts(holdout, 2.0) > 0).sum())
    assert result.metrics["ndcg@10"] == pytest.approx(np.nanmean(result.per_user["ndcg@10"]), rel=1e-6)
    assert 0 < result.metrics["coverage@10"] <= 1
    assert "mae" not in result.metrics  # ranking-only model


def test_kuairec_protocol_ranks_only_block_items_and_reports_truth(block):
    result = evaluate(Popularity().fit(block.train), block, ks=(5,))
    assert set(result.users.tolist()) == set(np.unique(block.test.user).tolist())
    shown = result.recommendations[result.recommendations >= 0]
    assert np.isin(shown, block.candidates).all()
    assert result.per_user["truth_graded_ndcg@5"].shape == result.users.shape
    # Brute force of graded NDCG@5 against the planted truth (gains clipped at 5, as for watch ratios).
    expected = []
    for row, user in enumerate(result.users.tolist()):
        cells = block.test.user == user
        gains = dict(zip(block.test.item[cells].tolist(), np.clip(block.truth[cells], 0, 5).tolist(), strict=True))
        shown = result.recommendations[row, :5].tolist()
        dcg = sum(gains.get(i, 0.0) / math.log2(pos + 2) for pos, i in enumerate(shown) if i >= 0)
        ideal = sorted(gains.values(), reverse=True)[:5]
        idcg = sum(g / math.log2(pos + 2) for pos, g in enumerate(ideal))
        expected.append(dcg / idcg if idcg > 0 else math.nan)
    np.testing.assert_allclose(result.per_user["truth_graded_ndcg@5"], expected, rtol=1e-5, equal_nan=True)
    assert result.metrics["truth_graded_ndcg@5"] == pytest.approx(np.nanmean(expected), rel=1e-5)


def test_cold_users_are_scored_from_features(toy):
    split = kuairec_split(toy, cold_user_fraction=0.3, seed=1)
    model = CountingPopularity().fit(split.train)
    result = evaluate(model, split, ks=(5,), batch_size=4)
    n_cold = len(split.cold_users)
    assert n_cold > 0 and result.cold.sum() == n_cold
    assert sum(model.cold_calls) == n_cold
    warm_seen = np.concatenate(model.warm_calls)
    assert not np.isin(warm_seen, split.cold_users).any()
    np.testing.assert_array_equal(result.users[result.cold], split.cold_users)
    assert "cold_ndcg@5" in result.metrics and "cold_coverage@5" in result.metrics
    cold_recs, _ = model.recommend_cold(split.train.user_features.take(split.cold_users), 5, split.candidates)
    np.testing.assert_array_equal(result.recommendations[result.cold], cold_recs)


def test_threshold_defaults_follow_the_label():
    assert default_threshold("watch_ratio") == 2.0
    assert default_threshold("rating") == 4.0
    assert default_threshold("plays") is None
    rng = np.random.default_rng(0)
    user = np.repeat(np.arange(20), 10)
    item = np.concatenate([rng.permutation(30)[:10] for _ in range(20)])
    label = rng.integers(1, 6, len(user)).astype(np.float32)
    inter = Interactions.from_arrays(user, item, label)
    for label_name, threshold, cut in (("rating", 4.0, 4.0), ("plays", None, 1.0)):
        ds = Dataset(IdMap(np.arange(20)), IdMap(np.arange(30)), inter, label_name=label_name)
        split = holdout_split(ds, test_fraction=0.3)
        result = evaluate(Popularity().fit(split.train), split, ks=(3,))
        assert result.threshold == threshold
        assert result.n_scored == int((_relevant_counts(split, cut) > 0).sum())
    explicit = evaluate(Popularity().fit(split.train), split, ks=(3,), threshold=5.0)
    assert explicit.threshold == 5.0 and explicit.n_scored == int((_relevant_counts(split, 5.0) > 0).sum())


def test_regressors_get_mae_rmse_on_the_test_pairs(block):
    model = UserMean().fit(block.train)
    result = evaluate(model, block, ks=(5,))
    test = block.test
    pred = model.mean_[test.user]
    assert result.metrics["mae"] == pytest.approx(np.abs(pred - test.label).mean(), rel=1e-5)
    assert result.metrics["rmse"] == pytest.approx(np.sqrt(((pred - test.label) ** 2).mean()), rel=1e-5)
    assert result.metrics["truth_rmse"] == pytest.approx(np.sqrt(((pred - block.truth) ** 2).mean()), rel=1e-5)
    assert result.per_user["mae"].shape == result.users.shape


def test_nan_predictions_warn_and_are_left_out(block):
    with pytest.warns(DataWarning, match="returned NaN for"):
        result = evaluate(UserMean(nan_every=3).fit(block.train), block, ks=(5,))
    assert np.isfinite(result.metrics["mae"])


def test_batch_size_and_progress_do_not_change_results(holdout):
    model = Popularity().fit(holdout.train)
    calls: list[tuple[str, int, int]] = []
    small = evaluate(model, holdout, ks=(5, 10), batch_size=7, progress=lambda *a: calls.append(a))
    big = evaluate(model, holdout, ks=(5, 10))
    assert small.metrics == big.metrics
    np.testing.assert_array_equal(small.recommendations, big.recommendations)
    done = [d for stage, d, _ in calls if stage == "recommend"]
    assert done == sorted(done) and done[-1] == len(small.users) and len(done) == math.ceil(len(small.users) / 7)


def test_bad_calls_are_named(holdout):
    with pytest.raises(NotFittedError):
        evaluate(Popularity(), holdout)
    other = make_toy_dataset(n_users=10, n_items=12, per_user=5, with_block=False)
    with pytest.raises(ValueError, match="knows 10 users and 12 items but the split's data set has 45 and 60"):
        evaluate(Popularity().fit(other), holdout)
    model = Popularity().fit(holdout.train)
    with pytest.raises(ValueError, match="ks is empty"):
        evaluate(model, holdout, ks=())
    with pytest.raises(ValueError, match="every k must be an integer >= 1"):
        evaluate(model, holdout, ks=(0, 5))
    with pytest.raises(ValueError, match="batch_size=0"):
        evaluate(model, holdout, batch_size=0)
    with pytest.raises(TypeError, match="must be a reelrec Recommender"):
        evaluate(object(), holdout)


def test_non_finite_test_labels_are_refused(holdout):
    test = holdout.test
    label = test.label.copy()
    label[[2, 5]] = np.nan
    broken = type(holdout)(holdout.train, Interactions(test.user, test.item, label, test.timestamp))
    with pytest.raises(ValueError, match=r"2 rows with a non-finite label \(first: test row 2\)"):
        evaluate(Popularity().fit(holdout.train), broken)


# ---------------------------------------------------------------- anchors
@pytest.fixture(scope="module")
def movielens_split(ml100k_path):
    # The loader keeps u.data's row order, which the seed-0 split's draws follow.
    return holdout_split(load_dataset(ml100k_path, cache=False), seed=0)


def test_movielens_popularity_anchor(movielens_split):
    """The protocol's popularity figure, NDCG@10 = 0.173, on the seed-0 split."""
    result = evaluate(Popularity().fit(movielens_split.train), movielens_split, ks=(10,))
    assert result.threshold == 4.0
    assert round(result.metrics["ndcg@10"], 3) == 0.173


@pytest.mark.slow
def test_movielens_ease_anchor(movielens_split):
    """EASE lambda=500 on a binary train matrix gives NDCG@10 0.363 under the reference protocol."""
    model = create_model("ease", reg=500.0)
    result = evaluate(model.fit(movielens_split.train), movielens_split, ks=(10,))
    assert result.metrics["ndcg@10"] == pytest.approx(0.363, abs=0.002)
