"""Exact-duplicate detection (fast ordered path == general path), pair counting and the three policies."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reelrec.data._duplicates import (
    aggregate_pairs,
    apply_policy,
    count_pairs,
    exact_duplicates,
    report,
)


def reference_mask(user, ts, values) -> np.ndarray:
    """Plain-Python definition: a row is a copy when an earlier row has the same fields (NaN equals NaN)."""
    seen, out = set(), []
    for k in range(len(user)):
        key = (int(user[k]), "nan" if np.isnan(ts[k]) else float(ts[k]), *(float(v[k]) for v in values))
        out.append(key in seen)
        seen.add(key)
    return np.array(out, dtype=bool)


@st.composite
def logs(draw, ordered: bool):
    n = draw(st.integers(0, 60))
    user = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int32)
    item = np.array(draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)), dtype=np.int32)
    ts = np.array(draw(st.lists(st.sampled_from([1.0, 2.0, 3.0, np.nan]), min_size=n, max_size=n)))
    label = np.array(draw(st.lists(st.sampled_from([0.5, 1.0]), min_size=n, max_size=n)))
    if ordered:
        # KuaiRec's order: by user, then time; untimed rows anywhere.
        order = np.lexsort((np.nan_to_num(ts, nan=0.0), user))
        user, item, ts, label = user[order], item[order], ts[order], label[order]
    return user, item, ts, label


@settings(max_examples=150, deadline=None)
@given(logs(ordered=True))
def test_fast_path_matches_the_definition_on_ordered_logs(log):
    user, item, ts, label = log
    np.testing.assert_array_equal(exact_duplicates(user, ts, [item, label]), reference_mask(user, ts, [item, label]))


@settings(max_examples=100, deadline=None)
@given(logs(ordered=False))
def test_any_order_matches_the_definition(log):
    user, item, ts, label = log
    np.testing.assert_array_equal(exact_duplicates(user, ts, [item, label]), reference_mask(user, ts, [item, label]))


def test_runs_of_three_and_untimed_copies():
    user = np.array([0, 0, 0, 0, 1, 1, 1], dtype=np.int32)
    ts = np.array([5.0, 5.0, 5.0, 6.0, np.nan, 7.0, np.nan])
    item = np.array([1, 2, 1, 1, 3, 3, 3], dtype=np.int32)
    got = exact_duplicates(user, ts, [item])
    assert got.tolist() == [False, False, True, False, False, False, True]


def test_pair_counts_with_and_without_the_bitmap():
    rng = np.random.default_rng(0)
    user = rng.integers(0, 50, 2000).astype(np.int32)
    item = rng.integers(0, 70, 2000).astype(np.int32)
    expected = len(set(zip(user.tolist(), item.tolist(), strict=True)))
    assert count_pairs(user, item, 70, 50) == expected
    huge = 1 << 20  # forces the hash-based path (cells far above the bitmap limit)
    assert count_pairs(user, item, huge, huge) == expected


def test_aggregate_mean_and_last_time_per_pair():
    user = np.array([1, 0, 1, 1], dtype=np.int32)
    item = np.array([2, 2, 2, 0], dtype=np.int32)
    label = np.array([1.0, 4.0, 3.0, 2.0])
    ts = np.array([10.0, np.nan, 30.0, np.nan])
    u, i, mean, last = aggregate_pairs(user, item, label, ts, n_users=2, n_items=3)
    assert list(zip(u.tolist(), i.tolist(), strict=True)) == [(0, 2), (1, 0), (1, 2)]
    assert mean.tolist() == [4.0, 2.0, 2.0]
    assert np.isnan(last[0]) and np.isnan(last[1]) and last[2] == 30.0


def test_policies_and_report():
    user = np.array([0, 0, 0, 1], dtype=np.int32)
    item = np.array([1, 1, 1, 1], dtype=np.int32)
    label = np.array([1.0, 1.0, 3.0, 2.0])
    ts = np.array([1.0, 1.0, 2.0, 1.0])
    exact = exact_duplicates(user, ts, [item, label])
    rep = report(user, item, exact, 2, 2)
    assert (rep.exact_duplicate_rows, rep.repeat_view_rows, rep.unique_pairs) == (1, 1, 2)
    assert len(apply_policy("keep", user, item, label, ts, exact, 2, 2)[0]) == 4
    assert len(apply_policy("drop", user, item, label, ts, exact, 2, 2)[0]) == 3
    u, _, mean, _ = apply_policy("aggregate", user, item, label, ts, exact, 2, 2)
    assert u.tolist() == [0, 1] and mean.tolist() == [2.0, 2.0]  # the copy does not weigh twice
    with pytest.raises(ValueError, match="duplicates='all'"):
        apply_policy("all", user, item, label, ts, exact, 2, 2)
