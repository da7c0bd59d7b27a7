"""Each model's session fold-in moves the ranking the way the history says (issue 12, section 1)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from reelrec.data import Dataset, IdMap, Interactions
from reelrec.models import Recommender, create_model
from reelrec.models._fold import history_scale, view_weights
from reelrec.models._history import History

N_PER_CLUSTER = 20
A = np.arange(N_PER_CLUSTER)
B = np.arange(N_PER_CLUSTER, 2 * N_PER_CLUSTER)
FOLDING = ["mf", "ials", "ease", "itemknn", "bpr"]
PARAMS = {
    "mf": {"embedding_size": 4, "epochs": 20, "reg": 0.5},
    "ials": {"embedding_size": 4, "epochs": 10, "reg": 0.1},
    "ease": {"reg": 5.0},
    "itemknn": {"neighbours": 10},
    "bpr": {"embedding_size": 8, "epochs": 30, "seed": 0},
}


def two_clusters(seed: int = 0) -> Dataset:
    """Users 0-29 watch cluster A (videos 0-19) through, users 30-59 cluster B (20-39).

    Everyone also starts a few videos of the other cluster and swipes away (watch ratio 0.1), so
    the label-regressing MF sees both ends of the scale.
    """
    rng = np.random.default_rng(seed)
    users, items, labels = [], [], []
    for u in range(60):
        own, other = (A, B) if u < 30 else (B, A)
        liked = rng.choice(own, 12, replace=False)
        disliked = rng.choice(other, 3, replace=False)
        users.append(np.full(15, u))
        items.append(np.concatenate([liked, disliked]))
        labels.append(np.concatenate([rng.uniform(1.5, 2.5, 12), np.full(3, 0.1)]))
    inter = Interactions.from_arrays(
        np.concatenate(users), np.concatenate(items), np.concatenate(labels).astype(np.float32)
    )
    return Dataset(IdMap(np.arange(60)), IdMap(np.arange(2 * N_PER_CLUSTER)), inter, label_name="watch_ratio")


@pytest.fixture(scope="module")
def fitted() -> dict[str, Recommender]:
    data = two_clusters()
    return {name: create_model(name, **PARAMS[name]).fit(data) for name in FOLDING}


def _b_minus_a(model: Recommender, hist: History, user: int, drop: np.ndarray | None = None) -> float:
    """Mean session score of cluster B minus cluster A, the history's (or ``drop``'s) videos left out."""
    scores = model._score_sessions(np.asarray([user], np.int32), [hist], None)[0]
    keep = ~np.isin(np.arange(len(scores)), hist.items if drop is None else drop)
    return float(scores[B][keep[B]].mean() - scores[A][keep[A]].mean())


@pytest.mark.parametrize("name", FOLDING)
def test_a_short_cluster_b_history_pulls_an_a_user_towards_b(fitted, name):
    model = fitted[name]
    k = 8
    plain, _ = model.recommend_indices([0], k=k)
    hist = History.of(B[:5], np.full(5, 2.0))
    with_hist, _ = model.recommend_session_indices([hist], users=[0], k=k)
    assert np.isin(plain[0], A).sum() >= k // 2, "the A user starts in cluster A"
    assert np.isin(with_hist[0], B).sum() > np.isin(plain[0], B).sum()
    assert not np.isin(with_hist[0], hist.items).any()


@pytest.mark.parametrize("name", FOLDING)
def test_the_newest_views_count_most(fitted, name):
    model = fitted[name]
    a_then_b = History.of(np.concatenate([A[:3], B[:3]]), np.full(6, 2.0))
    b_then_a = History.of(np.concatenate([B[:3], A[:3]]), np.full(6, 2.0))
    assert _b_minus_a(model, a_then_b, -1) > _b_minus_a(model, b_then_a, -1)


@pytest.mark.parametrize("name", FOLDING)
def test_skips_are_negative_evidence(fitted, name):
    # A user drawn to cluster B who then swipes three B videos away likes B less than before.
    model = fitted[name]
    watched = History.of(B[3:7], np.full(4, 2.0))
    items = np.concatenate([B[3:7], B[:3]])
    skipped = History.of(items, np.concatenate([np.full(4, 2.0), np.full(3, np.nan)]), [False] * 4 + [True] * 3)
    assert _b_minus_a(model, skipped, -1, items) < _b_minus_a(model, watched, -1, items)


@pytest.mark.parametrize("name", FOLDING)
def test_an_empty_history_keeps_the_trained_ranking(fitted, name):
    model = fitted[name]
    users = np.asarray([0, 31], np.int32)
    trained = model.score_users(users)
    session = model._score_sessions(users, [History.empty(), History.empty()], None)
    np.testing.assert_allclose(session, trained, rtol=1e-4, atol=1e-4)


def test_mf_fold_in_of_a_users_training_views_gives_back_their_factors(fitted):
    model = fitted["mf"]
    data = two_clusters()
    inter = data.interactions
    for user in (0, 45):
        mine = inter.user == user
        z = model.fold_in(inter.item[mine], inter.label[mine].astype(np.float64), user=-1)
        trained = np.append(model.user_factors_[user], model.user_bias_[user])
        assert np.linalg.norm(z - trained) < 0.05 * np.linalg.norm(trained)
    # A user's own vector with no extra views is returned exactly.
    z = model.fold_in(np.zeros(0, np.int32), np.zeros(0), user=3)
    np.testing.assert_allclose(z, np.append(model.user_factors_[3], model.user_bias_[3]), rtol=1e-5, atol=1e-6)


def test_a_heavier_history_weight_moves_a_known_user_further(fitted):
    data = two_clusters()
    hist = History.of(B[:3], np.full(3, 2.0))
    gaps = []
    # 15 training views against a prior of 20: the weight must pass ~1.5 before it lifts a view above 1.
    for weight in (0.0, 4.0, 16.0):
        model = create_model("ease", reg=5.0, history_weight=weight).fit(data)
        gaps.append(_b_minus_a(model, hist, 0))
    assert gaps[0] < gaps[1] < gaps[2]


def test_the_history_block_weight_grows_with_the_evidence():
    # A heavy user (500 training views): under the block rule one view must not carry what twenty do.
    seen = sp.csr_matrix(np.ones((1, 600), np.float32) * (np.arange(600) < 500))
    users = np.asarray([0], np.int32)
    one = view_weights(users, [History.of(B[:1], [2.0])], seen, 2.0)[0].sum()
    twenty = view_weights(users, [History.of(np.arange(500, 520), np.full(20, 2.0))], seen, 2.0)[0].sum()
    assert one < 0.2 * twenty
    assert twenty < 2.0 * 500  # never more than history_weight times the training block
    # With no prior (the earlier rule) both carry the full block: the failure this rule fixes.
    r1, r20 = History.of(B[:1], [2.0]).recency_weights(), History.of(B, np.full(20, 2.0)).recency_weights()
    assert history_scale(500, r1, 2.0, 0.0) * r1.sum() == pytest.approx(history_scale(500, r20, 2.0, 0.0) * r20.sum())


@pytest.mark.parametrize("name", ["ease", "itemknn", "ials", "mf"])
def test_one_view_moves_a_known_user_less_than_ten(fitted, name):
    model = fitted[name]
    one = _b_minus_a(model, History.of(B[:1], [2.0]), 0, B[:10])
    ten = _b_minus_a(model, History.of(B[:10], np.full(10, 2.0)), 0, B[:10])
    base = _b_minus_a(model, History.empty(), 0, B[:10])
    assert base < one < ten, (base, one, ten)


@pytest.mark.parametrize("name", FOLDING)
def test_history_weight_is_validated(name):
    with pytest.raises(ValueError, match="history_weight=-1"):
        create_model(name, **{**PARAMS[name], "history_weight": -1.0}).fit(two_clusters())


@pytest.mark.parametrize("name", FOLDING)
def test_session_scores_survive_save_and_load(fitted, name, tmp_path):
    model = fitted[name]
    hist = History.of(np.concatenate([A[:2], B[:3]]), [2.0, np.nan, 1.0, 0.1, 2.0], [False, False, False, True, False])
    users = np.asarray([0, -1], np.int32)
    before = model._score_sessions(users, [hist, hist], None)
    loaded = Recommender.load(model.save(tmp_path / name))
    np.testing.assert_allclose(loaded._score_sessions(users, [hist, hist], None), before, rtol=1e-5, atol=1e-6)
