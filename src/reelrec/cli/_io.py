"""Small file readers/writers for the CLI: id lists, user/item pairs, recommendation tables."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from reelrec.errors import DataError


def read_id_column(path: Path, column: str) -> NDArray:
    """Ids from a CSV with a header naming ``column``, or a headerless one-id-per-line file."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    text = path.read_text().strip()
    if not text:
        raise DataError(f"{path}: file is empty; expected a '{column}' column or one id per line")
    lines = text.splitlines()
    first = lines[0].split(",")
    if column in first:
        frame = pl.read_csv(path, infer_schema_length=0)
        values = frame[column].to_list()
        start_row = 2
    elif len(first) == 1:
        values = [ln.strip() for ln in lines]
        start_row = 1
    else:
        raise DataError(f"{path}: expected a header with a '{column}' column, got {lines[0]!r}")
    for offset, value in enumerate(values):
        if value is None or str(value).strip() == "":
            raise DataError(f"{path}: row {offset + start_row}: empty {column}")
    return np.asarray([str(v).strip() for v in values])


def read_pairs(path: Path) -> tuple[NDArray, NDArray]:
    """``user_id,item_id`` rows (header required) as two string arrays."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        frame = pl.read_csv(path, infer_schema_length=0)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise DataError(f"{path}: not a readable CSV ({exc})") from None
    missing = [c for c in ("user_id", "item_id") if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column {missing[0]!r}; expected header user_id,item_id")
    for col in ("user_id", "item_id"):
        nulls = frame[col].is_null()
        if nulls.any():
            row = int(np.flatnonzero(nulls.to_numpy())[0]) + 2
            raise DataError(f"{path}: row {row}: empty {col}")
    return frame["user_id"].to_numpy().astype(str), frame["item_id"].to_numpy().astype(str)


def write_table(frame: pl.DataFrame, out: Path | None) -> None:
    """CSV to ``out`` (JSON records when it ends in ``.json``), atomically; stdout when ``out`` is None."""
    if out is None:
        print(frame.write_csv(), end="")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".json":
        payload = json.dumps(frame.to_dicts(), indent=1, default=_json_default)
    else:
        payload = frame.write_csv()
    atomic_write_text(out, payload)


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename: never a half-written file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")
