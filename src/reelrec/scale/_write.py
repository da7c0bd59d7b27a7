"""Write a shard store from a stream of interaction batches with bounded memory (an external bucket sort).

Rows are spilled to per-user-range bucket files as they arrive; each bucket is then read back alone,
its repeat views merged into distinct pairs, and appended in user order. Peak memory is about
``memory_rows`` rows (plus the id maps), whatever the size of the log.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

from reelrec.data._vocab import IdMap
from reelrec.scale._store import COLUMNS, STORE_FORMAT, STORE_VERSION, ShardStore, plan_shards

#: One spilled row: user and item indices, label, time.
_ROW = np.dtype([("user", "<i4"), ("item", "<i4"), ("label", "<f4"), ("time", "<f8")])
#: Default rows handled in memory at once (about 60 bytes each while merging).
MEMORY_ROWS = 4_000_000
#: Default pairs per shard (12 bytes each in memory when read).
SHARD_PAIRS = 2_000_000


@dataclass
class Batch:
    """A batch of logged views in index space (what :func:`write_store` consumes).

    Attributes
    ----------
    user, item : ndarray of int32, shape (n,)
    label : ndarray of float32, shape (n,)
    time : ndarray of float64, shape (n,) or None
        Unix seconds; ``None`` or NaN when unknown.
    """

    user: NDArray[np.int32]
    item: NDArray[np.int32]
    label: NDArray[np.float32]
    time: NDArray[np.float64] | None = None

    def __len__(self) -> int:
        return len(self.user)


class StoreWriter:
    """Accumulates batches into bucket files, then :meth:`finish` writes the store.

    Parameters
    ----------
    out : Path
        Store directory to create; it is written beside under a temporary name and renamed into
        place, so an interrupted build never looks complete.
    users, items : IdMap
        Vocabularies the batches' indices refer to.
    expected_rows : int, optional
        A guess of the total rows, used to pre-size the buckets (wrong guesses only cost speed).
    memory_rows, shard_pairs : int
        Rows merged in memory at once; pairs per shard of the finished store.
    """

    def __init__(
        self,
        out: str | Path,
        users: IdMap,
        items: IdMap,
        *,
        expected_rows: int | None = None,
        memory_rows: int = MEMORY_ROWS,
        shard_pairs: int = SHARD_PAIRS,
    ) -> None:
        for name, value in (("memory_rows", memory_rows), ("shard_pairs", shard_pairs)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r}, must be an integer >= 1")
        self.out = Path(out)
        self.users, self.items = users, items
        self.memory_rows, self.shard_pairs = memory_rows, shard_pairs
        self.n_users, self.n_items = len(users), len(items)
        self.tmp = self.out.parent / f".{self.out.name}.tmp-{uuid.uuid4().hex[:8]}"
        self.tmp.mkdir(parents=True)
        n_buckets = max(1, min(256, math.ceil((expected_rows or 0) * 1.25 / memory_rows)))
        # User-range buckets: bucket b holds users bounds[b]:bounds[b + 1].
        self.bounds = np.linspace(0, self.n_users, n_buckets + 1).round().astype(np.int64)
        self.bounds = np.unique(self.bounds) if self.n_users else np.array([0, 0], np.int64)
        self._files: list[BinaryIO] = [
            open(self.tmp / f"bucket-{b:04d}.rows", "wb") for b in range(len(self.bounds) - 1)  # noqa: SIM115
        ]
        self.n_views = 0
        self._closed = False

    def add(self, batch: Batch) -> None:
        """Spill one batch to the bucket files (indices must already be valid)."""
        n = len(batch)
        if n == 0:
            return
        rows = np.empty(n, _ROW)
        rows["user"], rows["item"], rows["label"] = batch.user, batch.item, batch.label
        rows["time"] = np.nan if batch.time is None else batch.time
        if len(self._files) == 1:
            rows.tofile(self._files[0])
        else:
            bucket = np.searchsorted(self.bounds, batch.user, side="right") - 1
            order = np.argsort(bucket, kind="stable")
            edges = np.searchsorted(bucket[order], np.arange(len(self._files) + 1))
            for b in np.flatnonzero(np.diff(edges)):
                rows[order[edges[b] : edges[b + 1]]].tofile(self._files[b])
        self.n_views += n

    def abort(self) -> None:
        """Close and delete everything written so far."""
        self._close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _close(self) -> None:
        if not self._closed:
            for fh in self._files:
                fh.close()
            self._closed = True

    def finish(self, meta: dict[str, Any] | None = None, label_name: str = "label") -> ShardStore:
        """Merge the buckets into distinct pairs, write columns, offsets, ids and the manifest."""
        self._close()
        try:
            counts = np.zeros(self.n_users, np.int64)
            outs: dict[str, BinaryIO] = {name: open(self.tmp / f"{name}.bin", "wb") for name in COLUMNS}  # noqa: SIM115
            try:
                for b in range(len(self.bounds) - 1):
                    path = self.tmp / f"bucket-{b:04d}.rows"
                    for group in self._groups(path, int(self.bounds[b]), int(self.bounds[b + 1])):
                        _merge_rows(group, self.n_items, counts, outs)
                    path.unlink()
            finally:
                for fh in outs.values():
                    fh.close()
            indptr = np.zeros(self.n_users + 1, np.int64)
            np.cumsum(counts, out=indptr[1:])
            np.save(self.tmp / "indptr.npy", indptr)
            _write_ids(self.tmp, self.users, self.items)
            shards = plan_shards(indptr, self.shard_pairs)
            manifest = {
                "format": STORE_FORMAT,
                "version": STORE_VERSION,
                "n_users": self.n_users,
                "n_items": self.n_items,
                "n_pairs": int(indptr[-1]),
                "n_views": int(self.n_views),
                "label_name": label_name,
                "shards": [list(s) for s in shards],
                "meta": meta or {},
            }
            (self.tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str) + "\n")
            if self.out.exists():
                shutil.rmtree(self.out)
            os.rename(self.tmp, self.out)
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        return ShardStore(self.out)

    def _groups(self, path: Path, user_lo: int, user_hi: int):
        """The bucket's rows in pieces of consecutive users, each of at most ``memory_rows`` rows when possible."""
        n = path.stat().st_size // _ROW.itemsize
        if n == 0:
            return
        rows = np.memmap(path, dtype=_ROW, mode="r", shape=(n,))
        if n <= self.memory_rows:
            yield np.array(rows)
            return
        # Too big for one piece: count rows per user, cut at user boundaries, and route rows by piece.
        width = user_hi - user_lo
        per_user = np.zeros(width, np.int64)
        step = self.memory_rows
        for lo in range(0, n, step):
            per_user += np.bincount(rows["user"][lo : lo + step] - user_lo, minlength=width)
        cum = np.cumsum(per_user)
        cuts = [0]
        while cuts[-1] < width:
            done = cum[cuts[-1] - 1] if cuts[-1] else 0
            nxt = int(np.searchsorted(cum, done + self.memory_rows, side="right"))
            cuts.append(min(width, max(nxt, cuts[-1] + 1)))
        edges = np.asarray(cuts, np.int64) + user_lo
        files = [open(path.with_suffix(f".part{p:04d}"), "wb") for p in range(len(edges) - 1)]  # noqa: SIM115
        try:
            for lo in range(0, n, step):
                chunk = np.array(rows[lo : lo + step])
                piece = np.searchsorted(edges, chunk["user"], side="right") - 1
                order = np.argsort(piece, kind="stable")
                bounds = np.searchsorted(piece[order], np.arange(len(files) + 1))
                for p in np.flatnonzero(np.diff(bounds)).tolist():
                    chunk[order[bounds[p] : bounds[p + 1]]].tofile(files[p])
        finally:
            for fh in files:
                fh.close()
        del rows
        for p in range(len(files)):
            part = path.with_suffix(f".part{p:04d}")
            m = part.stat().st_size // _ROW.itemsize
            piece_rows = np.fromfile(part, dtype=_ROW, count=m)
            part.unlink()
            if m:
                yield piece_rows


