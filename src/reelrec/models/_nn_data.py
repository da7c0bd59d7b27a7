"""Training pairs for the neural models: deduplicated (user, video) rows, a per-user validation split, histories."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import NDArray

from reelrec.data._dataset import Interactions


@dataclass
class Pairs:
    """Distinct (user, video) pairs grouped by user (CSR order), with the mean label of repeat views.

    Attributes
    ----------
    indptr : ndarray of int64, shape (n_users + 1,)
        Rows ``indptr[u]:indptr[u + 1]`` belong to user ``u``.
    user, item : ndarray of int32, shape (n,)
    label : ndarray of float32, shape (n,)
    """

    indptr: NDArray[np.int64]
    user: NDArray[np.int32]
    item: NDArray[np.int32]
    label: NDArray[np.float32]

    def __len__(self) -> int:
        return len(self.user)

    @property
    def n_users(self) -> int:
        return len(self.indptr) - 1

    def take(self, mask: NDArray[np.bool_]) -> Pairs:
        """The pairs where ``mask`` is true (still grouped by user)."""
        counts = np.bincount(self.user[mask], minlength=self.n_users)
        indptr = np.zeros(self.n_users + 1, np.int64)
        np.cumsum(counts, out=indptr[1:])
        return Pairs(indptr, self.user[mask], self.item[mask], self.label[mask])


def distinct_pairs(inter: Interactions, n_users: int, n_items: int) -> Pairs:
    """Merge repeat views of a (user, video) pair into one row labelled with their mean.

    A video watched twice is one positive for retrieval (counting it twice would reward re-showing
    what was already seen); its label is the mean watch ratio of the views.
    """
    total = sp.csr_matrix((inter.label.astype(np.float64), (inter.user, inter.item)), shape=(n_users, n_items))
    count = sp.csr_matrix((np.ones(len(inter)), (inter.user, inter.item)), shape=(n_users, n_items))
    total.sum_duplicates()
    count.sum_duplicates()
    total.sort_indices()
    count.sort_indices()
    indptr = total.indptr.astype(np.int64)
    user = np.repeat(np.arange(n_users, dtype=np.int32), np.diff(indptr))
    label = (total.data / count.data).astype(np.float32)
    return Pairs(indptr, user, total.indices.astype(np.int32), label)


def validation_mask(
    pairs: Pairs, fraction: float, rng: np.random.Generator, max_pairs: int = 200_000, min_user_pairs: int = 5
) -> NDArray[np.bool_]:
    """Per-user held-out pairs for early stopping: about ``fraction`` of each user's pairs.

    Users with fewer than ``min_user_pairs`` pairs keep everything for training; every user keeps at
    least one training pair; at most about ``max_pairs`` pairs are held out (big logs need few).
    """
    if fraction <= 0 or len(pairs) == 0:
        return np.zeros(len(pairs), bool)
    p = min(fraction, max_pairs / len(pairs))
    counts = np.diff(pairs.indptr)
    eligible = counts[pairs.user] >= min_user_pairs
    draw = rng.random(len(pairs))
    mask = eligible & (draw < p)
    # Keep each user's pair with the largest draw in training, so nobody loses their whole history.
    held = np.bincount(pairs.user[mask], minlength=pairs.n_users)
    full = held == counts
    if full.any():
        order = np.lexsort((-draw, pairs.user))
        first = pairs.indptr[:-1][counts > 0]
        keep_rows = order[first]
        keep_rows = keep_rows[full[pairs.user[keep_rows]]]
        mask[keep_rows] = False
    return mask


def temporal_validation_mask(
    pairs: Pairs, inter: Interactions, fraction: float, max_pairs: int = 200_000
) -> NDArray[np.bool_]:
    """Held-out pairs for early stopping under a temporal protocol: those first viewed after a cutoff.

    The cutoff is the ``1 - fraction`` quantile of the pairs' first-view times (at most about
    ``max_pairs`` pairs are held out), so early stopping judges the model on later behaviour, as the
    temporal test split does. A user whose every pair is later keeps their earliest one for training.
    ``inter`` is the log ``pairs`` was built from (:func:`distinct_pairs`).
    """
    if fraction <= 0 or len(pairs) == 0:
        return np.zeros(len(pairs), bool)
    if np.isnan(inter.timestamp).any():
        raise ValueError("validation='temporal' needs a timestamp on every training row; use validation='random'")
    n_items = int(inter.item.max()) + 1
    row_key = inter.user.astype(np.int64) * n_items + inter.item
    order = np.lexsort((inter.timestamp, row_key))
    first = np.ones(len(order), bool)
    first[1:] = row_key[order][1:] != row_key[order][:-1]
    # Pairs are in (user, item) order, which is the order of their sorted keys.
    first_ts = inter.timestamp[order][first]
    p = min(fraction, max_pairs / len(pairs))
    cutoff = np.quantile(first_ts, 1.0 - p)
    mask = first_ts > cutoff
    counts = np.diff(pairs.indptr)
    held = np.bincount(pairs.user[mask], minlength=pairs.n_users)
    full = (held == counts) & (counts > 0)
    if full.any():
        by_time = np.lexsort((first_ts, pairs.user))
        earliest = by_time[pairs.indptr[:-1][counts > 0]]
        earliest = earliest[full[pairs.user[earliest]]]
        mask[earliest] = False
    return mask


def gather_ragged(
    indptr: torch.Tensor, values: torch.Tensor, rows: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenated ``values[indptr[r]:indptr[r + 1]]`` for each row, plus bag offsets (``EmbeddingBag`` layout)."""
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    offsets = torch.zeros(len(rows), dtype=torch.int64, device=values.device)
    if len(rows) > 1:
        offsets[1:] = torch.cumsum(lengths, 0)[:-1]
    total = int(lengths.sum())
    pos = torch.arange(total, device=values.device) - torch.repeat_interleave(offsets - starts, lengths)
    return values[pos], offsets


def sample_history(
    indptr: torch.Tensor,
    codes: torch.Tensor,
    users: torch.Tensor,
    length: int,
    dropout: float = 0.0,
    labels: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Up to ``length`` history codes per user, zero-padded, shape (len(users), length), and their labels.

    Users with at most ``length`` videos get all of them; others get a uniform random draw (with
    replacement: its mean is an unbiased estimate of the full history's mean). ``dropout`` zeroes a
    random share of entries, a denoising regulariser in the spirit of Mult-DAE (Liang et al., 2018).
    """
    starts = indptr[users]
    counts = indptr[users + 1] - starts
    ar = torch.arange(length, device=codes.device)
    draw = (torch.rand(len(users), length, device=codes.device) * counts[:, None]).long()
    short = counts[:, None] <= length
    pos = torch.where(short, ar.expand(len(users), length), draw)
    valid = ar[None, :] < counts[:, None]
    idx = (starts[:, None] + pos).clamp(max=max(len(codes) - 1, 0))
    out = codes[idx] * valid if len(codes) else torch.zeros_like(idx)
    if dropout > 0:
        out = out * (torch.rand(out.shape, device=codes.device) >= dropout)
    picked = None
    if labels is not None:
        picked = labels[idx] * (out > 0) if len(labels) else torch.zeros(idx.shape, device=codes.device)
    return out, picked
