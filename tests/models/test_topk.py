"""Masked top-k: ordering, padding, seen-item masking."""

import numpy as np
import scipy.sparse as sp

from reelrec.models._topk import MASKED, mask_seen, topk


def test_topk_orders_best_first_and_breaks_ties_by_index():
    scores = np.array([[0.1, 0.9, 0.9, 0.5]], np.float32)
    idx, val = topk(scores, 3)
    assert idx.tolist() == [[1, 2, 3]]
    assert np.allclose(val, [[0.9, 0.9, 0.5]])


def test_topk_pads_masked_rows_with_minus_one_and_nan():
    scores = np.array([[MASKED, 2.0, MASKED]], np.float32)
    idx, val = topk(scores, 3)
    assert idx.tolist() == [[1, -1, -1]]
    assert val[0, 0] == 2.0 and np.isnan(val[0, 1:]).all()


def test_topk_k_larger_than_catalogue():
    idx, val = topk(np.array([[1.0, 3.0]], np.float32), 5)
    assert idx.tolist() == [[1, 0, -1, -1, -1]]


def test_mask_seen_matches_dense_mask(rng):
    seen = sp.random(20, 30, density=0.2, format="csr", random_state=1, dtype=np.float32)
    users = rng.integers(0, 20, size=8).astype(np.int32)
    scores = rng.random((8, 30)).astype(np.float32)
    mask_seen(scores, seen, users)
    dense = seen.toarray()[users] != 0
    assert np.all(scores[dense] == MASKED)
    assert np.all(scores[~dense] > MASKED)
