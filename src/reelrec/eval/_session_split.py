"""The session split: each test user's latest views, in time order, held out as a feed to replay.

The real-time feed sees a user's last few views and must rank what comes next. To judge that, each
user's latest distinct videos (by the time of their first view) are held out in order; the session
protocol reveals the first ``N`` of them as a :class:`~reelrec.models.History` and ranks the views
after position ``max(reveal)`` as targets, so every ``N`` is judged on the same targets.

Leakage rule (as in the holdout splits, the unit is the distinct (user, item) pair): a held-out pair
has no training row, and a test user's training rows all lie at or before their first held-out view,
so re-views of older videos after that moment are dropped (counted). Users with too few views are
not tested and keep all their rows for training (counted).

Stability: provisional.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from reelrec.data._dataset import Dataset
from reelrec.models._history import History

#: Revealed history lengths the session protocol compares.
DEFAULT_REVEAL: tuple[int, ...] = (0, 1, 5, 20)
#: A view below this watch ratio counts as a swipe-away when skips are marked.
SKIP_BELOW = 0.3


@dataclass
class SessionSplit:
    """Training data and each test user's held-out views in time order.

    Attributes
    ----------
    train : Dataset
        Everything but the held-out views (and re-views after them); no fully observed block.
    users : ndarray of int32, shape (n,)
        Test users, ascending.
    offsets : ndarray of int64, shape (n + 1,)
        User ``r``'s held-out views are ``items[offsets[r]:offsets[r + 1]]``, oldest first.
    items, label : ndarray, shape (offsets[-1],)
        Held-out item indices and the label of their first view.
    timestamp : ndarray of float64, shape (offsets[-1],)
    target_start : int
        Held-out position where targets begin (``max(reveal)``); earlier ones may be revealed.
    reveal : tuple of int
    params : dict
        Settings and counts (skipped users, dropped re-views...).
    """

    train: Dataset
    users: NDArray[np.int32]
    offsets: NDArray[np.int64]
    items: NDArray[np.int32]
    label: NDArray[np.float32]
    timestamp: NDArray[np.float64]
    target_start: int
    reveal: tuple[int, ...]
    params: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.users)

    def histories(self, n: int, mark_skips: bool = False, skip_below: float = SKIP_BELOW) -> list[History]:
        """The first ``n`` held-out views of every test user as histories (``n <= target_start``).

        Watch ratios are passed for watch-ratio data (``NaN`` otherwise). With ``mark_skips``, views
        below ``skip_below`` are marked ``skipped`` (negative feedback); that needs watch ratios.
        """
        if not 0 <= n <= self.target_start:
            raise ValueError(f"n={n}, must be in [0, {self.target_start}] (targets start there)")
        is_ratio = self.train.label_name == "watch_ratio"
        if mark_skips and not is_ratio:
            raise ValueError(f"mark_skips needs watch-ratio labels; this data's label is {self.train.label_name!r}")
        out = []
        for r in range(len(self.users)):
            lo = int(self.offsets[r])
            wr = self.label[lo : lo + n] if is_ratio else np.full(n, np.nan, np.float32)
            skipped = (wr < skip_below) if mark_skips else np.zeros(n, bool)
            out.append(History.of(self.items[lo : lo + n], wr, skipped, self.timestamp[lo : lo + n]))
        return out

    def targets(self) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.float32]]:
        """(row, item, label) of every target view: held-out positions from ``target_start`` on."""
        lengths = np.diff(self.offsets)
        rows = np.repeat(np.arange(len(self.users)), lengths)
        pos = np.arange(len(self.items)) - np.repeat(self.offsets[:-1], lengths)
        keep = pos >= self.target_start
        return rows[keep].astype(np.int64), self.items[keep], self.label[keep]

    def relevance(self, threshold: float | None) -> sp.csr_matrix:
        """Test users x items, 1 where a target view's label is ``>= threshold`` (``None``: ``> 0``)."""
        rows, items, label = self.targets()
        hit = label >= threshold if threshold is not None else label > 0
        return sp.csr_matrix(
            (np.ones(int(hit.sum()), np.float32), (rows[hit], items[hit])),
            shape=(len(self.users), self.train.n_items),
        )


