"""The feed's durable memory: an embedded SQLite store of watch events and newly registered videos.

The service writes it (``POST /v1/events``, ``POST /v1/items``) and reads it on every recommendation;
``reelrec train --events`` folds its events into the training data and ``reelrec events export``
writes them as parquet. Kept outside :mod:`reelrec.serve` so training needs no web stack.
"""

from reelrec.events._store import EventRow, EventStore, ItemRow, StoreError

__all__ = ["EventRow", "EventStore", "ItemRow", "StoreError"]
