"""Biased MF: batched ALS solves, planted low-rank recovery, transforms, repeat views, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from reelrec.data import Dataset, IdMap, Interactions
from reelrec.errors import DataError
from reelrec.models import create_model
from reelrec.models._mf import FactorCollapseWarning, solve_rows


def _dataset(user, item, label, n_users: int, n_items: int, label_name: str = "rating") -> Dataset:
    return Dataset(
        IdMap(np.arange(n_users)),
        IdMap(np.arange(n_items)),
        Interactions.from_arrays(np.asarray(user), np.asarray(item), np.asarray(label)),
        label_name=label_name,
    )


def test_solve_rows_matches_one_ridge_regression_per_row(rng):
    n_rows, n_other, k, reg = 40, 30, 5, 0.7
    counts = rng.integers(0, 25, n_rows)
    counts[[3, 17]] = 0
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    cols = np.concatenate([rng.choice(n_other, c, replace=False) for c in counts]).astype(np.int32)
    target = rng.normal(size=len(cols)).astype(np.float32)
    design = rng.normal(size=(n_other, k)).astype(np.float32)
    # A tiny budget forces many batches of different padded widths.
    got = solve_rows(indptr, cols, target, design, reg, batch_elements=150)
    assert got.dtype == np.float32 and got.shape == (n_rows, k)
    for r in range(n_rows):
        x = design[cols[indptr[r] : indptr[r + 1]]].astype(np.float64)
        y = target[indptr[r] : indptr[r + 1]]
        want = np.linalg.solve(x.T @ x + reg * np.eye(k), x.T @ y)
        np.testing.assert_allclose(got[r], want, atol=1e-4)
    assert not got[[3, 17]].any(), "rows without entries get zero coefficients"


def test_recovers_planted_low_rank_matrix_far_better_than_item_mean(rng):
    n_users, n_items, rank = 120, 100, 3
    truth = rng.normal(size=(n_users, rank)) @ rng.normal(size=(n_items, rank)).T
    truth += 3.0 + rng.normal(0, 0.5, n_items)[None, :]
    observed = rng.random((n_users, n_items)) < 0.35
    u, i = np.nonzero(observed)
    train = _dataset(u, i, truth[u, i] + rng.normal(0, 0.1, len(u)), n_users, n_items)
    hu, hi = np.nonzero(~observed)

    def rmse(model) -> float:
        return float(np.sqrt(np.mean((model.predict_indices(hu, hi) - truth[hu, hi]) ** 2)))

    mf = create_model("mf", embedding_size=8, reg=1.0, epochs=12).fit(train)
    baseline = create_model("item-mean").fit(train)
    assert rmse(mf) < 0.2 * rmse(baseline)
    assert rmse(mf) < 0.3


def test_checkerboard_withheld_item_ranks_first(rng):
    # Users like the items of their own parity (label 5) and dislike a few of the other (label 1);
    # each user's one unrated item of their parity must come first among everything unseen.
    n = 20
    user, item, label, withheld = [], [], [], []
    for u in range(n):
        same = np.arange(u % 2, n, 2)
        held = int(rng.choice(same))
        withheld.append(held)
        liked = same[same != held]
        disliked = rng.choice(np.arange(1 - u % 2, n, 2), 3, replace=False)
        user += [u] * (len(liked) + len(disliked))
        item += [*liked, *disliked]
        label += [5.0] * len(liked) + [1.0] * len(disliked)
    model = create_model("mf", embedding_size=4, reg=1.0, epochs=8).fit(_dataset(user, item, label, n, n))
    top, _ = model.recommend_indices(np.arange(n), k=1)
    assert top[:, 0].tolist() == withheld


def test_auto_transform_is_log1p_for_watch_ratio_and_predictions_are_in_label_units():
    user, item = np.repeat(np.arange(4), 3), np.tile(np.arange(3), 4)
    label = np.full(len(user), 2.0)
    wr = create_model("mf", embedding_size=2, epochs=2).fit(_dataset(user, item, label, 4, 3, "watch_ratio"))
    assert wr.transform_ == "log1p"
    assert np.isclose(wr.global_mean_, np.log1p(2.0))
    np.testing.assert_allclose(wr.predict_indices(user, item), 2.0, rtol=1e-5)
    rating = create_model("mf", embedding_size=2, epochs=2).fit(_dataset(user, item, label, 4, 3, "rating"))
    assert rating.transform_ == "none" and np.isclose(rating.global_mean_, 2.0)


def test_log1p_ranks_like_the_fitted_scale_but_reports_label_units(toy_dataset):
    model = create_model("mf", embedding_size=4, epochs=3, reg=1.0).fit(toy_dataset)
    users = np.arange(5)
    latent = model.user_factors_[users] @ model.item_factors_.T
    z = latent + model.user_bias_[users, None] + model.item_bias_[None, :] + model.global_mean_
    np.testing.assert_allclose(model.score_users(users), np.expm1(z), rtol=1e-4, atol=1e-5)
    pairs = toy_dataset.interactions
    np.testing.assert_allclose(
        model.predict_indices(pairs.user[:20], pairs.item[:20]),
        model.score_users(pairs.user[:20])[np.arange(20), pairs.item[:20]],
        rtol=1e-5,
    )


def test_repeat_views_are_averaged_per_pair():
    base_u, base_i = [0, 0, 1, 1, 2], [0, 1, 0, 2, 1]
    once = _dataset(base_u, base_i, [2.0, 1.0, 4.0, 3.0, 5.0], 3, 3)
    # Pair (0, 0) viewed three times with the same mean (2.0): the fit must not change.
    repeated = _dataset([*base_u, 0, 0], [*base_i, 0, 0], [1.0, 1.0, 4.0, 3.0, 5.0, 3.0, 2.0], 3, 3)
    a = create_model("mf", embedding_size=2, epochs=3, reg=1.0).fit(once)
    b = create_model("mf", embedding_size=2, epochs=3, reg=1.0).fit(repeated)
    np.testing.assert_allclose(a.score_users([0, 1, 2]), b.score_users([0, 1, 2]), rtol=1e-5)


@pytest.mark.filterwarnings("ignore::reelrec.models._mf.FactorCollapseWarning")
def test_log1p_refuses_labels_at_or_below_minus_one():
    data = _dataset([0, 1, 1], [0, 0, 1], [0.5, -1.5, 1.0], 2, 2, "watch_ratio")
    with pytest.raises(DataError, match=r"row 1 .*-1\.5.*log1p"):
        create_model("mf", embedding_size=2).fit(data)
    create_model("mf", embedding_size=2, epochs=1, transform="none").fit(data)


def test_non_finite_labels_are_refused_with_the_row():
    data = _dataset([0, 1, 1], [0, 0, 1], [0.5, 1.0, np.nan], 2, 2)
    with pytest.raises(DataError, match="row 2"):
        create_model("mf").fit(data)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"embedding_size": 0}, "embedding_size"),
        ({"epochs": 0}, "epochs"),
        ({"reg": 0.0}, "reg"),
        ({"transform": "log"}, "transform"),
    ],
)
def test_bad_hyperparameters_name_the_field(toy_dataset, params, field):
    with pytest.raises(ValueError, match=field):
        create_model("mf", **params).fit(toy_dataset)


def test_warns_when_reg_shrinks_every_factor_to_zero(toy_dataset):
    with pytest.warns(FactorCollapseWarning, match="reg=100000"):
        model = create_model("mf", embedding_size=4, epochs=3, reg=100_000.0).fit(toy_dataset)
    assert np.abs(model.user_factors_).max() < 1e-3


def test_item_embeddings_are_the_item_factors(toy_dataset):
    model = create_model("mf", embedding_size=6, epochs=2, reg=1.0).fit(toy_dataset)
    emb = model.item_embeddings()
    assert emb.shape == (toy_dataset.n_items, 6) and emb.dtype == np.float32
    items, _ = model.similar_items([3], k=5)
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    cos = unit @ unit[3]
    cos[3] = -np.inf
    assert items[0].tolist() == np.argsort(-cos, kind="stable")[:5].tolist()


def test_cold_users_are_ranked_by_item_bias(toy_dataset):
    model = create_model("mf", embedding_size=4, epochs=2, reg=1.0).fit(toy_dataset)
    items, scores = model.recommend_cold(toy_dataset.user_features.take([0, 1]), k=8)
    expected = np.argsort(-model.item_bias_, kind="stable")[:8]
    assert items.tolist() == [expected.tolist()] * 2
    np.testing.assert_allclose(scores[0], np.expm1(model.global_mean_ + model.item_bias_[expected]), rtol=1e-5)
