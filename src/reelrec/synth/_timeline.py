"""When views happen: each user's active days, daily usage rhythm, and KuaiRec's time columns."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from reelrec.synth._shape import FIRST_DAY_EPOCH, N_DAYS

# Relative usage by local hour (0..23): quiet at night, a lunch bump, an evening peak.
_HOURLY = np.array(
    [3.5, 2.2, 1.3, 0.8, 0.6, 0.6, 1.0, 2.0, 3.0, 3.4, 3.6, 4.0,
     5.0, 5.2, 4.4, 4.0, 4.0, 4.3, 4.8, 5.4, 6.0, 6.6, 6.8, 5.3]
)
_HOUR_CDF = np.cumsum(_HOURLY) / _HOURLY.sum()
# KuaiRec's `date` is a log-partition label: for ~0.1 % of rows it is the day before the local date.
# We relabel views in the first local hour of a day with this probability.
LATE_PARTITION_P = 0.025
_MS_PER_HOUR = 3_600_000
_MS_PER_DAY = 86_400_000

DATE_LABELS = np.array(
    [int(d.strftime("%Y%m%d")) for d in (np.datetime64("2020-07-05") + np.arange(N_DAYS)).astype(object)],
    dtype=np.int64,
)


def day_weights(rng: np.random.Generator, n_active: NDArray[np.int64], shape: float) -> NDArray[np.float64]:
    """Per-user weights over the 63 days: ``n_active`` random days get gamma(``shape``) weights, others 0.

    Returns
    -------
    ndarray of float64, shape (n_users, 63)
    """
    n = len(n_active)
    rank = np.argsort(rng.random((n, N_DAYS)), axis=1).argsort(axis=1)
    active = rank < np.clip(n_active, 1, N_DAYS)[:, None]
    return np.where(active, rng.gamma(shape, 1.0, (n, N_DAYS)), 0.0)


class DayTable:
    """Cumulative day weights of a set of users, for drawing a day inside a video's release window."""

    def __init__(self, weights: NDArray[np.float64]) -> None:
        self.n_users = weights.shape[0]
        flat = weights.ravel()
        self.inclusive = np.cumsum(flat)
        self.exclusive = self.inclusive - flat
        # Per-user prefix sums with a leading zero: mass of days [s, e] is prefix[u, e + 1] - prefix[u, s].
        self.prefix = np.zeros((self.n_users, N_DAYS + 1))
        np.cumsum(weights, axis=1, out=self.prefix[:, 1:])

    def overlap(self, users: NDArray[np.int64], start: NDArray[np.int64], end: NDArray[np.int64]) -> NDArray:
        """Share of each user's activity inside each video's window, shape (len(users), len(start))."""
        pre = self.prefix[users]
        return (pre[:, end + 1] - pre[:, start]) / np.maximum(pre[:, -1:], 1e-12)

    def draw(
        self, rng: np.random.Generator, users: NDArray[np.int64], start: NDArray[np.int64], end: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """One day per row, by the user's day weights restricted to [start, end].

        Where the user has no active day in the window, a uniform day of the window is used.
        """
        base = users * N_DAYS
        lo = self.exclusive[base + start]
        hi = self.inclusive[base + end]
        u = rng.random(len(users))
        flat = np.searchsorted(self.inclusive, lo + u * (hi - lo), side="right")
        day = np.clip(flat - base, start, end)
        empty = hi <= lo
        day[empty] = start[empty] + np.floor(u[empty] * (end[empty] - start[empty] + 1)).astype(np.int64)
        return day


def event_times(rng: np.random.Generator, day: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Unix time in ms of views on the given day indices, and their ``date`` labels (yyyymmdd).

    Returns
    -------
    ts_ms : ndarray of int64
    date : ndarray of int64
    """
    n = len(day)
    hour = np.searchsorted(_HOUR_CDF, rng.random(n), side="right")
    ms_of_day = hour * _MS_PER_HOUR + rng.integers(0, _MS_PER_HOUR, n)
    ts_ms = (FIRST_DAY_EPOCH * 1000 + day * _MS_PER_DAY + ms_of_day).astype(np.int64)
    return ts_ms, date_labels(rng, ts_ms)


def date_labels(rng: np.random.Generator, ts_ms: NDArray[np.int64]) -> NDArray[np.int64]:
    """``date`` of each view: its local date, except late-partitioned views just after midnight."""
    since = ts_ms - FIRST_DAY_EPOCH * 1000
    day = since // _MS_PER_DAY
    late = (since % _MS_PER_DAY < _MS_PER_HOUR) & (day > 0) & (rng.random(len(ts_ms)) < LATE_PARTITION_P)
    return DATE_LABELS[day - late]
