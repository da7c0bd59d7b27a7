"""Small file readers/writers for the CLI: id lists, user/item pairs, recommendation tables.

Inputs may be regular files, pipes (``<(seq 0 99)``) or ``-`` for standard input: each is read once,
as bytes, then decoded and parsed from memory.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from reelrec._atomic import atomic_write_text
from reelrec.errors import DataError

#: The name that means standard input in place of a file path.
STDIN = "-"


def read_text(path: Path) -> str:
    """The whole of a file, pipe or ``-`` (standard input) as UTF-8 text; errors name the file."""
    if str(path) == STDIN:
        data = sys.stdin.buffer.read()
        name = "standard input"
    else:
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file")
        if path.is_dir():
            raise DataError(f"{path}: is a directory; expected a CSV file")
        with open(path, "rb") as fh:  # open + read works for FIFOs, where polars' mmap does not
            data = fh.read()
        name = str(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start]
        raise DataError(f"{name}: line {line}: not UTF-8 text (byte 0x{bad:02x}); save it as UTF-8") from None


def read_id_column(path: Path, column: str) -> NDArray:
    """Ids from a CSV with a header naming ``column``, or a headerless one-id-per-line file.

    A one-column file whose first line is not an integer while every other line is, is refused as a
    header with the wrong name rather than read as an id.
    """
    name = "standard input" if str(path) == STDIN else str(path)
    text = read_text(path).strip()
    if not text:
        raise DataError(f"{name}: file is empty; expected a '{column}' column or one id per line")
    lines = text.splitlines()
    first = [c.strip() for c in lines[0].split(",")]
    if column in first:
        frame = _read_csv(text, name)
        values = frame[column].to_list()
        start_row = 2
    elif len(first) == 1:
        values = [ln.strip() for ln in lines]
        start_row = 1
        if len(values) > 1 and not is_int(values[0]) and all(is_int(v) for v in values[1:]):
            raise DataError(
                f"{name}: line 1: {values[0]!r} looks like a header, but the column must be named "
                f"'{column}'; name it so, or list ids only"
            )
    else:
        raise DataError(f"{name}: expected a header with a '{column}' column, got {lines[0]!r}")
    for offset, value in enumerate(values):
        if value is None or str(value).strip() == "":
            raise DataError(f"{name}: row {offset + start_row}: empty {column}")
    return np.asarray([str(v).strip() for v in values], dtype=str)


def read_pairs(path: Path) -> tuple[NDArray, NDArray]:
    """``user_id,item_id`` rows (header required) as two string arrays."""
    name = "standard input" if str(path) == STDIN else str(path)
    frame = _read_csv(read_text(path), name)
    missing = [c for c in ("user_id", "item_id") if c not in frame.columns]
    if missing:
        raise DataError(f"{name}: missing column {missing[0]!r}; expected header user_id,item_id")
    for col in ("user_id", "item_id"):
        nulls = frame[col].is_null()
        if nulls.any():
            row = int(np.flatnonzero(nulls.to_numpy())[0]) + 2
            raise DataError(f"{name}: row {row}: empty {col}")
    return frame["user_id"].to_numpy().astype(str), frame["item_id"].to_numpy().astype(str)


def _read_csv(text: str, name: str) -> pl.DataFrame:
    try:
        return pl.read_csv(io.BytesIO(text.encode()), infer_schema_length=0)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, pl.exceptions.DuplicateError) as exc:
        raise DataError(f"{name}: not a readable CSV ({exc})") from None


def is_int(value: str) -> bool:
    """Whether ``value`` parses as an integer id."""
    try:
        int(value)
    except ValueError:
        return False
    return True


def write_table(frame: pl.DataFrame, out: Path | None) -> None:
    """CSV to ``out`` (JSON records when it ends in ``.json``), atomically; stdout when ``out`` is None."""
    if out is None:
        print(frame.write_csv(), end="")
        return
    if out.is_dir():
        raise DataError(f"--out {out}: is a directory; expected a file path (.csv, or .json for JSON)")
    if out.suffix == ".json":
        payload = json.dumps(frame.to_dicts(), indent=1, default=_json_default)
    else:
        payload = frame.write_csv()
    atomic_write_text(out, payload)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")
