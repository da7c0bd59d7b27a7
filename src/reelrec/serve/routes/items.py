"""``/v1/items``: a video's display features and its nearest videos in embedding space."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from starlette.responses import Response

from reelrec.serve.deps import current_state, get_state, only_query
from reelrec.serve.encode import display_rows, item_scores, json_response
from reelrec.serve.features import FeatureInputError
from reelrec.serve.live_items import added, item_feature_kinds, item_table
from reelrec.serve.ranking import UnsupportedError, similar_items
from reelrec.serve.routes import errors, invalid
from reelrec.serve.routes.events import require_live
from reelrec.serve.schemas import MAX_K, ItemOut, NewItemsOut, NewItemsRequest, SimilarOut
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


def _invalid(loc: list[str | int], msg: str) -> HTTPException:
    return invalid(["items", *loc], msg)


@router.post(
    "",
    response_model=NewItemsOut,
    summary="Register new videos from their side features; they are recommendable at once",
    dependencies=[Depends(only_query())],
    responses=errors(409, 413, 422),
)
def add_items(req: NewItemsRequest, request: Request) -> NewItemsOut:
    live = require_live(request)
    state = current_state(request)
    if not state.model.supports_new_items:
        raise HTTPException(
            409,
            detail=f"model {state.model_name!r} cannot score new videos from their features; retrain with the "
            "videos in the data, or serve a model that can (e.g. notebook)",
        )
    seen: set[str] = set()
    for row, item in enumerate(req.items):
        key = state.items.key(item.item_id)
        if key is None:
            raise _invalid([row, "item_id"], f"item_id {item.item_id!r} is not an id of this catalogue's type")
        if state.items.get(item.item_id) is not None:
            raise _invalid([row, "item_id"], f"item_id {item.item_id!r} is already in the catalogue")
        if str(key) in seen:
            raise _invalid([row, "item_id"], f"item_id {item.item_id!r} appears twice in this request")
        seen.add(str(key))
    try:
        table = item_table([item.features for item in req.items], item_feature_kinds(state))
    except FeatureInputError as exc:
        where, _, column = exc.field.partition(".")
        loc: list[str | int] = [int(where), "features", column] if where.isdigit() else ["features"]
        raise _invalid(loc, exc.message) from None
    rows = [(str(state.items.key(item.item_id)), item.features) for item in req.items]
    try:
        # A trial run on a copy of the model before anything is stored: what is stored must load.
        added(state, [key for key, _ in rows], table)
    except (ValueError, TypeError, KeyError) as exc:
        raise _invalid(["features"], f"the model cannot embed these videos: {exc}") from None
    taken = live.store.add_items(rows)
    if taken:
        first = next(n for n, (key, _) in enumerate(rows) if key in taken)
        raise _invalid([first, "item_id"], f"video ids already registered by another request: {taken[:20]}")
    state = current_state(request)
    return NewItemsOut(
        count=len(rows),
        item_ids=[state.items.key(item.item_id) for item in req.items],  # type: ignore[misc]
        n_items=len(state.items),
        live_items=state.live_items,
    )
