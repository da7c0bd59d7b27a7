"""The hybrid model beyond the contract: label kinds, cold users, new videos, short-term history, choices saved."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from reelrec.data import Dataset, FeatureTable, IdMap, Interactions
from reelrec.models import Recommender
from reelrec.models._history import History
from reelrec.models._hybrid import Hybrid
from reelrec.models._hybrid_parts import detect_label_kind, simplex
from reelrec.models._hybrid_select import Choice, walk

N_USERS, N_ITEMS, NEW_ITEM = 60, 40, 39


def two_clusters(label_name: str = "watch_ratio", seed: int = 0) -> Dataset:
    """Users of group a like items 0-19, group b items 20-39; item 39 is never viewed (a new video).

    Each user views 12 items of their own cluster (watch ratio about 3) and 3 of the other (about
    0.3); the clusters are equally popular, so only the features or the history can tell them apart.
    """
    rng = np.random.default_rng(seed)
    group = np.arange(N_USERS) % 2
    cluster = (np.arange(N_ITEMS) >= 20).astype(int)
    rows_u, rows_i, rows_y = [], [], []
    for u in range(N_USERS):
        own = np.flatnonzero((cluster == group[u]) & (np.arange(N_ITEMS) != NEW_ITEM))
        other = np.flatnonzero((cluster != group[u]) & (np.arange(N_ITEMS) != NEW_ITEM))
        items = np.r_[rng.choice(own, 12, replace=False), rng.choice(other, 3, replace=False)]
        rows_u.append(np.full(15, u))
        rows_i.append(items)
        rows_y.append(np.r_[np.full(12, 3.0), np.full(3, 0.3)] * rng.lognormal(0, 0.1, 15))
    inter = Interactions.from_arrays(np.concatenate(rows_u), np.concatenate(rows_i), np.concatenate(rows_y))
    users = FeatureTable(
        pl.DataFrame({"group": np.where(group == 0, "a", "b"), "age": rng.normal(30, 5, N_USERS)}),
        {"group": "categorical", "age": "numeric"},
    )
    items = FeatureTable(
        pl.DataFrame({"kind": np.where(cluster == 0, "x", "y"), "length": rng.normal(10, 2, N_ITEMS)}),
        {"kind": "categorical", "length": "numeric"},
    )
    return Dataset(
        users=IdMap(np.arange(N_USERS)),
        items=IdMap(np.arange(N_ITEMS)),
        interactions=inter,
        user_features=users,
        item_features=items,
        label_name=label_name,
    )


@pytest.fixture(scope="module")
def fitted() -> Hybrid:
    return Hybrid(embedding_size=4, epochs=6, mf_regs=[0.5, 2.0], ease_scales=[1.0, 8.0], max_validation_users=60).fit(
        two_clusters()
    )


def _with_label(label: np.ndarray, name: str = "label") -> Dataset:
    ds = two_clusters()
    inter = ds.interactions
    return ds.with_interactions(Interactions.from_arrays(inter.user, inter.item, label[: len(inter)]), label_name=name)


def test_label_kind_is_read_from_name_and_values():
    n = len(two_clusters().interactions)
    rng = np.random.default_rng(1)
    assert detect_label_kind(two_clusters()) == "watch_ratio"
    assert detect_label_kind(two_clusters(label_name="rating")) == "rating"
    assert detect_label_kind(_with_label(rng.integers(1, 6, n).astype(float))) == "rating"
    assert detect_label_kind(_with_label(1 + np.floor(rng.pareto(1.2, n) * 5))) == "count"
    assert detect_label_kind(_with_label(np.ones(n))) == "binary"
    assert detect_label_kind(_with_label(rng.lognormal(0, 1, n))) == "watch_ratio"


def test_label_kind_override_is_used_and_checked():
    model = Hybrid(label_kind="count", **Hybrid.fast_params()).fit(two_clusters())
    assert model.label_kind_ == "count"
    with pytest.raises(ValueError, match="label_kind='stars'"):
        Hybrid(label_kind="stars").fit(two_clusters())
    with pytest.raises(ValueError, match="mf_regs"):
        Hybrid(mf_regs=[]).fit(two_clusters())


def test_choices_come_from_the_grids_and_are_recorded(fitted):
    choice = fitted.choice_
    assert choice.mf_reg in fitted.mf_regs
    assert 0.0 <= choice.blend_weight <= 1.0 and 0.0 <= choice.cold_weight <= 1.0
    assert {"mf k=4 reg=0.5", "mf k=4 reg=2", "mf k=16 reg=" + f"{choice.mf_reg:g}"} <= set(choice.validation)
    assert {"blend mf=0 ease=1", "blend mf=1 ease=0"} <= set(choice.validation)
    assert choice.embedding_size in (4, 16) and fitted.item_factors_.shape[1] == choice.embedding_size
    assert choice.blend_weight + choice.ease_weight + choice.ials_weight == pytest.approx(1.0)
    # Watch ratios are an impression log: the implicit iALS part is not tried there.
    assert choice.ials_weight == 0 and not any(key.startswith("ials") for key in choice.validation)
    assert all(0.0 <= v <= 1.0 for v in choice.validation.values())


def test_known_users_get_their_own_cluster(fitted):
    items, _ = fitted.recommend_indices(np.arange(N_USERS), k=5)
    own = (items >= 20).astype(int) == (np.arange(N_USERS) % 2)[:, None]
    assert own.mean() > 0.9


def test_cold_users_are_ranked_from_their_features(fitted):
    table = two_clusters().user_features.take(np.arange(10))
    items, scores = fitted.recommend_cold(table, k=5)
    assert np.isfinite(scores).all()
    own = (items >= 20).astype(int) == (np.arange(10) % 2)[:, None]
    assert own.mean() > 0.9


def test_new_video_gets_the_factors_its_features_predict(fitted):
    b_users = np.arange(1, N_USERS, 2)
    new = fitted.predict_indices(b_users, np.full(len(b_users), NEW_ITEM))
    cluster_a = fitted.predict_indices(np.repeat(b_users, 5), np.tile(np.arange(5), len(b_users)))
    assert new.mean() > 2 * cluster_a.mean()


def test_predictions_are_in_watch_ratio_units(fitted):
    inter = two_clusters().interactions
    pred = fitted.predict_indices(inter.user, inter.item)
    assert (pred > 0).all()
    assert np.mean(np.abs(pred - inter.label)) < 0.5


def test_history_follows_the_latest_views(fitted):
    older, latest = [20, 21, 22, 23, 24, 25], [0, 1, 2, 3, 4, 5]
    items, _ = fitted.recommend_history([older + latest, latest + older], k=5, half_life=1.0)
    assert (items[0] < 20).all() and (items[1] >= 20).all()
    assert not np.isin(items, older + latest).any()
    with pytest.raises(ValueError, match="half_life"):
        fitted.recommend_history([latest], half_life=0)
    with pytest.raises(KeyError, match="history 0"):
        fitted.recommend_history([[N_ITEMS]])


def test_save_load_keeps_choices_and_cold_scores(fitted, tmp_path):
    loaded = Recommender.load(fitted.save(tmp_path / "hybrid"))
    assert loaded.choice_ == fitted.choice_ and loaded.label_kind_ == fitted.label_kind_
    table = two_clusters().user_features.take(np.arange(6))
    np.testing.assert_array_equal(loaded.recommend_cold(table, k=5)[0], fitted.recommend_cold(table, k=5)[0])
    hist = [[0, 1, 2]]
    np.testing.assert_array_equal(loaded.recommend_history(hist)[0], fitted.recommend_history(hist)[0])


def test_residual_ease_input_round_trips(tmp_path):
    model = Hybrid(ease_input="residual", embedding_size=4, epochs=4, mf_regs=[1.0], ease_scales=[1.0], blend_steps=1)
    model.fit(two_clusters())
    assert model.ease_values_ is not None and len(model.ease_values_) == model.seen_.nnz
    loaded = Recommender.load(model.save(tmp_path / "residual"))
    users = np.arange(N_USERS)
    np.testing.assert_array_equal(loaded.score_users(users), model.score_users(users))
    np.testing.assert_array_equal(loaded.recommend_history([[0, 1, 2]])[0], model.recommend_history([[0, 1, 2]])[0])
    with pytest.raises(ValueError, match="ease_input='dense'"):
        Hybrid(ease_input="dense").fit(two_clusters())


def test_counts_get_the_implicit_component_and_the_label_kind_is_reported():
    ds = two_clusters()
    inter = ds.interactions
    plays = np.ceil(inter.label * 3).astype(np.float32)
    model = Hybrid(label_kind="auto", embedding_size=4, epochs=4, mf_regs=[1.0], ease_scales=[4.0], other_sizes=[],
                   ials_options=[[1.0, 2.0]], ials_size=4, blend_steps=4)
    model.fit(ds.with_interactions(Interactions.from_arrays(inter.user, inter.item, plays), label_name="plays"))
    assert model.label_kind_ == "count"
    assert "ials reg=1 alpha=2" in model.choice_.validation
    assert any(key.startswith("blend") and "ials=" in key for key in model.choice_.validation)
    users = np.arange(N_USERS)
    if model.choice_.ials_weight > 0:
        assert model.ials_user_ is not None and model.ials_user_.shape == (N_USERS, 4)
    items, _ = model.recommend_indices(users, k=5)
    assert ((items >= 20).astype(int) == (users % 2)[:, None]).mean() > 0.9


def test_the_default_scoring_rule_is_the_blend(fitted):
    assert fitted.scorings == ("blend", "catalogue")
    a, _ = fitted.recommend_indices([0, 1], k=5)
    b, _ = fitted.recommend_indices([0, 1], k=5, scoring="blend")
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="scoring='watch'"):
        fitted.recommend_indices([0], k=5, scoring="watch")


def test_a_known_users_session_moves_them_toward_the_latest_views(fitted):
    user = 0  # group a: trained on cluster 0-19
    other = History.of([20, 21, 22, 23, 24, 25])
    before = fitted.score_users([user])[0]
    after = fitted._score_sessions(np.array([user], np.int32), [other], None)[0]
    gap = lambda s: s[26:39].mean() - s[:20].mean()  # noqa: E731 - unseen cluster-b items vs cluster a
    assert gap(after) > gap(before) + 0.1
    same = fitted._score_sessions(np.array([user], np.int32), [History.empty()], None)[0]
    np.testing.assert_allclose(same, before, rtol=1e-5, atol=1e-5)
    items, _ = fitted.recommend_session_indices([other], users=[user], k=5)
    assert not np.isin(items, other.items).any()


def test_skips_are_negative_feedback_and_watch_ratios_are_used(fitted):
    skipped = History.of(np.arange(8), skipped=np.ones(8, bool))
    items, _ = fitted.recommend_session_indices([skipped], k=5)
    assert (items >= 20).all()  # swiped away from cluster a: the other cluster comes first
    liked = History.of([0, 1, 2, 20, 21, 22], watch_ratio=[0.1, 0.1, 0.1, 4.0, 4.0, 4.0])
    disliked = History.of([0, 1, 2, 20, 21, 22], watch_ratio=[4.0, 4.0, 4.0, 0.1, 0.1, 0.1])
    s = fitted._score_sessions(np.array([-1, -1], np.int32), [liked, disliked], None)
    assert s[0, 26:39].mean() - s[0, 3:20].mean() > s[1, 26:39].mean() - s[1, 3:20].mean()


def test_new_users_session_with_features_and_records(fitted):
    table = two_clusters().user_features.take(np.arange(2))
    items, scores = fitted.recommend_session_indices([History.empty(), History.empty()], user_features=table, k=5)
    np.testing.assert_array_equal(items, fitted.recommend_cold(table, k=5)[0])
    raw, _ = fitted.recommend_session([{"item_id": 20, "watch_ratio": 3.0}, {"item_id": 21}, {"item_id": 20}], k=5)
    assert 20 not in raw.tolist() and 21 not in raw.tolist()


def test_add_items_scores_new_videos_from_their_features(fitted, tmp_path):
    model = Recommender.load(fitted.save(tmp_path / "before"))
    kinds = {"kind": "categorical", "length": "numeric"}
    feats = FeatureTable(pl.DataFrame({"kind": ["y", "x"], "length": [10.0, 10.0]}), kinds)
    new = model.add_items([1000, 1001], feats)
    assert new.tolist() == [N_ITEMS, N_ITEMS + 1] and model.n_items == N_ITEMS + 2
    b_users = np.arange(1, N_USERS, 2)
    pred_y = model.predict_indices(b_users, np.full(len(b_users), N_ITEMS))
    pred_x = model.predict_indices(b_users, np.full(len(b_users), N_ITEMS + 1))
    assert pred_y.mean() > 2 * pred_x.mean()
    scores = model.score_users(b_users)
    assert scores.shape == (len(b_users), N_ITEMS + 2) and (scores[:, N_ITEMS] > scores[:, N_ITEMS + 1]).mean() > 0.9
    raw, _ = model.recommend(1, k=N_ITEMS + 2)
    assert 1000 in raw.tolist()
    again = Recommender.load(model.save(tmp_path / "after"))
    np.testing.assert_array_equal(again.score_users(b_users), scores)
    with pytest.raises(ValueError, match="already in the catalogue"):
        model.add_items([1000], feats.take(np.arange(1)))
    ds = two_clusters()
    plain = Hybrid(**Hybrid.fast_params()).fit(ds.with_interactions(ds.interactions, item_features=None))
    with pytest.raises(ValueError, match="without video features"):
        plain.add_items([1000], feats.take(np.arange(1)))


def test_walk_finds_the_peak_of_a_unimodal_curve_with_few_evaluations():
    calls: list[int] = []

    def score(i: int) -> float:
        calls.append(i)
        return -abs(i - 1)

    assert walk(7, score) == 1
    assert len(calls) == len(set(calls)) and len(calls) < 7  # each point once, not the whole grid
    assert walk(1, lambda i: 0.0) == 0


def test_simplex_grid_covers_every_blend_once():
    grid = simplex(3, 10)
    assert len(grid) == 66 and len(set(grid)) == 66
    assert all(abs(sum(w) - 1.0) < 1e-9 and min(w) >= 0 for w in grid)
    assert (1.0, 0.0, 0.0) in grid and (0.0, 0.0, 1.0) in grid and simplex(1, 4) == [(1.0,)]


def test_choices_saved_before_the_three_way_blend_still_load():
    old = Choice.from_dict({"mf_reg": 5.0, "ease_reg": 400.0, "blend_weight": 0.3, "cold_weight": 0.5})
    assert old.ease_weight == pytest.approx(0.7) and old.ials_weight == 0.0 and old.embedding_size == 0
