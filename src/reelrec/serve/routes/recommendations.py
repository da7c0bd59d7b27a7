"""``POST /v1/recommendations``: known users or new users (cold start), with candidates and exclusions."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException
from numpy.typing import NDArray
from starlette.responses import Response

from reelrec.serve.deps import get_state, only_query
from reelrec.serve.encode import item_scores, json_response
from reelrec.serve.features import FeatureInputError, feature_table
from reelrec.serve.ranking import UnsupportedError, recommend_new, recommend_user
from reelrec.serve.routes import errors
from reelrec.serve.routes.users import user_index
from reelrec.serve.schemas import RecommendationsOut, RecommendRequest
from reelrec.serve.state import ServingState

router = APIRouter(prefix="/v1", tags=["recommendations"])


def invalid(loc: list[str | int], msg: str, kind: str = "value_error") -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors, for checks that need the loaded model."""
    return HTTPException(422, detail=[{"loc": ["body", *loc], "msg": msg, "type": kind}])


def item_indices(state: ServingState, raw: list[Any], field: str) -> NDArray[np.int32]:
    """Indices of requested video ids; every id must be in the catalogue (``422`` naming the first few)."""
    idx = state.items.many(raw)
    missing = [r for r, i in zip(raw, idx.tolist(), strict=True) if i < 0]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5])
        raise invalid([field], f"{len(missing)} of {len(raw)} video ids are not in the catalogue: {shown}")
    return idx


@router.post(
    "/recommendations",
    response_model=RecommendationsOut,
    summary="Top-k for a known user, or for a new user from features",
    dependencies=[Depends(only_query())],
    responses=errors(404, 409, 413, 422),
)
def recommend(req: RecommendRequest, state: ServingState = Depends(get_state)) -> Response:
    known = None if req.user_id is None else state.users.get(req.user_id)
    if req.user_id is not None and known is None and req.features is None:
        user_index(state, req.user_id)  # raises the 404 naming the id
    candidates = None if req.candidates is None else item_indices(state, req.candidates, "candidates")
    exclude = None
    if req.exclude is not None:
        exclude = state.items.many(req.exclude)
        exclude = exclude[exclude >= 0]
    if known is not None:
        items, scores = recommend_user(state, known, req.k, req.exclude_seen, candidates, exclude)
        user_out: Any = state.users.raw[known]
    else:
        try:
            table = feature_table(req.features or {}, state.user_feature_kinds)
        except FeatureInputError as exc:
            raise invalid(["features", exc.field], exc.message) from None
        try:
            items, scores = recommend_new(state, table, req.k, candidates, exclude)
        except UnsupportedError as exc:
            raise HTTPException(409, detail=str(exc)) from None
        except (TypeError, ValueError) as exc:
            # The model's feature encoder rejects values it was not fitted on (e.g. text for a numeric code).
            raise invalid(["features"], str(exc)) from None
        user_out = req.user_id
    body = {
        "user_id": user_out,
        "cold_start": known is None,
        "model": state.model_name,
        "artifact_id": state.artifact_id,
        "k": req.k,
        "exclude_seen": req.exclude_seen,
        "items": item_scores(state, items, scores, req.details, known),
    }
    return json_response(body)
