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
    """``[{"item_id", "score"}, ...]`` for valid slots (padding ``-1`` dropped), best first.

    With ``details``, each entry also gets ``features`` and, for a regressing model and a known user,
    ``prediction``.
    """
    keep = items >= 0
    if not keep.all():
        items, scores = items[keep], scores[keep]
    raw = state.items.raw
    out = [{"item_id": raw[i], "score": s} for i, s in zip(items.tolist(), scores.tolist(), strict=True)]
    if details and out:
        preds: list[float | None] = [None] * len(out)
        if user is not None and state.model.regresses:
            users = np.full(len(items), user, np.int32)
            preds = optional_floats(state.model.predict_indices(users, items))
        for entry, feats, pred in zip(out, display_rows(state, items), preds, strict=True):
            entry["prediction"] = pred
            entry["features"] = feats
    return out
