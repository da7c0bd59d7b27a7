"""``POST /v1/admin/reload``: swap in another artifact from under the artifact root, atomically."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, HTTPException

from reelrec.serve.deps import get_reloader, only_query, require_admin
from reelrec.serve.reload import Reloader, ReloadError
from reelrec.serve.routes import errors
from reelrec.serve.schemas import ReloadOut, ReloadRequest

router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[Depends(require_admin), Depends(only_query())])


@router.post(
    "/reload",
    response_model=ReloadOut,
    summary="Load another artifact and swap it in; on any failure the old one keeps serving",
    responses=errors(401, 403, 404, 413, 422),
)
async def reload(
    req: ReloadRequest | None = Body(None),
    reloader: Reloader = Depends(get_reloader),
) -> ReloadOut:
    try:
        old, new, rel = await reloader.reload(None if req is None else req.path)
    except ReloadError as exc:
        if exc.status == 422:
            detail = [{"loc": ["body", "path"], "msg": exc.message, "type": "artifact_invalid"}]
            raise HTTPException(422, detail=detail) from None
        raise HTTPException(exc.status, detail=exc.message) from None
    return ReloadOut(
        previous_artifact_id=old.artifact_id,
        artifact_id=new.artifact_id,
        model=new.model_name,
        path=rel,
        loaded_at=new.loaded_at,
        load_seconds=round(new.load_seconds, 4),
    )