def session_split(
    dataset: Dataset,
    reveal: tuple[int, ...] = DEFAULT_REVEAL,
    n_targets: int = 20,
    min_targets: int = 5,
    min_train: int = 10,
) -> SessionSplit:
    """Hold out each user's latest ``max(reveal) + n_targets`` distinct views, in time order.

    Parameters
    ----------
    dataset : Dataset
        Its ``interactions`` (KuaiRec: the big matrix) need a timestamp on every row.
    reveal : tuple of int
        History lengths to compare; targets start at ``max(reveal)``.
    n_targets : int
        Most target views per user.
    min_targets : int
        Users with fewer target views are skipped (not tested, all rows kept for training).
    min_train : int
        Distinct videos a test user keeps for training; fewer held-out views are taken to keep them.
    """
    reveal = tuple(sorted({int(n) for n in reveal}))
    if not reveal or reveal[0] < 0:
        raise ValueError(f"reveal={reveal}, must be non-negative history lengths")
    for name, value in (("n_targets", n_targets), ("min_targets", min_targets), ("min_train", min_train)):
        if value < 1:
            raise ValueError(f"{name}={value}, must be >= 1")
    inter = dataset.interactions
    ts = inter.timestamp
    if np.isnan(ts).any():
        first = int(np.flatnonzero(np.isnan(ts))[0])
        raise ValueError(
            f"the session split orders views by time; {int(np.isnan(ts).sum())} interaction rows have no "
            f"timestamp (first: row {first})"
        )
    start = reveal[-1]
    # Rows by user, then time, then log order; a pair is placed at its first view.
    order = np.lexsort((np.arange(len(inter)), ts, inter.user))
    key = inter.user[order].astype(np.int64) * dataset.n_items + inter.item[order]
    _, first_view = np.unique(key, return_index=True)
    rows = order[np.sort(first_view)]  # first view of each pair, still by user then time
    p_user = inter.user[rows]
    per_user = np.bincount(p_user, minlength=dataset.n_users)
    held = np.minimum(start + n_targets, per_user - min_train)
    tested = held >= start + min_targets
    n_held = np.where(tested, held, 0)
    pos = np.arange(len(rows)) - np.repeat(np.cumsum(per_user) - per_user, per_user)
    is_held = pos >= (per_user - n_held)[p_user]
    held_rows = rows[is_held]  # grouped by user, oldest first

    # Each test user's cutoff: the time of their first held-out view.
    cutoff = np.full(dataset.n_users, np.inf)
    held_user = inter.user[held_rows]
    new_user = np.ones(len(held_rows), bool)
    new_user[1:] = held_user[1:] != held_user[:-1]
    firsts = held_rows[new_user]
    cutoff[inter.user[firsts]] = ts[firsts]
    held_pair = np.zeros(len(inter), bool)
    held_keys = inter.user[held_rows].astype(np.int64) * dataset.n_items + inter.item[held_rows]
    row_keys = inter.user.astype(np.int64) * dataset.n_items + inter.item
    held_pair[np.isin(row_keys, held_keys)] = True
    late = ~held_pair & (ts > cutoff[inter.user])
    train_row = ~held_pair & ~late

    users = np.flatnonzero(tested).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum(n_held[users])]).astype(np.int64)
    params: dict[str, Any] = {
        "protocol": "session",
        "reveal": list(reveal),
        "n_targets": n_targets,
        "min_targets": min_targets,
        "min_train": min_train,
        "test_users": len(users),
        "skipped_users": int(((per_user > 0) & ~tested).sum()),
        "held_out_views": len(held_rows),
        "late_reviews_dropped": int(late.sum()),
    }
    meta = {**dataset.meta, "split": params, "validation": "temporal"}
    train = dataset.with_interactions(inter.take(train_row), fully_observed=None, truth=None, meta=meta)
    return SessionSplit(
        train=train,
        users=users,
        offsets=offsets,
        items=inter.item[held_rows],
        label=inter.label[held_rows],
        timestamp=ts[held_rows],
        target_start=start,
        reveal=reveal,
        params=params,
    )
