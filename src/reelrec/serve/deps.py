"""Dependencies shared by the routers: the current model state, settings, metrics and request guards.

All are ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in its thread pool, and two
thread hand-offs per request cost more than the whole recommendation.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import Header, HTTPException, Request

from reelrec.serve.metrics import Metrics
from reelrec.serve.reload import Reloader
from reelrec.serve.settings import ServeSettings, admin_token
from reelrec.serve.state import ServingState


def current_state(request: Request) -> ServingState:
    """The serving state now, with any videos registered in the event store since it was built."""
    live = request.app.state.live
    holder = request.app.state.holder
    return holder.current if live is None else live.current(holder)


async def get_state(request: Request) -> ServingState:
    """The serving state at the moment the request arrived; use only this one for the whole request."""
    return current_state(request)


async def get_settings(request: Request) -> ServeSettings:
    return request.app.state.settings


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


async def get_reloader(request: Request) -> Reloader:
    return request.app.state.reloader


def reject_unknown_query(request: Request, allowed: frozenset[str]) -> None:
    """``422`` naming the first query parameter not in ``allowed`` (a typo must not pass silently)."""
    for key in request.query_params:
        if key not in allowed:
            expected = ", ".join(sorted(allowed)) or "none"
            raise HTTPException(
                422,
                detail=[{
                    "loc": ["query", key],
                    "msg": f"unknown query parameter {key!r}; expected: {expected}",
                    "type": "extra_forbidden",
                }],
            )


def only_query(*allowed: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency form of :func:`reject_unknown_query`."""
    names = frozenset(allowed)

    async def check(request: Request) -> None:
        reject_unknown_query(request, names)

    return check


async def require_admin(authorization: str | None = Header(None, description="Bearer token, when configured.")) -> None:
    """When ``REELREC_ADMIN_TOKEN`` is set, admin routes need ``Authorization: Bearer <token>``."""
    token = admin_token()
    if token is None:
        return
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        raise HTTPException(401, detail="admin token required", headers={"WWW-Authenticate": "Bearer"})
