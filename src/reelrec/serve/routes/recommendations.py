"""``POST /v1/recommendations``: known or new users, a recent history, candidates, exclusions, feed rules."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Request
from numpy.typing import NDArray
from starlette.responses import Response

from reelrec.data._dataset import FeatureTable
from reelrec.models._history import History
from reelrec.serve.deps import get_settings, get_state, only_query
from reelrec.serve.encode import item_scores, json_response
from reelrec.serve.features import FeatureInputError, feature_table
from reelrec.serve.feed import apply_rules, pool_size, resolve_rules
from reelrec.serve.live import Session, join_histories
from reelrec.serve.ranking import UnsupportedError, recommend_new, recommend_user
from reelrec.serve.reasons import because
from reelrec.serve.routes import errors, invalid
from reelrec.serve.routes.users import user_index
from reelrec.serve.schemas import RecommendationsOut, RecommendRequest
from reelrec.serve.session import HistoryInputError, check_scoring, rank_session, to_history
from reelrec.serve.settings import ServeSettings
from reelrec.serve.state import ServingState

router = APIRouter(prefix="/v1", tags=["recommendations"])


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
    summary="Top-k for a known user, or a new user from features and/or a recent history",
    dependencies=[Depends(only_query())],
    responses=errors(404, 409, 413, 422),
)
def recommend(
    request: Request,
    req: RecommendRequest,
    state: ServingState = Depends(get_state),
    settings: ServeSettings = Depends(get_settings),
) -> Response:
    known = None if req.user_id is None else state.users.get(req.user_id)
    live = request.app.state.live
    # With an event store, a user's stored events count as they do on GET: newer ones are folded in
    # before the request's own history, and every shown video stays out.
    stored: Session | None = None if live is None or req.user_id is None else live.session(state, req.user_id, False)
    if req.user_id is not None and known is None and req.features is None and stored is None:
        user_index(state, req.user_id)  # an unknown id is a new user only when features or events describe them
    candidates = None if req.candidates is None else item_indices(state, req.candidates, "candidates")
    exclude = None
    if req.exclude is not None:
        exclude = state.items.many(req.exclude)
        exclude = exclude[exclude >= 0]
    try:
        check_scoring(state, req.scoring)
        history = None if req.history is None else to_history(state, req.history)
    except HistoryInputError as exc:
        raise invalid(exc.loc, exc.message) from None
    if stored is not None:
        history = join_histories(stored.history, history)
        exclude = stored.shown if exclude is None else np.union1d(exclude, stored.shown).astype(np.int32)
    rules_in = req.rules
    rules = resolve_rules(
        settings,
        None if rules_in is None else rules_in.max_per_tag,
        None if rules_in is None else rules_in.explore_share,
    )
    pool = pool_size(rules, req.k)
    if history is not None or req.scoring is not None:
        items, scores = _session(state, req, known, history, pool, candidates, exclude)
    elif known is not None:
        items, scores = recommend_user(state, known, pool, req.exclude_seen, candidates, exclude)
    else:
        table = _features(state, req.features)
        try:
            items, scores = recommend_new(state, table, pool, candidates, exclude)
        except UnsupportedError as exc:
            raise HTTPException(409, detail=str(exc)) from None
        except (TypeError, ValueError) as exc:
            # The model's feature encoder rejects values it was not fitted on (e.g. text for a numeric code).
            raise invalid(["features"], str(exc)) from None
    items, scores = apply_rules(state, items, scores, req.k, rules)
    out = item_scores(state, items, scores, req.details, known)
    kept = items[items >= 0]
    for entry, why in zip(out, because(state, history, kept), strict=True):
        entry["because"] = why
    body = {
        "user_id": state.users.raw[known] if known is not None else req.user_id,
        "cold_start": known is None,
        "model": state.model_name,
        "artifact_id": state.artifact_id,
        "k": req.k,
        "exclude_seen": req.exclude_seen,
        "items": out,
    }
    return json_response(body)


def _features(state: ServingState, features: dict[str, Any] | None) -> FeatureTable:
    """A new user's feature row (``422`` naming a bad column)."""
    try:
        return feature_table(features or {}, state.user_feature_kinds)
    except FeatureInputError as exc:
        raise invalid(["features", exc.field], exc.message) from None


def _session(
    state: ServingState,
    req: RecommendRequest,
    known: int | None,
    history: History | None,
    k: int,
    candidates: NDArray[np.int32] | None,
    exclude: NDArray[np.int32] | None,
) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """Rank through the model's session contract (a history and/or a per-request scoring rule)."""
    table = None
    if known is None and req.features is not None:
        if not state.model.supports_cold_start and history is None:
            raise HTTPException(409, detail=f"model {state.model_name!r} cannot recommend for new users from features")
        # A model without cold start still serves a new user from the history; the features cannot help it.
        table = _features(state, req.features) if state.model.supports_cold_start else None
    try:
        return rank_session(
            state, known, history or History.empty(), table, k, req.exclude_seen, candidates, exclude, req.scoring
        )
    except (TypeError, ValueError) as exc:
        raise invalid(["features"], str(exc)) from None
