"""Feature kinds for generic side tables: inferred from the values, overridable by a schema file."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from reelrec.data._csv import Table
from reelrec.data._dataset import FeatureKind
from reelrec.data._lists import split_multi
from reelrec.data._source import DataSource
from reelrec.errors import DataError

#: Integer columns with at most this many distinct values are treated as categories (codes, flags).
MAX_INT_CATEGORIES = 20
KINDS = ("numeric", "categorical", "multi", "ignore")
SECTIONS = ("users", "items")


def infer_kind(series: pl.Series) -> FeatureKind:
    """Guess a column's kind: lists and ``a|b`` strings are multi-valued, other strings, booleans and
    integers with few distinct values are categorical, remaining numbers are numeric."""
    dtype = series.dtype
    if isinstance(dtype, pl.List):
        return "multi"
    if dtype == pl.String:
        return "multi" if bool(series.str.contains("|", literal=True).any()) else "categorical"
    if dtype == pl.Boolean or dtype == pl.Categorical:
        return "categorical"
    if dtype.is_integer():
        return "categorical" if series.n_unique() <= MAX_INT_CATEGORIES else "numeric"
    return "numeric"


def apply_kinds(table: Table, id_column: str, overrides: Mapping[str, str]) -> tuple[pl.DataFrame, dict]:
    """Cast every feature column of ``table`` to its kind's canonical dtype.

    Numeric -> ``Float32``; categorical -> ``Int64`` or ``String``; multi -> ``List``. ``overrides``
    (column -> kind, ``ignore`` drops the column) wins over inference.

    Returns
    -------
    frame : polars.DataFrame
        ``id_column`` plus the kept feature columns.
    kinds : dict
        Column -> kind, in file order.
    """
    kinds: dict[str, FeatureKind] = {}
    columns = [table.frame[id_column]]
    for name in table.frame.columns:
        if name == id_column:
            continue
        series = table.frame[name]
        kind = overrides.get(name) or infer_kind(series)
        if kind == "ignore":
            continue
        columns.append(_cast(table, series, kind))
        kinds[name] = kind  # type: ignore[assignment]
    return pl.DataFrame(columns), kinds


def _cast(table: Table, series: pl.Series, kind: str) -> pl.Series:
    name = series.name
    if kind == "numeric":
        if series.dtype == pl.String:
            parsed = series.str.strip_chars().cast(pl.Float64, strict=False)
            table.require(name, parsed.is_not_null() | series.is_null(), "a number (schema says numeric)")
            series = parsed
        elif not series.dtype.is_numeric() and series.dtype != pl.Boolean:
            raise DataError(f"{table.where}: column '{name}' holds {series.dtype} values, which cannot be numeric")
        return series.cast(pl.Float64).fill_nan(None).cast(pl.Float32)
    if kind == "categorical":
        if series.dtype.is_float():
            whole = (series == series.floor()) | series.is_null() | series.is_nan()
            if bool(whole.all()):
                return series.fill_nan(None).cast(pl.Int64)
            return series.cast(pl.String)
        if series.dtype.is_integer() or series.dtype == pl.Boolean:
            return series.cast(pl.Int64)
        return series.cast(pl.String)
    if isinstance(series.dtype, pl.List):
        return series
    if series.dtype != pl.String:
        raise DataError(
            f"{table.where}: column '{name}' holds {series.dtype} values; multi-valued features "
            "are 'a|b|c' strings or lists"
        )
    return split_multi(series)


def read_schema(source: DataSource | None, schema: Mapping[str, Any] | str | Path | None) -> dict[str, dict[str, str]]:
    """Feature-kind overrides from ``schema`` (a mapping or a file) or the data's own schema file.

    The file is ``schema.json`` or ``schema.toml`` holding ``{"users": {"col": "categorical"}, "items": {...}}``.
    """
    where = "schema"
    text: str | None = None
    suffix = ".json"
    if schema is None and source is not None:
        for name in ("schema.json", "schema.toml"):
            if source.exists(name):
                where, suffix = source.display(name), Path(name).suffix
                text = source.read_bytes(name).decode("utf-8")
                break
        else:
            return {}
    elif schema is None:
        return {}
    elif isinstance(schema, str | Path):
        where, suffix = str(schema), Path(schema).suffix
        try:
            text = Path(schema).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DataError(f"{where}: file not found") from None
    if text is not None:
        try:
            raw = tomllib.loads(text) if suffix == ".toml" else json.loads(text)
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            raise DataError(f"{where}: not valid {suffix.lstrip('.') or 'JSON'} ({exc})") from None
    else:
        raw = dict(schema)  # type: ignore[arg-type]
    if not isinstance(raw, dict):
        raise DataError(f"{where}: expected an object with 'users' and/or 'items' sections")
    out: dict[str, dict[str, str]] = {}
    for section, columns in raw.items():
        if section not in SECTIONS:
            raise DataError(f"{where}: unknown section {section!r}; expected {' or '.join(SECTIONS)}")
        if not isinstance(columns, dict):
            raise DataError(f"{where}: section {section!r} must map column names to kinds")
        for column, kind in columns.items():
            if kind not in KINDS:
                raise DataError(f"{where}: {section}.{column} = {kind!r}; expected one of {', '.join(KINDS)}")
        out[section] = {str(c): str(k) for c, k in columns.items()}
    out["__where__"] = {"file": where}
    return out


def check_schema_columns(schema: dict[str, dict[str, str]], section: str, table: Table) -> dict[str, str]:
    """The section's overrides, after checking that each names a column of the file."""
    overrides = schema.get(section, {})
    unknown = [c for c in overrides if c not in table.frame.columns]
    if unknown:
        where = schema.get("__where__", {}).get("file", "schema")
        raise DataError(
            f"{where}: {section}.{unknown[0]} is not a column of {table.where} "
            f"(columns: {', '.join(table.frame.columns)})"
        )
    return overrides
