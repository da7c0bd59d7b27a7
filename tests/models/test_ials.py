"""iALS: exact solves of the confidence-weighted objective, planted structure, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from tests.models.planted import ndcg_vs_popularity

from reelrec.data import Dataset, IdMap, Interactions
from reelrec.errors import DataError
from reelrec.models import create_model
from reelrec.models._ials import confidence_matrix, implicit_als


def _tiny(label_name: str = "count") -> Dataset:
    # Pair (0, 1) is viewed twice (labels add up); (3, 4) has label 0: viewed, lowest confidence.
    user = np.array([0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 5, 5])
    item = np.array([0, 1, 1, 1, 2, 0, 3, 4, 4, 2, 3, 0, 4])
    label = np.array([1, 2, 1, 5, 1, 3, 2, 1, 0, 4, 2, 1, 3], np.float32)
    return Dataset(IdMap(np.arange(6)), IdMap(np.arange(5)), Interactions.from_arrays(user, item, label),
                   label_name=label_name)


def _dense(dataset: Dataset, alpha: float, scaling: str) -> tuple[np.ndarray, np.ndarray]:
    """Confidence and preference matrices written out by hand from the paper's definitions."""
    inter = dataset.interactions
    summed = np.zeros((dataset.n_users, dataset.n_items))
    pref = np.zeros_like(summed)
    for u, i, r in zip(inter.user, inter.item, inter.label, strict=True):
        summed[u, i] += r
        pref[u, i] = 1.0
    strength = np.log1p(summed) if scaling == "log1p" else summed
    return 1.0 + alpha * strength * pref, pref


def _objective(conf, pref, x, y, reg) -> float:
    x, y = x.astype(np.float64), y.astype(np.float64)
    return float((conf * (pref - x @ y.T) ** 2).sum() + reg * ((x**2).sum() + (y**2).sum()))


@pytest.mark.parametrize("scaling", ["identity", "log1p"])
def test_item_factors_are_the_exact_minimiser_given_the_user_factors(scaling):
    data, reg, alpha = _tiny(), 0.3, 2.0
    model = create_model("ials", embedding_size=3, epochs=3, reg=reg, alpha=alpha, scaling=scaling).fit(data)
    conf, pref = _dense(data, alpha, scaling)
    x = model.user_factors_.astype(np.float64)
    for i in range(data.n_items):
        # Brute force over every user, viewed or not: argmin_y sum_u c_ui (p_ui - x_u.y)^2 + reg |y|^2.
        c = np.diag(conf[:, i])
        want = np.linalg.solve(x.T @ c @ x + reg * np.eye(3), x.T @ c @ pref[:, i])
        np.testing.assert_allclose(model.item_factors_[i], want, atol=2e-5)


def test_each_sweep_lowers_the_dense_objective():
    data, reg, alpha = _tiny(), 0.1, 5.0
    conf, pref = _dense(data, alpha, "identity")
    extra = confidence_matrix(data, alpha, "identity")
    losses = [_objective(conf, pref, *implicit_als(extra, 3, reg, sweeps, np.random.default_rng(1)), reg)
              for sweeps in (1, 2, 3, 6)]
    assert all(b <= a + 1e-6 for a, b in itertools.pairwise(losses)), losses
    assert losses[-1] < 0.9 * losses[0]


def test_confidence_sums_repeat_views_and_keeps_zero_label_views():
    extra = confidence_matrix(_tiny(), 2.0, "identity")
    assert extra[0, 1] == pytest.approx(2.0 * 3)
    assert extra.nnz == 12 and extra[3, 4] == 0.0  # stored: a view of label 0 is still a view


def test_beats_popularity_on_planted_groups():
    ndcg, popularity = ndcg_vs_popularity(create_model("ials", embedding_size=8, epochs=8))
    assert ndcg > popularity + 0.15


def test_negative_label_is_named_and_bad_params_rejected():
    user, item = np.array([0, 1, 1]), np.array([0, 0, 1])
    data = Dataset(IdMap(np.arange(2)), IdMap(np.arange(2)),
                   Interactions.from_arrays(user, item, np.array([1.0, -2.0, 1.0], np.float32)))
    with pytest.raises(DataError, match=r"row 1 is -2\.0"):
        create_model("ials").fit(data)
    for bad in ({"reg": 0.0}, {"alpha": -1.0}, {"embedding_size": 0}, {"scaling": "sqrt"}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            create_model("ials", **bad).fit(_tiny())
