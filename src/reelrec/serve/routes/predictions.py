"""``POST /v1/predictions``: predicted label (watch ratio) for (user, video) pairs."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from starlette.responses import Response

from reelrec.serve.deps import get_state, only_query
from reelrec.serve.encode import json_response, optional_floats
from reelrec.serve.ranking import UnsupportedError, predict_pairs
from reelrec.serve.routes import errors
from reelrec.serve.schemas import PredictionsOut, PredictRequest
from reelrec.serve.state import ServingState

router = APIRouter(prefix="/v1", tags=["predictions"])


@router.post(
    "/predictions",
    response_model=PredictionsOut,
    summary="Predicted label for user/video pairs (null where an id is unknown)",
    dependencies=[Depends(only_query())],
    responses=errors(409, 413, 422),
)
def predict(req: PredictRequest, state: ServingState = Depends(get_state)) -> Response:
    users = state.users.many([p.user_id for p in req.pairs])
    items = state.items.many([p.item_id for p in req.pairs])
    try:
        values = predict_pairs(state, users, items)
    except UnsupportedError as exc:
        raise HTTPException(409, detail=str(exc)) from None
    rows = [
        {"user_id": p.user_id, "item_id": p.item_id, "prediction": v}
        for p, v in zip(req.pairs, optional_floats(values), strict=True)
    ]
    body = {"model": state.model_name, "artifact_id": state.artifact_id, "label": state.label_name, "predictions": rows}
    return json_response(body)
