"""Typed CSV reading that turns every malformed input into one DataError naming file, column and row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from reelrec.data._source import DataSource
from reelrec.errors import DataError

_DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "pipes"}


@dataclass(frozen=True)
class Col:
    """One expected column: its parsed dtype, how to describe a valid value, and whether it may be empty."""

    name: str
    dtype: pl.DataType
    expect: str
    nullable: bool = False
    required: bool = True


@dataclass(frozen=True)
class Table:
    """A parsed file plus what error messages need to point back into it."""

    frame: pl.DataFrame
    where: str
    header: bool = True
    text: bool = True

    def line(self, row: int) -> int:
        """File line of 0-based data row ``row`` (1-based, counting the header)."""
        return row + 2 if self.header else row + 1

    def at(self, column: str, row: int) -> str:
        line = f" (line {self.line(row)})" if self.text else ""
        return f"{self.where}: column '{column}', row {row + 1}{line}"

    def require(self, column: str, ok: pl.Series | np.ndarray, expected: str) -> None:
        """Raise naming the first row where ``ok`` is false (nulls in ``ok`` count as false)."""
        mask = ok.fill_null(False).to_numpy() if isinstance(ok, pl.Series) else np.asarray(ok, dtype=bool)
        if mask.all():
            return
        row = int(np.argmin(mask))
        n_bad = int((~mask).sum())
        value = self.frame[column][row]
        more = f" ({n_bad} rows like this)" if n_bad > 1 else ""
        raise DataError(f"{self.at(column, row)}: value {_show(value)}, expected {expected}{more}")


def read_table(
    source: DataSource,
    name: str,
    columns: Sequence[Col],
    *,
    separator: str = ",",
    header: bool = True,
    encoding: Literal["utf-8", "latin-1"] = "utf-8",
    quote_char: str | None = '"',
    rest: pl.DataType | Literal["drop", "infer"] = "drop",
    rest_expect: str = "a number",
    min_rows: int = 1,
) -> Table:
    """Read ``name`` from ``source`` with an explicit schema and validate its shape.

    Parameters
    ----------
    columns : sequence of Col
        Expected columns; for headerless files, all fields in file order.
    rest : polars dtype, ``"drop"`` or ``"infer"``
        What to do with header columns not in ``columns``: skip them, infer their dtype, or parse
        them all as this dtype (e.g. the daily counters of KuaiRec's item features).
    min_rows : int
        Fewest data rows accepted (1 for interaction logs, 0 for optional side tables).

    Raises
    ------
    DataError
        Missing or empty file, wrong delimiter, missing column, unparseable value, empty
        value in a required column (typically a truncated last line), too many fields.
    """
    where = source.display(name)
    if not source.exists(name):
        raise DataError(f"{where}: file not found")
    names = [c.name for c in columns]
    expected_fields = (separator.join(names)).replace("\t", "\\t")
    if source.size(name) == 0:
        raise DataError(f"{where}: file is empty; expected a header line '{expected_fields}' and data rows")
    first = source.first_line(name)
    try:
        first_text = first.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as exc:
        raise DataError(f"{where}: line 1 is not {encoding} text ({exc.reason} at byte {exc.start})") from None
    if not first_text.strip():
        raise DataError(f"{where}: line 1 is blank; expected '{expected_fields}'")
    _check_delimiter(where, first_text, separator, len(columns))

    if header:
        found = [f.strip().strip('"') for f in first_text.split(separator)]
        repeated = [f for i, f in enumerate(found) if f in found[:i]]
        if repeated:
            # polars would silently read the first of the two; which one the user meant is unknowable.
            places = [str(i + 1) for i, f in enumerate(found) if f == repeated[0]]
            raise DataError(
                f"{where}: column {repeated[0]!r} appears {len(places)} times in the header "
                f"(fields {', '.join(places)}); expected each column name once"
            )
        missing = [c.name for c in columns if c.required and c.name not in found]
        if missing:
            raise DataError(
                f"{where}: missing column {', '.join(repr(m) for m in missing)}; found columns: {', '.join(found)}"
            )
        present = [c for c in columns if c.name in found]
        dtypes: dict[str, pl.DataType] = {c.name: c.dtype for c in present}
        read_cols: list[Any] = [c.name for c in present]  # names, or positions without a header
        if rest != "drop":
            others = [f for f in found if f not in dtypes]
            read_cols += others
            if isinstance(rest, pl.DataType):
                dtypes.update(dict.fromkeys(others, rest))
        new_columns = None
    else:
        n_fields = len(first_text.split(separator))
        if n_fields < len(columns):
            raise DataError(
                f"{where}: line 1 has {n_fields} fields separated by {_DELIMITER_NAMES.get(separator, separator)}, "
                f"expected {len(columns)} ({', '.join(names)})"
            )
        present = list(columns)
        dtypes = {c.name: c.dtype for c in columns}
        read_cols = list(range(len(columns)))
        new_columns = names

    options: dict[str, Any] = {
        "separator": separator,
        "has_header": header,
        "new_columns": new_columns,
        "quote_char": quote_char,
        # Side tables with inferred columns are small: read them whole before settling on a dtype.
        "infer_schema_length": None if rest == "infer" else 10000,
        "truncate_ragged_lines": False,
        "raise_if_empty": True,
    }
    with source.readable(name) as data:
        if encoding != "utf-8":
            data = source.read_bytes(name).decode(encoding).encode("utf-8")
        try:
            frame = pl.read_csv(data, columns=read_cols, schema_overrides=dtypes, **options)
        except pl.exceptions.NoDataError:
            raise DataError(
                f"{where}: file is empty; expected a header line '{expected_fields}' and data rows"
            ) from None
        except pl.exceptions.PolarsError as exc:
            raise _diagnose(where, data, read_cols, dtypes, present, rest_expect, options, exc) from None
    table = Table(frame, where, header)
    if frame.height < min_rows:
        raise DataError(f"{where}: no data rows below the header; expected at least {min_rows}")
    check_nulls(table, [c for c in present if not c.nullable])
    return table


def read_parquet_table(source: DataSource, name: str, columns: Sequence[Col]) -> Table:
    """Read a parquet file: required columns present, no empty cells where a value is required.

    Column dtypes are the file's own; callers cast and check values as they do for CSV.
    """
    where = source.display(name)
    if not source.exists(name):
        raise DataError(f"{where}: file not found")
    try:
        with source.readable(name) as data:
            frame = pl.read_parquet(data)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"{where}: not a readable parquet file ({_first_line(exc)})") from None
    missing = [c.name for c in columns if c.required and c.name not in frame.columns]
    if missing:
        raise DataError(
            f"{where}: missing column {', '.join(repr(m) for m in missing)}; found columns: {', '.join(frame.columns)}"
        )
    table = Table(frame, where, header=True, text=False)
    check_nulls(table, [c for c in columns if not c.nullable and c.name in frame.columns])
    return table


def _check_delimiter(where: str, first: str, separator: str, n_columns: int) -> None:
    if separator in first:
        return
    for other, label in _DELIMITER_NAMES.items():
        if other != separator and other in first:
            raise DataError(
                f"{where}: line 1 is separated by {label}; expected fields separated by "
                f"{_DELIMITER_NAMES.get(separator, repr(separator))}"
            )
    if n_columns < 2:
        return
    raise DataError(
        f"{where}: line 1 has a single field {first[:60]!r}; expected {n_columns} fields separated by "
        f"{_DELIMITER_NAMES.get(separator, repr(separator))}"
    )


def check_nulls(table: Table, columns: Sequence[Col]) -> None:
    """Name the first empty cell in a column that needs a value (a truncated last line, typically)."""
    frame = table.frame
    if not columns:
        return
    counts = frame.select(pl.col(c.name).null_count() for c in columns).row(0)
    for col, n_null in zip(columns, counts, strict=True):
        if n_null:
            row = int(frame[col.name].is_null().arg_true()[0])
            hint = "; the last line looks truncated" if table.text and row == frame.height - 1 else ""
            more = f" ({n_null} empty values)" if n_null > 1 else ""
            raise DataError(f"{table.at(col.name, row)}: empty value, expected {col.expect}{more}{hint}")


def _diagnose(
    where: str,
    data: str | bytes,
    read_cols: list,
    dtypes: dict[str, pl.DataType],
    columns: Sequence[Col],
    rest_expect: str,
    options: dict,
    exc: Exception,
) -> DataError:
    """After a failed typed read: re-read as text and name the first value that does not parse."""
    try:
        text = pl.read_csv(data, columns=read_cols, infer_schema=False, **options)
    except pl.exceptions.PolarsError:
        return _ragged(where, data, options) or DataError(f"{where}: {_first_line(exc)}")
    expects = {c.name: c.expect for c in columns}
    table = Table(text, where, options["has_header"])
    for name, dtype in dtypes.items():
        if name not in text.columns or dtype == pl.String:
            continue
        raw = text[name]
        parsed = raw.str.strip_chars().cast(dtype, strict=False)
        table.require(name, parsed.is_not_null() | raw.is_null(), expects.get(name, rest_expect))
    return DataError(f"{where}: {_first_line(exc)}")


def _ragged(where: str, data: str | bytes, options: dict) -> DataError | None:
    """Find the first line with more fields than the header (quoted separators are not considered)."""
    sep = options["separator"]
    try:
        lines = pl.read_csv(
            data, has_header=False, separator="\x1f", quote_char=None, new_columns=["line"], infer_schema=False
        )["line"]
    except pl.exceptions.PolarsError:
        return None
    counts = lines.str.count_matches(sep, literal=True).fill_null(0).to_numpy()
    if len(counts) == 0:
        return None
    too_many = np.flatnonzero(counts > counts[0])
    if len(too_many) == 0:
        return None
    line = int(too_many[0]) + 1
    return DataError(f"{where}: line {line} has {counts[too_many[0]] + 1} fields, expected {counts[0] + 1} like line 1")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _show(value: object) -> str:
    if isinstance(value, float):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"
