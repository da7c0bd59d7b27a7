"""Read a session history CSV for ``reelrec recommend --history``: recent views, newest last.

Columns: ``item_id`` and ``watch_ratio`` (both required; an empty ratio means "not known"), and
optionally ``timestamp`` (a number) and ``skipped`` (``0``/``1``, ``true``/``false``, ``yes``/``no``).
Every error names the file, the row (the header is row 1) and the column.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from reelrec.cli._io import STDIN, _read_csv, is_int, read_text
from reelrec.data._vocab import IdMap
from reelrec.errors import DataError
from reelrec.models._history import MAX_HISTORY, History

_TRUE = {"1", "true", "yes"}
_FALSE = {"0", "false", "no", ""}
REQUIRED = ("item_id", "watch_ratio")
OPTIONAL = ("timestamp", "skipped")


def read_history(path: Path, items: IdMap) -> History:
    """The history in ``path`` (``-`` for standard input) as item indices of a fitted model.

    Raises
    ------
    DataError
        Naming the file, row and column of the first bad value (unknown video ids are listed).
    """
    name = "standard input" if str(path) == STDIN else str(path)
    text = read_text(path)
    header = "item_id,watch_ratio[,timestamp,skipped]"
    if not text.strip():
        raise DataError(f"{name}: file is empty; expected a header {header}")
    frame = _read_csv(text, name)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise DataError(f"{name}: missing column {missing[0]!r}; expected header {header}")
    extra = [c for c in frame.columns if c not in REQUIRED + OPTIONAL]
    if extra:
        raise DataError(f"{name}: unexpected column {extra[0]!r}; allowed: {', '.join(REQUIRED + OPTIONAL)}")
    if len(frame) > MAX_HISTORY:
        raise DataError(f"{name}: {len(frame)} views; a history holds at most {MAX_HISTORY} (the newest)")
    ids = [(v or "").strip() for v in frame["item_id"].to_list()]
    ratio = _numbers(frame["watch_ratio"].to_list(), name, "watch_ratio", minimum=0.0, allow_empty=True)
    ts = None
    if "timestamp" in frame.columns:
        ts = _numbers(frame["timestamp"].to_list(), name, "timestamp", allow_empty=True)
        ts = None if np.isnan(ts).all() else ts
    skipped = _flags(frame["skipped"].to_list(), name) if "skipped" in frame.columns else None
    return History.of(_item_indices(ids, items, name), ratio, skipped, ts)


def _item_indices(ids: list[str], items: IdMap, name: str) -> np.ndarray:
    for row, value in enumerate(ids, start=2):
        if value == "":
            raise DataError(f"{name}: row {row}: column item_id: empty")
    if not ids:
        return np.zeros(0, np.int32)
    valid = np.asarray([is_int(v) for v in ids], bool) if items.is_integer else np.ones(len(ids), bool)
    idx = np.full(len(ids), -1, np.int32)
    if valid.any():
        idx[valid] = items.index(np.asarray(ids)[valid], missing="negative")
    bad = np.flatnonzero(idx < 0)
    if len(bad):
        shown = ", ".join(f"{ids[i]!r} (row {i + 2})" for i in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise DataError(f"{name}: row {bad[0] + 2}: column item_id: unknown item ids {shown}{more}; not in the model")
    return idx


def _numbers(
    values: list[str | None], name: str, column: str, minimum: float | None = None, allow_empty: bool = False
) -> np.ndarray:
    out = np.full(len(values), np.nan)
    for row, raw in enumerate(values, start=2):
        text = (raw or "").strip()
        if text == "" and allow_empty:
            continue
        try:
            value = float(text)
        except ValueError:
            raise DataError(f"{name}: row {row}: column {column}: {text!r} is not a number") from None
        if not math.isfinite(value) or (minimum is not None and value < minimum):
            bound = f" >= {minimum:g}" if minimum is not None else ""
            raise DataError(f"{name}: row {row}: column {column}: {text!r}, expected a finite number{bound}")
        out[row - 2] = value
    return out


def _flags(values: list[str | None], name: str) -> np.ndarray:
    out = np.zeros(len(values), bool)
    for row, raw in enumerate(values, start=2):
        text = (raw or "").strip().lower()
        if text not in _TRUE | _FALSE:
            raise DataError(f"{name}: row {row}: column skipped: {raw!r}, expected 0/1, true/false or yes/no")
        out[row - 2] = text in _TRUE
    return out
