"""Turn one model's evaluation into benchmark rows: run metrics, per-user rows, predictions, history."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from reelrec.models import Recommender

if TYPE_CHECKING:
    from reelrec.eval import EvalResult, Split

#: Share of the candidate catalogue counted as "the most popular videos" for popularity bias.
TOP_FRACTION = 0.01


def top_items(split: Split) -> tuple[NDArray[np.bool_], float, int]:
    """Mask of the ``TOP_FRACTION`` most-viewed catalogue videos, their share of training views, and how many."""
    train = split.train
    catalogue = split.catalogue()
    seen = train.interactions.to_csr(train.n_users, train.n_items)
    viewers = np.asarray(seen.sum(axis=0)).ravel()[catalogue]
    n_top = max(1, math.ceil(TOP_FRACTION * len(catalogue)))
    order = np.argsort(-viewers, kind="stable")[:n_top]
    top = np.zeros(train.n_items, bool)
    top[catalogue[order]] = True
    total = float(viewers.sum())
    share = float(viewers[order].sum() / total) if total > 0 else float("nan")
    return top, share, n_top


def _pop_share(recs: NDArray[np.int32], top: NDArray[np.bool_], ks: Sequence[int]) -> dict[str, float]:
    out = {}
    for k in ks:
        block = recs[:, :k]
        shown = block[block >= 0]
        out[f"pop_share@{k}"] = float(top[shown].mean()) if len(shown) else float("nan")
    return out


def collect_run(
    model: Recommender,
    split: Split,
    result: EvalResult,
    *,
    label: str,
    seed: int,
    ks: Sequence[int],
    max_prediction_rows: int = 20_000,
    top: NDArray[np.bool_] | None = None,
) -> tuple[dict[str, Any], pl.DataFrame, pl.DataFrame]:
    """Turn one evaluation into a runs row, per-user rows and (regressing models) prediction rows.

    Parameters
    ----------
    model : Recommender
        Fitted on ``split.train`` and evaluated as ``result``.
    split : reelrec.eval.Split
    result : reelrec.eval.EvalResult
    max_prediction_rows : int
        Test pairs kept for the predicted-vs-true plot (a seeded sample; MAE/RMSE use every pair).
    top : ndarray of bool, shape (n_items,), optional
        The most-viewed videos (from :func:`top_items`); computed from the split when omitted.

    Returns
    -------
    run : dict
        ``model``, ``seed``, every metric, ``pop_share@K``, counts, recommend timings and the
        video-duration quintile edges of the split (``duration_edges``, empty without durations).
    per_user : polars.DataFrame
        ``model, seed, user, user_id, cold, n_train`` and one float32 column per per-user metric.
    predictions : polars.DataFrame
        ``model, seed, user, item, predicted, true`` (plus ``expected`` with planted truth); empty
        for ranking-only models.
    """
    if top is None:
        top, _, _ = top_items(split)
    run: dict[str, Any] = {"model": label, "seed": seed}
    run.update({k: float(v) for k, v in result.metrics.items()})
    run.update(_pop_share(result.recommendations[~result.cold], top, ks))
    run["recommend_seconds"] = float(result.recommend_seconds)
    run["predict_seconds"] = float(result.predict_seconds)
    run["n_users"] = int(result.n_scored)
    run["n_cold_users"] = int(result.n_cold_scored)
    run["duration_edges"] = [float(e) for e in result.duration_edges]

    train = split.train
    n_train = np.bincount(train.interactions.user, minlength=train.n_users).astype(np.int32)
    users = np.asarray(result.users, dtype=np.int32)
    cols: dict[str, Any] = {
        "model": pl.Series([label] * len(users), dtype=pl.String),
        "seed": pl.Series([seed] * len(users), dtype=pl.Int32),
        "user": users,
        "user_id": train.users.raw(users).astype(str),
        "cold": np.asarray(result.cold, dtype=bool),
        "n_train": n_train[users],
    }
    for name, values in result.per_user.items():
        cols[name] = np.asarray(values, dtype=np.float32)
    per_user = pl.DataFrame(cols)

    predictions = pl.DataFrame()
    if model.regresses:
        predictions = _prediction_sample(model, split, label, seed, max_prediction_rows)
    return run, per_user, predictions


def _prediction_sample(model: Recommender, split: Split, label: str, seed: int, limit: int) -> pl.DataFrame:
    test = split.test
    warm = ~np.isin(test.user, split.cold_users)
    rows = np.flatnonzero(warm)
    if len(rows) > limit:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=limit, replace=False))
    pred = model.predict_indices(test.user[rows], test.item[rows])
    frame = {
        "model": pl.Series([label] * len(rows), dtype=pl.String),
        "seed": pl.Series([seed] * len(rows), dtype=pl.Int32),
        "user": test.user[rows],
        "item": test.item[rows],
        "predicted": pred.astype(np.float32),
        "true": test.label[rows].astype(np.float32),
    }
    if split.truth is not None:
        frame["expected"] = np.asarray(split.truth, dtype=np.float32)[rows]
    return pl.DataFrame(frame).filter(pl.col("predicted").is_finite())


def history_of(model: Recommender) -> list[dict[str, Any]]:
    hist = getattr(model, "history_", None)
    if not isinstance(hist, list):
        return []
    out = []
    for epoch in hist:
        if isinstance(epoch, Mapping):
            out.append({str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in epoch.items()})
    return out
