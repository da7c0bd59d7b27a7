"""EASE: a closed-form linear item-item autoencoder on the binary user-item matrix (Steck, 2019)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg
import scipy.linalg.blas
import scipy.sparse as sp
import torch
from numpy.typing import NDArray

from reelrec.data._dataset import Dataset
from reelrec.models._fold import DEFAULT_HISTORY_WEIGHT, check_history_weight
from reelrec.models._item_item import ItemItemRecommender
from reelrec.models._space import Distribution, LogUniform

# Cells of one dense block of user rows when accumulating the Gram matrix X'X.
_GRAM_BLOCK_CELLS = 2**24


def item_gram(seen: sp.csr_matrix, items: NDArray[np.int32] | None = None) -> NDArray[np.float64]:
    """Dense item-item co-occurrence counts ``X'X`` of a binary user-item matrix, float64.

    Sparse products are fast on sparse data (MovieLens); dense data with many co-occurrences
    (KuaiRec, 13 % dense) is far faster through BLAS on dense user blocks. Counts of a 0/1 matrix are
    integers below 2**24, hence exact in float32.

    Parameters
    ----------
    seen : scipy.sparse.csr_matrix, shape (n_users, n_items)
    items : ndarray of int32, shape (m,), optional
        Columns to compute (all items when omitted).

    Returns
    -------
    ndarray of float64, shape (n_items, m)
    """
    n_users, n_items = seen.shape
    if seen.nnz < 0.01 * n_users * n_items:
        right = seen if items is None else seen[:, items]
        return np.asarray((seen.T @ right).toarray(), dtype=np.float64)
    step = max(1, _GRAM_BLOCK_CELLS // max(1, n_items))
    if items is None:
        return _dense_gram(seen, step)
    m = len(items)
    gram = torch.zeros((n_items, m), dtype=torch.float32)
    for lo in range(0, n_users, step):
        block = torch.from_numpy(seen[lo : lo + step].toarray().astype(np.float32, copy=False))
        gram.addmm_(block.T, block if items is None else block[:, torch.from_numpy(items.astype(np.int64))])
    return gram.numpy().astype(np.float64)


def _dense_gram(seen: sp.csr_matrix, step: int) -> NDArray[np.float64]:
    """``X'X`` over dense blocks of ``step`` user rows by a symmetric rank-k update (BLAS ``ssyrk``).

    ``ssyrk`` fills one triangle only: half the multiply-adds of a full product, same exact counts.
    """
    n_users, n_items = seen.shape
    upper = np.zeros((n_items, n_items), np.float32, order="F")
    for lo in range(0, n_users, step):
        block = seen[lo : lo + step].toarray().astype(np.float32, copy=False)
        # block.T is Fortran-ordered (items x users): C += A A' with no copy of the block.
        upper = scipy.linalg.blas.ssyrk(1.0, block.T, beta=1.0, c=upper, trans=0, lower=0, overwrite_c=1)
    gram = np.triu(upper).astype(np.float64)
    gram += np.triu(upper, 1).T
    return gram


def inverse_factor(gram: NDArray[np.float64], reg: float, overwrite: bool = False) -> torch.Tensor:
    """``W = L^-1`` (lower triangular, float64) with ``L L' = gram + reg I``, so ``(gram + reg I)^-1 = W'W``.

    Cholesky from torch, then LAPACK's triangular inverse in place: on CPU this is three to four
    times faster than ``torch.cholesky_inverse`` for the same result, and keeps one dense matrix
    besides ``gram``; with ``overwrite`` (``gram`` C-ordered) it works in ``gram``'s memory, which is lost.
    """
    g = torch.from_numpy(gram)
    if not overwrite or not gram.flags.c_contiguous:
        g = g.clone()
    g.diagonal().add_(float(reg))
    chol, info = torch.linalg.cholesky_ex(g, out=(g, torch.empty((), dtype=torch.int32)))
    if int(info) != 0:
        raise ValueError(f"EASE: gram + reg I is not positive definite (reg={reg!r}); raise reg")
    # A C-ordered lower-triangular L is a Fortran-ordered upper-triangular L': LAPACK inverts it in
    # place, giving (L')^-1 = W' in the same memory, i.e. W in C order.
    inv_t, info = scipy.linalg.lapack.dtrtri(chol.numpy().T, lower=0, overwrite_c=1)
    if info != 0:
        raise ValueError(f"EASE: singular Cholesky factor (reg={reg!r}); raise reg")
    # LAPACK touches one triangle only: clear the other in case it held the Gram matrix.
    return torch.from_numpy(np.ascontiguousarray(inv_t.T)).tril_()


def ease_matrix(gram: NDArray[np.float64], reg: float, overwrite: bool = False) -> NDArray[np.float32]:
    """EASE's item-item matrix ``B = I - P / diag(P)`` with ``P = (gram + reg I)^-1``, zero diagonal.

    ``P = W'W`` from :func:`inverse_factor`; ``overwrite`` lets it use ``gram``'s memory (peak: two
    dense float64 matrices and the float32 result).
    """
    w = inverse_factor(gram, reg, overwrite)
    inv = w.T @ w
    del w
    inv.div_(-inv.diagonal().clone()[None, :])
    inv.diagonal().zero_()
    return inv.to(torch.float32).numpy()


def ease_scores(gram: NDArray[np.float64], reg: float, rows: sp.csr_matrix) -> NDArray[np.float32]:
    """``rows @ B`` for a few users without forming ``B``: ``x - (x P) / diag(P)``, ``x P = (x W') W``.

    Choosing the penalty scores only the validation users, so the ``n^3`` product ``W'W`` is
    replaced by two triangular products of ``m n^2 / 2`` multiply-adds each (``m`` users, BLAS
    ``dtrmm``, working on ``(x P)'`` in place).
    """
    w = inverse_factor(gram, reg)
    diag = torch.linalg.vector_norm(w, dim=0).square_().numpy()
    x = rows.toarray().astype(np.float64)
    upper = w.numpy().T  # Fortran-ordered W', upper triangular
    xp_t = x.T.copy(order="F")  # overwritten below; x itself is still needed
    xp_t = scipy.linalg.blas.dtrmm(1.0, upper, xp_t, side=0, lower=0, trans_a=1, overwrite_b=1)  # W x'
    xp_t = scipy.linalg.blas.dtrmm(1.0, upper, xp_t, side=0, lower=0, trans_a=0, overwrite_b=1)  # W'W x'
    return (x - xp_t.T / diag[None, :]).astype(np.float32)


class EASE(ItemItemRecommender):
    """Embarrassingly shallow autoencoder: ``scores = X_u @ B`` with a closed-form item-item ``B``.

    ``B = argmin |X - XB|^2 + reg |B|^2`` subject to ``diag(B) = 0``, which is
    ``B = I - P / diag(P)`` (column-wise) with ``P = (X'X + reg I)^-1`` (H. Steck, "Embarrassingly
    Shallow Autoencoders for Sparse Data", WWW 2019). ``X`` is the binary training matrix; labels
    are ignored. The inverse is computed in float64 through a Cholesky factorisation.

    The model holds dense ``n_items x n_items`` matrices, so the fit refuses catalogues whose peak
    memory (Gram and inverse in float64, ``B`` in float32) would exceed ``max_memory_gb``.

    Parameters
    ----------
    reg : float
        L2 penalty lambda (``> 0``); larger values shrink the item-item weights more.
    max_memory_gb : float
        Peak memory the fit may use for its dense item-item matrices.
    history_weight : float
        Weight of a session history against the training row (``recommend_session``): the history
        vector, recency-weighted (newest views count most), is scaled to at least this share of the
        training row's mass; skipped videos subtract a quarter of a view's weight. ``X_u @ B`` is
        linear, so a new user's history alone is their row.

    Stability: stable.
    """

    name = "ease"

    weights_: NDArray[np.float32]

    def __init__(
        self, reg: float = 500.0, max_memory_gb: float = 4.0, history_weight: float = DEFAULT_HISTORY_WEIGHT
    ) -> None:
        self.reg = reg
        self.max_memory_gb = max_memory_gb
        self.history_weight = history_weight

    @classmethod
    def search_space(cls) -> dict[str, Distribution]:
        return {"reg": LogUniform(1.0, 1e4)}

    @staticmethod
    def memory_needed_gb(n_items: int) -> float:
        """Peak memory of a fit over ``n_items`` items: two float64 and one float32 dense matrices."""
        return n_items * n_items * (8 + 8 + 4) / 2**30

    def _fit(self, dataset: Dataset) -> None:
        if not np.isfinite(self.reg) or self.reg <= 0:
            raise ValueError(f"reg={self.reg!r}, must be a finite number > 0")
        check_history_weight(self.history_weight)
        n = dataset.n_items
        need = self.memory_needed_gb(n)
        if need > self.max_memory_gb:
            raise ValueError(
                f"EASE needs about {need:.1f} GB for {n} items (dense item-item matrices), above "
                f"max_memory_gb={self.max_memory_gb}; raise max_memory_gb, or use itemknn or mf for this catalogue"
            )
        # The regularised Gram matrix is symmetric positive definite: Cholesky, triangular inverse.
        self.weights_ = ease_matrix(item_gram(self.seen_), float(self.reg), overwrite=True)

    def _item_product(self, rows: sp.csr_matrix) -> NDArray[np.float32]:
        return np.asarray(rows @ self.weights_, dtype=np.float32)

    def _similar(self, items: NDArray[np.int32]) -> NDArray[np.float32]:
        # Row i of B: how much having seen item i raises every other item's score.
        return self.weights_[items].copy()

    def _get_state(self) -> tuple[dict[str, NDArray], dict[str, Any]]:
        return {"weights": self.weights_}, {}

    def _set_state(self, tensors: dict[str, NDArray], extra: dict[str, Any]) -> None:
        self.weights_ = np.asarray(tensors["weights"], np.float32)
