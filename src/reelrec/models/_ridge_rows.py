"""Batched ridge regressions over the rows of a sparse pattern: the inner solve of every ALS sweep."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

# Padded design-matrix elements per batch of normal equations (float32: 64 MiB).
_BATCH_ELEMENTS = 2**24


@dataclass
class RowBatches:
    """The pattern-only half of :func:`solve_rows`: row batches and their gather indices.

    ALS solves the same user and item patterns every sweep with new targets and designs; building
    this once per fit saves the sort, the batch cuts and two index passes per half sweep.
    """

    rows: list[NDArray[np.int64]]
    pos: list[torch.Tensor]
    cols: list[torch.Tensor]
    widths: list[int]
    n_rows: int
    nnz: int
    n_other: int
    longest: int


def row_batches(
    indptr: NDArray[np.int64], cols: NDArray[np.int32], n_other: int, k: int, batch_elements: int = _BATCH_ELEMENTS
) -> RowBatches:
    """Cut the rows of a CSR pattern into batches for :func:`solve_rows` (``k``: factors, without the bias).

    Rows are sorted by length; each batch is the longest run of the remaining (ascending) rows whose
    padded block fits the budget and either stays small (one op per tiny row group costs more than
    padding it) or has its longest row at most ~1.25x its shortest, so padding wastes little work.
    Padding slots point at entry ``nnz`` and design row ``n_other`` (a zero target and a zero row).
    """
    n_rows = len(indptr) - 1
    counts = np.diff(indptr)
    order = np.argsort(counts, kind="stable")
    sorted_counts = counts[order]
    cols_t = torch.from_numpy(np.append(cols, n_other).astype(np.int64))
    pad = len(cols)
    cap = max(1, batch_elements // (k + 1))
    out = RowBatches([], [], [], [], n_rows, pad, n_other, int(counts.max(initial=0)))
    start = int(np.searchsorted(sorted_counts, 1))
    while start < n_rows:
        padded = np.arange(1, n_rows - start + 1, dtype=np.int64) * sorted_counts[start:]
        by_budget = int(np.searchsorted(padded, cap, side="right"))
        by_size = int(np.searchsorted(padded, cap // 4, side="right"))
        widest = sorted_counts[start] + sorted_counts[start] // 4 + 8
        by_width = int(np.searchsorted(sorted_counts[start:], widest, side="right"))
        stop = start + max(1, min(by_budget, max(by_size, by_width)))
        rows = order[start:stop]
        width = int(sorted_counts[stop - 1])
        offsets = torch.arange(width)
        lens = torch.from_numpy(counts[rows].astype(np.int64))
        pos = torch.from_numpy(indptr[rows].astype(np.int64))[:, None] + offsets[None, :]
        pos = pos.masked_fill_(offsets[None, :] >= lens[:, None], pad).view(-1)
        out.rows.append(rows)
        out.pos.append(pos)
        out.cols.append(torch.index_select(cols_t, 0, pos))
        out.widths.append(width)
        start = stop
    return out


def solve_rows(
    indptr: NDArray[np.int64],
    cols: NDArray[np.int32],
    target: NDArray[np.float32],
    design: NDArray[np.float32],
    reg: float,
    batch_elements: int = _BATCH_ELEMENTS,
    *,
    weight: NDArray[np.float32] | None = None,
    prior: NDArray[np.float64] | None = None,
    batches: RowBatches | None = None,
) -> NDArray[np.float32]:
    """Ridge regression for every row of a CSR pattern, all rows solved in batches.

    Row ``r`` solves ``min_w sum_j (target_j - design[cols_j] @ w)^2 + reg * |w|^2`` over its entries
    ``j in indptr[r]:indptr[r+1]``. Rows are sorted by length and cut into batches so that padding the
    batch to its longest row wastes little; each batch's Gram matrices come from one batched matmul
    and are solved together in float64 (LAPACK, one small system each). Rows without entries get ``w = 0`` (or the
    solution of the prior alone, which is ``0`` too).

    With ``weight`` and ``prior`` the quadratic is the general one
    ``w' (prior + reg I) w + sum_j weight_j (design_j @ w)^2 - 2 sum_j target_j (design_j @ w)``, which
    is the above for ``weight = 1``, ``prior = 0``. Confidence-weighted implicit ALS needs it: its
    Gram is ``Y'Y + Y'(C - I)Y`` and its right-hand side ``Y'C p`` (Hu, Koren & Volinsky 2008).

    Parameters
    ----------
    indptr : ndarray of int64, shape (n_rows + 1,)
    cols : ndarray of int32, shape (nnz,)
        Row indices into ``design`` for every entry.
    target : ndarray of float32, shape (nnz,)
    design : ndarray of float32, shape (n_other, k)
    reg : float
        L2 penalty (``> 0``, which keeps every system positive definite).
    batch_elements : int
        Budget for one padded ``(rows, length, k)`` block.
    weight : ndarray of float32, shape (nnz,), optional
        Non-negative weight of each entry's quadratic term (default 1).
    prior : ndarray of float64, shape (k, k), optional
        Positive semi-definite matrix added to every row's Gram matrix.
    batches : RowBatches, optional
        :func:`row_batches` of this pattern, reused across calls (built here when omitted).

    Returns
    -------
    ndarray of float32, shape (n_rows, k)
    """
    n_rows = len(indptr) - 1
    n_other, k = design.shape
    if batches is None:
        batches = row_batches(indptr, cols, n_other, k, batch_elements)
    out = np.zeros((n_rows, k), np.float32)
    design_t = torch.from_numpy(np.vstack([design, np.zeros((1, k), np.float32)]).astype(np.float32, copy=False))
    target_t = torch.from_numpy(np.append(target, np.float32(0)).astype(np.float32, copy=False))
    ridge = reg * np.eye(k)
    if prior is not None:
        ridge = ridge + np.asarray(prior, np.float64)
    # Square roots of the weights scale the design rows of the Gram products; padding weighs 0.
    root_w = None if weight is None else torch.from_numpy(np.append(np.sqrt(weight), 0).astype(np.float32))
    # One scratch block reused by every batch: fresh allocations of this size cost more in page
    # faults than the gather itself.
    size = max((len(pos) for pos in batches.pos), default=0)
    scratch = torch.empty(size * (k + 1))
    for rows, pos, gather, width in zip(batches.rows, batches.pos, batches.cols, batches.widths, strict=True):
        # One block [x | y] gives both X'X and X'y from a single batched matmul.
        xy = scratch[: len(pos) * (k + 1)].view(len(pos), k + 1)
        torch.index_select(design_t, 0, gather, out=xy[:, :k])
        xy[:, k] = torch.index_select(target_t, 0, pos)
        xy = xy.view(len(rows), width, k + 1)
        if root_w is None:
            gram_xy = torch.bmm(xy.transpose(1, 2), xy).numpy().astype(np.float64)
            gram, rhs = gram_xy[:, :k, :k], gram_xy[:, :k, k:]
        else:
            rhs = torch.bmm(xy[..., :k].transpose(1, 2), xy[..., k:]).numpy().astype(np.float64)
            xw = xy[..., :k] * torch.index_select(root_w, 0, pos).view(len(rows), width, 1)
            gram = torch.bmm(xw.transpose(1, 2), xw).numpy().astype(np.float64)
        gram += ridge
        # numpy's stacked solve runs LAPACK once per small system on one thread: about half the CPU
        # of torch's batched Cholesky on these (k+1)-sized systems, and no thread hand-offs on a busy machine.
        out[rows] = np.linalg.solve(gram, rhs)[..., 0]
    return out
