"""Metrics against a per-user brute force of the written definitions (padding, duplicates, short lists)."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from reelrec.eval import (
    Relevance,
    coverage_at_k,
    graded_ndcg_at_k,
    hit_rate_at_k,
    mae,
    map_at_k,
    ndcg_at_k,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
    rmse,
)


# ------------------------------------------------------------- brute force
def brute_binary(row: list[int], gains: dict[int, float], k: int) -> dict[str, float]:
    """The definitions of the evaluation protocol, one user at a time, in plain Python."""
    relevant = {i for i, g in gains.items() if g > 0}
    if not relevant:
        return dict.fromkeys(("precision", "recall", "ndcg", "map", "hit_rate"), math.nan)
    shown: set[int] = set()
    hits = []
    for item in row[:k]:
        hits.append(item >= 0 and item not in shown and item in relevant)
        if item >= 0:
            shown.add(item)
    n_hits = sum(hits)
    dcg = sum(1 / math.log2(i + 2) for i, h in enumerate(hits) if h)
    idcg = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    ap = sum(sum(hits[: i + 1]) / (i + 1) for i, h in enumerate(hits) if h) / min(len(relevant), k)
    return {
        "precision": n_hits / k,
        "recall": n_hits / len(relevant),
        "ndcg": dcg / idcg,
        "map": ap,
        "hit_rate": float(n_hits > 0),
    }


def brute_graded(row: list[int], gains: dict[int, float], k: int) -> float:
    shown: set[int] = set()
    dcg = 0.0
    for i, item in enumerate(row[:k]):
        if item >= 0 and item not in shown:
            dcg += gains.get(item, 0.0) / math.log2(i + 2)
        if item >= 0:
            shown.add(item)
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else math.nan


def to_csr(gains: list[dict[int, float]], n_items: int) -> sp.csr_matrix:
    rows = [u for u, d in enumerate(gains) for _ in d]
    cols = [i for d in gains for i in d]
    vals = [g for d in gains for g in d.values()]
    return sp.csr_matrix((np.array(vals, np.float32), (rows, cols)), shape=(len(gains), n_items))


@st.composite
def cases(draw):
    n_items = draw(st.integers(1, 12))
    n_users = draw(st.integers(1, 6))
    width = draw(st.integers(1, 8))
    item = st.integers(-1, n_items - 1)  # -1 = padding; repeats are allowed on purpose
    recs = [draw(st.lists(item, min_size=width, max_size=width)) for _ in range(n_users)]
    gain = st.one_of(st.just(0.0), st.floats(0.0, 5.0, width=32), st.sampled_from([1.0, 2.0]))
    gains = [draw(st.dictionaries(st.integers(0, n_items - 1), gain, max_size=n_items)) for _ in range(n_users)]
    k = draw(st.integers(1, width))
    return np.array(recs, np.int32).reshape(n_users, width), gains, n_items, k


def assert_close(actual: np.ndarray, expected: list[float]) -> None:
    np.testing.assert_allclose(actual, np.array(expected, np.float64), rtol=1e-5, atol=1e-6, equal_nan=True)


@settings(max_examples=150, deadline=None)
@given(cases())
def test_binary_metrics_match_brute_force(case):
    recs, gains, n_items, k = case
    out = ranking_metrics(recs, to_csr(gains, n_items), ks=(k,))
    for name in ("precision", "recall", "ndcg", "map", "hit_rate"):
        expected = [brute_binary(list(r), g, k)[name] for r, g in zip(recs.tolist(), gains, strict=True)]
        result = out[f"{name}@{k}"]
        assert result.per_user.dtype == np.float32
        assert_close(result.per_user, expected)
        defined = [v for v in expected if not math.isnan(v)]
        assert result.n == len(defined)
        if defined:
            assert result.mean == pytest.approx(np.mean(defined), rel=1e-6, abs=1e-9)
        else:
            assert math.isnan(result.mean)


@settings(max_examples=150, deadline=None)
@given(cases())
def test_graded_ndcg_matches_brute_force(case):
    recs, gains, n_items, k = case
    result = graded_ndcg_at_k(recs, to_csr(gains, n_items), k)
    expected = [brute_graded(list(r), g, k) for r, g in zip(recs.tolist(), gains, strict=True)]
    assert_close(result.per_user, expected)
    assert np.all(result.per_user[~np.isnan(result.per_user)] <= 1 + 1e-6)


@settings(max_examples=50, deadline=None)
@given(cases())
def test_single_metric_functions_agree_with_ranking_metrics(case):
    recs, gains, n_items, k = case
    rel = to_csr(gains, n_items)
    every = ranking_metrics(recs, rel, ks=(k,), gains=rel)
    for name, fn in (
        ("precision", precision_at_k),
        ("recall", recall_at_k),
        ("ndcg", ndcg_at_k),
        ("map", map_at_k),
        ("hit_rate", hit_rate_at_k),
    ):
        np.testing.assert_array_equal(fn(recs, rel, k).per_user, every[f"{name}@{k}"].per_user)
    np.testing.assert_array_equal(graded_ndcg_at_k(recs, rel, k).per_user, every[f"graded_ndcg@{k}"].per_user)


@settings(max_examples=50, deadline=None)
@given(cases())
def test_coverage_matches_brute_force(case):
    recs, _, n_items, k = case
    expected = len({i for row in recs[:, :k].tolist() for i in row if i >= 0}) / n_items
    assert coverage_at_k(recs, k, n_items) == pytest.approx(expected)


def test_oracle_lists_reach_one_and_precision_is_capped_by_list_length():
    gains = [{0: 3.0, 4: 1.0, 2: 2.0}, {1: 0.5}, {3: 1.0, 5: 1.0, 6: 1.0, 7: 1.0}]
    rel = to_csr(gains, 8)
    recs = np.array([[0, 2, 4], [1, -1, -1], [3, 5, 6]], np.int32)  # each user's items, best gain first
    out = ranking_metrics(recs, rel, ks=(3,), gains=rel)
    for name in ("ndcg@3", "map@3", "hit_rate@3", "graded_ndcg@3"):
        np.testing.assert_allclose(out[name].per_user, 1.0, rtol=1e-6)
    np.testing.assert_allclose(out["precision@3"].per_user, [1.0, 1 / 3, 1.0], rtol=1e-6)
    np.testing.assert_allclose(out["recall@3"].per_user, [1.0, 1.0, 0.75], rtol=1e-6)


def test_duplicates_count_once_and_padding_never_hits():
    rel = to_csr([{1: 1.0}], 3)
    out = ranking_metrics(np.array([[1, 1, 1, -1]], np.int32), rel, ks=(4,))
    assert out["precision@4"].per_user[0] == pytest.approx(0.25)
    assert out["recall@4"].per_user[0] == pytest.approx(1.0)
    assert out["map@4"].per_user[0] == pytest.approx(1.0)


def test_users_without_relevant_items_are_nan_and_left_out_of_the_mean():
    rel = to_csr([{0: 1.0}, {}, {1: 0.0}], 3)
    out = ranking_metrics(np.array([[0], [0], [1]], np.int32), rel, ks=(1,))
    ndcg = out["ndcg@1"]
    assert ndcg.per_user[0] == 1.0 and np.isnan(ndcg.per_user[1:]).all()
    assert ndcg.mean == 1.0 and ndcg.n == 1


def test_graded_ideal_uses_the_users_own_items_sorted_by_gain():
    gains = to_csr([{0: 1.0, 1: 4.0, 2: 2.0}], 3)
    # Showing gains 1 then 4 against the ideal 4 then 2.
    got = graded_ndcg_at_k(np.array([[0, 1]], np.int32), gains, 2).per_user[0]
    expected = (1.0 + 4.0 / math.log2(3)) / (4.0 + 2.0 / math.log2(3))
    assert got == pytest.approx(expected, rel=1e-6)


def test_prepared_relevance_gives_the_same_numbers_as_a_plain_matrix(rng):
    rel = sp.random(40, 30, density=0.2, format="csr", random_state=3, dtype=np.float32)
    recs = rng.integers(-1, 30, size=(40, 10)).astype(np.int32)
    plain = ranking_metrics(recs, rel, ks=(5, 10), gains=rel)
    prepared = Relevance(rel)
    again = ranking_metrics(recs, prepared, ks=(5, 10), gains=prepared)
    for name, result in plain.items():
        np.testing.assert_array_equal(result.per_user, again[name].per_user)


def test_mae_and_rmse_pool_pairs_and_split_by_user():
    pred = np.array([1.0, 2.0, 4.0, 0.0], np.float32)
    actual = np.array([2.0, 2.0, 1.0, 1.0], np.float32)
    users = np.array([0, 0, 2, 2])
    m = mae(pred, actual, users, n_users=3)
    r = rmse(pred, actual, users, n_users=3)
    assert m.mean == pytest.approx((1 + 0 + 3 + 1) / 4)
    assert r.mean == pytest.approx(math.sqrt((1 + 0 + 9 + 1) / 4))
    np.testing.assert_allclose(m.per_user, [0.5, np.nan, 2.0], equal_nan=True)
    np.testing.assert_allclose(r.per_user, [math.sqrt(0.5), np.nan, math.sqrt(5.0)], equal_nan=True, rtol=1e-6)
    assert m.n == 4


@pytest.mark.parametrize(
    ("call", "error", "text"),
    [
        (lambda rel: ranking_metrics(np.zeros(3, np.int32), rel), ValueError, "2-D"),
        (lambda rel: ranking_metrics(np.zeros((2, 3), np.float32), rel), TypeError, "integer"),
        (lambda rel: ranking_metrics(np.zeros((2, 3), np.int32), rel, ks=(4,)), ValueError, "k=4"),
        (lambda rel: ranking_metrics(np.zeros((3, 3), np.int32), rel, ks=(3,)), ValueError, "rows must align"),
        (lambda rel: ranking_metrics(np.full((2, 3), 9, np.int32), rel, ks=(3,)), ValueError, "item indices in [0, 5)"),
        (lambda rel: ranking_metrics(np.zeros((2, 3), np.int32), rel.toarray(), ks=(3,)), TypeError, "sparse"),
        (lambda rel: coverage_at_k(np.zeros((2, 3), np.int32), 3, 0), ValueError, "catalogue_size=0"),
        (lambda rel: mae([1.0, np.nan], [1.0, 2.0]), ValueError, "predicted"),
        (lambda rel: rmse([1.0], [1.0, 2.0]), ValueError, "aligned"),
    ],
)
def test_bad_input_is_named(call, error, text):
    rel = to_csr([{0: 1.0}, {1: 1.0}], 5)
    with pytest.raises(error, match=text.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        call(rel)


def test_negative_gain_names_the_cell():
    bad = sp.csr_matrix(np.array([[0.0, 1.0], [0.0, -2.0]], np.float32))
    with pytest.raises(ValueError, match=r"row 1, item 1, value -2"):
        Relevance(bad)


def _python_calls(fn) -> int:
    """Python-level function calls made while running ``fn()`` (C calls are not counted)."""
    calls = 0

    def count(frame, event, arg):
        nonlocal calls
        calls += event == "call"

    sys.setprofile(count)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return calls


def _kuairec_sized(rng: np.random.Generator, n_users: int) -> tuple[np.ndarray, sp.csr_matrix]:
    """Random top-20 lists and graded relevance over a KuaiRec-sized catalogue (10,728 videos)."""
    n_items, nnz = 10728, 20 * n_users
    cells = (rng.integers(0, n_users, nnz), rng.integers(0, n_items, nnz))
    rel = sp.csr_matrix((rng.uniform(0.1, 3.0, nnz).astype(np.float32), cells), shape=(n_users, n_items))
    # Some of each list is relevant, so hits and ideal DCGs are not all zero.
    recs = rng.integers(0, n_items, size=(n_users, 20)).astype(np.int32)
    recs[:, ::4] = rel.indices[rel.indptr[:-1]][:, None]
    return recs, rel


def test_full_scale_metrics_are_vectorised_and_exact(rng):
    """7,176 users x K=20 (the KuaiRec small block): the work is array operations, not a per-user Python
    loop, and the per-user figures match the brute-force definitions. Speed itself is a benchmark's
    business (a timing bound in a test only fails on a busy machine)."""
    recs, rel = _kuairec_sized(rng, 7176)
    small_recs, small_rel = _kuairec_sized(rng, 100)
    run = lambda r, g: lambda: ranking_metrics(r, g, ks=(5, 10, 20), gains=g)  # noqa: E731
    run(small_recs, small_rel)()  # first call imports and caches; count the steady state
    # 72x the users, the same Python call count: nothing loops over users (or items) in Python.
    assert _python_calls(run(recs, rel)) == _python_calls(run(small_recs, small_rel))
    out = ranking_metrics(recs, rel, ks=(5, 10, 20), gains=rel)
    sample = rng.choice(len(recs), 300, replace=False)
    rows = [dict(zip(rel[u].indices.tolist(), rel[u].data.tolist(), strict=True)) for u in sample]
    for k in (5, 20):
        expected = [brute_binary(recs[u].tolist(), g, k)["ndcg"] for u, g in zip(sample, rows, strict=True)]
        assert_close(out[f"ndcg@{k}"].per_user[sample], expected)
        graded = [brute_graded(recs[u].tolist(), g, k) for u, g in zip(sample, rows, strict=True)]
        assert_close(out[f"graded_ndcg@{k}"].per_user[sample], graded)
    assert out["hit_rate@20"].mean > 0.9  # the planted hits are found: the check above is not all zeros
