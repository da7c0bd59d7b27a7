"""Train/test splits that evaluation is judged by: per-user holdout (random or temporal) and KuaiRec's block.

Leakage rule shared by the holdout modes: the unit of a split is the distinct (user, item) pair.
Repeat views of one pair all land on the same side (random mode), or the later views are dropped
from test (temporal mode), so a test item is never one the model already saw the user watch.

Stability: stable.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from reelrec.data._dataset import Dataset, Interactions
from reelrec.errors import DataWarning

SplitMode = Literal["random", "temporal"]


@dataclass
class Split:
    """A training data set and the held-out interactions that judge models trained on it.

    Attributes
    ----------
    train : Dataset
        The input's vocabularies and side features with only the training interactions; its
        ``fully_observed`` and ``truth`` are removed so a model cannot read the test.
    test : Interactions
        Held-out rows (index space of ``train``), in input order.
    candidates : ndarray of int32 or None
        Sorted item indices every test user is ranked among; ``None`` means every item seen in
        ``train`` by anyone (see :meth:`catalogue`).
    cold_users : ndarray of int32
        Sorted user indices with no training rows, scored from their features only.
    truth : ndarray of float32 or None
        Noise-free expected label aligned with ``test`` rows (synthetic data only).
    protocol : str
        ``"holdout"`` or ``"kuairec"``.
    params : dict
        JSON-friendly parameters and counts (seed, fractions, dropped users...).
    """

    train: Dataset
    test: Interactions
    candidates: NDArray[np.int32] | None = None
    cold_users: NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))
    truth: NDArray[np.float32] | None = None
    protocol: str = "holdout"
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.truth is not None and len(self.truth) != len(self.test):
            raise ValueError(f"Split.truth has {len(self.truth)} rows, expected {len(self.test)} (one per test row)")
        self.cold_users = np.unique(np.asarray(self.cold_users, dtype=np.int32))
        if len(self.cold_users) and (self.cold_users[0] < 0 or self.cold_users[-1] >= self.train.n_users):
            raise ValueError(f"Split.cold_users must be user indices in [0, {self.train.n_users})")
        if self.candidates is not None:
            cand = np.unique(np.asarray(self.candidates, dtype=np.int32))
            if len(cand) == 0:
                raise ValueError("Split.candidates is empty; give None to rank every training item")
            if cand[0] < 0 or cand[-1] >= self.train.n_items:
                raise ValueError(f"Split.candidates must be item indices in [0, {self.train.n_items})")
            self.candidates = cand

    @property
    def test_users(self) -> NDArray[np.int32]:
        """Sorted user indices with at least one test row (cold ones included)."""
        return np.unique(self.test.user).astype(np.int32)

    @property
    def warm_users(self) -> NDArray[np.int32]:
        """Test users that have training rows: ranked with ``recommend_indices``."""
        users = self.test_users
        return users[~np.isin(users, self.cold_users)]

    def catalogue(self) -> NDArray[np.int32]:
        """The items test users are ranked among: ``candidates``, or every item seen in training."""
        if self.candidates is not None:
            return self.candidates
        return np.unique(self.train.interactions.item).astype(np.int32)

    def summary(self) -> dict[str, Any]:
        """JSON-friendly counts for reports and logs."""
        return {
            "protocol": self.protocol,
            "train_rows": len(self.train.interactions),
            "test_rows": len(self.test),
            "test_users": len(self.test_users),
            "cold_users": len(self.cold_users),
            "catalogue": len(self.catalogue()),
            "has_truth": self.truth is not None,
            **self.params,
        }


def _check_fraction(name: str, value: float, low_open: bool) -> float:
    value = float(value)
    ok = (0.0 < value < 1.0) if low_open else (0.0 <= value < 1.0)
    if not ok:
        bounds = "(0, 1)" if low_open else "[0, 1)"
        raise ValueError(f"{name}={value}, must be in {bounds}")
    return value


def _n_cold(fraction: float, n_users: int) -> int:
    """Round half up, but at least one user once a positive fraction is asked for."""
    if fraction == 0.0 or n_users == 0:
        return 0
    return min(n_users, max(1, math.floor(fraction * n_users + 0.5)))


def _pick_cold(rng: np.random.Generator, pool: NDArray[np.int32], fraction: float) -> NDArray[np.int32]:
    n = _n_cold(fraction, len(pool))
    return np.sort(rng.choice(pool, size=n, replace=False)).astype(np.int32) if n else np.zeros(0, np.int32)


def _train_dataset(dataset: Dataset, train: Interactions, split_meta: dict[str, Any]) -> Dataset:
    meta = dict(dataset.meta)
    meta["split"] = split_meta
    # How a model fitted on this part should carve its own early-stopping pairs: like the test.
    meta["validation"] = "temporal" if split_meta.get("mode") == "temporal" else "random"
    return dataset.with_interactions(train, fully_observed=None, truth=None, meta=meta)


def holdout_split(
    dataset: Dataset,
    test_fraction: float = 0.2,
    seed: int = 0,
    mode: SplitMode = "random",
    min_interactions: int = 5,
    cold_user_fraction: float = 0.0,
) -> Split:
    """Hold out part of ``dataset.interactions`` per user (``random``) or after a time cutoff (``temporal``).

    Parameters
    ----------
    dataset : Dataset
        Any data set; its ``interactions`` are split.
    test_fraction : float
        Share of each user's distinct items held out (random) or quantile of time held out (temporal).
    seed : int
        Seed of every random draw; the same seed gives the same split.
    mode : {"random", "temporal"}
        ``random``: ``default_rng(seed).random(n_rows)`` draws one uniform number per row, in the
        order of the log; each distinct (user, item) pair takes the draw of its first row. Per user,
        the pairs with the highest draws go to test: a user with ``n`` pairs gets
        ``ceil(test_fraction * n)`` test pairs (exactly: rank / n > 1 - test_fraction with ranks
        1..n by ascending draw), capped at ``n - 1`` so every user keeps a training pair. All rows
        of a pair go to the pair's side. Without repeat views this is the reference protocol's
        split row for row.
        ``temporal``: rows with a timestamp strictly after the ``1 - test_fraction`` quantile
        (numpy's linear interpolation) of the kept users' timestamps go to test, the rest to train.
        Test rows of a pair that also has training rows are dropped (re-views of an item the model
        saw); users left without training rows become cold users when the data set has user
        features, and are dropped otherwise.
    min_interactions : int
        Users with fewer distinct items are dropped from both sides.
    cold_user_fraction : float
        Share of the kept users (round half up, at least one) whose rows all go to test; they are
        scored from user features with ``recommend_cold``. Drawn after the pair draws, so the warm
        users' split does not depend on it.

    Returns
    -------
    Split
        ``protocol="holdout"``, ``candidates=None`` (every item seen in training).
    """
    if mode not in ("random", "temporal"):
        raise ValueError(f"mode={mode!r}, must be 'random' or 'temporal'")
    test_fraction = _check_fraction("test_fraction", test_fraction, low_open=True)
    cold_user_fraction = _check_fraction("cold_user_fraction", cold_user_fraction, low_open=False)
    if int(min_interactions) != min_interactions or min_interactions < 1:
        raise ValueError(f"min_interactions={min_interactions}, must be an integer >= 1")
    if cold_user_fraction > 0 and dataset.user_features is None:
        raise ValueError(f"cold_user_fraction={cold_user_fraction} needs user features; the data set has none")
    inter = dataset.interactions
    if len(inter) == 0:
        raise ValueError("cannot split a data set with no interactions")

    key = inter.user.astype(np.int64) * dataset.n_items + inter.item
    pair_keys, first_row, pair_of_row = np.unique(key, return_index=True, return_inverse=True)
    pair_user = (pair_keys // dataset.n_items).astype(np.int32)
    pairs_per_user = np.bincount(pair_user, minlength=dataset.n_users)
    kept = pairs_per_user >= min_interactions
    kept_row = kept[inter.user]
    if not kept_row.any():
        raise ValueError(f"no user has >= min_interactions={min_interactions} distinct items; nothing to split")
    rng = np.random.default_rng(seed)
    # One draw per row in log order (the reference protocol's stream); a pair takes its first row's draw.
    draws = rng.random(len(inter))[first_row]
    params: dict[str, Any] = {
        "mode": mode,
        "test_fraction": test_fraction,
        "seed": seed,
        "min_interactions": int(min_interactions),
        "cold_user_fraction": cold_user_fraction,
        "dropped_users": int(((pairs_per_user > 0) & ~kept).sum()),
        "dropped_rows": int((~kept_row).sum()),
    }

    if mode == "random":
        test_pair = _top_fraction_per_user(pair_user, draws, pairs_per_user, test_fraction)
        test_row = test_pair[pair_of_row] & kept_row
        train_row = ~test_pair[pair_of_row] & kept_row
    else:
        test_row, train_row, repeat = _temporal(inter, kept_row, pair_of_row, len(pair_keys), test_fraction, params)

    pool = np.flatnonzero(kept).astype(np.int32)
    cold = _pick_cold(rng, pool, cold_user_fraction)
    if mode == "temporal":
        # Users whose whole history falls after the cutoff have nothing to learn from.
        has_train = np.bincount(inter.user[train_row], minlength=dataset.n_users) > 0
        orphans = np.setdiff1d(np.unique(inter.user[test_row]), np.flatnonzero(has_train)).astype(np.int32)
        if dataset.user_features is not None:
            cold = np.union1d(cold, orphans).astype(np.int32)
        else:
            orphan_row = np.isin(inter.user, orphans)
            params["dropped_users_without_train"] = len(orphans)
            params["dropped_rows_without_train"] = int((test_row & orphan_row).sum())
            test_row &= ~orphan_row
    is_cold = np.isin(inter.user, cold)
    if len(cold):
        test_row = (test_row | is_cold) & kept_row
        train_row &= ~is_cold
    if mode == "temporal":
        # Counted after the cold draw: a cold user's re-views all stay in test.
        params["repeat_rows_dropped"] = int((repeat & ~is_cold).sum())
    params["cold_users"] = len(cold)

    train = inter.take(train_row)
    return Split(
        train=_train_dataset(dataset, train, {"protocol": "holdout", **params}),
        test=inter.take(test_row),
        candidates=None,
        cold_users=cold,
        truth=None,
        protocol="holdout",
        params=params,
    )


def _top_fraction_per_user(
    pair_user: NDArray[np.int32],
    draws: NDArray[np.float64],
    pairs_per_user: NDArray[np.int64],
    test_fraction: float,
) -> NDArray[np.bool_]:
    """True for the ``ceil(f * n)`` (at most ``n - 1``) pairs with the highest draws of each user."""
    n = pairs_per_user[pair_user]
    # The small tolerance keeps f * n that is an integer in exact arithmetic (0.2 * 10) from rounding up.
    n_test = np.minimum(np.ceil(test_fraction * n - 1e-9), n - 1).astype(np.int64)
    # By user, then ascending draw: a stable sort by user of the draw order (faster than lexsort).
    by_draw = np.argsort(draws)
    order = by_draw[np.argsort(pair_user[by_draw], kind="stable")]
    starts = np.concatenate([[0], np.cumsum(pairs_per_user)])[pair_user[order]]
    rank = np.arange(len(order)) - starts  # 0-based position within the user's pairs
    test = np.zeros(len(order), dtype=bool)
    test[order] = rank >= (n[order] - n_test[order])
    return test


def _temporal(
    inter: Interactions,
    kept_row: NDArray[np.bool_],
    pair_of_row: NDArray[np.intp],
    n_pairs: int,
    test_fraction: float,
    params: dict[str, Any],
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
    """(test rows, train rows, re-views of a training pair dropped from test) for the temporal cutoff."""
    ts = inter.timestamp
    missing = np.isnan(ts) & kept_row
    if missing.any():
        first = int(np.flatnonzero(missing)[0])
        raise ValueError(
            f"mode='temporal' needs a timestamp on every row; {int(missing.sum())} rows have none "
            f"(first: row {first}); use mode='random'"
        )
    cutoff = float(np.quantile(ts[kept_row], 1.0 - test_fraction))
    after = ts > cutoff
    train_row = kept_row & ~after
    test_row = kept_row & after
    in_train = np.zeros(n_pairs, dtype=bool)
    in_train[pair_of_row[train_row]] = True
    repeat = test_row & in_train[pair_of_row]
    test_row &= ~repeat
    params["cutoff"] = cutoff
    return test_row, train_row, repeat


def kuairec_split(dataset: Dataset, cold_user_fraction: float = 0.0, seed: int = 0) -> Split:
    """KuaiRec protocol: train on the big matrix, judge on the fully observed small block.

    Parameters
    ----------
    dataset : Dataset
        Must have ``fully_observed`` (KuaiRec's small matrix, disjoint from ``interactions``).
    cold_user_fraction : float
        Share of the block's users (round half up, at least one) whose big-matrix rows are removed
        from train; they are scored from user features with ``recommend_cold``.
    seed : int
        Seed of the cold-user draw.

    Returns
    -------
    Split
        ``test`` = the whole block, ``candidates`` = the block's items, ``truth`` = the data set's
        planted truth (if any), ``protocol="kuairec"``.
    """
    block = dataset.fully_observed
    if block is None or len(block) == 0:
        raise ValueError(
            f"the kuairec protocol needs a fully observed block (KuaiRec's small_matrix.csv); "
            f"data set {dataset.source!r} has none; use holdout_split"
        )
    cold_user_fraction = _check_fraction("cold_user_fraction", cold_user_fraction, low_open=False)
    if cold_user_fraction > 0 and dataset.user_features is None:
        raise ValueError(f"cold_user_fraction={cold_user_fraction} needs user features; the data set has none")
    block_users = np.unique(block.user).astype(np.int32)
    candidates = np.unique(block.item).astype(np.int32)
    cold = _pick_cold(np.random.default_rng(seed), block_users, cold_user_fraction)
    inter = dataset.interactions
    train_row = ~np.isin(inter.user, cold) if len(cold) else np.ones(len(inter), dtype=bool)
    train = inter.take(train_row)
    overlap = _shared_pairs(train, block, candidates, block_users, dataset.n_items)
    if overlap:
        warnings.warn(
            f"{overlap} (user, video) pairs of the fully observed block also occur in the training "
            "interactions; they stay excluded as seen items and cannot be hit",
            DataWarning,
            stacklevel=2,
        )
    params: dict[str, Any] = {
        "seed": seed,
        "cold_user_fraction": cold_user_fraction,
        "cold_users": len(cold),
        "block_users": len(block_users),
        "block_items": len(candidates),
        "shared_pairs": overlap,
    }
    return Split(
        train=_train_dataset(dataset, train, {"protocol": "kuairec", **params}),
        test=block,
        candidates=candidates,
        cold_users=cold,
        truth=dataset.truth,
        protocol="kuairec",
        params=params,
    )


def _shared_pairs(
    train: Interactions,
    block: Interactions,
    block_items: NDArray[np.int32],
    block_users: NDArray[np.int32],
    n_items: int,
) -> int:
    """Distinct block pairs that also occur in ``train`` (KuaiRec promises none)."""
    near = np.isin(train.user, block_users) & np.isin(train.item, block_items)
    if not near.any():
        return 0
    a = np.unique(train.user[near].astype(np.int64) * n_items + train.item[near])
    b = np.unique(block.user.astype(np.int64) * n_items + block.item)
    return int(np.isin(a, b, assume_unique=True).sum())
