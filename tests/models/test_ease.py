"""EASE: the closed form against a direct computation, the checkerboard answer, the memory guard."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from reelrec.data import Dataset, IdMap, Interactions
from reelrec.models import create_model
from reelrec.models._ease import item_gram


def _binary_dataset(matrix: np.ndarray, labels: np.ndarray | None = None) -> Dataset:
    user, item = np.nonzero(matrix)
    label = np.ones(len(user)) if labels is None else labels[user, item]
    return Dataset(
        IdMap(np.arange(matrix.shape[0])),
        IdMap(np.arange(matrix.shape[1])),
        Interactions.from_arrays(user, item, label),
    )


def _checkerboard(rng: np.random.Generator, n: int = 20) -> tuple[np.ndarray, list[int]]:
    """Users see every item of their own parity except one withheld item each."""
    matrix = np.zeros((n, n))
    withheld = []
    for u in range(n):
        same = np.arange(u % 2, n, 2)
        held = int(rng.choice(same))
        matrix[u, same[same != held]] = 1
        withheld.append(held)
    return matrix, withheld


def test_weights_match_the_closed_form(rng):
    matrix = (rng.random((40, 12)) < 0.3).astype(float)
    matrix[0, :] = 1  # every item seen by someone
    reg = 3.0
    model = create_model("ease", reg=reg).fit(_binary_dataset(matrix))
    p = np.linalg.inv(matrix.T @ matrix + reg * np.eye(12))
    want = -p / np.diag(p)[None, :]
    np.fill_diagonal(want, 0.0)
    assert model.weights_.dtype == np.float32
    np.testing.assert_allclose(model.weights_, want, rtol=1e-4, atol=1e-6)
    users = np.arange(40)
    np.testing.assert_allclose(model.score_users(users), matrix @ want, rtol=1e-4, atol=1e-5)


def test_labels_are_ignored(rng):
    matrix = (rng.random((30, 10)) < 0.4).astype(float)
    a = create_model("ease", reg=2.0).fit(_binary_dataset(matrix))
    b = create_model("ease", reg=2.0).fit(_binary_dataset(matrix, rng.random(matrix.shape) * 5))
    np.testing.assert_array_equal(a.weights_, b.weights_)


def test_checkerboard_withheld_item_ranks_first(rng):
    matrix, withheld = _checkerboard(rng)
    model = create_model("ease", reg=1.0).fit(_binary_dataset(matrix))
    top, _ = model.recommend_indices(np.arange(len(withheld)), k=1)
    assert top[:, 0].tolist() == withheld


@pytest.mark.parametrize("density", [0.005, 0.3])
def test_item_gram_dense_and_sparse_paths_count_co_occurrences(density):
    seen = sp.random(300, 50, density=density, format="csr", random_state=2, dtype=np.float32)
    seen.data[:] = 1.0
    full = (seen.T @ seen).toarray()
    np.testing.assert_array_equal(item_gram(seen), full)
    cols = np.array([4, 0, 33], np.int32)
    np.testing.assert_array_equal(item_gram(seen, cols), full[:, cols])


def test_refuses_catalogues_beyond_the_memory_budget(toy_dataset):
    with pytest.raises(ValueError, match=rf"{toy_dataset.n_items} items.*max_memory_gb"):
        create_model("ease", max_memory_gb=1e-6).fit(toy_dataset)
    assert create_model("ease").memory_needed_gb(10_728) < 4.0, "full KuaiRec fits the default budget"


def test_non_positive_reg_is_refused(toy_dataset):
    with pytest.raises(ValueError, match="reg=0"):
        create_model("ease", reg=0.0).fit(toy_dataset)


def test_similar_items_follow_the_learned_weights(toy_dataset):
    model = create_model("ease", reg=50.0).fit(toy_dataset)
    items, scores = model.similar_items([7], k=3)
    row = model.weights_[7].copy()
    row[7] = -np.inf
    assert items[0].tolist() == np.argsort(-row, kind="stable")[:3].tolist()
    np.testing.assert_allclose(scores[0], row[items[0]])
