"""The hybrid's second scoring rule, "catalogue": chosen by a whole-catalogue judge, saved, used by sessions."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from tests.conftest import make_toy_dataset

from reelrec.data import Dataset, FeatureTable, IdMap, Interactions
from reelrec.eval import evaluate_session, session_split
from reelrec.models import Recommender
from reelrec.models._history import History
from reelrec.models._hybrid import Hybrid
from reelrec.models._hybrid_catalogue import best_blend
from reelrec.models._hybrid_select import Choice

N_USERS, PER_CLUSTER, SHOWN = 80, 30, 24
N_ITEMS = 2 * PER_CLUSTER


def exposure_log(label_name: str = "watch_ratio", seed: int = 1) -> Dataset:
    """An impression log where exposure and preference disagree.

    Users of group a are only ever shown cluster 0 (items 0-29), group b only cluster 1; within a
    cluster, odd items are good (watch ratio about 3) and even ones poor (about 0.5). The label head
    learns quality but nothing tells it a user's cluster, so over the whole catalogue it ranks the
    other cluster's good videos as high as the user's own: only the exposure parts (EASE, iALS)
    know what the user will be shown next.
    """
    rng = np.random.default_rng(seed)
    group = np.arange(N_USERS) % 2
    quality = np.where(np.arange(N_ITEMS) % 2 == 1, 3.0, 0.5)
    rows_u, rows_i, rows_y = [], [], []
    for u in range(N_USERS):
        items = group[u] * PER_CLUSTER + rng.choice(PER_CLUSTER, SHOWN, replace=False)
        rows_u.append(np.full(SHOWN, u))
        rows_i.append(items)
        rows_y.append(quality[items] * rng.lognormal(0, 0.1, SHOWN))
    inter = Interactions.from_arrays(np.concatenate(rows_u), np.concatenate(rows_i), np.concatenate(rows_y))
    users = FeatureTable(pl.DataFrame({"group": np.where(group == 0, "a", "b")}), {"group": "categorical"})
    return Dataset(
        users=IdMap(np.arange(N_USERS)),
        items=IdMap(np.arange(N_ITEMS)),
        interactions=inter,
        user_features=users,
        label_name=label_name,
    )


PARAMS = {
    "embedding_size": 4, "epochs": 6, "mf_regs": [0.5, 2.0], "ease_scales": [1.0, 8.0], "other_sizes": [],
    "ials_options": [[1.0, 2.0]], "ials_size": 4, "blend_steps": 4, "max_validation_users": N_USERS,
    "validation_fraction": 0.2,
}


@pytest.fixture(scope="module")
def fitted() -> Hybrid:
    return Hybrid(**PARAMS).fit(exposure_log())


def _own_share(items: np.ndarray, users: np.ndarray) -> float:
    return float(((items // PER_CLUSTER) == (users % 2)[:, None]).mean())


def test_the_catalogue_blend_weighs_exposure_where_the_first_does_not(fitted):
    c = fitted.choice_
    assert fitted.label_kind_ == "watch_ratio"
    first = (c.blend_weight, c.ease_weight, c.ials_weight)
    second = (c.catalogue_mf_weight, c.catalogue_ease_weight, c.catalogue_ials_weight)
    assert sum(second) == pytest.approx(1.0) and min(second) >= 0
    # Ranking shown videos among themselves, the label head alone wins (as on synthetic KuaiRec) ...
    assert first == (1.0, 0.0, 0.0)
    # ... over the whole catalogue the exposure parts get a share.
    assert c.catalogue_ease_weight + c.catalogue_ials_weight > 0
    # Every point of the second grid and the iALS option it tried are logged under their own keys.
    assert "catalogue ials reg=1 alpha=2" in c.validation
    assert 6 <= sum(key.startswith("catalogue mf=") for key in c.validation) < 15  # coarse to fine, steps of 1/4
    # A part is refitted when either rule gives it a share (the first gives EASE and iALS none here).
    assert (fitted.ials_user_ is not None) == (c.catalogue_ials_weight > 0)
    assert (fitted.ease_weights_ is not None) == (c.catalogue_ease_weight > 0)
    users = np.arange(N_USERS)
    blend, _ = fitted.recommend_indices(users, k=3)
    catalogue, _ = fitted.recommend_indices(users, k=3, scoring="catalogue")
    assert _own_share(catalogue, users) > 0.9
    assert _own_share(catalogue, users) > _own_share(blend, users) + 0.2


def test_the_rules_share_one_blend_on_ratings():
    ds = exposure_log()
    stars = np.clip(np.round(ds.interactions.label + 1), 1, 5).astype(np.float32)
    inter = Interactions.from_arrays(ds.interactions.user, ds.interactions.item, stars)
    model = Hybrid(**PARAMS).fit(ds.with_interactions(inter, label_name="rating"))
    c = model.choice_
    assert model.label_kind_ == "rating"
    assert (c.catalogue_mf_weight, c.catalogue_ease_weight, c.catalogue_ials_weight) == (
        c.blend_weight, c.ease_weight, c.ials_weight
    )
    assert c.catalogue_cold_weight == c.cold_weight
    assert not any(key.startswith("catalogue") for key in c.validation)
    users = np.arange(10)
    np.testing.assert_array_equal(model.score_users(users), model._scorers(None, "catalogue")[0](users))


def test_the_second_rule_round_trips_through_save_and_load(fitted, tmp_path):
    loaded = Recommender.load(fitted.save(tmp_path / "hybrid"))
    assert isinstance(loaded, Hybrid) and loaded.choice_ == fitted.choice_
    users = np.arange(N_USERS)
    for rule in ("blend", "catalogue"):
        np.testing.assert_array_equal(
            loaded.recommend_indices(users, k=5, scoring=rule)[0], fitted.recommend_indices(users, k=5, scoring=rule)[0]
        )
        hist = [History.of([0, 2, 4])]
        np.testing.assert_array_equal(
            loaded.recommend_session_indices(hist, users=[1], k=5, scoring=rule)[0],
            fitted.recommend_session_indices(hist, users=[1], k=5, scoring=rule)[0],
        )


def test_choices_saved_before_the_second_rule_load_as_the_first_blend():
    old = Choice.from_dict(
        {"mf_reg": 5.0, "ease_reg": 400.0, "blend_weight": 0.3, "cold_weight": 0.5, "ease_weight": 0.5,
         "ials_weight": 0.2}
    )
    assert (old.catalogue_mf_weight, old.catalogue_ease_weight, old.catalogue_ials_weight) == (0.3, 0.5, 0.2)
    assert old.catalogue_cold_weight == 0.5


def test_an_unknown_rule_is_refused_by_name(fitted):
    table = exposure_log().user_features.take(np.arange(2))
    calls = [
        lambda: fitted.recommend_indices([0], k=5, scoring="next"),
        lambda: fitted.recommend_cold(table, k=5, scoring="next"),
        lambda: fitted.recommend_session_indices([History.of([1])], users=[0], k=5, scoring="next"),
        lambda: fitted.recommend_session([{"item_id": 1}], k=5, scoring="next"),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=r"scoring='next' is not one of hybrid's rules: blend, catalogue"):
            call()


@pytest.mark.parametrize("rule", ["blend", "catalogue"])
def test_sessions_under_either_rule_exclude_the_history(fitted, rule):
    hist = History.of([1, 3, 5, 7, 31, 33], watch_ratio=[3.0, 3.0, 3.0, 3.0, np.nan, 0.2])
    users = np.array([0, -1], np.int32)
    items, scores = fitted.recommend_session_indices([hist, hist], users=users, k=20, scoring=rule)
    assert (items >= 0).all() and np.isfinite(scores).all()
    assert not np.isin(items, hist.items).any()
    seen = fitted.seen_[0].indices
    assert not np.isin(items[0], seen).any()
    raw, _ = fitted.recommend_session([{"item_id": 1}, {"item_id": 31, "skipped": True}], k=20, scoring=rule)
    assert 1 not in raw.tolist() and 31 not in raw.tolist()


def test_the_rules_differ_for_a_session_and_for_cold_users(fitted):
    hist = [History.of([1, 3, 5])]
    a = fitted._score_sessions(np.array([0], np.int32), hist, None, "blend")
    b = fitted._score_sessions(np.array([0], np.int32), hist, None, "catalogue")
    assert not np.allclose(a, b)
    # A new user with three cluster-0 views: the catalogue rule keeps them in cluster 0.
    items, _ = fitted.recommend_session_indices(hist, k=5, scoring="catalogue")
    assert (items < PER_CLUSTER).mean() >= 0.8
    table = exposure_log().user_features.take(np.arange(4))
    for rule in ("blend", "catalogue"):
        items, scores = fitted.recommend_cold(table, k=5, scoring=rule)
        assert (items >= 0).all() and np.isfinite(scores).all()


@pytest.mark.parametrize("target", [(0.3, 0.4, 0.3), (0.1, 0.7, 0.2), (1.0, 0.0, 0.0)])
def test_the_coarse_to_fine_grid_finds_the_peak_of_a_smooth_judge(target):
    names = ("mf", "ease", "ials")
    parts = {n: np.eye(3, dtype=np.float32)[[j]] for j, n in enumerate(names)}  # the mix of weights w is w itself
    log: dict[str, float] = {}
    best = best_blend(parts, lambda s: -float(np.abs(s[0] - np.asarray(target)).sum()), 10, log, "catalogue")
    assert tuple(best[n] for n in names) == pytest.approx(target)
    assert 15 <= len(log) < 66 and all(key.startswith("catalogue mf=") for key in log)


def test_the_session_protocol_ranks_with_the_rule_asked_for():
    data = make_toy_dataset(n_users=40, n_items=150, per_user=70, with_block=False, seed=3)
    split = session_split(data, reveal=(0, 5), n_targets=20, min_targets=5, min_train=10)
    model = Hybrid(**Hybrid.fast_params()).fit(split.train)
    res = evaluate_session(model, split, 5, 10, scoring="catalogue")
    direct, _ = model.recommend_session_indices(split.histories(5), split.users, k=10, scoring="catalogue")
    np.testing.assert_array_equal(res.recommendations, direct)
    assert res.settings["scoring"] == "catalogue"
    with pytest.raises(ValueError, match="scoring='next'"):
        evaluate_session(model, split, 5, 10, scoring="next")
