"""Watch-time figures for models that predict the label: XAUC/XGAUC, watch time in seconds, errors by video length.

Watch ratio is strongly biased by video length (short videos are replayed, long ones abandoned), so a
single MAE hides where a model errs. Views are bucketed by the quintiles of their video's duration
over the test views; the edges depend on the split only, so every model is cut alike.

Stability: provisional.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from reelrec.eval._watch_metrics import xauc, xgauc

if TYPE_CHECKING:
    from reelrec.eval._splits import Split

#: Video-duration buckets: quintiles of the test views' durations.
N_DURATION_BUCKETS = 5
#: The item feature holding a video's length (KuaiRec: milliseconds).
DURATION_FEATURE = "video_duration"


@dataclass(frozen=True)
class Durations:
    """Video length of every test row, and what can be computed from it.

    Attributes
    ----------
    per_row : ndarray of float64, shape (n_test,)
        Duration of each test row's video; ``NaN`` where unknown.
    edges : ndarray of float64, shape (N_DURATION_BUCKETS + 1,)
        Quintile edges over the warm test views with a known duration.
    seconds : bool
        True when durations are KuaiRec milliseconds and the label a watch ratio, so watch time in
        seconds is ``ratio * duration / 1000``.
    """

    per_row: NDArray[np.float64]
    edges: NDArray[np.float64]
    seconds: bool


def split_durations(split: Split, rows: NDArray[np.bool_]) -> Durations | None:
    """The split's test durations, or ``None`` when the items have no usable ``video_duration`` feature.

    ``rows`` selects the test rows the edges are taken over (the warm views errors are computed on).
    """
    features = split.train.item_features
    if features is None or features.kinds.get(DURATION_FEATURE) != "numeric":
        return None
    per_item = features.frame[DURATION_FEATURE].cast(float).fill_null(np.nan).to_numpy().astype(np.float64)
    per_item[~(per_item > 0)] = np.nan  # a length of 0 or less is no length
    per_row = per_item[split.test.item]
    known = per_row[rows & np.isfinite(per_row)]
    if len(known) == 0:
        return None
    seconds = split.train.source == "kuairec" and split.train.label_name == "watch_ratio"
    return Durations(per_row, duration_edges(known), seconds)


def duration_edges(duration: ArrayLike, n_buckets: int = N_DURATION_BUCKETS) -> NDArray[np.float64]:
    """Edges at the quantiles ``0, 1/n, ..., 1`` of the durations (``n_buckets + 1`` values, linear interpolation).

    Raises ``ValueError`` for an empty or non-finite input.
    """
    d = np.asarray(duration, dtype=np.float64)
    if d.size == 0 or not np.isfinite(d).all():
        raise ValueError("duration must be a non-empty array of finite video lengths")
    return np.quantile(d, np.linspace(0.0, 1.0, n_buckets + 1))


def duration_bucket(duration: ArrayLike, edges: NDArray[np.float64]) -> NDArray[np.int64]:
    """Bucket ``q`` of each duration: ``edges[q] <= d < edges[q + 1]``, the last bucket closed above.

    A view exactly on an inner edge goes to the upper bucket; durations outside the edges go to the
    first or last bucket.
    """
    inner = np.asarray(edges, dtype=np.float64)[1:-1]
    return np.searchsorted(inner, np.asarray(duration, dtype=np.float64), side="right").astype(np.int64)


def errors_by_bucket(
    predicted: NDArray[np.float64], actual: NDArray[np.float64], bucket: NDArray[np.int64], n_buckets: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """MAE and RMSE per bucket, ``NaN`` for an empty bucket (inputs already checked, aligned, finite)."""
    diff = predicted - actual
    counts = np.bincount(bucket, minlength=n_buckets)
    safe = np.maximum(counts, 1)
    mae_q = np.bincount(bucket, weights=np.abs(diff), minlength=n_buckets) / safe
    rmse_q = np.sqrt(np.bincount(bucket, weights=diff**2, minlength=n_buckets) / safe)
    return np.where(counts > 0, mae_q, np.nan), np.where(counts > 0, rmse_q, np.nan)


def watch_metrics(
    predicted: NDArray[np.float32],
    actual: NDArray[np.float32],
    users: NDArray[np.int64],
    n_users: int,
    duration: NDArray[np.float64] | None = None,
    durations: Durations | None = None,
) -> tuple[dict[str, float], dict[str, NDArray[np.float32]]]:
    """XAUC/XGAUC on the label, errors by duration bucket and XAUC/XGAUC on watch time where known.

    Parameters
    ----------
    predicted, actual : ndarray of float32, shape (n,)
        Finite predictions and labels of the warm test views.
    users : ndarray of int64, shape (n,)
        Row position of each view's user in the evaluation's user list.
    n_users : int
        Length of the per-user arrays.
    duration : ndarray of float64, shape (n,), optional
        Video length of each view (``NaN`` unknown), with ``durations`` describing the split.

    Returns
    -------
    metrics : dict
        ``xauc``, ``xgauc``; with durations ``mae_dur_q1..5``, ``rmse_dur_q1..5``; with KuaiRec
        durations ``xauc_time``, ``xgauc_time`` (watch time in seconds). Undefined figures are ``NaN``.
    per_user : dict
        ``xgauc`` (and ``xgauc_time``) per user, ``NaN`` where undefined.
    """
    pred = predicted.astype(np.float64)
    act = actual.astype(np.float64)
    metrics: dict[str, float] = {"xauc": xauc(pred, act)}
    grouped = xgauc(pred, act, users, n_users)
    metrics["xgauc"] = grouped.mean
    per_user = {"xgauc": grouped.per_user}
    if duration is None or durations is None:
        return metrics, per_user
    known = np.isfinite(duration)
    n_buckets = len(durations.edges) - 1
    bucket = duration_bucket(duration[known], durations.edges)
    mae_q, rmse_q = errors_by_bucket(pred[known], act[known], bucket, n_buckets)
    for q in range(n_buckets):
        metrics[f"mae_dur_q{q + 1}"] = float(mae_q[q])
        metrics[f"rmse_dur_q{q + 1}"] = float(rmse_q[q])
    if durations.seconds and known.any():
        # KuaiRec's watch_ratio is play_duration / video_duration, so this is the play time in seconds
        # (capped where the loader clipped the ratio).
        seconds = duration[known] / 1000.0
        metrics["xauc_time"] = xauc(pred[known] * seconds, act[known] * seconds)
        timed = xgauc(pred[known] * seconds, act[known] * seconds, users[known], n_users)
        metrics["xgauc_time"] = timed.mean
        per_user["xgauc_time"] = timed.per_user
    return metrics, per_user
