"""Paired tests over users: a clearly better model is significant, a model against itself is not."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from reelrec.eval import evaluate, holdout_split, paired_test
from reelrec.models._popularity import Popularity
from tests.conftest import make_toy_dataset
from tests.eval.models import Oracle


@pytest.fixture(scope="module")
def results():
    split = holdout_split(make_toy_dataset(n_users=45, n_items=60, per_user=20), seed=0)
    pop = evaluate(Popularity().fit(split.train), split, ks=(10,))
    oracle = evaluate(Oracle(split.test).fit(split.train), split, ks=(10,))
    return pop, oracle


def test_oracle_beats_popularity_significantly(results):
    pop, oracle = results
    for method in ("t", "wilcoxon"):
        test = paired_test(pop, oracle, "ndcg@10", method=method)
        assert test.n == pop.n_scored
        assert test.mean_diff == pytest.approx(oracle.metrics["ndcg@10"] - pop.metrics["ndcg@10"], rel=1e-5)
        assert test.ci_low > 0 and test.p_value < 1e-3


def test_matches_scipy_paired_t(results):
    pop, oracle = results
    a, b = pop.per_user["recall@10"], oracle.per_user["recall@10"]
    both = ~np.isnan(a) & ~np.isnan(b)
    expected = stats.ttest_rel(b[both].astype(np.float64), a[both].astype(np.float64)).pvalue
    assert paired_test(pop, oracle, "recall@10").p_value == pytest.approx(expected)


def test_model_against_itself_is_no_difference(results):
    pop, _ = results
    test = paired_test(pop, pop)
    assert test.mean_diff == 0 and test.p_value == 1.0


def test_bad_requests_are_named(results):
    pop, oracle = results
    with pytest.raises(KeyError, match="no per-user 'ndcg@3'"):
        paired_test(pop, oracle, "ndcg@3")
    with pytest.raises(ValueError, match="method='z'"):
        paired_test(pop, oracle, method="z")
    with pytest.raises(ValueError, match="at least 2"):
        paired_test(pop, oracle, cold=True)  # this split has no cold users
