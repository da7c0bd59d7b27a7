"""Score a fitted model on a :class:`Split` through the public recommender contract, and compare models.

Stability: stable.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from reelrec.data._dataset import Interactions
from reelrec.errors import DataWarning, NotFittedError
from reelrec.eval._metrics import (
    MetricResult,
    Relevance,
    coverage_at_k,
    graded_ndcg_at_k,
    mae,
    ranking_metrics,
    rmse,
)
from reelrec.eval._splits import Split
from reelrec.eval._watch_eval import Durations, split_durations, watch_metrics
from reelrec.models._base import Recommender

#: ``progress(stage, done, total)``: called after each batch of a stage (``"fit <name>"``, ``"recommend"``...).
ProgressCallback = Callable[[str, int, int], None]

#: Relevance threshold by label name; other labels count any positive value as relevant.
DEFAULT_THRESHOLDS: dict[str, float] = {"watch_ratio": 2.0, "rating": 4.0}
#: Upper clip of graded gains by label name (KuaiRec watch ratios have a long tail past 5).
GAIN_CLIP: dict[str, float] = {"watch_ratio": 5.0}
# Pairs per predict_indices call when computing MAE / RMSE (bounds model-side memory).
_PREDICT_CHUNK = 1 << 20


def default_threshold(label_name: str) -> float | None:
    """The relevance threshold for a label: watch_ratio 2.0, rating 4.0, otherwise ``None`` (any label > 0)."""
    return DEFAULT_THRESHOLDS.get(label_name)


@dataclass
class EvalResult:
    """Metrics of one model on one split.

    Attributes
    ----------
    model : str
        The model's registry name.
    metrics : dict
        Name -> float: ``"ndcg@10"``, ``"precision@10"``, ``"recall@10"``, ``"map@10"``,
        ``"hit_rate@10"``, ``"graded_ndcg@10"``, ``"coverage@10"`` for each k, ``"mae"`` /
        ``"rmse"``, ``"xauc"``, ``"xgauc"`` for regressing models (with a video-duration feature also
        ``"mae_dur_q1..5"``, ``"rmse_dur_q1..5"``, and on KuaiRec ``"xauc_time"``, ``"xgauc_time"``:
        see :func:`reelrec.eval.watch_metrics`), ``"truth_graded_ndcg@k"`` / ``"truth_mae"`` /
        ``"truth_rmse"`` against planted truth, and the same ranking names prefixed ``"cold_"`` for
        cold users. Ranking figures are means over warm users where defined (a user with no
        relevant test item is not scored); MAE/RMSE pool all warm test pairs.
    per_user : dict
        Name (without ``cold_``) -> float32 array aligned with ``users``; ``NaN`` where undefined.
    users : ndarray of int32, shape (n,)
        Evaluated user indices: warm test users ascending, then cold users ascending.
    cold : ndarray of bool, shape (n,)
        True for rows of ``users`` scored from features (``recommend_cold``).
    recommendations : ndarray of int32, shape (n, max(ks))
        What each user was shown, ``-1`` padding. Do not modify.
    n_scored : int
        Warm users with at least one relevant test item.
    n_cold_scored : int
        Cold users with at least one relevant test item.
    recommend_seconds : float
        Wall time spent inside the model's recommend calls.
    predict_seconds : float
        Wall time spent inside ``predict_indices`` (0 for ranking-only models).
    threshold : float or None
        Relevance threshold used (``None``: any label > 0).
    protocol : dict
        The split's protocol name and parameters.
    duration_edges : tuple of float
        Video-duration quintile edges of the ``*_dur_q*`` buckets (empty without durations).
    """

    model: str
    metrics: dict[str, float]
    per_user: dict[str, NDArray[np.float32]]
    users: NDArray[np.int32]
    cold: NDArray[np.bool_]
    recommendations: NDArray[np.int32]
    n_scored: int
    n_cold_scored: int
    recommend_seconds: float
    predict_seconds: float
    threshold: float | None
    protocol: dict[str, Any] = field(default_factory=dict)
    duration_edges: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (no per-user arrays)."""
        return {
            "model": self.model,
            "metrics": dict(self.metrics),
            "n_users": len(self.users),
            "n_scored": self.n_scored,
            "n_cold_scored": self.n_cold_scored,
            "recommend_seconds": self.recommend_seconds,
            "predict_seconds": self.predict_seconds,
            "threshold": self.threshold,
            "protocol": dict(self.protocol),
            "duration_edges": list(self.duration_edges),
        }


