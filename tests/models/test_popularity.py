"""Popularity through the contract: ranking by distinct viewers, seen items excluded."""

import numpy as np

from reelrec.models import create_model


def test_ranks_by_distinct_viewers_and_excludes_seen(toy_dataset):
    model = create_model("popularity").fit(toy_dataset)
    counts = np.asarray(toy_dataset.interactions.to_csr(toy_dataset.n_users, toy_dataset.n_items).sum(0)).ravel()
    items, scores = model.recommend_indices(np.arange(toy_dataset.n_users), k=10)
    seen = model.seen_.toarray() > 0
    for u in range(toy_dataset.n_users):
        assert not seen[u, items[u]].any()
        assert np.all(np.diff(scores[u]) <= 0)
        unseen = np.flatnonzero(~seen[u])
        assert scores[u, 0] == counts[unseen].max()


def test_recommend_raw_ids_round_trip(toy_dataset):
    model = create_model("popularity").fit(toy_dataset)
    raw_user = toy_dataset.users.raw_ids[3]
    items, _ = model.recommend(raw_user, k=5)
    idx_items, _ = model.recommend_indices([3], k=5)
    assert items.tolist() == toy_dataset.items.raw(idx_items[0]).tolist()
