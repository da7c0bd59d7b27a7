"""Paired significance tests, checked against scipy.stats and against what a bootstrap must do."""

import numpy as np
import pytest
from scipy import stats

from reelrec.bench import bootstrap_mean_diff, paired_t_test, paired_test


@pytest.mark.parametrize(("n", "shift"), [(5, 0.0), (40, 0.1), (300, 0.02), (1411, -0.05)])
def test_paired_t_matches_scipy_ttest_rel(rng, n, shift):
    a = rng.beta(2, 5, size=n)
    b = np.clip(a + rng.normal(shift, 0.1, size=n), 0, 1)
    t, p = paired_t_test(a, b)
    ref = stats.ttest_rel(a, b)
    assert t == pytest.approx(ref.statistic, rel=1e-10)
    assert p == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)


def test_zero_variance_differences_are_defined():
    a = np.array([0.5, 0.2, 0.9])
    assert paired_t_test(a, a) == (0.0, 1.0)
    t, p = paired_t_test(a + 0.1, a)
    assert t == np.inf and p == 0.0


def test_bootstrap_agrees_with_t_interval_for_a_large_sample(rng):
    d = rng.normal(0.03, 0.2, size=2000)
    a, b = d + 0.5, np.full(2000, 0.5)
    low, high, p_boot = bootstrap_mean_diff(a, b, n_boot=4000, seed=1)
    se = d.std(ddof=1) / np.sqrt(len(d))
    t_low, t_high = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=se)
    assert low == pytest.approx(t_low, abs=0.25 * se)
    assert high == pytest.approx(t_high, abs=0.25 * se)
    _, p_t = paired_t_test(a, b)
    assert p_boot == pytest.approx(p_t, abs=0.01)


def test_bootstrap_is_seeded_and_calls_no_difference_not_significant(rng):
    a = rng.random(200)
    b = a + rng.normal(0, 0.05, size=200)
    b -= (b - a).mean()  # exactly zero mean difference
    first = bootstrap_mean_diff(a, b, n_boot=1000, seed=3)
    assert first == bootstrap_mean_diff(a, b, n_boot=1000, seed=3)
    low, high, p = first
    assert low < 0 < high
    assert p > 0.9


def test_paired_test_result_names_models_and_direction(rng):
    a = rng.random(100) * 0.5 + 0.4
    b = a - 0.1 + rng.normal(0, 0.01, 100)
    result = paired_test(a, b, metric="ndcg@10", names=("ease", "popularity"), n_boot=500)
    assert result.n == 100
    assert result.mean_diff == pytest.approx(float((a - b).mean()))
    assert result.ci_low > 0 and result.significant()
    text = result.sentence()
    assert "ease vs popularity" in text and "ndcg@10" in text and "significant at 0.05" in text
    assert result.to_dict()["significant_0.05"] is True


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        ([0.1, 0.2], [0.1], "equal length"),
        ([0.1], [0.2], "at least 2 users"),
        ([0.1, np.nan, 0.3], [0.1, 0.2, 0.3], "non-finite values .first at position 1"),
    ],
)
def test_bad_input_is_named(a, b, match):
    with pytest.raises(ValueError, match=match):
        paired_test(a, b, metric="ndcg@10")


def test_bootstrap_rejects_too_few_resamples():
    with pytest.raises(ValueError, match="n_boot=10"):
        bootstrap_mean_diff([0.1, 0.2, 0.3], [0.2, 0.1, 0.3], n_boot=10)
