"""The live feed: every request reads the event store, so the next recommendation reflects new events.

Per request (the hot path) the service runs two indexed SQLite reads: the newest registered video's
sequence number (to take in videos another worker registered) and the user's newest
``events_window`` events. The events become

- a :class:`~reelrec.models._history.History` of the events **newer than the artifact** (the artifact
  records the last event id it was trained on; older events are already in the model, so they are
  never counted twice), handed to ``recommend_session_indices`` so the model folds them in and the
  videos are excluded, and
- the set of videos **shown** in the window (every event is an impression), never recommended again
  unless the request asks for ``include_shown``.

The database is the only shared state between worker processes: an event committed through one worker
is read by every other on its next request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from reelrec.events import EventStore
from reelrec.events._store import RecentColumns
from reelrec.models._history import MAX_HISTORY, History
from reelrec.serve.live_items import with_stored_items
from reelrec.serve.settings import ServeSettings
from reelrec.serve.state import IdLookup, ModelHolder, ServingState

_EMPTY = np.zeros(0, np.int32)


def store_key(lookup: IdLookup, raw: int | str) -> str:
    """The text an id is stored under: its canonical form in ``lookup``'s vocabulary, else ``str(raw)``."""
    key = lookup.key(raw)
    return str(raw) if key is None else str(key)


def trained_event_id(state: ServingState) -> int:
    """The last store event the artifact was trained on (0: none), from ``dataset.json``."""
    info = state.artifact.dataset.get("events")
    if not isinstance(info, dict):
        return 0
    value = info.get("last_event_id", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(frozen=True)
class Session:
    """What a user's stored events mean for one recommendation.

    Attributes
    ----------
    history : History
        Events newer than the artifact, oldest first (impressions without a watch marked skipped).
    shown : ndarray of int32
        Item indices of every video shown in the window (empty when the request includes them).
    fresh : int
        Events newer than the artifact (the ones the model applies now; older ones it was trained on).
    """

    history: History
    shown: NDArray[np.int32]
    fresh: int


def build_session(
    state: ServingState, rows: RecentColumns, include_shown: bool, text_index: dict[str, int] | None = None
) -> Session:
    """A :class:`Session` from a user's events (oldest first); events on unknown videos are skipped.

    ``text_index`` maps stored item ids to indices (:func:`build_text_index`); built when not given.
    """
    lookup = text_index if text_index is not None else build_text_index(state)
    idx = np.fromiter((lookup.get(t, -1) for t in rows.item_id), np.int32, len(rows.item_id))
    ids = np.asarray(rows.id, np.int64)
    keep = (idx >= 0) & (ids > trained_event_id(state))
    watch = np.asarray(rows.watch_ratio, np.float32)[keep]
    ts = np.asarray([np.nan if t is None else t for t in rows.timestamp], np.float64)[keep]
    history = History.of(
        idx[keep],
        watch,
        np.asarray(rows.skipped, bool)[keep] | (watch == 0),
        None if not len(ts) or np.isnan(ts).all() else ts,
    )
    fresh = int(keep.sum())
    if include_shown:
        # Only what was watched stays in the history (and out of the ranking); skips may come back.
        return Session(history.views(), _EMPTY, fresh)
    return Session(history, np.unique(idx[idx >= 0]).astype(np.int32), fresh)


def join_histories(stored: History, request: History | None) -> History:
    """The stored events, then the request's own views (newest last); either may be empty."""
    if request is None or not len(request):
        return stored
    if not len(stored):
        return request
    keep = slice(max(0, len(stored) + len(request) - MAX_HISTORY), None)  # the newest views fit
    ts = None
    if stored.timestamp is not None and request.timestamp is not None:
        ts = np.concatenate([stored.timestamp, request.timestamp])[keep]
    return History(
        np.concatenate([stored.items, request.items])[keep],
        np.concatenate([stored.watch_ratio, request.watch_ratio])[keep],
        np.concatenate([stored.skipped, request.skipped])[keep],
        ts,
    )


def build_text_index(state: ServingState) -> dict[str, int]:
    """Stored (text) item id -> item index, for the whole catalogue: one dict lookup per event."""
    return {str(raw): i for i, raw in enumerate(state.items.raw)}


def recommend_with_session(
    state: ServingState, user: int, session: Session, k: int, exclude_seen: bool
) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """Top-``k`` for a known user (index) or a user known only from events (``-1``), best first."""
    items, scores = state.model.recommend_session_indices(
        [session.history], np.asarray([user], np.int32), None, k, exclude_seen, None, [session.shown]
    )
    return items[0], scores[0]


class LiveFeed:
    """This worker's view of the event store: the newest state with stored videos, and user sessions."""

    def __init__(self, store: EventStore, settings: ServeSettings) -> None:
        self.store = store
        self.settings = settings
        self._lock = threading.Lock()
        self._texts: tuple[IdLookup, dict[str, int]] | None = None

    def current(self, holder: ModelHolder) -> ServingState:
        """The holder's state, first extended by videos registered since it was built (any worker)."""
        state = holder.current
        seq = self.store.items_version()
        if seq == state.store_seq:
            return state
        with self._lock:
            state = holder.current
            if seq == state.store_seq:
                return state
            rows = self.store.items(after=state.store_seq)
            new = with_stored_items(state, rows, max([seq, *(r.seq for r in rows)]), self.settings)
            if holder.current is state:  # a reload in between wins: its state takes the videos next time
                holder.swap(new)
            return new

    def session(self, state: ServingState, user_id: int | str, include_shown: bool) -> Session | None:
        """The user's session from the store, or ``None`` when the store has no events for them."""
        rows = self.store.recent_columns(store_key(state.users, user_id), self.settings.events_window)
        if not rows.id:
            return None
        texts = self._texts
        if texts is None or texts[0] is not state.items:  # one per catalogue, rebuilt after a reload
            texts = self._texts = (state.items, build_text_index(state))
        return build_session(state, rows, include_shown, texts[1])
