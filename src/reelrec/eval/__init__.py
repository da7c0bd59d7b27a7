"""Evaluation: the protocol and its splits, full-catalogue top-K metrics, and a runner that uses only the
recommender contract."""

from reelrec._progress import rich_progress
from reelrec.eval._compare import ComparisonTable, compare
from reelrec.eval._fingerprint import dataset_fingerprint
from reelrec.eval._metrics import (
    MetricResult,
    Relevance,
    coverage_at_k,
    graded_ndcg_at_k,
    hit_rate_at_k,
    mae,
    map_at_k,
    ndcg_at_k,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
    rmse,
)
from reelrec.eval._protocol import EvalProtocol
from reelrec.eval._runner import EvalResult, ProgressCallback, default_threshold, evaluate
from reelrec.eval._session import SessionResult, evaluate_session, feed_metrics, session_recommend, session_relevance
from reelrec.eval._session_probes import co_view_neighbours, refit_gap, skip_effect
from reelrec.eval._session_split import SessionSplit, session_split
from reelrec.eval._significance import PairedTest, paired_test, paired_test_scores
from reelrec.eval._splits import Split, holdout_split, kuairec_split
from reelrec.eval._watch_eval import duration_bucket, duration_edges, watch_metrics
from reelrec.eval._watch_metrics import xauc, xgauc

__all__ = [
    "ComparisonTable",
    "EvalProtocol",
    "EvalResult",
    "MetricResult",
    "PairedTest",
    "ProgressCallback",
    "Relevance",
    "SessionResult",
    "SessionSplit",
    "Split",
    "co_view_neighbours",
    "compare",
    "coverage_at_k",
    "dataset_fingerprint",
    "default_threshold",
    "duration_bucket",
    "duration_edges",
    "evaluate",
    "evaluate_session",
    "feed_metrics",
    "graded_ndcg_at_k",
    "hit_rate_at_k",
    "holdout_split",
    "kuairec_split",
    "mae",
    "map_at_k",
    "ndcg_at_k",
    "paired_test",
    "paired_test_scores",
    "precision_at_k",
    "ranking_metrics",
    "recall_at_k",
    "refit_gap",
    "rich_progress",
    "rmse",
    "session_recommend",
    "session_relevance",
    "session_split",
    "skip_effect",
    "watch_metrics",
    "xauc",
    "xgauc",
]
