"""``POST /v1/events``: record what users were shown and watched, durably, for the next recommendation."""

from __future__ import annotations

import sqlite3

from fastapi import APIRouter, Depends, HTTPException, Request

from reelrec.serve.deps import current_state, only_query
from reelrec.serve.live import LiveFeed, store_key
from reelrec.serve.routes import errors, invalid
from reelrec.serve.schemas import EventsOut, EventsRequest

router = APIRouter(prefix="/v1", tags=["events"])

#: Most unknown video ids a 422 lists.
_SHOWN = 20


def require_live(request: Request) -> LiveFeed:
    """The worker's event store; ``409`` when the service runs without one."""
    live: LiveFeed | None = request.app.state.live
    if live is None:
        detail = "this service has no event store; start it with `reelrec serve ART --events FILE`"
        raise HTTPException(409, detail=detail)
    return live


@router.post(
    "/events",
    response_model=EventsOut,
    summary="Store a batch of impressions and watches; answered once the batch is committed to disk",
    dependencies=[Depends(only_query())],
    responses=errors(409, 413, 422),
)
def post_events(req: EventsRequest, request: Request) -> EventsOut:
    # A plain def: FastAPI runs it in its thread pool, so the commit's fsync never blocks the event loop.
    live = require_live(request)
    state = current_state(request)
    for n, e in enumerate(req.events):
        if state.users.key(e.user_id) is None:  # e.g. text where the data's user ids are integers
            msg = f"user_id {e.user_id!r} is not an id of this data's kind (integers, in canonical form)"
            raise invalid(["events", n, "user_id"], msg, "user_id_type")
    raws = [e.item_id for e in req.events]
    idx = state.items.many(raws)
    if (idx < 0).any():
        bad = [int(i) for i in (idx < 0).nonzero()[0]]
        unknown = list(dict.fromkeys(repr(raws[i]) for i in bad))
        msg = (
            f"video ids not in the catalogue ({len(unknown)}): {', '.join(unknown[:_SHOWN])}"
            + (" ..." if len(unknown) > _SHOWN else "")
            + " (register new videos with POST /v1/items)"
        )
        raise invalid(["events", bad[0], "item_id"], msg, "unknown_item")
    item_raw = state.items.raw
    rows = [
        (
            store_key(state.users, e.user_id),
            str(item_raw[i]),
            float(e.watch_ratio),
            e.skipped,
            None if e.timestamp is None else float(e.timestamp),
        )
        for e, i in zip(req.events, idx.tolist(), strict=True)
    ]
    try:
        count, last = live.store.append(rows)
    except sqlite3.Error as exc:
        busy = f"the event store cannot take the batch now ({exc}); nothing was stored"
        raise HTTPException(503, detail=busy) from None
    return EventsOut(count=count, last_event_id=last)
