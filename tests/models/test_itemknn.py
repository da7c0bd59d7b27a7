"""ItemKNN: cosine similarity against brute force, neighbour pruning, shrinkage, the checkerboard."""

from __future__ import annotations

import numpy as np
import pytest

from reelrec.data import Dataset, IdMap, Interactions
from reelrec.models import create_model


def _binary_dataset(matrix: np.ndarray) -> Dataset:
    user, item = np.nonzero(matrix)
    return Dataset(
        IdMap(np.arange(matrix.shape[0])),
        IdMap(np.arange(matrix.shape[1])),
        Interactions.from_arrays(user, item, np.ones(len(user))),
    )


def _cosine(matrix: np.ndarray, shrinkage: float = 0.0) -> np.ndarray:
    norms = np.sqrt(matrix.sum(axis=0))
    denom = norms[:, None] * norms[None, :] + shrinkage
    sim = np.divide(matrix.T @ matrix, denom, out=np.zeros((matrix.shape[1],) * 2), where=denom > 0)
    np.fill_diagonal(sim, 0.0)
    return sim


@pytest.mark.parametrize("shrinkage", [0.0, 5.0])
def test_similarity_is_cosine_when_nothing_is_pruned(rng, shrinkage):
    matrix = (rng.random((50, 15)) < 0.3).astype(float)
    matrix[:, 14] = 0  # an item nobody saw has no neighbours
    model = create_model("itemknn", neighbours=100, shrinkage=shrinkage).fit(_binary_dataset(matrix))
    want = _cosine(matrix, shrinkage)
    np.testing.assert_allclose(model.similarity_.toarray(), want, rtol=1e-5)
    np.testing.assert_allclose(model.score_users(np.arange(50)), matrix @ want, rtol=1e-5, atol=1e-6)


def test_each_item_keeps_only_its_top_neighbours(rng):
    matrix = (rng.random((80, 30)) < 0.4).astype(float)
    model = create_model("itemknn", neighbours=4).fit(_binary_dataset(matrix))
    full = _cosine(matrix)
    kept = model.similarity_.toarray()
    for target in range(30):
        column = kept[:, target]
        assert np.count_nonzero(column) == 4
        threshold = np.sort(full[:, target])[-4]
        assert (full[column > 0, target] >= threshold - 1e-6).all()
        np.testing.assert_allclose(column[column > 0], full[column > 0, target], rtol=1e-5)


def test_checkerboard_withheld_item_ranks_first(rng):
    n = 20
    matrix, withheld = np.zeros((n, n)), []
    for u in range(n):
        same = np.arange(u % 2, n, 2)
        held = int(rng.choice(same))
        matrix[u, same[same != held]] = 1
        withheld.append(held)
    model = create_model("itemknn", neighbours=5).fit(_binary_dataset(matrix))
    top, _ = model.recommend_indices(np.arange(n), k=1)
    assert top[:, 0].tolist() == withheld


def test_similar_items_list_only_real_neighbours(rng):
    matrix = (rng.random((60, 25)) < 0.3).astype(float)
    model = create_model("itemknn", neighbours=3).fit(_binary_dataset(matrix))
    items, scores = model.similar_items([0, 5], k=6)
    for row, target in enumerate([0, 5]):
        column = model.similarity_[:, target].toarray().ravel()
        assert set(items[row, :3].tolist()) == set(np.flatnonzero(column).tolist())
        assert (items[row, 3:] == -1).all() and np.isnan(scores[row, 3:]).all()


@pytest.mark.parametrize(("params", "field"), [({"neighbours": 0}, "neighbours"), ({"shrinkage": -1.0}, "shrinkage")])
def test_bad_hyperparameters_name_the_field(toy_dataset, params, field):
    with pytest.raises(ValueError, match=field):
        create_model("itemknn", **params).fit(toy_dataset)
