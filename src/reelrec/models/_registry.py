"""Model registry: names used by the CLI, configs and artifacts, resolved lazily to classes."""

from __future__ import annotations

import importlib
from typing import Any

from reelrec.models._base import Recommender

_BUILTIN: dict[str, str] = {
    "popularity": "reelrec.models._popularity:Popularity",
    "item-mean": "reelrec.models._item_mean:ItemMean",
    "mf": "reelrec.models._mf:BiasedMF",
    "ease": "reelrec.models._ease:EASE",
    "itemknn": "reelrec.models._itemknn:ItemKNN",
    "ials": "reelrec.models._ials:ImplicitALS",
    "bpr": "reelrec.models._bpr:BPR",
    "notebook": "reelrec.models._seed:SeedTwoTower",
    "two-tower": "reelrec.models._two_tower:TwoTower",
    "hybrid": "reelrec.models._hybrid:Hybrid",
}
#: Former names, still accepted everywhere a model name is (artifacts saved under them load):
#: the notebook preset was first called ``seed``, which read like the ``seed`` argument.
ALIASES: dict[str, str] = {"seed": "notebook"}

#: The model ``reelrec train`` fits when no ``--model`` is given: closed-form parts whose penalties and
#: blend are chosen on validation inside ``fit`` (docs/models.md, "Choosing the default").
DEFAULT_MODEL = "hybrid"
#: The default when training out of core (``--stream``, shard stores) or under ``torchrun``: the one
#: model that streams its pairs and trains data-parallel.
SCALE_OUT_MODEL = "two-tower"
#: Non-neural reference models shown beside every evaluation.
BASELINES: tuple[str, ...] = ("popularity", "item-mean", "mf", "ease", "itemknn", "ials", "bpr")


def available_models() -> list[str]:
    """Registered model names, in a stable order."""
    return list(_BUILTIN)


def canonical_name(name: str) -> str:
    """The registered name for ``name`` or its alias; ``ValueError`` listing the choices otherwise."""
    name = ALIASES.get(name, name)
    if name not in _BUILTIN:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(_BUILTIN)}")
    return name


def model_class(name: str) -> type[Recommender]:
    """The class registered under ``name`` (or an alias of it); ``ValueError`` listing the choices otherwise."""
    module_name, _, attr = _BUILTIN[canonical_name(name)].partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    return cls


def create_model(name: str, **params: Any) -> Recommender:
    """Instantiate a registered model with hyperparameters (unknown names are a ``TypeError``)."""
    cls = model_class(name)
    try:
        return cls(**params)
    except TypeError as exc:
        raise TypeError(f"bad hyperparameters for model {name!r}: {exc}") from None
