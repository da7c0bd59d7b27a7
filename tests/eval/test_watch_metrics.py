"""XAUC and XGAUC against their O(n²) definitions, ties in truth and prediction included (issue 10, §3)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reelrec.eval import xauc, xgauc
from reelrec.eval._watch_metrics import pair_counts


def brute_xauc(pred, truth) -> float:
    """The definition: over pairs with different truth, 1 if ordered alike, 1/2 if tied in pred, else 0."""
    score = pairs = 0.0
    for i in range(len(pred)):
        for j in range(i + 1, len(pred)):
            if truth[i] == truth[j]:
                continue
            pairs += 1
            if pred[i] == pred[j]:
                score += 0.5
            elif (pred[i] > pred[j]) == (truth[i] > truth[j]):
                score += 1.0
    return score / pairs if pairs else math.nan


def brute_xgauc(pred, truth, users) -> tuple[list[float], float]:
    per_user = [brute_xauc(pred[users == u], truth[users == u]) for u in range(int(users.max()) + 1)]
    defined = [v for v in per_user if not math.isnan(v)]
    return per_user, (sum(defined) / len(defined) if defined else math.nan)


# Few distinct values, so ties in truth, in prediction and in both are common.
_views = st.integers(0, 40).flatmap(
    lambda n: st.tuples(
        st.lists(st.sampled_from([-1.5, 0.0, 0.25, 0.5, 2.0, 7.0]), min_size=n, max_size=n),
        st.lists(st.sampled_from([0.0, 0.3, 1.0, 1.7, 5.0]), min_size=n, max_size=n),
        st.lists(st.integers(0, 4), min_size=n, max_size=n),
    )
)


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(_views)
def test_xauc_matches_the_pairwise_definition(views):
    pred, truth, _ = (np.array(v, dtype=np.float64) for v in views)
    assert _same(xauc(pred, truth), brute_xauc(pred, truth))


@settings(max_examples=200, deadline=None)
@given(_views)
def test_xgauc_matches_the_per_user_definition(views):
    pred, truth, users = np.array(views[0]), np.array(views[1]), np.array(views[2], dtype=np.int64)
    if len(users) == 0:
        assert math.isnan(xgauc(pred, truth, users, n_users=3).mean)
        return
    result = xgauc(pred, truth, users)
    per_user, mean = brute_xgauc(pred, truth, users)
    assert len(result.per_user) == len(per_user)
    for got, want in zip(result.per_user, per_user, strict=True):  # per-user arrays are float32
        assert (math.isnan(got) and math.isnan(want)) or float(got) == pytest.approx(want, abs=1e-6)
    assert _same(result.mean, mean)
    assert result.n == sum(not math.isnan(v) for v in per_user)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=60), st.randoms(use_true_random=False))
def test_continuous_values_and_view_order_do_not_matter(values, rnd):
    truth = np.array(values)
    pred = truth + np.array([rnd.uniform(-5, 5) for _ in values])
    perm = np.array(rnd.sample(range(len(values)), len(values)))
    assert _same(xauc(pred, truth), brute_xauc(pred, truth))
    assert _same(xauc(pred[perm], truth[perm]), xauc(pred, truth))


def test_known_values():
    truth = np.array([1.0, 2.0, 3.0, 4.0])
    assert xauc(truth * 10, truth) == 1.0
    assert xauc(-truth, truth) == 0.0
    assert xauc(np.zeros(4), truth) == 0.5  # a constant prediction ties every pair
    # Pairs (1,2) (1,3) (2,3) ordered alike, pair with the tie in truth not counted: 3 of 3.
    assert xauc([0.1, 0.2, 0.3, 0.3], [1.0, 2.0, 3.0, 3.0]) == 1.0
    # One pair tied in prediction out of three: (2 + 0.5) / 3.
    assert xauc([0.1, 0.2, 0.2], [1.0, 2.0, 3.0]) == pytest.approx(2.5 / 3)


def test_all_equal_truth_is_undefined():
    assert math.isnan(xauc([0.1, 0.9, 0.3], [2.0, 2.0, 2.0]))
    assert math.isnan(xauc([0.4], [1.0]))
    assert math.isnan(xauc([], []))


def test_xgauc_leaves_out_users_without_two_distinct_truths():
    users = np.array([0, 1, 1, 2, 2, 2])
    truth = np.array([1.0, 3.0, 3.0, 1.0, 2.0, 3.0])
    pred = np.array([0.5, 0.1, 0.9, 0.3, 0.2, 0.1])
    result = xgauc(pred, truth, users, n_users=4)
    assert math.isnan(result.per_user[0])  # one view
    assert math.isnan(result.per_user[1])  # two views, same truth
    assert result.per_user[2] == 0.0  # reversed
    assert math.isnan(result.per_user[3])  # no views at all
    assert result.n == 1 and result.mean == 0.0
    # The user-averaged figure differs from the pooled one: pooling crosses users.
    assert xauc(pred, truth) == pytest.approx(brute_xauc(pred, truth))


def test_pair_counts_sum_to_the_definition():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, 200).astype(float)
    pred = rng.integers(0, 6, 200).astype(float)
    counts = pair_counts(pred, truth)
    assert counts.pairs[0] == sum(truth[i] != truth[j] for i in range(200) for j in range(i + 1, 200))
    assert counts.score[0] / counts.pairs[0] == pytest.approx(brute_xauc(pred, truth), abs=1e-12)


def test_huge_keys_fall_back_to_a_lexsort_with_the_same_counts(monkeypatch):
    from reelrec.eval import _watch_metrics

    rng = np.random.default_rng(2)
    truth, pred = rng.integers(0, 5, 300).astype(float), rng.integers(0, 7, 300).astype(float)
    users = rng.integers(0, 6, 300)
    packed = pair_counts(pred, truth, users)
    monkeypatch.setattr(_watch_metrics, "_KEY_LIMIT", 0)
    fallback = pair_counts(pred, truth, users)
    np.testing.assert_array_equal(fallback.pairs, packed.pairs)
    np.testing.assert_array_equal(fallback.score, packed.score)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="1-D and aligned"):
        xauc([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="1 of 3 predicted values are not finite"):
        xauc([1.0, np.nan, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="users must align"):
        xgauc([1.0, 2.0], [1.0, 2.0], [0])
    with pytest.raises(ValueError, match=r"row positions in \[0, 1\)"):
        xgauc([1.0, 2.0], [1.0, 2.0], [0, 1], n_users=1)
    with pytest.raises(ValueError, match="non-negative integer"):
        xgauc([1.0, 2.0], [1.0, 2.0], [0, -1])


def test_one_million_views_take_seconds_not_hours():
    """Exact and O(n log n): a million views (5 * 10**11 pairs) in seconds on one core."""
    rng = np.random.default_rng(1)
    n = 1_000_000
    truth = rng.lognormal(0.0, 1.0, n).astype(np.float32)
    pred = (truth * rng.lognormal(0.0, 0.5, n)).astype(np.float32)
    start = time.process_time()
    value = xauc(pred, truth)
    seconds = time.process_time() - start
    # Gaussian-copula reference: log pred = log truth + noise, so the pair order agrees with
    # probability 1/2 + arcsin(rho)/pi, rho = 1/sqrt(1.25).
    assert value == pytest.approx(0.5 + math.asin(1 / math.sqrt(1.25)) / math.pi, abs=2e-3)
    assert seconds < 20, f"xauc took {seconds:.1f} s of CPU for 1M views"
