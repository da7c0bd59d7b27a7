"""Splits: train + test is the input, seeds reproduce, no pair leaks, time order holds, KuaiRec block rules."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reelrec.data import Dataset, FeatureTable, IdMap, Interactions
from reelrec.errors import DataWarning
from reelrec.eval import Split, holdout_split, kuairec_split
from tests.conftest import make_toy_dataset


def make_log(user, item, timestamp=None, label=None, n_users=None, n_items=None, features=False) -> Dataset:
    user = np.asarray(user)
    n_users = n_users or int(user.max()) + 1
    n_items = n_items or int(np.max(item)) + 1
    label = np.ones(len(user)) if label is None else label
    table = None
    if features:
        table = FeatureTable(pl.DataFrame({"age": np.arange(n_users, dtype=np.float64)}), {"age": "numeric"})
    return Dataset(
        users=IdMap(np.arange(n_users)),
        items=IdMap(np.arange(n_items)),
        interactions=Interactions.from_arrays(user, item, label, timestamp),
        user_features=table,
    )


def rows_of(inter: Interactions) -> Counter:
    columns = (inter.user, inter.item, inter.label, inter.timestamp)
    return Counter(zip(*(c.tolist() for c in columns), strict=True))


def pairs_of(inter: Interactions) -> list[tuple[int, int]]:
    return list(zip(inter.user.tolist(), inter.item.tolist(), strict=True))


@st.composite
def logs(draw):
    n_users = draw(st.integers(1, 8))
    n_items = draw(st.integers(1, 15))
    n = draw(st.integers(1, 120))
    user = draw(st.lists(st.integers(0, n_users - 1), min_size=n, max_size=n))
    item = draw(st.lists(st.integers(0, n_items - 1), min_size=n, max_size=n))  # repeats happen
    ts = draw(st.lists(st.integers(0, 50), min_size=n, max_size=n))  # ties happen
    label = draw(st.lists(st.floats(0, 5, width=32), min_size=n, max_size=n))
    return make_log(user, item, np.array(ts, float), np.array(label), n_users, n_items, features=True)


def dropped_rows(ds: Dataset, min_interactions: int) -> np.ndarray:
    pairs = np.unique(np.stack([ds.interactions.user, ds.interactions.item]), axis=1)
    counts = np.bincount(pairs[0], minlength=ds.n_users)
    return counts[ds.interactions.user] < min_interactions


split_args = st.fixed_dictionaries(
    {
        "test_fraction": st.sampled_from([0.1, 0.2, 0.3, 0.5]),
        "seed": st.integers(0, 3),
        "min_interactions": st.integers(1, 6),
        "cold_user_fraction": st.sampled_from([0.0, 0.0, 0.25]),
    }
)


@settings(max_examples=80, deadline=None)
@given(logs(), split_args, st.sampled_from(["random", "temporal"]))
def test_train_plus_test_is_the_input_minus_dropped_users(ds, args, mode):
    try:
        split = holdout_split(ds, mode=mode, **args)
    except ValueError as exc:
        assert "nothing to split" in str(exc)
        return
    kept = ds.interactions.take(~dropped_rows(ds, args["min_interactions"]))
    together = rows_of(split.train.interactions) + rows_of(split.test)
    if mode == "random":
        assert together == rows_of(kept)
    else:
        # Temporal drops re-views of training pairs from test, and users with no training row
        # become cold (this data set has user features): nothing else is lost.
        assert sum(together.values()) == len(kept) - split.params["repeat_rows_dropped"]
        assert not rows_of(split.train.interactions) - rows_of(kept)
        assert not rows_of(split.test) - rows_of(kept)
    assert split.train.users == ds.users and split.train.items == ds.items


@settings(max_examples=60, deadline=None)
@given(logs(), split_args, st.sampled_from(["random", "temporal"]))
def test_same_seed_same_split(ds, args, mode):
    try:
        a = holdout_split(ds, mode=mode, **args)
    except ValueError:
        return
    b = holdout_split(ds, mode=mode, **args)
    assert rows_of(a.test) == rows_of(b.test)
    np.testing.assert_array_equal(a.test.user, b.test.user)
    np.testing.assert_array_equal(a.cold_users, b.cold_users)


@settings(max_examples=80, deadline=None)
@given(logs(), split_args, st.sampled_from(["random", "temporal"]))
def test_no_test_pair_is_in_train_and_cold_users_have_no_train_rows(ds, args, mode):
    try:
        split = holdout_split(ds, mode=mode, **args)
    except ValueError:
        return
    train_pairs = set(pairs_of(split.train.interactions))
    test_pairs = set(pairs_of(split.test))
    assert not train_pairs & test_pairs
    assert not set(split.cold_users.tolist()) & set(split.train.interactions.user.tolist())
    if mode == "random" and args["cold_user_fraction"] == 0:
        # Every kept user keeps at least one training pair and gets ceil(f * n) test pairs.
        for u in np.unique(split.test.user):
            n_train = len(set(split.train.interactions.item[split.train.interactions.user == u].tolist()))
            n_test = len(set(split.test.item[split.test.user == u].tolist()))
            n = n_train + n_test
            assert n_test == min(math.ceil(round(args["test_fraction"] * n, 9)), n - 1)


@settings(max_examples=60, deadline=None)
@given(logs(), split_args)
def test_temporal_test_rows_come_after_every_train_row(ds, args):
    try:
        split = holdout_split(ds, mode="temporal", **{**args, "cold_user_fraction": 0.0})
    except ValueError:
        return
    warm = ~np.isin(split.test.user, split.cold_users)
    if len(split.train.interactions) and warm.any():
        assert split.test.timestamp[warm].min() >= split.train.interactions.timestamp.max()
        assert split.test.timestamp[warm].min() > split.params["cutoff"]


def test_random_split_is_the_reference_protocol_row_for_row(rng):
    """Rank by one uniform draw per row in log order; test = percentile rank > 80 % (pandas as referee)."""
    n = 3000
    user = rng.integers(0, 60, n)
    item = np.concatenate([rng.permutation(500)[: (user == u).sum()] for u in range(60)])
    order = np.argsort(user, kind="stable")
    item_by_row = np.empty(n, int)
    item_by_row[order] = item
    shuffle = rng.permutation(n)  # the log is not sorted by user
    ds = make_log(user[shuffle], item_by_row[shuffle], n_items=500)
    split = holdout_split(ds, test_fraction=0.2, seed=7, min_interactions=1)
    frame = pd.DataFrame({"user": ds.interactions.user, "draw": np.random.default_rng(7).random(n)})
    expected = frame.groupby("user")["draw"].rank(pct=True) > 0.8
    got = np.isin(
        ds.interactions.user.astype(np.int64) * 500 + ds.interactions.item,
        split.test.user.astype(np.int64) * 500 + split.test.item,
    )
    np.testing.assert_array_equal(got, expected.to_numpy())


def test_repeat_views_of_a_pair_go_to_the_same_side():
    user = np.repeat(np.arange(4), 12)
    item = np.tile(np.repeat(np.arange(6), 2), 4)  # every pair viewed twice
    split = holdout_split(make_log(user, item), seed=1)
    test_pairs = Counter(pairs_of(split.test))
    assert set(test_pairs.values()) == {2}
    assert len(test_pairs) == 4 * math.ceil(0.2 * 6)


def test_small_users_are_dropped_and_counted():
    user = np.array([0] * 10 + [1] * 3)
    item = np.concatenate([np.arange(10), np.arange(3)])
    split = holdout_split(make_log(user, item), min_interactions=5)
    assert 1 not in split.train.interactions.user and 1 not in split.test.user
    assert split.params["dropped_users"] == 1 and split.params["dropped_rows"] == 3


def test_cold_users_changes_nothing_for_the_warm_users():
    ds = make_toy_dataset(with_block=False)
    plain = holdout_split(ds, seed=3)
    cold = holdout_split(ds, seed=3, cold_user_fraction=0.2)
    assert len(cold.cold_users) == round(0.2 * ds.n_users)
    warm_rows = ~np.isin(plain.test.user, cold.cold_users)
    cold_test_warm = ~np.isin(cold.test.user, cold.cold_users)
    assert rows_of(plain.test.take(warm_rows)) == rows_of(cold.test.take(cold_test_warm))
    all_rows = rows_of(ds.interactions.take(np.isin(ds.interactions.user, cold.cold_users)))
    assert rows_of(cold.test.take(~cold_test_warm)) == all_rows


def test_temporal_orphans_become_cold_with_features_and_are_dropped_without():
    user = np.array([0] * 6 + [1] * 6)
    item = np.tile(np.arange(6), 2)
    ts = np.concatenate([np.arange(6), 100 + np.arange(6)]).astype(float)  # user 1 only acts late
    with_features = holdout_split(make_log(user, item, ts, features=True), mode="temporal", test_fraction=0.5)
    assert with_features.cold_users.tolist() == [1]
    without = holdout_split(make_log(user, item, ts), mode="temporal", test_fraction=0.5)
    assert 1 not in without.test.user and without.params["dropped_users_without_train"] == 1


def test_split_train_hides_the_block_and_truth():
    ds = make_toy_dataset()
    split = holdout_split(ds)
    assert split.train.fully_observed is None and split.train.truth is None
    assert split.candidates is None
    np.testing.assert_array_equal(split.catalogue(), np.unique(split.train.interactions.item))
    assert split.train.user_features is ds.user_features
    assert split.train.meta["split"]["protocol"] == "holdout"


def test_kuairec_split_trains_on_the_log_and_tests_on_the_block():
    ds = make_toy_dataset()
    split = kuairec_split(ds)
    assert split.protocol == "kuairec"
    assert len(split.train.interactions) == len(ds.interactions)
    assert split.test is ds.fully_observed
    np.testing.assert_array_equal(split.candidates, np.unique(ds.fully_observed.item))
    np.testing.assert_array_equal(split.truth, ds.truth)
    assert split.train.fully_observed is None and split.train.truth is None
    assert len(split.cold_users) == 0


def test_kuairec_cold_users_lose_their_training_rows_only():
    ds = make_toy_dataset()
    split = kuairec_split(ds, cold_user_fraction=0.25, seed=5)
    block_users = np.unique(ds.fully_observed.user)
    assert len(split.cold_users) == round(0.25 * len(block_users))
    assert np.isin(split.cold_users, block_users).all()
    assert not np.isin(split.train.interactions.user, split.cold_users).any()
    kept = ds.interactions.take(~np.isin(ds.interactions.user, split.cold_users))
    assert rows_of(split.train.interactions) == rows_of(kept)
    assert kuairec_split(ds, cold_user_fraction=0.25, seed=5).cold_users.tolist() == split.cold_users.tolist()


def test_kuairec_split_warns_when_the_block_overlaps_training():
    ds = make_toy_dataset()
    block = ds.fully_observed
    leaked = ds.interactions.concat(block.take(np.arange(3)))
    with pytest.warns(DataWarning, match="3 \\(user, video\\) pairs"):
        split = kuairec_split(ds.with_interactions(leaked))
    assert split.params["shared_pairs"] == 3


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"test_fraction": 0.0}, r"test_fraction=0.0, must be in \(0, 1\)"),
        ({"test_fraction": 1.0}, r"test_fraction=1.0"),
        ({"mode": "future"}, r"mode='future'"),
        ({"min_interactions": 0}, r"min_interactions=0"),
        ({"cold_user_fraction": 1.0}, r"cold_user_fraction=1.0"),
        ({"min_interactions": 500}, r"no user has >= min_interactions=500"),
    ],
)
def test_bad_parameters_are_named(kwargs, text):
    with pytest.raises(ValueError, match=text):
        holdout_split(make_toy_dataset(with_block=False), **kwargs)


def test_cold_users_need_features():
    with pytest.raises(ValueError, match="needs user features"):
        holdout_split(make_log(np.repeat(np.arange(3), 5), np.tile(np.arange(5), 3)), cold_user_fraction=0.3)


def test_temporal_needs_timestamps():
    ds = make_log(np.repeat(np.arange(2), 5), np.tile(np.arange(5), 2))  # no timestamps at all
    with pytest.raises(ValueError, match=r"10 rows have none \(first: row 0\)"):
        holdout_split(ds, mode="temporal")


def test_kuairec_split_needs_a_block():
    with pytest.raises(ValueError, match="fully observed block"):
        kuairec_split(make_toy_dataset(with_block=False))


def test_split_checks_truth_alignment_and_candidates():
    ds = make_toy_dataset()
    with pytest.raises(ValueError, match="one per test row"):
        Split(train=ds, test=ds.fully_observed, truth=np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="candidates must be item indices"):
        Split(train=ds, test=ds.fully_observed, candidates=np.array([ds.n_items]))
