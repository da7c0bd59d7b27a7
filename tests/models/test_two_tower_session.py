"""The two-tower's real-time inputs: a recent history moves the feed, new videos are scored from features."""

import numpy as np
import pytest
import torch
from tests.conftest import make_toy_dataset
from tests.models.planted import planted_groups

from reelrec.data import FeatureTable
from reelrec.models._history import History
from reelrec.models._two_tower import TwoTower

FAST = {"embedding_size": 16, "hidden": [32], "history_size": 16, "progress": False, "batch_size": 256}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data():
    return make_toy_dataset(n_users=90, n_items=80, per_user=40, seed=3, with_block=False)


@pytest.fixture(scope="module")
def model(data):
    return TwoTower(**FAST, epochs=30, seed=0).fit(data)


def share(items: np.ndarray, tags: np.ndarray, tag: int) -> float:
    items = items[items >= 0]
    return float((tags[items] == tag).mean())


@pytest.fixture(scope="module")
def groups():
    """Users watch their own group's videos (item // 25 is the group): the "tag" of the planted data."""
    ds = planted_groups(n_groups=4, users_per_group=30, items_per_group=25, seed=0)
    params = {"epochs": 30, "learning_rate": 0.01, "patience": 0, "cold_fraction": 0.0, "dropout": 0.0}
    return ds, TwoTower(**FAST, **params, seed=0).fit(ds)


def test_a_history_of_one_groups_videos_raises_that_groups_share(groups):
    ds, model = groups
    group_of = np.arange(ds.n_items) // 25
    before, after = [], []
    for user in range(0, 30, 2):  # group 0 users; their sessions are group 2 videos
        pool = np.arange(50, 55)
        hist = History.of(pool, watch_ratio=np.full(5, 4.0))
        items, scores = model.recommend_session_indices([hist], users=[user], k=10)
        assert not set(items[0].tolist()) & set(pool.tolist())  # history videos are never recommended again
        assert np.isfinite(scores).all()
        before.append(share(model.recommend_indices([user], k=10)[0][0], group_of, 2))
        after.append(share(items[0], group_of, 2))
    # Five views move a user whatever their lifetime (the lifetime bag weighs as session_prior views).
    assert np.mean(before) < 0.15 and np.mean(after) > np.mean(before) + 0.3, (before, after)


def test_a_new_user_session_follows_the_history_and_raw_records_work(groups):
    ds, model = groups
    group_of = np.arange(ds.n_items) // 25
    shares = []
    for g in range(4):
        pool = np.arange(g * 25, g * 25 + 4)
        records = [{"item_id": int(i), "watch_ratio": 3.0} for i in pool]
        ids, scores = model.recommend_session(records, k=10)
        shares.append(share(ds.items.index(np.asarray(ids)), group_of, g))
        assert np.isfinite(scores).all() and not set(ids.tolist()) & set(pool.tolist())
    assert min(shares) > 0.25 and np.mean(shares) > 0.5, shares  # random: 0.25


def test_session_prior_zero_ranks_by_the_session_alone_and_empty_history_changes_nothing(groups):
    _, model = groups
    users = np.arange(10, dtype=np.int32)
    empty = [History.empty() for _ in users]
    got = model._score_sessions(users, empty, None)
    np.testing.assert_allclose(got, model.score_users(users), rtol=1e-5, atol=1e-5)
    hist = [History.of([60, 61, 62])] * len(users)
    mixed = model._score_sessions(users, hist, None)
    alone = TwoTower(**{**model.get_params(), "session_prior": 0.0})
    alone.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    only = alone._score_sessions(users, hist, None)
    # With no prior the lifetime bag is replaced, so users move further from their lifetime scores.
    base = model.score_users(users)
    assert np.abs(only - base).mean() > np.abs(mixed - base).mean() > 0


def test_a_new_video_with_a_popular_videos_features_ranks_near_it(data, model):
    pop = model.item_popularity_
    popular, rare = int(np.argmax(pop)), int(np.argmin(pop))
    table = FeatureTable(data.item_features.frame[[popular, rare]], data.item_features.kinds)
    new = model.add_items(np.asarray([999_999, 999_998]), table)
    assert new.tolist() == [data.n_items, data.n_items + 1] and model.n_items == data.n_items + 2
    assert model.seen_.shape[1] == model.n_items and (model.item_popularity_[-2:] == 0).all()
    users = np.arange(data.n_users, dtype=np.int32)
    scores = model.score_users(users)
    above = (scores > scores[:, [new[0]]]).mean(1)  # share of the catalogue ranked above the copy
    # The copy of the popular video sits in the upper half of the feed, and users who like the
    # original like the copy: its scores follow the original's more than another video's.
    assert above.mean() < 0.5, above.mean()
    corr = np.corrcoef(scores[:, [new[0], popular, rare]].T)[0]
    assert corr[1] > 0.3 and corr[1] > corr[2], corr
    ids, _ = model.recommend(data.users.raw([0])[0], k=model.n_items, exclude_seen=False)
    assert 999_999 in ids.tolist()  # recommendable by raw id at once
    with pytest.raises(ValueError, match="already in the catalogue"):
        model.add_items(np.asarray([999_999]), table.take(np.asarray([0])))


def test_added_videos_survive_save_and_load(tmp_path, data):
    m = TwoTower(**FAST, epochs=2, seed=1).fit(data)
    table = FeatureTable(data.item_features.frame[[3, 4]], data.item_features.kinds)
    m.add_items(np.asarray([1, 2]), table)
    m.save(tmp_path / "a")
    loaded = TwoTower.load(tmp_path / "a")
    assert isinstance(loaded, TwoTower) and loaded.n_items == data.n_items + 2
    np.testing.assert_array_equal(loaded.score_users([0, 1]), m.score_users([0, 1]))
    hist = [History.of([5, 6], watch_ratio=[3.0, 0.1], skipped=[False, True])]
    np.testing.assert_allclose(
        loaded._score_sessions(np.asarray([4], np.int32), hist, None),
        m._score_sessions(np.asarray([4], np.int32), hist, None),
        rtol=1e-6,
    )
