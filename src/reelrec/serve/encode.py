"""Response bodies for the hot paths: plain dicts dumped once, skipping pydantic's validate-then-serialise.

The response models in :mod:`reelrec.serve.schemas` still document these bodies (and the tests check
that every body validates against them); only the per-request model round trip is skipped.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from starlette.responses import Response

from reelrec.serve.state import ServingState


def json_response(body: Any, status_code: int = 200) -> Response:
    """Compact JSON; ``NaN`` is a bug here (JSON cannot carry it), so it raises rather than leaks."""
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    return Response(data, status_code=status_code, media_type="application/json")


def optional_floats(values: NDArray[np.float32]) -> list[float | None]:
    """Floats for JSON, ``None`` where ``NaN`` (an unknown id or an unscorable pair)."""
    return [None if math.isnan(v) else v for v in values.tolist()]


def display_rows(state: ServingState, items: NDArray[np.int32]) -> list[dict[str, Any] | None]:
    """Display features (tags...) of item indices, ``None`` when the artifact has none."""
    if state.display is None:
        return [None] * len(items)
    return state.display[items.tolist()].to_dicts()


def item_scores(
    state: ServingState,
    items: NDArray[np.int32],
    scores: NDArray[np.float32],
    details: bool = False,
    user: int | None = None,
) -> list[dict[str, Any]]:
    """``[{"item_id", "score", "predicted_watch_ratio"}, ...]`` for valid slots (padding dropped), best first.

    ``predicted_watch_ratio`` is the model's predicted label for a regressing model and a known user
    (``None`` otherwise): the score ranks, the prediction says how long the user will watch. With
    ``details``, each entry also gets ``features`` and ``prediction`` (the same prediction, kept for
    older clients).
    """
    keep = items >= 0
    if not keep.all():
        items, scores = items[keep], scores[keep]
    raw = state.items.raw
    ratios = predicted_labels(state, user, items)
    out = [
        {"item_id": raw[i], "score": s, "predicted_watch_ratio": r}
        for i, s, r in zip(items.tolist(), scores.tolist(), ratios, strict=True)
    ]
    if details and out:
        for entry, feats, pred in zip(out, display_rows(state, items), ratios, strict=True):
            entry["prediction"] = pred
            entry["features"] = feats
    return out


def predicted_labels(state: ServingState, user: int | None, items: NDArray[np.int32]) -> list[float | None]:
    """The model's predicted label (watch ratio, rating) for a known user and each item; ``None`` otherwise."""
    if user is None or user < 0 or not state.model.regresses or not len(items):
        return [None] * len(items)
    try:
        pred = state.model.predict_indices(np.full(len(items), user, np.int32), items)
    except NotImplementedError:
        return [None] * len(items)
    return optional_floats(pred)
