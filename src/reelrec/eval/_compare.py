"""Several models on one split: fit, evaluate with shared test targets, and tabulate with the chosen one marked.

Stability: stable.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from reelrec.errors import NotFittedError
from reelrec.eval._runner import (
    EvalResult,
    ProgressCallback,
    _check_batch,
    _check_ks,
    _evaluate,
    _prepare,
    _resolve_threshold,
)
from reelrec.eval._splits import Split
from reelrec.models._base import Recommender


@dataclass
class ComparisonTable:
    """Several models evaluated on one split, the chosen one marked.

    Attributes
    ----------
    results : dict
        Model label -> :class:`EvalResult`, in the order given.
    fit_seconds : dict
        Model label -> seconds spent in ``fit`` (``None`` when the model arrived fitted).
    chosen : str or None
        Label of the model the comparison is about (baselines are shown beside it).
    """

    results: dict[str, EvalResult]
    fit_seconds: dict[str, float | None]
    chosen: str | None = None

    #: Metrics where lower is better (everything else: higher is better).
    LOWER_IS_BETTER = frozenset({"mae", "rmse", "truth_mae", "truth_rmse"})

    def best(self, metric: str = "ndcg@10") -> str:
        """Label of the model with the best value of ``metric``."""
        values = {name: r.metrics.get(metric, np.nan) for name, r in self.results.items()}
        usable = {n: v for n, v in values.items() if not np.isnan(v)}
        if not usable:
            raise KeyError(f"no model has metric {metric!r}; available: {sorted(self._metric_names())}")
        pick = min if metric in self.LOWER_IS_BETTER else max
        return pick(usable, key=usable.__getitem__)

    def _metric_names(self) -> list[str]:
        names: list[str] = []
        for r in self.results.values():
            names += [m for m in r.metrics if m not in names]
        return names

    def to_rows(self) -> list[dict[str, Any]]:
        """One JSON-friendly dict per model: label, chosen flag, timings and every metric."""
        return [
            {
                "model": name,
                "chosen": name == self.chosen,
                "fit_seconds": self.fit_seconds.get(name),
                "recommend_seconds": r.recommend_seconds,
                **r.metrics,
            }
            for name, r in self.results.items()
        ]

    def to_markdown(self, metrics: Sequence[str] | None = None, digits: int = 4) -> str:
        """A markdown table; the chosen model is marked and the best value of each column is bold.

        Parameters
        ----------
        metrics : sequence of str, optional
            Columns; default: the @10 ranking metrics (or the smallest k), then MAE/RMSE and the
            truth metrics where any model has them.
        digits : int
            Decimals shown.
        """
        names = self._metric_names()
        if metrics is None:
            metrics = _default_columns(names)
        unknown = [m for m in metrics if m not in names]
        if unknown:
            raise KeyError(f"unknown metric columns {unknown}; available: {names}")
        best = {}
        for m in metrics:
            if any(not np.isnan(r.metrics.get(m, np.nan)) for r in self.results.values()):
                best[m] = self.best(m)
        header = ["model", *metrics, "fit s", "recommend s"]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for name, r in self.results.items():
            label = f"**{name}** (chosen)" if name == self.chosen else name
            cells = [label]
            for m in metrics:
                v = r.metrics.get(m)
                text = "–" if v is None or np.isnan(v) else f"{v:.{digits}f}"
                cells.append(f"**{text}**" if best.get(m) == name else text)
            fit = self.fit_seconds.get(name)
            cells += ["–" if fit is None else f"{fit:.1f}", f"{r.recommend_seconds:.2f}"]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def _default_columns(names: list[str]) -> list[str]:
    ks = sorted({int(n.split("@")[1]) for n in names if n.startswith("ndcg@")})
    k = 10 if 10 in ks else ks[0]
    wanted = [f"{m}@{k}" for m in ("ndcg", "recall", "precision", "map", "hit_rate", "graded_ndcg", "coverage")]
    wanted += ["mae", "rmse", f"truth_graded_ndcg@{k}", "truth_rmse", f"cold_ndcg@{k}"]
    return [m for m in wanted if m in names]


def compare(
    models: Mapping[str, Recommender],
    split: Split,
    ks: Sequence[int] = (5, 10, 20),
    threshold: float | None = None,
    fit: bool = True,
    chosen: str | None = None,
    batch_size: int = 2048,
    progress: ProgressCallback | None = None,
) -> ComparisonTable:
    """Fit (unless ``fit=False``) and evaluate each model on the same split.

    Parameters
    ----------
    models : mapping of str to Recommender
        Label -> model, in display order.
    split : Split
        The split every model is judged on; test targets are prepared once and shared.
    fit : bool
        Fit each model on ``split.train`` and time it; with ``False`` every model must already be
        fitted (on ``split.train``).
    chosen : str, optional
        Label to mark as the model under study.
    ks, threshold, batch_size, progress
        As for :func:`evaluate`.

    Returns
    -------
    ComparisonTable
    """
    if not models:
        raise ValueError("models is empty; give at least one model to compare")
    if chosen is not None and chosen not in models:
        raise KeyError(f"chosen={chosen!r} is not one of the models: {list(models)}")
    ks = _check_ks(ks)
    batch_size = _check_batch(batch_size)
    for name, model in models.items():
        if not isinstance(model, Recommender):
            raise TypeError(f"models[{name!r}] must be a reelrec Recommender, got {type(model).__name__}")
        if not fit and not model.is_fitted:
            raise NotFittedError(f"models[{name!r}] is not fitted and fit=False")
    targets = _prepare(split, _resolve_threshold(split, threshold))
    results: dict[str, EvalResult] = {}
    fit_seconds: dict[str, float | None] = {}
    for i, (name, model) in enumerate(models.items()):
        if fit:
            start = time.perf_counter()
            model.fit(split.train)
            fit_seconds[name] = time.perf_counter() - start
        else:
            fit_seconds[name] = None
        results[name] = _evaluate(model, split, targets, ks, batch_size, progress)
        if progress is not None:
            progress("models", i + 1, len(models))
    return ComparisonTable(results, fit_seconds, chosen)
