"""Paired significance tests between two models scored on the same users: one implementation for
evaluation results (:func:`paired_test`) and for benchmark tables (:func:`paired_test_scores`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from reelrec.eval._runner import EvalResult


@dataclass(frozen=True)
class PairedTest:
    """Result of comparing model ``a`` with model ``b`` on per-user scores of one metric.

    The unit of pairing is the user: both models were scored on the same users of the same split,
    so the per-user difference removes the (large) between-user variance that an unpaired test
    would have to fight.

    Attributes
    ----------
    metric : str
        The metric compared, e.g. ``"ndcg@10"``.
    a, b : str
        Model names; ``mean_diff = mean_a - mean_b``.
    n : int
        Number of paired users.
    t_statistic : float
        Paired t statistic (Student's t with ``n - 1`` degrees of freedom).
    p_value : float
        Two-sided p-value of ``method``: the paired t-test, or the Wilcoxon signed-rank test.
    ci_low, ci_high : float
        Percentile bootstrap interval of ``mean_diff`` over users (``level`` coverage).
    p_bootstrap : float
        Two-sided bootstrap p-value: how often a resampled, null-centred mean difference is at least
        as extreme as the observed one.
    method : str
        ``"t"`` or ``"wilcoxon"``: the test behind ``p_value``.
    """

    metric: str
    a: str
    b: str
    n: int
    mean_a: float
    mean_b: float
    mean_diff: float
    t_statistic: float
    p_value: float
    ci_low: float
    ci_high: float
    p_bootstrap: float
    level: float
    n_boot: int
    method: str = "t"

    def significant(self, alpha: float = 0.05) -> bool:
        """Whether both the t-test and the bootstrap reject equality at ``alpha``."""
        return self.p_value < alpha and self.p_bootstrap < alpha

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["significant_0.05"] = self.significant(0.05)
        return out

    def sentence(self) -> str:
        """One human-readable line for tables and reports."""
        verdict = "significant" if self.significant() else "not significant"
        pct = round(100 * self.level)
        return (
            f"{self.a} vs {self.b} on {self.metric}: difference {self.mean_diff:+.4f} "
            f"({pct}% bootstrap CI [{self.ci_low:+.4f}, {self.ci_high:+.4f}]) over {self.n} users; "
            f"{self._test()}, p = {_fmt_p(self.p_value)}; "
            f"bootstrap p {self._boot_p()}: {verdict} at 0.05"
        )

    def _test(self) -> str:
        return f"paired t = {self.t_statistic:.3f}" if self.method == "t" else "Wilcoxon signed-rank"

    def _boot_p(self) -> str:
        # With no resample as extreme as the observation, the bootstrap can only bound p.
        floor = 1.0 / (1.0 + self.n_boot)
        if self.p_bootstrap <= floor * (1 + 1e-9):
            return f"< {_fmt_p(1.0 / self.n_boot)}"
        return f"= {_fmt_p(self.p_bootstrap)}"


def _fmt_p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def _as_pair(a: ArrayLike, b: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"paired scores must be 1-D arrays of equal length, got shapes {x.shape} and {y.shape}")
    if len(x) < 2:
        raise ValueError(f"a paired test needs at least 2 users, got {len(x)}")
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        raise ValueError(f"paired scores contain {int(bad.sum())} non-finite values (first at position "
                         f"{int(np.flatnonzero(bad)[0])}); drop unscored users before testing")
    return x, y


def paired_t_test(a: ArrayLike, b: ArrayLike) -> tuple[float, float]:
    """Two-sided paired t-test of ``mean(a - b) == 0``.

    Parameters
    ----------
    a, b : array-like of float, shape (n,)
        Per-user scores of two models on the same users, aligned.

    Returns
    -------
    t_statistic, p_value : float
        When every difference is identical (up to rounding) the variance is zero: ``(0, 1)`` if the
        differences are all zero, ``(±inf, 0)`` otherwise (scipy returns NaN or a rounding-noise
        statistic there, which helps nobody).
    """
    x, y = _as_pair(a, b)
    d = x - y
    n = len(d)
    mean = float(d.mean())
    sd = float(d.std(ddof=1))
    # Differences equal up to rounding (a + 0.1 - a) have a variance of pure float noise.
    if sd <= 1e-12 * float(np.abs(d).max()) or not np.isfinite(sd):
        return (0.0, 1.0) if mean == 0.0 else (float(np.copysign(np.inf, mean)), 0.0)
    t = mean / (sd / np.sqrt(n))
    p = float(2.0 * stats.t.sf(abs(t), df=n - 1))
    return float(t), min(1.0, p)


def bootstrap_mean_diff(
    a: ArrayLike,
    b: ArrayLike,
    *,
    n_boot: int = 10_000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Percentile bootstrap interval and two-sided p-value for ``mean(a - b)``, resampling users.

    Returns
    -------
    ci_low, ci_high, p_value : float
        The p-value is ``(1 + #{|m* - m| >= |m|}) / (1 + n_boot)``, where ``m*`` are the resampled
        means: the null distribution is the bootstrap distribution shifted to mean zero.
    """
    if n_boot < 100:
        raise ValueError(f"n_boot={n_boot}, must be >= 100 for a usable interval")
    if not 0.5 <= level < 1.0:
        raise ValueError(f"level={level}, must be in [0.5, 1)")
    x, y = _as_pair(a, b)
    d = x - y
    n = len(d)
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot, np.float64)
    # Chunks keep the index matrix small (n_boot x n would be ~100 MB for KuaiRec's 1,411 users).
    chunk = max(1, min(n_boot, 2_000_000 // n))
    for lo in range(0, n_boot, chunk):
        hi = min(n_boot, lo + chunk)
        idx = rng.integers(0, n, size=(hi - lo, n))
        means[lo:hi] = d[idx].mean(axis=1)
    observed = float(d.mean())
    alpha = 1.0 - level
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    extreme = np.abs(means - observed) >= abs(observed) - 1e-15
    p = (1.0 + float(extreme.sum())) / (1.0 + n_boot)
    return float(low), float(high), min(1.0, p)


def paired_test_scores(
    a: ArrayLike,
    b: ArrayLike,
    *,
    metric: str,
    names: tuple[str, str] = ("a", "b"),
    n_boot: int = 10_000,
    level: float = 0.95,
    seed: int = 0,
    method: Literal["t", "wilcoxon"] = "t",
) -> PairedTest:
    """Paired t-test (or Wilcoxon signed-rank test) plus a user bootstrap of the mean difference ``a - b``.

    Parameters
    ----------
    a, b : array-like of float, shape (n,)
        Per-user scores of the two models, aligned on the same users.
    metric : str
        Name of the metric, kept in the result.
    names : (str, str)
        Model names of ``a`` and ``b``.
    method : {"t", "wilcoxon"}
        The test behind ``p_value``; Wilcoxon suits skewed per-user differences.
    """
    if method not in ("t", "wilcoxon"):
        raise ValueError(f"method={method!r}, must be 't' or 'wilcoxon'")
    x, y = _as_pair(a, b)
    t, p = paired_t_test(x, y)
    if method == "wilcoxon":
        p = 1.0 if np.all(x == y) else float(stats.wilcoxon(x, y).pvalue)
    low, high, p_boot = bootstrap_mean_diff(x, y, n_boot=n_boot, level=level, seed=seed)
    return PairedTest(
        metric=metric,
        a=names[0],
        b=names[1],
        n=len(x),
        mean_a=float(x.mean()),
        mean_b=float(y.mean()),
        mean_diff=float((x - y).mean()),
        t_statistic=t,
        p_value=p,
        ci_low=low,
        ci_high=high,
        p_bootstrap=p_boot,
        level=level,
        n_boot=n_boot,
        method=method,
    )


def paired_test(
    a: EvalResult,
    b: EvalResult,
    metric: str = "ndcg@10",
    method: Literal["t", "wilcoxon"] = "t",
    cold: bool = False,
) -> PairedTest:
    """Is model ``b`` better than ``a`` per user, beyond noise? Users are the paired unit.

    The result compares ``b`` with ``a`` (its ``a`` is model ``b``), so ``mean_diff`` is ``b - a``
    and a positive ``ci_low`` means ``b`` wins.

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
    if both.sum() < 2:
        raise ValueError(f"{int(both.sum())} users have {metric!r} for both models; a paired test needs at least 2")
    return paired_test_scores(y[both], x[both], metric=metric, names=(b.model, a.model), method=method)
