"""``/v1/items``: a video's display features and its nearest videos in embedding space."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Path, Query
from starlette.responses import Response

from reelrec.serve.deps import get_state, only_query
from reelrec.serve.encode import display_rows, item_scores, json_response
from reelrec.serve.ranking import UnsupportedError, similar_items
from reelrec.serve.routes import errors
from reelrec.serve.schemas import MAX_K, ItemOut, SimilarOut
from reelrec.serve.state import ServingState

router = APIRouter(prefix="/v1/items", tags=["items"])
ItemId = Annotated[str, Path(min_length=1, max_length=256, description="A video id in the catalogue.")]


def item_index(state: ServingState, item_id: str) -> int:
    idx = state.items.get(item_id)
    if idx is None:
        raise HTTPException(
            404, detail=f"unknown item_id {item_id!r}: not in the catalogue of artifact {state.artifact_id}"
        )
    return idx


@router.get(
    "/{item_id}",
    response_model=ItemOut,
    summary="A video's display features",
    dependencies=[Depends(only_query())],
    responses=errors(404),
)
def get_item(item_id: ItemId, state: ServingState = Depends(get_state)) -> Response:
    idx = item_index(state, item_id)
    features = display_rows(state, np.array([idx], np.int32))[0]
    return json_response({"item_id": state.items.raw[idx], "features": features})


@router.get(
    "/{item_id}/similar",
    response_model=SimilarOut,
    summary="Nearest videos by cosine similarity of item embeddings",
    dependencies=[Depends(only_query("k", "details"))],
    responses=errors(404, 409, 422),
)
async def similar(
    item_id: ItemId,
    k: int = Query(10, ge=1, le=MAX_K),
    details: bool = Query(False, description="Add display features."),
    state: ServingState = Depends(get_state),
) -> Response:
    idx = item_index(state, item_id)
    try:
        items, scores = similar_items(state, idx, k)
    except UnsupportedError as exc:
        raise HTTPException(409, detail=str(exc)) from None
    body = {
        "item_id": state.items.raw[idx],
        "model": state.model_name,
        "artifact_id": state.artifact_id,
        "items": item_scores(state, items, scores, details),
    }
    return json_response(body)