def _merge_rows(rows: NDArray, n_items: int, counts: NDArray[np.int64], outs: dict[str, BinaryIO]) -> None:
    """Merge repeat views of each (user, item) into one pair (mean label, view count, last time) and append."""
    key = rows["user"].astype(np.int64) * n_items + rows["item"]
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    views = np.diff(np.append(starts, len(key))).astype(np.int32)
    label_sum = np.add.reduceat(rows["label"][order].astype(np.float64), starts)
    time = np.fmax.reduceat(rows["time"][order], starts)
    user = (key[starts] // n_items).astype(np.int64)
    item = (key[starts] % n_items).astype(np.int32)
    _bincount_into(counts, user)
    item.tofile(outs["item"])
    (label_sum / views).astype(np.float32).tofile(outs["label"])
    views.tofile(outs["views"])
    time.astype(np.float64).tofile(outs["time"])


def _bincount_into(counts: NDArray[np.int64], user: NDArray[np.int64]) -> None:
    lo, hi = int(user.min()), int(user.max()) + 1
    counts[lo:hi] += np.bincount(user - lo, minlength=hi - lo)


def _write_ids(path: Path, users: IdMap, items: IdMap) -> None:
    if users.is_integer and items.is_integer:
        np.save(path / "users.npy", users.raw_ids)
        np.save(path / "items.npy", items.raw_ids)
    else:
        (path / "ids.json").write_text(json.dumps({"users": users.to_list(), "items": items.to_list()}))


def write_store(
    out: str | Path,
    users: IdMap,
    items: IdMap,
    batches: Iterable[Batch],
    *,
    expected_rows: int | None = None,
    memory_rows: int = MEMORY_ROWS,
    shard_pairs: int = SHARD_PAIRS,
    meta: dict[str, Any] | None = None,
    label_name: str = "label",
) -> ShardStore:
    """Build a store at ``out`` from batches of index-space views; returns it opened.

    Repeat views of a (user, video) pair become one pair labelled with their mean (the view count and
    the last view time are kept beside). Memory stays near ``memory_rows`` rows however long the log.

    Raises
    ------
    ValueError
        When a batch holds indices outside the vocabularies or non-finite labels (naming the batch).
    """
    writer = StoreWriter(
        out, users, items, expected_rows=expected_rows, memory_rows=memory_rows, shard_pairs=shard_pairs
    )
    try:
        for k, batch in enumerate(batches):
            _check_batch(batch, k, len(users), len(items))
            writer.add(batch)
    except BaseException:
        writer.abort()
        raise
    return writer.finish(meta, label_name)


def _check_batch(batch: Batch, k: int, n_users: int, n_items: int) -> None:
    n = len(batch)
    if len(batch.item) != n or len(batch.label) != n or (batch.time is not None and len(batch.time) != n):
        raise ValueError(f"batch {k}: columns have different lengths")
    if n == 0:
        return
    for name, arr, hi in (("user", batch.user, n_users), ("item", batch.item, n_items)):
        bad = (arr < 0) | (arr >= hi)
        if bad.any():
            row = int(np.argmax(bad))
            raise ValueError(f"batch {k}, row {row}: {name} index {int(arr[row])} outside [0, {hi})")
    finite = np.isfinite(batch.label)
    if not finite.all():
        row = int(np.argmin(finite))
        raise ValueError(f"batch {k}, row {row}: label {float(batch.label[row])!r} is not finite")


def store_from_arrays(
    out: str | Path,
    users: IdMap,
    items: IdMap,
    user: NDArray,
    item: NDArray,
    label: NDArray,
    time: NDArray | None = None,
    *,
    batch_rows: int = 1 << 20,
    **kwargs: Any,
) -> ShardStore:
    """A store from in-memory index arrays (an in-memory :class:`~reelrec.data.Interactions`, say)."""
    n = len(user)

    def gen():
        for lo in range(0, n, batch_rows):
            sl = slice(lo, lo + batch_rows)
            yield Batch(
                np.asarray(user[sl], np.int32),
                np.asarray(item[sl], np.int32),
                np.asarray(label[sl], np.float32),
                None if time is None else np.asarray(time[sl], np.float64),
            )

    return write_store(out, users, items, gen(), expected_rows=n, **kwargs)
