"""Benchmarks: every model on the same splits and metrics, repeated over seeds, with a significance test."""

from reelrec.bench._collect import collect_run, top_items
from reelrec.bench._memory import PeakRSS
from reelrec.bench._plan import PROTOCOLS, default_models
from reelrec.bench._result import BenchFormatError, BenchResult
from reelrec.bench._runner import run_bench
from reelrec.eval._significance import PairedTest, bootstrap_mean_diff, paired_t_test
from reelrec.eval._significance import paired_test_scores as paired_test

__all__ = [
    "PROTOCOLS",
    "BenchFormatError",
    "BenchResult",
    "PairedTest",
    "PeakRSS",
    "bootstrap_mean_diff",
    "collect_run",
    "default_models",
    "paired_t_test",
    "paired_test",
    "run_bench",
    "top_items",
]
