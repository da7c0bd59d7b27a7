"""Exact duplicate rows and repeat views in an interaction log, and the keep/drop/aggregate policies."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray

DuplicatePolicy = Literal["keep", "drop", "aggregate"]
POLICIES: tuple[str, ...] = ("keep", "drop", "aggregate")

# A (user, item) presence bitmap is used while the matrix has at most this many cells (128 MiB).
_BITMAP_LIMIT = 1 << 27


@dataclass
class DuplicateReport:
    """What a log holds beyond one row per (user, item) pair.

    Attributes
    ----------
    rows : int
        Rows read.
    exact_duplicate_rows : int
        Rows identical, field for field, to an earlier row (logging artefacts).
    repeat_view_rows : int
        Further, distinct views of a pair already seen (real re-watches).
    unique_pairs : int
        Distinct (user, item) pairs.
    """

    rows: int
    exact_duplicate_rows: int
    repeat_view_rows: int
    unique_pairs: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def exact_duplicates(user: NDArray, timestamp: NDArray[np.float64], values: list[NDArray]) -> NDArray[np.bool_]:
    """Mask of rows equal to an earlier row on ``user``, ``timestamp`` and every array in ``values``.

    Exact copies share user and timestamp. When the timed rows are ordered by (user, time), as
    KuaiRec's logs are, copies sit in runs of equal (user, time), so only those few rows need a
    closer look: pairs are compared directly and longer runs (plus untimed rows) go through a
    hash-based distinct check. Any other order falls back to that check on the whole log.
    """
    n = len(user)
    mask = np.zeros(n, dtype=bool)
    if n < 2:
        return mask
    untimed = np.isnan(timestamp)
    any_untimed = bool(untimed.any())
    timed = np.flatnonzero(~untimed) if any_untimed else None
    us = user[timed] if any_untimed else user
    ts = timestamp[timed] if any_untimed else timestamp
    ordered = bool(np.all((us[1:] > us[:-1]) | ((us[1:] == us[:-1]) & (ts[1:] >= ts[:-1]))))
    if not ordered:
        return _distinct_check(np.arange(n), user, timestamp, values)
    # Position p is a "link" when timed row p+1 has the same (user, time) as timed row p.
    links = np.flatnonzero((us[1:] == us[:-1]) & (ts[1:] == ts[:-1]))
    chained = links[1:] == links[:-1] + 1
    isolated = np.ones(len(links), dtype=bool)
    isolated[1:] &= ~chained
    isolated[:-1] &= ~chained
    pair = links[isolated]
    later, earlier = pair + 1, pair
    if timed is not None:
        later, earlier = timed[later], timed[earlier]
    equal = np.ones(len(pair), dtype=bool)
    for v in values:
        equal &= v[later] == v[earlier]
    mask[later[equal]] = True
    # Runs of three or more equal (user, time) rows, and rows without a time, take the general check.
    chain = links[~isolated]
    in_long_run = np.zeros(len(us), dtype=bool)
    in_long_run[chain] = True
    in_long_run[chain + 1] = True
    long_runs = np.flatnonzero(in_long_run)
    if timed is not None:
        long_runs = timed[long_runs]
    rest = np.sort(np.concatenate([long_runs, np.flatnonzero(untimed)]))
    if len(rest) > 1:
        mask[rest] = _distinct_check(rest, user, timestamp, values)
    return mask


def _distinct_check(rows: NDArray, user: NDArray, timestamp: NDArray, values: list[NDArray]) -> NDArray[np.bool_]:
    """Rows (of ``rows``, in order) that repeat an earlier one of them, via polars' hashing."""
    frame = pl.DataFrame({"u": user[rows], "t": timestamp[rows], **{f"v{k}": v[rows] for k, v in enumerate(values)}})
    return (~frame.select(pl.struct(frame.columns).is_first_distinct()).to_series()).to_numpy()


def count_pairs(user: NDArray[np.int32], item: NDArray[np.int32], n_items: int, n_users: int) -> int:
    """Number of distinct (user, item) pairs."""
    if len(user) == 0:
        return 0
    key = user.astype(np.int64) * n_items + item
    if n_users * n_items <= _BITMAP_LIMIT:
        seen = np.zeros(n_users * n_items, dtype=bool)
        seen[key] = True
        return int(np.count_nonzero(seen))
    return int(pl.Series(key).n_unique())


def aggregate_pairs(
    user: NDArray[np.int32],
    item: NDArray[np.int32],
    label: NDArray,
    timestamp: NDArray[np.float64],
    n_users: int,
    n_items: int,
) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.float64], NDArray[np.float64]]:
    """One row per (user, item): mean label and last (largest) timestamp, ordered by (user, item).

    Timestamps that are all unknown for a pair stay ``NaN``.
    """
    key = user.astype(np.int64) * n_items + item
    if n_users * n_items <= _BITMAP_LIMIT:
        seen = np.zeros(n_users * n_items, dtype=bool)
        seen[key] = True
        keys = np.flatnonzero(seen)
        rank = np.cumsum(seen, dtype=np.int32) - 1
        pair = rank[key]
        del seen, rank
    else:
        keys, pair = np.unique(key, return_inverse=True)
    m = len(keys)
    counts = np.bincount(pair, minlength=m)
    mean = np.bincount(pair, weights=label.astype(np.float64), minlength=m) / counts
    last = np.full(m, np.nan)
    np.fmax.at(last, pair, timestamp)
    return (keys // n_items).astype(np.int32), (keys % n_items).astype(np.int32), mean, last


def apply_policy(
    policy: str,
    user: NDArray[np.int32],
    item: NDArray[np.int32],
    label: NDArray,
    timestamp: NDArray[np.float64],
    exact: NDArray[np.bool_],
    n_users: int,
    n_items: int,
) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray, NDArray[np.float64]]:
    """Apply ``keep`` (all rows), ``drop`` (exact copies removed) or ``aggregate`` (copies removed, then
    one row per pair with the mean label and the last timestamp)."""
    if policy not in POLICIES:
        raise ValueError(f"duplicates={policy!r}, expected one of {', '.join(POLICIES)}")
    if policy == "keep":
        return user, item, label, timestamp
    if exact.any():
        keep = ~exact
        user, item, label, timestamp = user[keep], item[keep], label[keep], timestamp[keep]
    if policy == "drop":
        return user, item, label, timestamp
    return aggregate_pairs(user, item, label, timestamp, n_users, n_items)


def report(
    user: NDArray[np.int32], item: NDArray[np.int32], exact: NDArray[np.bool_], n_users: int, n_items: int
) -> DuplicateReport:
    n_exact = int(exact.sum())
    pairs = count_pairs(user, item, n_items, n_users)
    return DuplicateReport(len(user), n_exact, len(user) - n_exact - pairs, pairs)
