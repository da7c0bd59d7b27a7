"""The hybrid's side-feature taste part: per-user ridge on video kinds, chosen on the holdout, kept by every path."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from reelrec.data import Dataset, FeatureTable, IdMap, Interactions
from reelrec.models import Recommender
from reelrec.models._history import History
from reelrec.models._hybrid import Hybrid
from reelrec.models._hybrid_select import walk
from reelrec.models._hybrid_state import get_state, set_state
from reelrec.models._hybrid_taste import encode_videos, fit_taste, taste_columns

N_USERS, N_ITEMS, N_GROUPS, N_KINDS = 300, 120, 4, 4


def taste_world(seed: int = 0) -> Dataset:
    """Log watch ratio = video quality + a (user group x video kind) table + noise; uniform exposure.

    Which kind a user likes is set by their group, a user feature; a rank-1 MF head cannot express
    the four-by-four table, so only the taste part can read it.
    """
    rng = np.random.default_rng(seed)
    group = np.arange(N_USERS) % N_GROUPS
    kind = np.arange(N_ITEMS) % N_KINDS
    table = 1.2 * np.eye(N_GROUPS)[:, :N_KINDS] - 0.3
    quality = rng.normal(0, 0.2, N_ITEMS)
    rows_u, rows_i, rows_y = [], [], []
    for u in range(N_USERS):
        items = rng.choice(N_ITEMS, 24, replace=False)
        log_y = quality[items] + table[group[u], kind[items]] + rng.normal(0, 0.1, len(items))
        rows_u.append(np.full(len(items), u))
        rows_i.append(items)
        rows_y.append(np.exp(log_y))
    inter = Interactions.from_arrays(np.concatenate(rows_u), np.concatenate(rows_i), np.concatenate(rows_y))
    users = FeatureTable(pl.DataFrame({"group": [f"g{g}" for g in group]}), {"group": "categorical"})
    items = FeatureTable(
        pl.DataFrame({"kind": [f"k{k}" for k in kind], "length": rng.normal(10, 2, N_ITEMS)}),
        {"kind": "categorical", "length": "numeric"},
    )
    return Dataset(IdMap(np.arange(N_USERS)), IdMap(np.arange(N_ITEMS)), inter, user_features=users,
                   item_features=items, label_name="watch_ratio")


@pytest.fixture(scope="module")
def fitted() -> Hybrid:
    params = {"embedding_size": 1, "other_sizes": [], "epochs": 4, "mf_regs": [1.0], "ease_scales": [4.0],
              "validation_fraction": 0.3, "max_validation_users": N_USERS}
    return Hybrid(**params).fit(taste_world())


def test_columns_are_the_video_kinds_not_the_numbers():
    cols, design = taste_columns(encode_videos(taste_world().item_features))  # type: ignore[misc]
    assert design.shape == (N_ITEMS, N_KINDS)  # one-hot kinds; the numeric length is left to the item bias
    assert np.all(design.sum(axis=1) == 1.0)
    assert encode_videos(None) is None and taste_columns(None) is None


def test_per_user_ridge_recovers_planted_taste_and_features_give_the_prior():
    rng = np.random.default_rng(3)
    videos = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 50)]
    truth = np.array([[1.0, -1.0, 0.0], [-1.0, 1.0, 0.0]], np.float32)
    group = np.arange(40) % 2
    user = np.repeat(np.arange(40), 20).astype(np.int32)
    item = rng.integers(0, 50, len(user)).astype(np.int32)
    resid = np.einsum("nd,nd->n", truth[group[user]], videos[item]).astype(np.float32)
    user[user == 39] = 38  # user 39 has no pairs: only their features speak
    design = FeatureTable(pl.DataFrame({"g": [f"g{g}" for g in group]}), {"g": "categorical"})
    from reelrec.models._hybrid_parts import design_matrix, feature_pipeline

    pipe = feature_pipeline(design)
    assert pipe is not None
    taste = fit_taste(user, item, resid, videos, 40, 0.1, design_matrix(pipe.fit_transform(design), pipe))
    np.testing.assert_allclose(taste.user_weights[:38], truth[group[:38]], atol=0.05)
    # Group 1's taste, from features (shrunk by the feature map's ridge, not reversed or lost).
    assert taste.user_weights[39] @ truth[1] > 0.5 * (truth[1] @ truth[1])
    assert taste.user_weights[39] @ truth[0] < 0


def test_fit_chooses_taste_where_it_ranks_the_holdout_better(fitted):
    c = fitted.choice_
    assert c.taste_weight > 0 and c.taste_reg > 0
    with_taste = max(v for k, v in c.validation.items() if k.startswith("taste"))
    assert with_taste > c.validation["mf k=1 reg=1"]
    # Each user now ranks the kind of their group first: mean score of own-kind videos is highest.
    scores = fitted.score_users(np.arange(N_USERS, dtype=np.int32))
    kind = np.arange(N_ITEMS) % N_KINDS
    own = np.array([scores[u, kind == u % N_GROUPS].mean() for u in range(N_USERS)])
    other = np.array([scores[u, kind != u % N_GROUPS].mean() for u in range(N_USERS)])
    assert (own > other).mean() > 0.95


def test_predict_includes_taste():
    ds = taste_world(1)
    model = Hybrid(embedding_size=1, other_sizes=[], epochs=4, mf_regs=[1.0], ease_scales=[4.0],
                   validation_fraction=0.3, max_validation_users=N_USERS).fit(ds)
    assert model.taste_ is not None
    users = np.zeros(N_KINDS, np.int32)  # group 0 likes kind 0
    pred = model.predict_indices(users, np.arange(N_KINDS, dtype=np.int32))
    assert pred[0] > 1.5 * pred[1:].max()


def test_cold_users_and_sessions_get_taste_from_features(fitted):
    feats = FeatureTable(pl.DataFrame({"group": ["g2", "g3"]}), {"group": "categorical"})
    kind = np.arange(N_ITEMS) % N_KINDS
    cold = fitted._score_features(feats)
    assert cold[0, kind == 2].mean() > cold[0, kind != 2].mean()
    assert cold[1, kind == 3].mean() > cold[1, kind != 3].mean()
    hist = [History.of(np.array([5, 9], np.int32)), History.of(np.array([5, 9], np.int32))]
    sess = fitted._score_sessions(np.array([-1, -1], np.int32), hist, feats)
    assert sess[0, kind == 2].mean() > sess[0, kind != 2].mean()
    assert sess[1, kind == 3].mean() > sess[1, kind != 3].mean()


def test_new_videos_get_taste_from_their_features_and_round_trip(fitted, tmp_path):
    model = Recommender.load(fitted.save(tmp_path / "taste"))
    assert model.choice_ == fitted.choice_
    users = np.arange(N_USERS, dtype=np.int32)
    np.testing.assert_array_equal(model.score_users(users), fitted.score_users(users))
    feats = FeatureTable(pl.DataFrame({"kind": ["k0", "k1"], "length": [10.0, 10.0]}),
                         {"kind": "categorical", "length": "numeric"})
    new = model.add_items([1000, 1001], feats)
    scores = model.score_users(users)
    group0, group1 = users[users % N_GROUPS == 0], users[users % N_GROUPS == 1]
    assert (scores[group0, new[0]] > scores[group0, new[1]]).mean() > 0.9
    assert (scores[group1, new[1]] > scores[group1, new[0]]).mean() > 0.9
    again = Recommender.load(model.save(tmp_path / "taste-after"))
    np.testing.assert_array_equal(again.score_users(users), scores)


def test_artifacts_without_the_taste_part_still_load(fitted):
    tensors, extra = get_state(fitted)
    old = {k: v for k, v in tensors.items() if not k.startswith("taste")}
    old_extra = {k: v for k, v in extra.items() if k != "taste_pipe"}
    old_extra["choice"] = {k: v for k, v in extra["choice"].items() if not k.startswith("taste")}
    model = Hybrid()
    set_state(model, old, old_extra)
    assert model.taste_ is None and model.choice_.taste_weight == 0.0


def test_taste_can_be_left_out_and_bad_settings_are_named():
    ds = taste_world(2)
    model = Hybrid(embedding_size=1, other_sizes=[], epochs=2, mf_regs=[1.0], ease_scales=[4.0],
                   taste_weights=[]).fit(ds)
    assert model.taste_ is None and model.choice_.taste_weight == 0.0
    assert not any(k.startswith("taste") for k in model.choice_.validation)
    with pytest.raises(ValueError, match="taste_regs"):
        Hybrid(taste_regs=[0.0]).fit(ds)
    with pytest.raises(ValueError, match="taste_weights"):
        Hybrid(taste_weights=[-1.0]).fit(ds)


def test_walk_can_start_from_a_chosen_point():
    calls: list[int] = []

    def score(i: int) -> float:
        calls.append(i)
        return -abs(i - 5)

    assert walk(7, score, start=4) == 5
    assert calls[0] == 4 and 0 not in calls and 1 not in calls  # a local walk, not the whole grid


def test_without_user_features_the_prior_is_the_users_mean():
    videos = np.eye(2, dtype=np.float32)
    user = np.array([0, 0, 1, 1], np.int32)
    item = np.array([0, 1, 0, 1], np.int32)
    resid = np.array([1.0, 0.0, 3.0, 0.0], np.float32)
    taste = fit_taste(user, item, resid, videos, 3, 1.0, None)
    assert taste.user_map is None
    np.testing.assert_allclose(taste.user_weights[2], taste.user_map_bias)  # user 2 has no pairs
    assert taste.user_map_bias[0] == pytest.approx(0.5 * (0.5 + 1.5))  # mean of the first-pass vectors
    assert taste.user_weights[1, 0] > taste.user_weights[0, 0] > 0
