"""A planted-taste data set where a personalised ranker must beat popularity by a wide margin."""

from __future__ import annotations

import numpy as np

from reelrec.data import Dataset, IdMap, Interactions
from reelrec.eval import evaluate, holdout_split
from reelrec.models import Recommender, create_model


def planted_groups(n_groups: int = 4, users_per_group: int = 40, items_per_group: int = 25, seed: int = 0) -> Dataset:
    """Users watch mostly videos of their own group; a few global hits are watched by everyone.

    Popularity can only find the hits; a model that learns who watches what also finds each user's
    group, so its NDCG@10 on a holdout is far above popularity's.
    """
    rng = np.random.default_rng(seed)
    n_users, n_items = n_groups * users_per_group, n_groups * items_per_group
    hits = rng.choice(n_items, size=5, replace=False)
    users, items = [], []
    for u in range(n_users):
        group = u // users_per_group
        own = np.arange(group * items_per_group, (group + 1) * items_per_group)
        picked = np.union1d(rng.choice(own, size=12, replace=False), rng.choice(hits, size=2, replace=False))
        users.append(np.full(len(picked), u))
        items.append(picked)
    user, item = np.concatenate(users), np.concatenate(items)
    label = rng.integers(1, 6, len(user)).astype(np.float32)
    return Dataset(IdMap(np.arange(n_users)), IdMap(np.arange(n_items)),
                   Interactions.from_arrays(user, item, label), label_name="count")


def ndcg_vs_popularity(model: Recommender) -> tuple[float, float]:
    """NDCG@10 of ``model`` and of popularity, both fitted on the same holdout of :func:`planted_groups`."""
    split = holdout_split(planted_groups(), test_fraction=0.25, seed=0)
    scores = [evaluate(m.fit(split.train), split, ks=(10,)).metrics["ndcg@10"]
              for m in (model, create_model("popularity"))]
    return scores[0], scores[1]
