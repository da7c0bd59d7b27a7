"""End-to-end runs that tie data, models, evaluation and artifacts together (used by the CLI)."""

from reelrec.pipeline._demo import run_demo
from reelrec.pipeline._runs import evaluate_artifact, fit_and_evaluate, protocol_for, train_run

__all__ = ["evaluate_artifact", "fit_and_evaluate", "protocol_for", "run_demo", "train_run"]