@dataclass
class _Targets:
    """What a split asks of every model: who is ranked and what counts, prepared once per split."""

    users: NDArray[np.int32]
    cold: NDArray[np.bool_]
    catalogue: NDArray[np.int32]
    relevance: Relevance
    gains: Relevance
    truth_gains: Relevance | None
    test: Interactions
    test_rows: NDArray[np.int64]
    warm_pairs: NDArray[np.bool_]
    truth: NDArray[np.float32] | None
    threshold: float | None
    durations: Durations | None


def _gain(values: NDArray[np.float32], label_name: str) -> NDArray[np.float32]:
    return np.clip(values, 0.0, GAIN_CLIP.get(label_name, np.inf)).astype(np.float32)


def _aligned_matrices(
    rows: NDArray[np.int64], items: NDArray[np.int32], shape: tuple[int, int], values: list[NDArray[np.float32]]
) -> list[sp.csr_matrix]:
    """One canonical CSR per value array over the same (row, item) cells, built with a single sort.

    Repeat views of one pair merge by their largest value: "relevant if any view is relevant".
    """
    key = rows * shape[1] + items
    presorted = len(key) < 2 or bool(np.all(key[1:] >= key[:-1]))  # KuaiRec blocks come sorted
    order = np.arange(len(key)) if presorted else np.argsort(key, kind="stable")
    key = key[order]
    first = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]])) if len(key) else np.zeros(0, np.intp)
    cells = key[first]
    indptr = np.zeros(shape[0] + 1, np.int64)
    np.cumsum(np.bincount(cells // shape[1], minlength=shape[0]), out=indptr[1:])
    indices = (cells % shape[1]).astype(np.int32)
    merged = len(first) < len(key)
    out = []
    for v in values:
        v = v[order]
        data = np.maximum.reduceat(v, first) if merged and len(v) else v
        out.append(sp.csr_matrix((data.astype(np.float32), indices, indptr), shape=shape))
    return out


def _prepare(split: Split, threshold: float | None) -> _Targets:
    train = split.train
    if len(split.test) == 0:
        raise ValueError("split.test is empty: there is nothing to evaluate")
    bad = ~np.isfinite(split.test.label)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(f"split.test has {int(bad.sum())} rows with a non-finite label (first: test row {first})")
    warm = split.warm_users
    users = np.concatenate([warm, split.cold_users[np.isin(split.cold_users, split.test_users)]]).astype(np.int32)
    cold = np.zeros(len(users), dtype=bool)
    cold[len(warm) :] = True
    position = np.full(train.n_users, -1, np.int64)
    position[users] = np.arange(len(users))
    test = split.test
    rows = position[test.user]
    assert (rows >= 0).all(), "every test user is either warm or cold by construction"
    shape = (len(users), train.n_items)
    label = test.label
    relevant = label >= threshold if threshold is not None else label > 0
    values = [relevant.astype(np.float32), _gain(label, train.label_name)]
    if split.truth is not None:
        values.append(_gain(split.truth, train.label_name))
    matrices = [Relevance(m) for m in _aligned_matrices(rows, test.item, shape, values)]
    relevance, gains = matrices[:2]
    truth_gains = matrices[2] if split.truth is not None else None
    catalogue = split.catalogue()
    if len(catalogue) == 0:
        raise ValueError("the split's catalogue is empty: no item occurs in training")
    warm_pairs = ~cold[rows]
    return _Targets(
        users=users,
        cold=cold,
        catalogue=catalogue,
        relevance=relevance,
        gains=gains,
        truth_gains=truth_gains,
        test=test,
        test_rows=rows,
        warm_pairs=warm_pairs,
        truth=split.truth,
        threshold=threshold,
        durations=split_durations(split, warm_pairs),
    )


def _check_ks(ks: Sequence[int]) -> tuple[int, ...]:
    out = tuple(sorted({int(k) for k in ks}))
    if not out:
        raise ValueError("ks is empty; give at least one cut-off, e.g. ks=(10,)")
    if out[0] < 1 or any(int(k) != k for k in ks):
        raise ValueError(f"ks={tuple(ks)}, every k must be an integer >= 1")
    return out


def _recommend(
    model: Recommender,
    split: Split,
    targets: _Targets,
    kmax: int,
    batch_size: int,
    progress: ProgressCallback | None,
) -> tuple[NDArray[np.int32], float]:
    n = len(targets.users)
    recs = np.full((n, kmax), -1, np.int32)
    n_warm = int((~targets.cold).sum())
    features = split.train.user_features
    if n > n_warm and features is None:
        raise ValueError("the split has cold users but the data set has no user features to score them from")
    seconds = 0.0
    for lo in [*range(0, n_warm, batch_size), *range(n_warm, n, batch_size)]:
        hi = min(n_warm if lo < n_warm else n, lo + batch_size)
        users = targets.users[lo:hi]
        start = time.perf_counter()
        if lo < n_warm:
            # Seen items are always excluded; for the kuairec block they are disjoint anyway.
            items, _ = model.recommend_indices(users, kmax, exclude_seen=True, candidates=targets.catalogue)
        else:
            assert features is not None  # checked above: cold users need user features
            items, _ = model.recommend_cold(features.take(users), kmax, candidates=targets.catalogue)
        seconds += time.perf_counter() - start
        recs[lo:hi] = items
        if progress is not None:
            progress("recommend", hi, n)
    return recs, seconds


def _predict(model: Recommender, targets: _Targets) -> tuple[NDArray[np.float32], NDArray[np.bool_], float]:
    test = targets.test
    idx = np.flatnonzero(targets.warm_pairs)
    pred = np.empty(len(idx), np.float32)
    start = time.perf_counter()
    for lo in range(0, len(idx), _PREDICT_CHUNK):
        sel = idx[lo : lo + _PREDICT_CHUNK]
        pred[lo : lo + len(sel)] = model.predict_indices(test.user[sel], test.item[sel])
    seconds = time.perf_counter() - start
    finite = np.isfinite(pred)
    if not finite.all():
        warnings.warn(
            f"{model.name} returned NaN for {int((~finite).sum())} of {len(pred)} test pairs; "
            "MAE/RMSE use the remaining pairs",
            DataWarning,
            stacklevel=3,
        )
    return pred, finite, seconds


def _errors(
    model: Recommender, targets: _Targets, metrics: dict[str, float], per_user: dict[str, NDArray[np.float32]]
) -> float:
    pred, finite, seconds = _predict(model, targets)
    sel = np.flatnonzero(targets.warm_pairs)[finite]
    pred = pred[finite]
    if len(sel) == 0:
        return seconds
    n = len(targets.users)
    rows = targets.test_rows[sel]
    actual = targets.test.label[sel]
    for name, fn in (("mae", mae), ("rmse", rmse)):
        result = fn(pred, actual, rows, n)
        metrics[name] = result.mean
        per_user[name] = result.per_user
        if targets.truth is not None:
            metrics[f"truth_{name}"] = fn(pred, targets.truth[sel]).mean
    durations = targets.durations
    duration = durations.per_row[sel] if durations is not None else None
    found, found_per_user = watch_metrics(pred, actual, rows, n, duration, durations)
    metrics.update(found)
    per_user.update(found_per_user)
    return seconds


def _ranking(
    recs: NDArray[np.int32], targets: _Targets, ks: tuple[int, ...]
) -> tuple[dict[str, float], dict[str, NDArray[np.float32]]]:
    metrics: dict[str, float] = {}
    per_user: dict[str, NDArray[np.float32]] = {}
    found: dict[str, MetricResult] = ranking_metrics(recs, targets.relevance, ks, gains=targets.gains)
    if targets.truth_gains is not None:
        for k in ks:
            found[f"truth_graded_ndcg@{k}"] = graded_ndcg_at_k(recs, targets.truth_gains, k)
    cold = targets.cold
    for name, result in found.items():
        per_user[name] = result.per_user
        for prefix, rows in (("", ~cold), ("cold_", cold)):
            if not rows.any():
                continue
            values = result.per_user[rows]
            defined = ~np.isnan(values)
            metrics[prefix + name] = float(values[defined].astype(np.float64).mean()) if defined.any() else np.nan
    for k in ks:
        for prefix, rows in (("", ~cold), ("cold_", cold)):
            if rows.any():
                metrics[f"{prefix}coverage@{k}"] = coverage_at_k(recs[rows], k, len(targets.catalogue))
    return metrics, per_user


def _check_model(model: Recommender, split: Split) -> None:
    if not isinstance(model, Recommender):
        raise TypeError(f"model must be a reelrec Recommender, got {type(model).__name__}")
    if not model.is_fitted:
        raise NotFittedError(f"{type(model).__name__} is not fitted; call fit(split.train) first")
    n_users = len(model.users_)
    if model.n_items != split.train.n_items or n_users != split.train.n_users:
        raise ValueError(
            f"{model.name} knows {n_users} users and {model.n_items} items but the split's data set has "
            f"{split.train.n_users} and {split.train.n_items}; fit it on split.train"
        )


def _evaluate(
    model: Recommender,
    split: Split,
    targets: _Targets,
    ks: tuple[int, ...],
    batch_size: int,
    progress: ProgressCallback | None,
) -> EvalResult:
    _check_model(model, split)
    recs, rec_seconds = _recommend(model, split, targets, max(ks), batch_size, progress)
    metrics, per_user = _ranking(recs, targets, ks)
    pred_seconds = _errors(model, targets, metrics, per_user) if model.regresses else 0.0
    has_rel = targets.relevance.n_relevant > 0
    return EvalResult(
        model=model.name,
        metrics=metrics,
        per_user=per_user,
        users=targets.users,
        cold=targets.cold,
        recommendations=recs,
        n_scored=int((has_rel & ~targets.cold).sum()),
        n_cold_scored=int((has_rel & targets.cold).sum()),
        recommend_seconds=rec_seconds,
        predict_seconds=pred_seconds,
        threshold=targets.threshold,
        protocol={"name": split.protocol, **split.params},
        duration_edges=tuple(float(e) for e in targets.durations.edges) if targets.durations is not None else (),
    )


def _resolve_threshold(split: Split, threshold: float | None) -> float | None:
    if threshold is None:
        return default_threshold(split.train.label_name)
    if not np.isfinite(threshold):
        raise ValueError(f"threshold={threshold}, must be a finite number")
    return float(threshold)


def _check_batch(batch_size: int) -> int:
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size={batch_size}, must be an integer >= 1")
    return int(batch_size)


def evaluate(
    model: Recommender,
    split: Split,
    ks: Sequence[int] = (5, 10, 20),
    threshold: float | None = None,
    batch_size: int = 2048,
    progress: ProgressCallback | None = None,
) -> EvalResult:
    """Rank every test user's full catalogue with a model fitted on ``split.train`` and score it.

    Parameters
    ----------
    model : Recommender
        Fitted on ``split.train`` (not checked beyond the item count: fitting on the whole data set
        leaks the test).
    split : Split
        From :func:`holdout_split` or :func:`kuairec_split`.
    ks : sequence of int
        Cut-offs; the model is asked once for ``max(ks)`` items per user.
    threshold : float, optional
        Relevant = test label ``>= threshold``. Default by label: watch_ratio 2.0, rating 4.0,
        otherwise any label ``> 0``.
    batch_size : int
        Users per recommend call (the model batches its own scoring within a call).
    progress : callable, optional
        ``progress(stage, done, total)`` after each batch.

    Returns
    -------
    EvalResult
    """
    ks = _check_ks(ks)
    batch_size = _check_batch(batch_size)
    _check_model(model, split)
    targets = _prepare(split, _resolve_threshold(split, threshold))
    return _evaluate(model, split, targets, ks, batch_size, progress)
