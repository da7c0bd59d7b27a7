"""Tuning: every model's search space searched alike, on validation data carved from training data."""

from reelrec.models._space import Choice, Distribution, IntRange, LogUniform, Uniform
from reelrec.tune._search import Trial, TuneResult, build_model, sample_configs, tune

__all__ = [
    "Choice",
    "Distribution",
    "IntRange",
    "LogUniform",
    "Trial",
    "TuneResult",
    "Uniform",
    "build_model",
    "sample_configs",
    "tune",
]
