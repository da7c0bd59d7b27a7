"""Generic layout reader: interactions.csv|parquet plus optional users/items feature files and a schema file."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray

from reelrec.data import _duplicates
from reelrec.data._cache import cached_load
from reelrec.data._csv import Col, Table, read_parquet_table, read_table
from reelrec.data._dataset import Dataset, FeatureTable, Interactions
from reelrec.data._ids import align_rows, lookup, union_ids
from reelrec.data._infer import apply_kinds, check_schema_columns, read_schema
from reelrec.data._kuairec_features import require_unique
from reelrec.data._source import DataSource
from reelrec.data._vocab import IdMap
from reelrec.data._warn import warn_data
from reelrec.errors import DataError

IdDtype = Literal["auto", "int", "str"]
_INT_LIKE = r"^\s*[+-]?\d+\s*$"
STEMS = ("interactions", "users", "items")


def find_generic_file(source: DataSource, stem: str) -> str | None:
    """``stem.parquet`` or ``stem.csv`` in ``source``; both present is ambiguous and an error."""
    present = [f"{stem}.{ext}" for ext in ("parquet", "csv") if source.exists(f"{stem}.{ext}")]
    if len(present) > 1:
        raise DataError(f"{source.display(present[0])}: both {' and '.join(present)} exist; keep only one")
    return present[0] if present else None


def load_generic(
    path: str | Path,
    *,
    duplicates: str = "keep",
    clip: float | None = None,
    schema: Mapping[str, Any] | str | Path | None = None,
    id_dtype: IdDtype = "auto",
    label_name: str = "label",
    cache: bool = True,
    cache_dir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Dataset:
    """Load a folder (or zip) in the generic layout into a :class:`Dataset`.

    Layout: ``interactions.csv`` (``user_id,item_id,label[,timestamp]``), optional ``users.csv``
    (``user_id`` + feature columns) and ``items.csv`` (``item_id`` + features); ``.parquet`` files
    work the same way. Feature kinds are inferred and may be overridden by ``schema.json`` /
    ``schema.toml`` in the folder, or by ``schema``.

    Parameters
    ----------
    duplicates : {"keep", "drop", "aggregate"}
        Rows repeating an earlier row exactly, and repeated (user, item) pairs: see :func:`load_kuairec`.
    clip : float or None
        Upper bound applied to every label (default: none).
    schema : mapping, str or Path, optional
        ``{"users": {"col": "numeric" | "categorical" | "multi" | "ignore"}, "items": {...}}`` or a
        path to such a JSON/TOML file.
    id_dtype : {"auto", "int", "str"}
        Raw id type. ``auto`` uses integers when every id is an integer and text when none is; a
        column mixing both is an error (a typo in one row should not turn every id into text).
    label_name : str
        What the label means (``rating``, ``play_count``...), recorded in ``Dataset.label_name``.

    Raises
    ------
    DataError
        Missing or malformed files; messages name file, column and first bad row.
    """
    source = DataSource(Path(path))
    if duplicates not in _duplicates.POLICIES:
        raise ValueError(f"duplicates={duplicates!r}, expected one of {', '.join(_duplicates.POLICIES)}")
    if id_dtype not in ("auto", "int", "str"):
        raise ValueError(f"id_dtype={id_dtype!r}, expected 'auto', 'int' or 'str'")
    if clip is not None and not np.isfinite(clip):
        raise ValueError(f"clip={clip!r}, expected a number or None")
    if find_generic_file(source, "interactions") is None:
        raise DataError(f"{path}: no interactions.csv or interactions.parquet found")
    overrides = read_schema(source, schema)
    files = [f"{s}.{e}" for s in STEMS for e in ("csv", "parquet")] + ["schema.json", "schema.toml"]
    options = {
        "duplicates": duplicates,
        "clip": clip,
        "schema": {k: v for k, v in overrides.items() if k != "__where__"},
        "id_dtype": id_dtype,
        "label_name": label_name,
    }
    return cached_load(
        "generic",
        source,
        files,
        options,
        lambda: _build(source, duplicates, clip, overrides, id_dtype, label_name, progress),
        enabled=cache,
        cache_dir=cache_dir,
        progress=progress,
    )


def _build(
    source: DataSource,
    policy: str,
    clip: float | None,
    schema: dict[str, dict[str, str]],
    id_dtype: IdDtype,
    label_name: str,
    progress: Callable[[str], None] | None,
) -> Dataset:
    step = progress or (lambda s: None)
    step("reading interactions")
    log = _read_interactions(source, id_dtype)
    user_raw = log.frame["user_id"]
    item_raw = log.frame["item_id"]

    step("reading features")
    feature_tables: dict[str, tuple[Table, dict[str, str]]] = {}
    for stem, id_col, log_ids in (("users", "user_id", user_raw), ("items", "item_id", item_raw)):
        name = find_generic_file(source, stem)
        if name is None:
            continue
        table = _read_features(source, name, id_col, log_ids.dtype, id_dtype)
        feature_tables[stem] = (table, check_schema_columns(schema, stem, table))

    step("indexing")
    user_feats = feature_tables.get("users")
    item_feats = feature_tables.get("items")
    users = union_ids(user_raw, user_feats[0].frame["user_id"] if user_feats else None)
    items = union_ids(item_raw, item_feats[0].frame["item_id"] if item_feats else None)
    user = lookup(users, user_raw)
    item = lookup(items, item_raw)
    label = log.frame["label"].to_numpy()
    timestamp = log.frame["timestamp"].to_numpy() if "timestamp" in log.frame.columns else np.full(len(user), np.nan)

    meta: dict[str, Any] = {"format": "generic", "files": {}}
    meta["files"]["interactions"] = log.where
    exact = _duplicates.exact_duplicates(user, timestamp, [item, label])
    report = _duplicates.report(user, item, exact, len(users), len(items))
    n_clipped = 0
    if clip is not None:
        n_clipped = int((label > clip).sum())
        label = np.minimum(label, clip)
    user, item, label, timestamp = _duplicates.apply_policy(
        policy, user, item, label, timestamp, exact, len(users), len(items)
    )
    meta["log"] = {**report.to_dict(), "rows_kept": len(user), "clipped_rows": n_clipped}
    meta["duplicates_policy"] = policy
    meta["clip"] = clip

    step("building features")
    tables: dict[str, FeatureTable] = {}
    for stem, id_col, ids, indices in (("users", "user_id", users, user), ("items", "item_id", items, item)):
        if stem not in feature_tables:
            continue
        table, overrides = feature_tables[stem]
        frame, kinds = apply_kinds(table, id_col, overrides)
        _warn_unmatched(table, id_col, ids, indices)
        tables[stem] = FeatureTable(align_rows(ids, frame[id_col], frame.drop(id_col)), kinds)
        meta["files"][stem] = table.where
    return Dataset(
        users=users,
        items=items,
        interactions=Interactions.from_arrays(user, item, label, timestamp),
        user_features=tables.get("users"),
        item_features=tables.get("items"),
        label_name=label_name,
        source="generic",
        meta=meta,
    )


def _read_interactions(source: DataSource, id_dtype: IdDtype) -> Table:
    name = find_generic_file(source, "interactions")
    assert name is not None  # checked by the caller
    columns = [
        Col("user_id", pl.String(), "a user id"),
        Col("item_id", pl.String(), "an item id"),
        Col("label", pl.Float64(), "a finite number"),
        Col("timestamp", pl.String(), "Unix seconds or a date-time", nullable=True, required=False),
    ]
    if name.endswith(".parquet"):
        table = read_parquet_table(source, name, columns)
        table = Table(
            table.frame.select([c.name for c in columns if c.name in table.frame.columns]), table.where, text=False
        )
    else:
        table = read_table(source, name, columns)
    frame = table.frame
    label = frame["label"]
    if not label.dtype.is_numeric() and label.dtype != pl.Boolean:
        raise DataError(f"{table.where}: column 'label' holds {label.dtype} values; expected numbers")
    label = label.cast(pl.Float64)
    table.require("label", label.is_finite(), "a finite number")
    out = {
        "user_id": coerce_ids(table, "user_id", id_dtype),
        "item_id": coerce_ids(table, "item_id", id_dtype),
        "label": label,
    }
    if "timestamp" in frame.columns:
        out["timestamp"] = parse_timestamps(table, "timestamp")
    return Table(pl.DataFrame(out), table.where, text=table.text)


def coerce_ids(table: Table, column: str, id_dtype: IdDtype, like: pl.DataType | None = None) -> pl.Series:
    """Raw ids as ``Int64`` or stripped ``String``, per ``id_dtype`` (or matching another file's ``like``)."""
    series = table.frame[column]
    want = id_dtype
    if like is not None:
        want = "int" if like == pl.Int64 else "str"
    if series.dtype.is_integer():
        return series.cast(pl.Int64) if want != "str" else series.cast(pl.String)
    if series.dtype != pl.String:
        raise DataError(f"{table.where}: column '{column}' holds {series.dtype} values; expected integer or text ids")
    text = series.str.strip_chars()
    if want == "str":
        return text
    int_like = text.str.contains(_INT_LIKE)
    if want == "int":
        table.require(column, int_like, "an integer id")
        return text.cast(pl.Int64)
    n_int = int(int_like.sum())
    if 0 < n_int < len(text):
        # Mixed ids are far more often a corrupt row than real text ids; make the user say so.
        table.require(column, int_like, "an integer id like the other rows (pass id_dtype='str' for text ids)")
    return text.cast(pl.Int64) if n_int == len(text) else text


def parse_timestamps(table: Table, column: str) -> pl.Series:
    """Unix seconds (``Float64``, NaN where empty) from numbers, dates or date-time text."""
    series = table.frame[column]
    if isinstance(series.dtype, pl.Datetime):
        return (series.dt.epoch("ms").cast(pl.Float64) / 1000.0).fill_null(np.nan)
    if series.dtype == pl.Date:
        return (series.dt.epoch("s").cast(pl.Float64)).fill_null(np.nan)
    if series.dtype.is_numeric():
        values = series.cast(pl.Float64)
    else:
        text = series.cast(pl.String).str.strip_chars()
        values = text.cast(pl.Float64, strict=False)
        unparsed = values.is_null() & text.is_not_null()
        if bool(unparsed.any()):
            first = text.filter(unparsed)[0]
            parsed = None
            for fmt in (None, "%Y-%m-%d"):
                try:
                    stamp = text.str.to_datetime(fmt, strict=False) if fmt else text.str.to_datetime(strict=False)
                except pl.exceptions.PolarsError:
                    continue
                if stamp.is_not_null().any():
                    parsed = stamp
                    break
            if parsed is None:
                raise DataError(f"{table.where}: column '{column}': value {first!r} is not Unix seconds or a date-time")
            table.require(column, parsed.is_not_null() | text.is_null(), "Unix seconds or a date-time like the rest")
            values = parsed.dt.epoch("ms").cast(pl.Float64) / 1000.0
    table.require(column, values.is_finite() | values.is_null() | values.is_nan(), "finite Unix seconds")
    return values.fill_null(np.nan)


def _read_features(source: DataSource, name: str, id_col: str, id_like: pl.DataType, id_dtype: IdDtype) -> Table:
    columns = [Col(id_col, pl.String(), f"an id matching interactions' {id_col}")]
    if name.endswith(".parquet"):
        table = read_parquet_table(source, name, columns)
    else:
        table = read_table(source, name, columns, rest="infer", min_rows=0)
    ids = coerce_ids(table, id_col, id_dtype, like=id_like)
    table = Table(table.frame.with_columns(ids.alias(id_col)), table.where, text=table.text)
    require_unique(table, id_col, "user" if id_col == "user_id" else "item")
    return table


def _warn_unmatched(table: Table, id_col: str, ids: IdMap, used: NDArray[np.int32]) -> None:
    seen = np.zeros(len(ids), dtype=bool)
    seen[used] = True
    rows = lookup(ids, table.frame[id_col])
    unmatched = rows[~seen[rows]]
    if len(unmatched):
        shown = ", ".join(repr(x) for x in ids.raw_ids[np.sort(unmatched)[:5]].tolist())
        warn_data(
            f"{table.where}: {len(unmatched)} ids in column '{id_col}' match no interaction (e.g. {shown}); "
            "they are kept as entities without interactions"
        )
