"""History-aware ranking for ``POST /v1/recommendations``: the request's views, folded in by the model.

Routes hand this module validated request parts; it speaks indices and numpy, and raises
:class:`HistoryInputError` (a ``422`` naming the field) for what only the loaded model can judge.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from reelrec.data._dataset import FeatureTable
from reelrec.models._history import History
from reelrec.serve.state import ServingState


class HistoryInputError(ValueError):
    """A request field the loaded model rejects; ``loc`` is the path below ``body``."""

    def __init__(self, loc: list[str | int], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


class View(Protocol):
    """What a history entry of the request carries (``schemas.HistoryEntry``)."""

    item_id: int | str
    watch_ratio: float | int | None
    timestamp: float | int | None
    skipped: bool


def check_scoring(state: ServingState, scoring: str | None) -> None:
    """``422`` on ``scoring`` unless it is one of the model's ranking rules."""
    rules = state.model.scorings
    if scoring is not None and scoring not in rules:
        raise HistoryInputError(
            ["scoring"], f"unknown scoring {scoring!r}; model {state.model_name!r} accepts: {', '.join(rules)}"
        )


def to_history(state: ServingState, views: Sequence[View]) -> History:
    """The request's views as a :class:`History` of item indices; unknown videos are a ``422`` naming them."""
    ids: list[Any] = [v.item_id for v in views]
    idx = state.items.many(ids) if ids else np.zeros(0, np.int32)
    bad = np.flatnonzero(idx < 0)
    if len(bad):
        shown = ", ".join(repr(ids[i]) for i in bad[:5])
        raise HistoryInputError(
            ["history", int(bad[0]), "item_id"],
            f"{len(bad)} of {len(ids)} history video ids are not in the catalogue: {shown}",
        )
    ratio = [np.nan if v.watch_ratio is None else float(v.watch_ratio) for v in views]
    stamps = np.asarray([np.nan if v.timestamp is None else float(v.timestamp) for v in views], np.float64)
    return History.of(
        idx,
        np.asarray(ratio, np.float32),
        np.asarray([v.skipped for v in views], bool),
        None if np.isnan(stamps).all() else stamps,
    )


def rank_session(
    state: ServingState,
    user: int | None,
    history: History,
    features: FeatureTable | None,
    k: int,
    exclude_seen: bool,
    candidates: NDArray[np.int32] | None,
    exclude: NDArray[np.int32] | None,
    scoring: str | None,
) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """Top-``k`` indices and scores for one user (``None``: new) with a recent history, shape (k,) each."""
    users = np.asarray([-1 if user is None else user], np.int32)
    extra = None if exclude is None else [exclude.astype(np.int32)]
    idx, scores = state.model.recommend_session_indices(
        [history], users, features, k, exclude_seen, candidates, extra, scoring=scoring
    )
    return idx[0], scores[0]
