"""What a benchmark runs: model entries with their hyperparameters, the protocol names, checks."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from reelrec.models import BASELINES, DEFAULT_MODEL, Recommender, model_class

Protocol = Literal["auto", "kuairec", "holdout", "temporal"]
PROTOCOLS: tuple[str, ...] = ("auto", "kuairec", "holdout", "temporal")


def default_models() -> list[str]:
    """Every baseline, the seed preset and the default model, in that order."""
    return list(dict.fromkeys([*BASELINES, "notebook", DEFAULT_MODEL]))


@dataclass
class ModelEntry:
    """A model to benchmark: display label, class and hyperparameters (seed added per run)."""

    label: str
    cls: type[Recommender]
    params: dict[str, Any]
    #: Hyperparameters the caller fixed; a fixed ``seed`` is not replaced by the bench seed.
    fixed: frozenset[str] = frozenset()

    def build(self, seed: int, overrides: Mapping[str, Any] | None = None) -> Recommender:
        """The model for one bench seed; ``overrides`` (tuned values) replace the entry's parameters."""
        params = {**self.params, **(overrides or {})}
        accepted = inspect.signature(self.cls.__init__).parameters
        if "seed" in accepted and "seed" not in self.fixed:
            params["seed"] = seed
        if "progress" in accepted:
            params["progress"] = False  # the bench's own bar is live; a second one would garble it
        try:
            return self.cls(**params)
        except TypeError as exc:
            raise TypeError(f"bad hyperparameters for model {self.label!r}: {exc}") from None


def entries_for(
    models: Sequence[str | Recommender] | None,
    fast: bool,
    params: Mapping[str, Mapping[str, Any]] | None,
) -> list[ModelEntry]:
    specs: list[str | Recommender] = list(default_models() if models is None else models)
    if not specs:
        raise ValueError("models is empty; name at least one model (see `reelrec models list`)")
    params = dict(params or {})
    out: list[ModelEntry] = []
    seen: dict[str, int] = {}
    for spec in specs:
        if isinstance(spec, str):
            cls = model_class(spec)
            base = dict(cls.fast_params()) if fast else {}
            label = spec
        elif isinstance(spec, Recommender):
            cls = type(spec)
            base = spec.get_params()
            label = spec.name
        else:
            raise TypeError(f"models entries must be model names or Recommender instances, got {type(spec).__name__}")
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label}-{seen[label]}"
        user = dict(params.get(label, params.get(cls.name, {})))
        # A seed given in `params` is kept; otherwise each bench seed seeds the model.
        out.append(ModelEntry(label, cls, {**base, **user}, frozenset(user)))
    unknown = set(params) - {e.label for e in out} - {e.cls.name for e in out}
    if unknown:
        raise KeyError(f"params given for models not in the bench: {sorted(unknown)}")
    return out


def check_ks(ks: Sequence[int], k: int | None) -> tuple[tuple[int, ...], int]:
    try:
        ks_t = tuple(sorted({int(v) for v in ks}))
    except (TypeError, ValueError):
        raise ValueError(f"ks={ks!r}, must be integers >= 1") from None
    if not ks_t or ks_t[0] < 1:
        raise ValueError(f"ks={tuple(ks)}, give at least one cut-off, each >= 1")
    table_k = k if k is not None else (10 if 10 in ks_t else ks_t[-1])
    if table_k not in ks_t:
        raise ValueError(f"k={table_k} is not one of the cut-offs ks={ks_t}")
    return ks_t, table_k


def check_seeds(seeds: int | Sequence[int]) -> list[int]:
    if isinstance(seeds, int | np.integer):
        if seeds < 1:
            raise ValueError(f"seeds={seeds}, must be >= 1 (the number of repetitions)")
        return list(range(int(seeds)))
    out = [int(s) for s in seeds]
    if not out or len(set(out)) != len(out):
        raise ValueError(f"seeds={list(seeds)!r}, must be a non-empty list of distinct integers")
    return out
