"""The closed-form residual factorisation of the two-tower's watch head."""

from __future__ import annotations

import numpy as np
import pytest

from reelrec.models import create_model
from reelrec.models._nn_refine import choose_lambda, residual_mf, residual_predict


def _planted(n_users: int = 120, n_items: int = 90, k: int = 3, noise: float = 0.1, seed: int = 0):
    """A dense-ish log whose residual is low rank plus biases plus noise, sorted by user."""
    rng = np.random.default_rng(seed)
    p, q = rng.normal(size=(n_users, k)), rng.normal(size=(n_items, k))
    c, d = rng.normal(size=n_users), rng.normal(size=n_items)
    mask = rng.random((n_users, n_items)) < 0.5
    user, item = np.nonzero(mask)
    clean = (p[user] * q[item]).sum(1) + c[user] + d[item]
    resid = clean + noise * rng.normal(size=len(user))
    return user.astype(np.int32), item.astype(np.int32), resid.astype(np.float32), clean


def _held_out(user, item, resid, share=0.2, seed=1):
    held = np.random.default_rng(seed).random(len(user)) < share
    fit = (user[~held], item[~held], resid[~held])
    val = (user[held], item[held], resid[held])
    return fit, val


def test_residual_mf_recovers_a_planted_low_rank_signal():
    user, item, resid, clean = _planted()
    users, items = residual_mf(user, item, resid, 120, 90, k=3, lam=1.0)
    assert users.shape == (120, 4) and items.shape == (90, 4)
    fitted = residual_predict(user, item, users, items)
    # Far closer to the noise-free signal than the signal's own spread.
    assert np.sqrt(np.mean((fitted - clean) ** 2)) < 0.2 * clean.std()


def test_infinite_penalty_or_no_pairs_means_no_residual():
    user, item, resid, _ = _planted()
    for args in ((user, item, resid, np.inf), (user[:0], item[:0], resid[:0], 10.0)):
        users, items = residual_mf(args[0], args[1], args[2], 120, 90, k=3, lam=args[3])
        assert not users.any() and not items.any()


def test_choose_lambda_prefers_a_residual_when_there_is_structure_and_none_for_noise():
    user, item, resid, _ = _planted()
    fit, val = _held_out(user, item, resid)
    lam, scores, _ = choose_lambda(fit, val, 120, 90, k=3)
    assert np.isfinite(lam)
    assert scores[str(lam)] < 0.5 * scores["inf"]

    noise = np.random.default_rng(5).normal(size=len(user)).astype(np.float32)
    fit, val = _held_out(user, item, noise)
    lam, scores, _ = choose_lambda(fit, val, 120, 90, k=3, grid=(0.01, float("inf")))
    assert lam == float("inf")  # a weak penalty overfits pure noise: no residual is better
    assert scores["0.01"] > scores["inf"]


def test_two_tower_residual_changes_known_predictions_and_round_trips(toy_dataset, tmp_path):
    params = {"epochs": 2, "progress": False, "seed": 0}
    plain = create_model("two-tower", residual="none", **params).fit(toy_dataset)
    refined = create_model("two-tower", residual=1.0, **params).fit(toy_dataset)
    assert plain.residual_lambda_ is None and refined.residual_lambda_ == 1.0
    inter = toy_dataset.interactions
    known = (inter.user[:50], inter.item[:50])
    assert not np.allclose(plain.predict_indices(*known), refined.predict_indices(*known))

    # Users without views have no residual factors; they are still scored (features + the videos' part).
    table = toy_dataset.user_features.take(np.arange(3))
    items, scores = refined.recommend_cold(table, k=5)
    assert items.shape == (3, 5) and np.isfinite(scores).all()

    refined.save(tmp_path / "art")
    loaded = type(refined).load(tmp_path / "art")
    np.testing.assert_allclose(loaded.predict_indices(*known), refined.predict_indices(*known), rtol=1e-6)


def test_bad_residual_value_is_rejected():
    with pytest.raises(ValueError, match="residual"):
        create_model("two-tower", residual=-1.0).check_params()
