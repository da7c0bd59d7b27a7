"""A content fingerprint of a data set: what decides whether a saved model was trained on this data."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from reelrec.data._dataset import Dataset, Interactions


def dataset_fingerprint(dataset: Dataset) -> str:
    """A digest of everything a split and a model are built from: ids, logs, truth and features.

    Any edit of the data (one label, one timestamp, one feature value) changes it, even when the
    ids stay the same; file paths and modification times do not enter it, so a copy of the same
    data has the same fingerprint.
    """
    h = hashlib.blake2b(digest_size=16)
    for ids in (dataset.users.raw_ids, dataset.items.raw_ids):
        _update_array(h, np.asarray(ids))
    for log in (dataset.interactions, dataset.fully_observed):
        h.update(b"log")
        if log is not None:
            _update_log(h, log)
    if dataset.truth is not None:
        _update_array(h, np.asarray(dataset.truth))
    for table in (dataset.user_features, dataset.item_features):
        h.update(b"features")
        if table is not None:
            h.update(repr(sorted(table.kinds.items())).encode())
            # polars' row hash may change between polars releases: that costs a refit, never a wrong reuse.
            h.update(table.frame.hash_rows(seed=0).to_numpy().tobytes())
    h.update(dataset.label_name.encode())
    return h.hexdigest()


def _update_log(h: Any, log: Interactions) -> None:
    for arr in (log.user, log.item, log.label, log.timestamp):
        _update_array(h, arr)


def _update_array(h: Any, arr: np.ndarray) -> None:
    h.update(f"{arr.dtype.str}{arr.shape}".encode())
    if arr.dtype == object:
        h.update("\0".join(map(str, arr.tolist())).encode())
    else:
        h.update(np.ascontiguousarray(arr).tobytes())
