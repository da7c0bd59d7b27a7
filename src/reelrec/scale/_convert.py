"""Convert any interaction input into a shard store once, and reuse it while the input is unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reelrec.data._dataset import Dataset
from reelrec.data._vocab import IdMap
from reelrec.scale._sources import BATCH_ROWS, LogColumns, LogSource, collect_ids, index_batches
from reelrec.scale._store import ShardStore, is_store
from reelrec.scale._write import MEMORY_ROWS, SHARD_PAIRS, store_from_arrays, write_store


def convert_log(
    source: str | Path | LogSource,
    out: str | Path,
    *,
    users: IdMap | None = None,
    items: IdMap | None = None,
    columns: LogColumns | None = None,
    clip: float | None = None,
    non_negative: bool = False,
    label_name: str = "label",
    memory_rows: int = MEMORY_ROWS,
    shard_pairs: int = SHARD_PAIRS,
    batch_rows: int = BATCH_ROWS,
    reuse: bool = True,
) -> ShardStore:
    """Stream a CSV file or parquet shards into a store at ``out``; reuse ``out`` when built from the same input.

    Parameters
    ----------
    source : path or LogSource
        ``*.csv``, ``*.parquet`` or a folder of parquet shards.
    users, items : IdMap, optional
        Vocabularies to index with (e.g. ones that also cover feature files); when omitted, one extra
        streaming pass collects the log's own ids.
    clip : float, optional
        Upper bound applied to every label before repeat views are averaged.
    non_negative : bool
        Reject negative labels (watch ratios, play counts).
    reuse : bool
        Return the existing store at ``out`` when its recorded input fingerprint and options match.

    Raises
    ------
    DataError
        Naming the file, row and column of the first malformed value.
    """
    src = source if isinstance(source, LogSource) else LogSource(source, columns)
    options = {"clip": clip, "non_negative": non_negative, "columns": src.columns.__dict__, "label": label_name}
    fingerprint = {"files": src.fingerprint(), "options": options}
    out = Path(out)
    if reuse and is_store(out):
        existing = ShardStore(out)
        same_ids = (users is None or existing.users == users) and (items is None or existing.items == items)
        if existing.meta.get("fingerprint") == _jsonable(fingerprint) and same_ids:
            return existing
    if users is None or items is None:
        found_users, found_items = collect_ids(src, batch_rows)
        users = found_users if users is None else users
        items = found_items if items is None else items
    batches = index_batches(src, users, items, clip=clip, non_negative=non_negative, batch_rows=batch_rows)
    meta: dict[str, Any] = {"source": str(src.path), "kind": src.kind, "fingerprint": fingerprint}
    return write_store(
        out,
        users,
        items,
        batches,
        expected_rows=src.count_rows(),
        memory_rows=memory_rows,
        shard_pairs=shard_pairs,
        meta=meta,
        label_name=label_name,
    )


def store_from_dataset(
    dataset: Dataset,
    out: str | Path,
    *,
    memory_rows: int = MEMORY_ROWS,
    shard_pairs: int = SHARD_PAIRS,
) -> ShardStore:
    """A store holding ``dataset.interactions`` (for data that fits in memory but should train sharded)."""
    inter = dataset.interactions
    return store_from_arrays(
        out,
        dataset.users,
        dataset.items,
        inter.user,
        inter.item,
        inter.label,
        inter.timestamp,
        memory_rows=memory_rows,
        shard_pairs=shard_pairs,
        meta={"source": "in-memory data set", "rows": len(inter)},
        label_name=dataset.label_name,
    )


def _jsonable(obj: Any) -> Any:
    import json

    return json.loads(json.dumps(obj, default=str))
