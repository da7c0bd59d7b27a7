"""Seeded random search: one search method for every model, scored on a validation split."""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from reelrec.errors import ReelrecError
from reelrec.eval._runner import evaluate
from reelrec.eval._splits import Split
from reelrec.models import Recommender, model_class
from reelrec.models._space import Distribution


@dataclass
class Trial:
    """One configuration tried: the searched values, its validation score and its cost."""

    index: int
    params: dict[str, Any]
    score: float
    seconds: float
    error: str | None = None


@dataclass
class TuneResult:
    """What tuning chose and why: every trial, the winner and the time it all took.

    Attributes
    ----------
    model : str
        Registry name of the tuned model.
    metric : str
        The objective, e.g. ``"ndcg@10"``, on the validation split.
    trials : list of Trial
        In the order tried; trial 0 is the model's own (given) parameters.
    chosen : dict
        The searched values of the best trial (empty when nothing was searched).
    best_score : float
        Its validation score (NaN without trials).
    seconds : float
        Wall time of the whole search.
    """

    model: str
    metric: str
    trials: list[Trial]
    chosen: dict[str, Any]
    best_score: float
    seconds: float
    space: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly record, stored with artifacts and benchmarks."""
        return {
            "model": self.model,
            "metric": self.metric,
            "n_trials": len(self.trials),
            "chosen": dict(self.chosen),
            "best_score": None if math.isnan(self.best_score) else self.best_score,
            "seconds": self.seconds,
            "space": dict(self.space),
            "trials": [
                {"index": t.index, "params": t.params, "score": None if math.isnan(t.score) else t.score,
                 "seconds": t.seconds, **({"error": t.error} if t.error else {})}
                for t in self.trials
            ],
        }


def sample_configs(space: Mapping[str, Distribution], n_trials: int, seed: int) -> list[dict[str, Any]]:
    """``n_trials`` configurations: first the defaults (``{}``), then seeded random draws.

    An empty space gives no trial at all: there is nothing to choose. Names are drawn in sorted
    order so a space's declaration order does not change the draws.
    """
    if int(n_trials) != n_trials or n_trials < 0:
        raise ValueError(f"n_trials={n_trials}, must be an integer >= 0")
    if not space or n_trials == 0:
        return []
    rng = np.random.default_rng([seed, 0x7E5E])
    configs: list[dict[str, Any]] = [{}]
    while len(configs) < n_trials:
        configs.append({name: space[name].sample(rng) for name in sorted(space)})
    return configs


def build_model(
    cls: type[Recommender], params: Mapping[str, Any], seed: int, time_budget_s: float | None = None
) -> Recommender:
    """``cls(**params)`` with the seed (unless fixed), progress bars off and the time budget where accepted."""
    accepted = inspect.signature(cls.__init__).parameters
    full = dict(params)
    if "seed" in accepted:
        full.setdefault("seed", seed)
    if "progress" in accepted:
        full["progress"] = False
    if time_budget_s is not None and "time_budget_s" in accepted:
        full["time_budget_s"] = time_budget_s
    try:
        return cls(**full)
    except TypeError as exc:
        raise TypeError(f"bad hyperparameters for model {cls.name!r}: {exc}") from None


def tune(
    model: str | type[Recommender],
    split: Split,
    n_trials: int,
    *,
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    metric: str = "ndcg@10",
    threshold: float | None = None,
    trial_budget_s: float | None = None,
    on_trial: Callable[[Trial], None] | None = None,
) -> TuneResult:
    """Random-search a model's ``search_space()`` on an already carved validation split.

    Parameters
    ----------
    model : str or Recommender subclass
        Registry name or class.
    split : Split
        The *validation* split (see :meth:`reelrec.eval.EvalProtocol.validation_split`); never a test split.
    n_trials : int
        Configurations to fit and score, the given parameters first; models without a search space
        get none.
    params : mapping, optional
        Fixed hyperparameters every trial starts from (a searched name overrides them).
    seed : int
        Seed of the draws and of every trial's model (unless ``params`` fixes ``seed``).
    metric : str
        An :func:`reelrec.eval.evaluate` metric name with its cut-off, e.g. ``"ndcg@10"`` or
        ``"recall@20"``; ``mae`` / ``rmse`` are minimised.
    threshold : float, optional
        Relevance threshold (default by label, as in evaluation).
    trial_budget_s : float, optional
        Wall-clock budget per trial, passed to models that take ``time_budget_s`` (the neural ones).
    on_trial : callable, optional
        Called after each trial (progress display).

    Returns
    -------
    TuneResult
    """
    cls = model_class(model) if isinstance(model, str) else model
    family, _, cut = metric.partition("@")
    if not family or (cut and not cut.isdigit()):
        raise ValueError(f"metric={metric!r}, expected a name with a cut-off such as 'ndcg@10', or 'mae'")
    ks = (int(cut),) if cut else (10,)
    if trial_budget_s is not None and not (trial_budget_s > 0):
        raise ValueError(f"trial_budget_s={trial_budget_s}, must be > 0 seconds")
    space = cls.search_space()
    base = dict(params or {})
    lower = family in ("mae", "rmse")
    started = time.perf_counter()
    trials: list[Trial] = []
    for index, config in enumerate(sample_configs(space, n_trials, seed)):
        t0 = time.perf_counter()
        try:
            torch.manual_seed(seed)  # for models that draw from torch's global generator
            fitted = build_model(cls, {**base, **config}, seed, trial_budget_s).fit(split.train)
            score = float(evaluate(fitted, split, ks=ks, threshold=threshold).metrics.get(metric, math.nan))
            error = None if math.isfinite(score) else f"{metric} is not defined for {cls.name} on this split"
        except (ValueError, TypeError, ReelrecError, RuntimeError) as exc:
            score, error = math.nan, f"{type(exc).__name__}: {exc}"
        trial = Trial(index, dict(config), score, time.perf_counter() - t0, error)
        trials.append(trial)
        if on_trial is not None:
            on_trial(trial)
    scored = [t for t in trials if math.isfinite(t.score)]
    if trials and not scored:
        raise ReelrecError(f"every tuning trial of {cls.name} failed; first: {trials[0].error}")
    best = (min if lower else max)(scored, key=lambda t: t.score) if scored else None
    return TuneResult(
        model=cls.name,
        metric=metric,
        trials=trials,
        chosen=dict(best.params) if best else {},
        best_score=best.score if best else math.nan,
        seconds=time.perf_counter() - started,
        space={name: dist.describe() for name, dist in space.items()},
    )
