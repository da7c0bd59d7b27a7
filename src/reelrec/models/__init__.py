"""Recommenders behind one contract: baselines, the notebook preset and the two-tower default."""

from reelrec.models._base import Recommender
from reelrec.models._registry import (
    BASELINES,
    DEFAULT_MODEL,
    available_models,
    canonical_name,
    create_model,
    model_class,
)

__all__ = [
    "BASELINES",
    "DEFAULT_MODEL",
    "Recommender",
    "available_models",
    "canonical_name",
    "create_model",
    "model_class",
]
