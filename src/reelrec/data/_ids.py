"""Vocabulary building at load time: the union of raw ids across files and a fast raw-id -> index lookup."""

from __future__ import annotations

from typing import cast

import numpy as np
import polars as pl
from numpy.typing import NDArray

from reelrec.data._vocab import IdMap

# Dense lookup tables are used while the largest id stays below this (128 MiB of int32 at most).
_DENSE_LIMIT = 1 << 25


def union_ids(*columns: pl.Series | None) -> IdMap:
    """An :class:`IdMap` over every distinct id in ``columns``, indices sorted by raw id.

    Integer ids use a presence bitmap when they are small and non-negative (KuaiRec: 0..10727),
    which is linear time; anything else goes through polars' multithreaded ``unique``.
    """
    parts = [c.drop_nulls() for c in columns if c is not None and len(c)]
    if not parts:
        return IdMap(np.zeros(0, dtype=np.int64))
    if all(p.dtype == pl.String for p in parts):
        merged = pl.concat(parts).unique().sort()
        return IdMap(merged.to_numpy().astype(str))
    if not all(p.dtype.is_integer() for p in parts):
        kinds = sorted({str(p.dtype) for p in parts})
        raise TypeError(f"ids must all be integers or all strings, got {kinds}")
    lo = min(int(cast(int, p.min())) for p in parts)
    hi = max(int(cast(int, p.max())) for p in parts)
    if lo >= 0 and hi < _DENSE_LIMIT:
        seen = np.zeros(hi + 1, dtype=bool)
        for p in parts:
            seen[p.to_numpy()] = True
        return IdMap(np.flatnonzero(seen).astype(np.int64))
    merged = pl.concat([p.cast(pl.Int64) for p in parts]).unique().sort()
    return IdMap(merged.to_numpy())


def lookup(ids: IdMap, raw: pl.Series) -> NDArray[np.int32]:
    """Indices of ``raw`` (all known to be in ``ids``; nulls are not allowed), as int32.

    ``IdMap.index`` is the general, checked path; this one is the load-time hot path for millions
    of rows, a gather from a dense table when ids are small integers.
    """
    if ids.is_integer:
        values = raw.cast(pl.Int64).to_numpy()
        if len(ids) and ids.raw_ids[0] >= 0 and ids.raw_ids[-1] < _DENSE_LIMIT:
            table = np.full(int(ids.raw_ids[-1]) + 1, -1, dtype=np.int32)
            table[ids.raw_ids] = np.arange(len(ids), dtype=np.int32)
            return table[values]
        # raw_ids are sorted (union_ids builds them that way), so position == index.
        return np.searchsorted(ids.raw_ids, values).astype(np.int32)
    mapping = pl.DataFrame({"raw": ids.raw_ids, "idx": np.arange(len(ids), dtype=np.int32)})
    return (
        raw.cast(pl.String).to_frame("raw").join(mapping, on="raw", how="left", maintain_order="left")["idx"].to_numpy()
    )


def align_rows(ids: IdMap, raw: pl.Series, frame: pl.DataFrame) -> pl.DataFrame:
    """Reorder ``frame`` (one row per id in ``raw``) to one row per index of ``ids``; absent ids get nulls."""
    idx = lookup(ids, raw)
    order = np.full(len(ids), -1, dtype=np.int64)
    order[idx] = np.arange(len(idx))
    present = order >= 0
    if present.all():
        return frame[order]
    take = pl.Series(np.where(present, order, 0))
    out = frame[take]
    mask = pl.Series(present)
    return out.select(pl.when(mask).then(pl.col(c)).otherwise(None).alias(c) for c in out.columns)
