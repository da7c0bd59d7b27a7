"""Retrieval: exact search equals brute force; the faiss index keeps high recall behind the same interface."""

from __future__ import annotations

import numpy as np
import pytest

from reelrec.serve.retrieval import ExactRetriever, FaissRetriever, build_retriever, default_nlist, unit_rows


def brute_topk(items: np.ndarray, q: np.ndarray, k: int, exclude: np.ndarray | None = None) -> np.ndarray:
    scores = items.astype(np.float64) @ q.astype(np.float64)
    if exclude is not None:
        scores[exclude] = -np.inf
    order = np.argsort(-scores, kind="stable")
    return order[np.isfinite(scores[order])][:k]


def clustered(rng: np.random.Generator, n: int, d: int, clusters: int = 50) -> np.ndarray:
    """Embeddings with cluster structure, like trained ones (the hard case for ANN is uniform noise)."""
    centres = rng.normal(size=(clusters, d))
    return (centres[rng.integers(0, clusters, n)] + 0.5 * rng.normal(size=(n, d))).astype(np.float32)


def test_exact_matches_brute_force_with_exclusions(rng):
    items = rng.normal(size=(500, 8)).astype(np.float32)
    queries = rng.normal(size=(7, 8)).astype(np.float32)
    exclude = [rng.choice(500, size=s, replace=False).astype(np.int32) for s in (0, 3, 50, 1, 0, 10, 499)]
    idx, scores = ExactRetriever(items).search(queries, 5, exclude)
    assert idx.dtype == np.int32 and scores.dtype == np.float32 and idx.shape == (7, 5)
    for r in range(6):
        assert idx[r].tolist() == brute_topk(items, queries[r], 5, exclude[r]).tolist()
        np.testing.assert_allclose(scores[r], items[idx[r]] @ queries[r], rtol=1e-5)
        assert not set(idx[r].tolist()) & set(exclude[r].tolist())
    # Only one item is left for the last query: the rest is padding.
    assert idx[6, 0] >= 0 and (idx[6, 1:] == -1).all() and np.isnan(scores[6, 1:]).all()


def test_single_vector_query_and_k_beyond_catalogue(rng):
    items = rng.normal(size=(4, 3)).astype(np.float32)
    idx, scores = ExactRetriever(items).search(items[0], 10)
    assert idx.shape == (1, 10)
    assert sorted(idx[0, :4].tolist()) == [0, 1, 2, 3] and (idx[0, 4:] == -1).all()
    assert (np.diff(scores[0, :4]) <= 0).all()


@pytest.mark.parametrize(
    ("items", "queries", "k", "match"),
    [
        (np.zeros((0, 3)), np.zeros(3), 1, "non-empty"),
        (np.ones((2, 3)), np.ones(4), 1, r"shape \(n, 3\)"),
        (np.ones((2, 3)), np.ones(3), 0, "k=0"),
        (np.array([[np.nan, 1.0]]), np.ones(2), 1, "NaN"),
    ],
)
def test_bad_input_is_named(items, queries, k, match):
    with pytest.raises(ValueError, match=match):
        ExactRetriever(items).search(queries, k)


def test_exclusion_list_count_must_match_queries(rng):
    items = rng.normal(size=(10, 2)).astype(np.float32)
    with pytest.raises(ValueError, match="2 lists for 1 queries"):
        ExactRetriever(items).search(items[0], 3, [np.zeros(0, np.int32)] * 2)


def test_faiss_recall_and_exclusions(rng):
    items = clustered(rng, 20_000, 16)
    queries = clustered(rng, 200, 16)
    exact = ExactRetriever(items)
    ann = FaissRetriever(items, nlist=128, nprobe=16)
    truth, _ = exact.search(queries, 10)
    got, got_scores = ann.search(queries, 10)
    recall = np.mean([len(set(t) & set(g)) / 10 for t, g in zip(truth.tolist(), got.tolist(), strict=True)])
    assert recall >= 0.9, recall
    # Scores are exact inner products of the returned items, best first.
    np.testing.assert_allclose(got_scores[0], items[got[0]] @ queries[0], rtol=1e-4)
    assert (np.diff(got_scores, axis=1) <= 1e-6).all()
    # Excluding each query's exact top 10 must remove them from the answer.
    got2, _ = ann.search(queries, 10, [t.astype(np.int32) for t in truth])
    assert all(not set(t) & set(g) for t, g in zip(truth.tolist(), got2.tolist(), strict=True))


def test_faiss_falls_back_to_exact_when_cells_run_short(rng):
    items = rng.normal(size=(400, 4)).astype(np.float32)
    ann = FaissRetriever(items, nlist=10, nprobe=1)
    # One cell holds about 40 items; asking for 100 forces the exact fallback, which must fill every slot.
    idx, scores = ann.search(items[:3], 100)
    assert (idx >= 0).all() and np.isfinite(scores).all()
    for r in range(3):
        assert idx[r].tolist() == brute_topk(items, items[r], 100).tolist()


def test_build_retriever_picks_by_size_and_validates(rng):
    items = rng.normal(size=(300, 4)).astype(np.float32)
    assert build_retriever(items).kind == "exact"
    assert build_retriever(items, ann_min_items=100).kind == "ann"
    assert build_retriever(items, "exact", ann_min_items=1).kind == "exact"
    with pytest.raises(ValueError, match="retrieval='fast'"):
        build_retriever(items, "fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="nprobe=0"):
        FaissRetriever(items, nprobe=0)
    assert default_nlist(1_000_000) == 4000 and default_nlist(100) == 2


def test_unit_rows_keeps_zero_rows():
    out = unit_rows(np.array([[3.0, 4.0], [0.0, 0.0]], np.float32))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])
    assert out.dtype == np.float32 and out.flags.c_contiguous
