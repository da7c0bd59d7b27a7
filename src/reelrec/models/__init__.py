"""Recommenders behind one contract: baselines, the notebook preset, the two-tower and the hybrid default."""

from reelrec.models._base import Recommender
from reelrec.models._registry import (
    BASELINES,
    DEFAULT_MODEL,
    SCALE_OUT_MODEL,
    available_models,
    canonical_name,
    create_model,
    model_class,
)

__all__ = [
    "BASELINES",
    "DEFAULT_MODEL",
    "SCALE_OUT_MODEL",
    "Recommender",
    "available_models",
    "canonical_name",
    "create_model",
    "model_class",
]
