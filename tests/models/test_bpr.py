"""BPR: negatives are unviewed videos, planted structure beats popularity, bad parameters."""

from __future__ import annotations

import numpy as np
import pytest
from tests.models.planted import ndcg_vs_popularity, planted_groups

from reelrec.models import create_model
from reelrec.models._bpr import sample_negatives


def test_negatives_are_drawn_among_each_users_unviewed_videos(rng):
    data = planted_groups()
    seen = data.interactions.to_csr(data.n_users, data.n_items, values="ones")
    seen.sort_indices()
    users = rng.integers(0, data.n_users, 20_000).astype(np.int32)
    neg = sample_negatives(seen, users, np.random.default_rng(0))
    assert neg.dtype == np.int32 and neg.min() >= 0 and neg.max() < data.n_items
    assert not np.asarray(seen[users, neg]).any(), "a negative must not be one of the user's videos"
    # Uniform over the unviewed: every video that some user has not viewed is drawn.
    assert len(np.unique(neg)) == data.n_items


def test_beats_popularity_on_planted_groups():
    ndcg, popularity = ndcg_vs_popularity(create_model("bpr", embedding_size=16, epochs=40))
    assert ndcg > popularity + 0.15


def test_other_seed_other_model_same_seed_same_model():
    data = planted_groups()
    a, b = (create_model("bpr", embedding_size=8, epochs=2, seed=s).fit(data) for s in (1, 1))
    c = create_model("bpr", embedding_size=8, epochs=2, seed=2).fit(data)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    assert not np.array_equal(a.user_factors_, c.user_factors_)


@pytest.mark.parametrize("bad", [{"learning_rate": 0.0}, {"reg": -1.0}, {"epochs": 0}, {"batch_size": 0}])
def test_bad_parameters_are_named(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        create_model("bpr", **bad).fit(planted_groups())
