"""Fold a store's events into a training :class:`Dataset`: ``reelrec train --events STORE``.

Each event becomes one interaction appended to the training pool (KuaiRec: the big matrix; generic
and MovieLens data: the log the ``holdout`` protocol splits). Its label is ``watch_ratio`` (the data
set's label: a watch ratio for KuaiRec, whatever the log's label is otherwise), and 0 for an
impression marked ``skipped``; its time is the event's ``timestamp``, else when the service received it.
Users the data does not know are appended to the user vocabulary (null side features); videos registered
with ``POST /v1/items`` are appended to the item vocabulary with their stored side features. Existing
indices never move. ``meta["events"]`` records the last event id folded in, which the artifact keeps
(``dataset.json``) so that a server never applies those events a second time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from reelrec.data._dataset import Dataset, FeatureTable, Interactions
from reelrec.data._vocab import IdMap
from reelrec.events._store import EventRow, EventStore


def read_store_events(path: Path) -> tuple[list[EventRow], dict[str, dict[str, Any]]]:
    """Every event (id order) and every registered video's features; ``FileNotFoundError`` when absent."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"--events {path}: no such event store file")
    store = EventStore(path)
    try:
        events = [row for batch in store.events() for row in batch]
        items = {row.item_id: row.features for row in store.items()}
    finally:
        store.close()
    return events, items


def _typed(ids: IdMap, raw: list[str], what: str) -> np.ndarray:
    """Stored text ids in the vocabulary's type; ``ValueError`` naming the first that does not fit."""
    if not ids.is_integer:
        return np.asarray(raw, dtype=str)
    try:
        return np.asarray([int(r) for r in raw], dtype=np.int64)
    except ValueError:
        bad = next(r for r in raw if not r.lstrip("-").isdigit())
        raise ValueError(f"event store: {what} {bad!r} is not an integer id, but the data's {what}s are") from None


def _extend(ids: IdMap, wanted: np.ndarray) -> tuple[IdMap, np.ndarray]:
    """``ids`` with the unknown values of ``wanted`` appended (first-seen order), and all their indices."""
    idx = ids.index(wanted, missing="negative") if len(wanted) else np.zeros(0, np.int32)
    new = list(dict.fromkeys(wanted[idx < 0].tolist()))
    if not new:
        return ids, idx
    grown = IdMap(np.concatenate([ids.raw_ids, np.asarray(new, dtype=ids.raw_ids.dtype)]))
    return grown, grown.index(wanted)


def _grow_features(table: FeatureTable | None, rows: list[dict[str, Any]]) -> FeatureTable | None:
    """``table`` with one row per new entity appended (``rows``: column -> value, absent = null)."""
    if table is None or not rows:
        return table
    cols = table.columns
    extra = pl.DataFrame([{c: r.get(c) for c in cols} for r in rows], schema=None, infer_schema_length=None)
    extra = extra.select([pl.col(c).cast(table.frame.schema[c], strict=False) for c in cols])
    return FeatureTable(pl.concat([table.frame, extra], how="vertical_relaxed"), dict(table.kinds))


def append_events(dataset: Dataset, path: Path) -> Dataset:
    """``dataset`` with every stored event appended to its interactions (see the module docstring)."""
    events, stored_items = read_store_events(path)
    if not events:
        return dataset.with_interactions(dataset.interactions, meta={**dataset.meta, "events": _record(events, 0, 0)})
    users, uidx = _extend(dataset.users, _typed(dataset.users, [e.user_id for e in events], "user_id"))
    items_raw = _typed(dataset.items, [e.item_id for e in events], "item_id")
    items, iidx = _extend(dataset.items, items_raw)
    new_items = items.raw_ids[len(dataset.items) :].tolist()
    missing = [i for i in new_items if str(i) not in stored_items]
    if missing:
        raise ValueError(f"event store: events name videos neither in the data nor registered: {missing[:10]}")
    user_features = _grow_features(dataset.user_features, [{}] * (len(users) - len(dataset.users)))
    item_features = _grow_features(dataset.item_features, [stored_items[str(i)] for i in new_items])
    label = np.asarray([0.0 if e.skipped else e.watch_ratio for e in events], np.float32)
    ts = np.asarray([e.received_at if e.timestamp is None else e.timestamp for e in events], np.float64)
    appended = Interactions.from_arrays(uidx, iidx, label, ts)
    record = _record(events, len(users) - len(dataset.users), len(new_items))
    return dataset.with_interactions(
        dataset.interactions.concat(appended),
        users=users,
        items=items,
        user_features=user_features,
        item_features=item_features,
        meta={**dataset.meta, "events": record},
    )


def _record(events: list[EventRow], new_users: int, new_items: int) -> dict[str, int]:
    last = events[-1].id if events else 0
    return {"last_event_id": last, "rows": len(events), "new_users": new_users, "new_items": new_items}
