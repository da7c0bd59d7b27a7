"""The notebook preset's ``_add_items`` (``models/_seed.py``): new videos scored from their features."""

from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import make_toy_dataset

from reelrec.data import FeatureTable
from reelrec.models._seed import SeedTwoTower


@pytest.fixture(scope="module")
def toy():
    return make_toy_dataset()


def test_new_videos_are_embedded_by_the_item_tower(toy):
    model = SeedTwoTower(embedding_size=8, hidden=[16], epochs=1, batch_size=256, progress=False, device="cpu").fit(toy)
    old_vectors, old_items = model.item_vectors_, model.items_
    assert toy.item_features is not None
    table = FeatureTable(toy.item_features.frame[[4, 9]], dict(toy.item_features.kinds))
    idx = model.add_items(np.array([880001, 880002]), table)
    assert idx.tolist() == [toy.n_items, toy.n_items + 1]
    assert model.seen_.shape == (toy.n_users, toy.n_items + 2) and model.seen_[:, -2:].nnz == 0
    assert model.item_popularity_[-2:].tolist() == [0.0, 0.0]
    # Same features, same vector: the item tower embeds the new videos as it embedded the old ones.
    np.testing.assert_allclose(model.item_vectors_[-2:], old_vectors[[4, 9]], atol=1e-5)
    assert old_items is not model.items_ and len(old_items) == toy.n_items  # replaced, not mutated
    assert model.items_.index([880002]).tolist() == [toy.n_items + 1]
    assert model.score_users(np.array([0])).shape == (1, toy.n_items + 2)
    with pytest.raises(ValueError, match="already in the catalogue"):
        model.add_items(np.array([880001]), FeatureTable(toy.item_features.frame[[0]], dict(toy.item_features.kinds)))
