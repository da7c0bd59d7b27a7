"""The service's ranking operations over one ServingState: recommend, cold start, predict, similar.

Routes translate HTTP into these calls and back; everything here speaks indices and numpy.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from reelrec.data._dataset import FeatureTable
from reelrec.models._topk import MASKED, topk
from reelrec.serve.state import ServingState

_EMPTY = np.zeros(0, np.int32)


class UnsupportedError(Exception):
    """The loaded model cannot answer this kind of request (e.g. no embeddings, no regression)."""


def recommend_user(
    state: ServingState,
    user: int,
    k: int,
    exclude_seen: bool = True,
    candidates: NDArray[np.int32] | None = None,
    exclude: NDArray[np.int32] | None = None,
) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """Top-``k`` item indices and scores for a known user index, best first, shape (k,) each.

    Dot-product models with precomputed user vectors go through the retriever (one product and a partial
    sort); every other model through its own ``recommend_indices``.
    """
    if candidates is None and (state.ranker is not None or state.plain_ranking):
        parts = [state.seen(user)] if exclude_seen else []
        if exclude is not None and len(exclude):
            parts.append(exclude)
        mask = parts[0] if len(parts) == 1 else (np.concatenate(parts) if parts else _EMPTY)
        if state.ranker is not None and state.user_vectors is not None:
            idx, scores = state.ranker.search(state.user_vectors[user], k, [mask])
        else:
            idx, scores = _score_and_select(state, user, k, mask)
    else:
        extra = None if exclude is None else [exclude]
        idx, scores = state.model.recommend_indices(
            np.array([user], np.int32), k, exclude_seen, candidates, extra
        )
    return idx[0], scores[0]


def _score_and_select(
    state: ServingState, user: int, k: int, mask: NDArray[np.int32]
) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """The base contract's ranking (score, NaN and mask to ``-inf``, partial sort) for one user.

    Identical output to ``recommend_indices`` for models that keep the base implementation, without its
    batching machinery, which costs more than the work itself for a single user.
    """
    scores = state.model.score_users(np.array([user], np.int32))
    nan = np.isnan(scores)
    if nan.any():
        scores[nan] = MASKED
    if len(mask):
        scores[0, mask] = MASKED
    return topk(scores, k)


def recommend_new(
    state: ServingState,
    features: FeatureTable,
    k: int,
    candidates: NDArray[np.int32] | None = None,
    exclude: NDArray[np.int32] | None = None,
) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """Top-``k`` for a user known only by features (one row), shape (k,) each."""
    if not state.model.supports_cold_start:
        raise UnsupportedError(f"model {state.model_name!r} cannot recommend for new users from features")
    extra = None if exclude is None else [exclude]
    idx, scores = state.model.recommend_cold(features, k, candidates, extra)
    return idx[0], scores[0]


def predict_pairs(state: ServingState, users: NDArray[np.int32], items: NDArray[np.int32]) -> NDArray[np.float32]:
    """Predicted label per (user index, item index) pair, shape (n,); ``NaN`` where either index is ``-1``."""
    if not state.model.regresses:
        raise UnsupportedError(
            f"model {state.model_name!r} ranks items but does not predict {state.label_name}"
        )
    out = np.full(len(users), np.nan, np.float32)
    ok = (users >= 0) & (items >= 0)
    if ok.any():
        out[ok] = state.model.predict_indices(users[ok], items[ok])
    return out


def similar_items(state: ServingState, item: int, k: int) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """The ``k`` items nearest to one item index (itself excluded), by cosine in embedding space."""
    if state.similar is not None:
        idx, scores = state.similar.search(state.similar.items[item], k, [np.array([item], np.int32)])
    elif state.similar_via_model:
        idx, scores = state.model.similar_items(np.array([item], np.int32), k)
    else:
        raise UnsupportedError(f"model {state.model_name!r} has no item embedding space")
    return idx[0], scores[0]
