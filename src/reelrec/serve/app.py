"""Builds the FastAPI app: lifespan (load the artifact once), error handlers, routers, middleware."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.responses import JSONResponse

from reelrec import __version__
from reelrec.events import EventStore
from reelrec.serve.live import LiveFeed
from reelrec.serve.metrics import Metrics
from reelrec.serve.middleware import ServiceMiddleware
from reelrec.serve.reload import Reloader, ReloadError, ReloadSignal, resolve_under_root
from reelrec.serve.routes import (
    admin,
    events,
    health,
    items,
    page,
    predictions,
    prometheus,
    recommendations,
    users,
)
from reelrec.serve.settings import ServeSettings
from reelrec.serve.state import ModelHolder, ServingState, load_state

log = logging.getLogger("reelrec.serve")

DESCRIPTION = """Real-time recommendations from a trained reelrec artifact.

Errors: `404` unknown user/video id (named in `detail`), `409` the loaded model cannot do this,
`413` body too large, `422` invalid input (`detail[].loc` names the field).

With an event store (`reelrec serve --events FILE`), `POST /v1/events` records what users watched and
`POST /v1/items` registers new videos; every recommendation reads them at once.
"""


def _limit_threads(threads: int | None) -> None:
    if threads is None:
        return
    import torch

    torch.set_num_threads(threads)
    with contextlib.suppress(ImportError):
        import faiss

        faiss.omp_set_num_threads(threads)


def _startup_path(settings: ServeSettings) -> Path:
    """The artifact to load: the latest reload another worker published, else ``settings.artifact``."""
    if settings.reload_signal is not None and (msg := ReloadSignal(settings.reload_signal).read()):
        with contextlib.suppress(ReloadError):
            return resolve_under_root(settings.root, msg["path"])
    return settings.artifact


def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    issues = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    return JSONResponse({"detail": issues}, status_code=422)


def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal server error"}, status_code=500)


def create_app(settings: ServeSettings, state: ServingState | None = None) -> FastAPI:
    """The service as an ASGI app.

    Parameters
    ----------
    settings : ServeSettings
    state : ServingState, optional
        Serve this already-built state instead of loading ``settings.artifact`` in the lifespan (for
        embedding the service, or models that exist only in memory).
    """
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _limit_threads(settings.threads)
        initial = state
        if initial is None:
            initial = await anyio.to_thread.run_sync(load_state, _startup_path(settings), settings)
        holder = ModelHolder(initial)
        reloader = Reloader(holder, settings, metrics)
        app.state.holder, app.state.reloader = holder, reloader
        store = None if settings.events is None else EventStore(settings.events)
        app.state.live = None if store is None else LiveFeed(store, settings)
        if app.state.live is not None:
            # Videos registered earlier are taken in before the first request reads any event.
            await anyio.to_thread.run_sync(app.state.live.current, holder)
        follower = asyncio.create_task(reloader.follow()) if reloader.signal is not None else None
        log.info("serving %s artifact %s (%d items)", initial.model_name, initial.artifact_id, len(initial.items))
        try:
            yield
        finally:
            metrics.close()
            if store is not None:
                store.close()
            if follower is not None:
                follower.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follower

    app = FastAPI(
        title="reelrec",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # The bundled Swagger/ReDoc pages load scripts from a CDN; the schema itself stays at /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.live = None
    # Starlette types handlers as taking any Exception; it calls this one only with RequestValidationError.
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _internal_error)
    for module in (health, users, recommendations, predictions, items, events, admin, prometheus, page):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=page.STATIC_DIR), name="static")
    app.add_middleware(ServiceMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for uvicorn (``--factory``): settings from :data:`reelrec.serve.settings.SETTINGS_ENV`."""
    return create_app(ServeSettings.from_env())
