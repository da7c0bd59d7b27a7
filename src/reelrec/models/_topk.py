"""Batched top-k over dense score blocks: mask what must not be shown, then a partial sort."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import NDArray

# Scores of masked items; anything at or below this is "not recommendable".
MASKED = np.float32(-np.inf)


def mask_seen(scores: NDArray[np.float32], seen: sp.csr_matrix, users: NDArray[np.int32]) -> None:
    """Set ``scores[r, i] = -inf`` for every item ``i`` that ``users[r]`` has in ``seen`` (in place)."""
    indptr, indices = seen.indptr, seen.indices
    starts = indptr[users]
    counts = (indptr[users + 1] - starts).astype(np.int64)
    total = int(counts.sum())
    if total == 0:
        return
    rows = np.repeat(np.arange(len(users)), counts)
    # Position of each entry inside the flat `indices` array, without a Python loop.
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    cols = indices[np.repeat(starts, counts) + offsets]
    scores[rows, cols] = MASKED


def mask_lists(scores: NDArray[np.float32], exclude: list[NDArray[np.int32]]) -> None:
    """Mask per-row item lists (the service's extra exclusions) in place."""
    for row, items in enumerate(exclude):
        if len(items):
            scores[row, items] = MASKED


def topk(scores: NDArray[np.float32], k: int) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """Top ``k`` columns per row, best first.

    Masked entries never appear: where a row has fewer than ``k`` recommendable columns the tail is
    padded with index ``-1`` and score ``NaN``. Ties break towards the lower column index.
    """
    n_rows, n_cols = scores.shape
    k_eff = min(k, n_cols)
    if k_eff == 0:
        return np.full((n_rows, k), -1, np.int32), np.full((n_rows, k), np.nan, np.float32)
    t = torch.from_numpy(np.ascontiguousarray(scores))
    # torch.topk is a partial selection; `sorted=True` gives best-first order.
    vals, idx = torch.topk(t, k_eff, dim=1, largest=True, sorted=True)
    vals_np = vals.numpy()
    idx_np = idx.numpy().astype(np.int32)
    # Make tie order deterministic: stable sort by (-score, index).
    order = np.lexsort((idx_np, -vals_np), axis=1) if n_rows else idx_np
    idx_np = np.take_along_axis(idx_np, order, axis=1)
    vals_np = np.take_along_axis(vals_np, order, axis=1)
    invalid = ~np.isfinite(vals_np) & (vals_np < 0)
    invalid |= np.isnan(vals_np)
    idx_np[invalid] = -1
    vals_np = vals_np.astype(np.float32, copy=True)
    vals_np[invalid] = np.nan
    if k_eff < k:
        pad_i = np.full((n_rows, k - k_eff), -1, np.int32)
        pad_s = np.full((n_rows, k - k_eff), np.nan, np.float32)
        idx_np = np.concatenate([idx_np, pad_i], axis=1)
        vals_np = np.concatenate([vals_np, pad_s], axis=1)
    return idx_np, vals_np


def batch_size_for(n_items: int, budget_bytes: int = 128 * 2**20) -> int:
    """Users per scoring batch so that one dense float32 block stays within ``budget_bytes``."""
    return max(1, min(4096, budget_bytes // max(1, 4 * n_items)))
