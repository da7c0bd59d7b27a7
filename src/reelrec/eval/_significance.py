"""Paired significance tests between two models' per-user metrics on the same split."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from reelrec.eval._runner import EvalResult


@dataclass(frozen=True)
class PairedTest:
    """Outcome of :func:`paired_test`: ``b - a`` on the users both models are defined for.

    Attributes
    ----------
    metric : str
        The per-user metric compared (e.g. ``"ndcg@10"``).
    n : int
        Users in the comparison.
    mean_a, mean_b, mean_diff : float
        Means over those users and the mean of the per-user difference ``b - a``.
    ci_low, ci_high : float
        95 % t-interval of ``mean_diff``.
    p_value : float
        Two-sided p-value of ``method``.
    method : str
        ``"t"`` (paired t-test) or ``"wilcoxon"`` (signed-rank test).
    """

    metric: str
    n: int
    mean_a: float
    mean_b: float
    mean_diff: float
    ci_low: float
    ci_high: float
    p_value: float
    method: str


def paired_test(
    a: EvalResult,
    b: EvalResult,
    metric: str = "ndcg@10",
    method: Literal["t", "wilcoxon"] = "t",
    cold: bool = False,
) -> PairedTest:
    """Is model ``b`` better than ``a`` per user, beyond noise? Users are the paired unit.

    Parameters
    ----------
    a, b : EvalResult
        Results on the same split (their ``users`` must match).
    metric : str
        A key of ``per_user`` (no ``cold_`` prefix).
    method : {"t", "wilcoxon"}
        Paired t-test, or the Wilcoxon signed-rank test for skewed per-user differences.
    cold : bool
        Compare the cold users instead of the warm ones.
    """
    if method not in ("t", "wilcoxon"):
        raise ValueError(f"method={method!r}, must be 't' or 'wilcoxon'")
    for name, r in (("a", a), ("b", b)):
        if metric not in r.per_user:
            raise KeyError(f"result {name} ({r.model}) has no per-user {metric!r}; available: {sorted(r.per_user)}")
    if not (np.array_equal(a.users, b.users) and np.array_equal(a.cold, b.cold)):
        raise ValueError("the two results cover different users; evaluate both on the same split")
    rows = a.cold if cold else ~a.cold
    x = a.per_user[metric][rows].astype(np.float64)
    y = b.per_user[metric][rows].astype(np.float64)
    both = ~np.isnan(x) & ~np.isnan(y)
    x, y = x[both], y[both]
    n = len(x)
    if n < 2:
        raise ValueError(f"{n} users have {metric!r} for both models; a paired test needs at least 2")
    diff = y - x
    sd = diff.std(ddof=1)
    half = float(stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n))
    if np.all(diff == 0):
        p = 1.0
    elif method == "t":
        p = float(stats.ttest_rel(y, x).pvalue) if sd > 0 else 0.0
    else:
        p = float(stats.wilcoxon(y, x).pvalue)
    mean_diff = float(diff.mean())
    return PairedTest(
        metric, n, float(x.mean()), float(y.mean()), mean_diff, mean_diff - half, mean_diff + half, p, method
    )
