"""``/v1/users``: list known users, a user's recent views, and their recommendations (the hot path)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from starlette.responses import Response

from reelrec.serve.deps import current_state, get_state, only_query, reject_unknown_query
from reelrec.serve.encode import display_rows, item_scores, json_response, optional_floats
from reelrec.serve.feed import apply_rules, pool_size, resolve_rules
from reelrec.serve.live import recommend_with_session
from reelrec.serve.ranking import recommend_user
from reelrec.serve.routes import errors
from reelrec.serve.schemas import MAX_K, HistoryOut, RecommendationsOut, UsersOut
from reelrec.serve.state import ServingState

router = APIRouter(prefix="/v1/users", tags=["users"])
_RECOMMEND_QUERY = frozenset({"k", "exclude_seen", "details", "include_shown", "max_per_tag", "explore_share"})
UserId = Annotated[str, Path(min_length=1, max_length=256, description="A user id known to the model.")]


def user_index(state: ServingState, user_id: str | int) -> int:
    """Index of a known user; ``404`` naming the id otherwise."""
    idx = state.users.get(user_id)
    if idx is None:
        raise HTTPException(
            404,
            detail=f"unknown user_id {user_id!r}: not in the training data of artifact {state.artifact_id} "
            "(POST /v1/recommendations with features for a new user)",
        )
    return idx


@router.get(
    "",
    response_model=UsersOut,
    summary="Known user ids, in index order",
    dependencies=[Depends(only_query("limit", "offset"))],
    responses=errors(422),
)
def list_users(
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    state: ServingState = Depends(get_state),
) -> UsersOut:
    return UsersOut(total=len(state.users), offset=offset, users=state.users.raw[offset : offset + limit])


@router.get(
    "/{user_id}/recommendations",
    response_model=RecommendationsOut,
    summary="Top-k videos for a known user, or one known through stored events",
    responses=errors(404, 422),
)
async def user_recommendations(
    request: Request,
    user_id: UserId,
    k: int = Query(10, ge=1, le=MAX_K, description="Number of videos."),
    exclude_seen: bool = Query(True, description="Drop videos the user viewed in training."),
    details: bool = Query(False, description="Add display features and predicted label."),
    include_shown: bool = Query(
        False, description="Allow videos shown to the user among their recent stored events (skips included)."
    ),
    max_per_tag: int | None = Query(None, ge=1, description="Feed rule: at most this many videos per first tag."),
    explore_share: float | None = Query(
        None, ge=0.0, le=1.0, description="Feed rule: share of the k slots for videos with few views."
    ),
) -> Response:
    # The hot path. async and inline: the work is one score row (or product) and a partial sort, well
    # under a millisecond, so a thread-pool hop would cost more than it saves. The state and the query
    # check are read directly rather than through Depends: each dependency costs a resolution per request.
    # With an event store, the user's newest events are read here (one indexed SQLite query): the model
    # folds those newer than the artifact into the user's state, and shown videos are left out.
    reject_unknown_query(request, _RECOMMEND_QUERY)
    state = current_state(request)
    live = request.app.state.live
    session = None if live is None else live.session(state, user_id, include_shown)
    known = state.users.get(user_id)
    rules = resolve_rules(request.app.state.settings, max_per_tag, explore_share)
    pool = pool_size(rules, k)
    if session is None:
        user = user_index(state, user_id)
        items, scores = recommend_user(state, user, pool, exclude_seen)
    else:
        user = -1 if known is None else known
        items, scores = recommend_with_session(state, user, session, pool, exclude_seen)
    items, scores = apply_rules(state, items, scores, k, rules)
    body = {
        "user_id": state.users.raw[user] if known is not None else _as_given(state, user_id),
        "cold_start": known is None,
        "model": state.model_name,
        "artifact_id": state.artifact_id,
        "k": k,
        "exclude_seen": exclude_seen,
        "items": item_scores(state, items, scores, details, known),
    }
    if session is not None:
        body["live_events"] = session.fresh
    return json_response(body)


def _as_given(state: ServingState, user_id: str) -> int | str:
    """A user known only through events, named in the vocabulary's id type when it fits."""
    key = state.users.key(user_id)
    return user_id if key is None else key


@router.get(
    "/{user_id}/history",
    response_model=HistoryOut,
    summary="A user's most recent training views",
    dependencies=[Depends(only_query("limit"))],
    responses=errors(404, 422),
)
def user_history(
    user_id: UserId,
    limit: int = Query(20, ge=1, le=1000),
    state: ServingState = Depends(get_state),
) -> Response:
    user = user_index(state, user_id)
    hist = state.artifact.history
    rows = []
    if hist is not None and user < len(hist.indptr) - 1:
        items, labels = hist.of(user)
        items, labels = items[::-1][:limit], labels[::-1][:limit]
        raw = state.items.raw
        feats = display_rows(state, items)
        rows = [
            {"item_id": raw[i], "label": lab, "features": f}
            for i, lab, f in zip(items.tolist(), optional_floats(labels), feats, strict=True)
        ]
    return json_response({"user_id": state.users.raw[user], "label": state.label_name, "items": rows})
