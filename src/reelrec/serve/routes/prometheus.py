"""``GET /metrics``: request counts, latency histograms and the loaded artifact, as Prometheus text."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from reelrec.serve.deps import get_metrics, get_state, only_query
from reelrec.serve.metrics import CONTENT_TYPE, Metrics
from reelrec.serve.state import ServingState

router = APIRouter(tags=["service"])


@router.get(
    "/metrics",
    summary="Prometheus metrics of this worker",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format 0.0.4."}},
    dependencies=[Depends(only_query())],
)
def metrics(state: ServingState = Depends(get_state), registry: Metrics = Depends(get_metrics)) -> Response:
    return Response(registry.render(state), media_type=CONTENT_TYPE)
