"""Recommenders behind one contract: baselines, the seed preset and the two-tower default."""

from reelrec.models._base import Recommender
from reelrec.models._registry import (
    BASELINES,
    DEFAULT_MODEL,
    available_models,
    create_model,
    model_class,
)

__all__ = [
    "BASELINES",
    "DEFAULT_MODEL",
    "Recommender",
    "available_models",
    "create_model",
    "model_class",
]
