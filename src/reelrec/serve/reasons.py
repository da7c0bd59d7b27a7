"""Why a video is in the feed: the history video it resembles most ("because you watched ...").

A reason is only given when the model has a notion of item similarity (its own ``_similar``, or cosine
over its item embeddings) and the request carried watched videos; otherwise it is ``None``, never a guess.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from reelrec.models._history import History
from reelrec.serve.state import ServingState

#: Only the newest watched videos can be named as a reason (bounds the similarity matrix).
MAX_REASON_VIEWS = 100


def reason_candidates(history: History) -> NDArray[np.int32]:
    """Watched (not skipped) videos of ``history``, newest first, each once, at most ``MAX_REASON_VIEWS``."""
    watched = history.views().items[::-1]
    _, first = np.unique(watched, return_index=True)
    return watched[np.sort(first)][:MAX_REASON_VIEWS].astype(np.int32)


def similarity(
    state: ServingState, sources: NDArray[np.int32], targets: NDArray[np.int32]
) -> NDArray[np.float32] | None:
    """Similarity of each source to each target item, shape (len(sources), len(targets)); ``None`` if none."""
    if state.similar_via_model:
        return np.asarray(state.model._similar(sources), dtype=np.float32)[:, targets]
    if state.similar is not None:
        unit = state.similar.items  # unit rows: the dot product is the cosine
        return unit[sources] @ unit[targets].T
    return None


def because(state: ServingState, history: History | None, items: NDArray[np.int32]) -> list[Any]:
    """Raw id of the watched video most similar to each recommended item index, or ``None``.

    Ties go to the newest view. A best similarity that is not positive names nothing: an unrelated
    video is no reason.
    """
    out: list[Any] = [None] * len(items)
    if history is None or not len(items):
        return out
    sources = reason_candidates(history)
    if not len(sources):
        return out
    sim = similarity(state, sources, items)
    if sim is None:
        return out
    sim = np.where(np.isfinite(sim), sim, -np.inf)
    best = np.argmax(sim, axis=0)  # first maximum = newest view
    value = sim[best, np.arange(len(items))]
    raw = state.items.raw
    return [raw[int(sources[b])] if v > 0 else None for b, v in zip(best.tolist(), value.tolist(), strict=True)]
