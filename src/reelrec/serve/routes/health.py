"""``GET /health`` (liveness plus what is loaded) and ``GET /v1/model`` (what the model can do)."""

from __future__ import annotations

import os

from fastapi import APIRouter, Depends, Request

from reelrec.serve.deps import get_state, only_query
from reelrec.serve.schemas import HealthOut, ModelOut
from reelrec.serve.state import ServingState

router = APIRouter(tags=["service"], dependencies=[Depends(only_query())])


@router.get("/health", response_model=HealthOut, summary="Liveness and the loaded artifact")
def health(request: Request, state: ServingState = Depends(get_state)) -> HealthOut:
    return HealthOut(
        status="ok",
        model=state.model_name,
        artifact_id=state.artifact_id,
        loaded_at=state.loaded_at,
        n_items=len(state.items),
        n_users=len(state.users),
        retrieval=state.retrieval,
        pid=os.getpid(),
        events=request.app.state.live is not None,
        live_items=state.live_items,
    )


@router.get("/v1/model", response_model=ModelOut, summary="The loaded model's capabilities and inputs")
def model_info(state: ServingState = Depends(get_state)) -> ModelOut:
    model = state.model
    return ModelOut(
        model=state.model_name,
        artifact_id=state.artifact_id,
        created=state.artifact.manifest.get("created"),
        params=model.get_params(),
        regresses=model.regresses,
        supports_cold_start=model.supports_cold_start and bool(state.user_feature_kinds),
        has_similar=state.similar is not None or state.similar_via_model,
        scorings=list(model.scorings),
        retrieval=state.retrieval,
        n_users=len(state.users),
        n_items=len(state.items),
        label=state.label_name,
        user_features={k: str(v) for k, v in state.user_feature_kinds.items()},
        item_features={k: str(v) for k, v in (state.artifact.dataset.get("item_features") or {}).items()},
        supports_new_items=model.supports_new_items,
        item_columns=[] if state.display is None else list(state.display.columns),
        metrics=state.artifact.metrics,
    )
