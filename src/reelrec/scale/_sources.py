"""Stream an interaction log from parquet shards or a CSV file in batches, validated, never whole."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from numpy.typing import NDArray

from reelrec.data._vocab import IdMap
from reelrec.errors import DataError
from reelrec.scale._write import Batch

#: Rows per streamed batch (about 30 MB of the four columns).
BATCH_ROWS = 1 << 20


@dataclass(frozen=True)
class LogColumns:
    """Which columns of the log hold the user id, item id, label and (optional) time in Unix seconds."""

    user: str = "user_id"
    item: str = "video_id"
    label: str = "watch_ratio"
    time: str | None = "timestamp"


@dataclass
class RawBatch:
    """Raw ids and values of consecutive rows of one file (``first_row`` is 0-based in the file's data)."""

    where: str
    first_row: int
    user: NDArray
    item: NDArray
    label: NDArray[np.float64]
    time: NDArray[np.float64] | None
    csv: bool = False
    extra: dict[str, NDArray[np.float64]] = field(default_factory=dict)

    def row_name(self, k: int) -> str:
        """How an error names row ``k`` of the batch: a CSV line number or a parquet row number."""
        row = self.first_row + k
        return f"line {row + 2}" if self.csv else f"row {row}"


class LogSource:
    """An interaction log on disk: one CSV file, one parquet file, or a folder of parquet shards.

    Parameters
    ----------
    path : str or Path
        ``*.csv``, ``*.parquet``, or a folder whose ``*.parquet`` files (sorted by name) are the shards.
    columns : LogColumns
        Column names to read.
    extra : tuple of str
        Further numeric columns to read (nullable, as float64), e.g. ``video_duration``.

    Raises
    ------
    DataError
        When the path holds no log, or a required column is missing (naming the file and column).
    """

    def __init__(self, path: str | Path, columns: LogColumns | None = None, extra: tuple[str, ...] = ()) -> None:
        self.path = Path(path)
        self.columns = columns or LogColumns()
        self.extra = tuple(extra)
        if self.path.is_dir():
            self.files = sorted(p for p in self.path.glob("*.parquet") if p.is_file())
            if not self.files:
                raise DataError(f"{self.path}: folder holds no *.parquet shard")
            self.kind = "parquet"
        elif self.path.is_file() and self.path.suffix == ".parquet":
            self.files, self.kind = [self.path], "parquet"
        elif self.path.is_file() and self.path.suffix in (".csv", ".txt"):
            self.files, self.kind = [self.path], "csv"
        else:
            raise DataError(f"{self.path}: not a .csv file, a .parquet file or a folder of parquet shards")
        self.has_time = self.columns.time is not None and self._has_column(self.columns.time)
        for name, what in (
            (self.columns.user, "a user id"),
            (self.columns.item, "an item id"),
            (self.columns.label, "a numeric label"),
        ):
            self._require(name, what)
        for name in self.extra:
            self._require(name, "a numeric column")

    def __repr__(self) -> str:
        return f"LogSource({str(self.path)!r}, {self.kind}, files={len(self.files)})"

    # -------------------------------------------------------------- schema
    def _names(self, path: Path) -> list[str]:
        if self.kind == "parquet":
            try:
                return list(pq.read_schema(path).names)
            except (OSError, pa.ArrowException) as exc:
                raise DataError(f"{path}: unreadable parquet file ({exc})") from None
        with open(path, "rb") as fh:
            header = fh.readline().decode("utf-8", "replace").strip().lstrip("\ufeff")
        return [c.strip().strip('"') for c in header.split(",")] if header else []

    def _has_column(self, name: str) -> bool:
        return all(name in self._names(p) for p in self.files)

    def _require(self, name: str, what: str) -> None:
        for path in self.files:
            names = self._names(path)
            if name not in names:
                raise DataError(f"{path}: column '{name}' is missing; expected {what} (columns: {', '.join(names)})")

    def count_rows(self) -> int | None:
        """Total rows when cheap to know (parquet metadata), else an estimate from the CSV size."""
        if self.kind == "parquet":
            return sum(pq.ParquetFile(p).metadata.num_rows for p in self.files)
        size = self.files[0].stat().st_size
        with open(self.files[0], "rb") as fh:
            sample = fh.read(1 << 20)
        lines = max(sample.count(b"\n") - 1, 1)
        return int(size / max(len(sample), 1) * lines)

    def fingerprint(self) -> list[list]:
        """Resolved path, size and modification time of every file (changes when any file may have)."""
        out = []
        for p in self.files:
            st = p.stat()
            out.append([str(p.resolve()), st.st_size, st.st_mtime_ns])
        return out

    # ------------------------------------------------------------- reading
    def _wanted(self) -> list[str]:
        cols = [self.columns.user, self.columns.item, self.columns.label]
        if self.has_time and self.columns.time is not None:
            cols.append(self.columns.time)
        return cols + [c for c in self.extra if c not in cols]

    def iter_raw(self, batch_rows: int = BATCH_ROWS) -> Iterator[RawBatch]:
        """Every row, in file order, as :class:`RawBatch` es of at most ``batch_rows`` rows."""
        for path in self.files:
            if self.kind == "parquet":
                yield from self._parquet(path, batch_rows)
            else:
                yield from self._csv(path, batch_rows)

    def _parquet(self, path: Path, batch_rows: int) -> Iterator[RawBatch]:
        row = 0
        try:
            pfile = pq.ParquetFile(path)
            for rb in pfile.iter_batches(batch_size=batch_rows, columns=self._wanted()):
                yield self._raw(rb, str(path), row, csv=False)
                row += rb.num_rows
        except pa.ArrowException as exc:
            raise DataError(f"{path}: unreadable parquet data near row {row} ({exc})") from None

    def _csv(self, path: Path, batch_rows: int) -> Iterator[RawBatch]:
        types = {self.columns.label: pa.float64(), **{c: pa.float64() for c in self.extra}}
        if self.has_time and self.columns.time is not None:
            types[self.columns.time] = pa.float64()
        # Roughly 40 bytes per KuaiRec row: a block of batch_rows * 40 bytes keeps batches near batch_rows.
        read = pacsv.ReadOptions(block_size=max(1 << 16, batch_rows * 40))
        convert = pacsv.ConvertOptions(include_columns=self._wanted(), column_types=types)
        row = 0
        try:
            reader = pacsv.open_csv(path, read_options=read, convert_options=convert)
            for rb in reader:
                yield self._raw(rb, str(path), row, csv=True)
                row += rb.num_rows
        except pa.ArrowInvalid as exc:
            raise DataError(f"{path}: malformed CSV after line {row + 1} ({exc})") from None

    def _raw(self, rb: pa.RecordBatch, where: str, first: int, csv: bool) -> RawBatch:
        c = self.columns
        out = RawBatch(
            where,
            first,
            _ids(rb.column(c.user), where, c.user, first, csv),
            _ids(rb.column(c.item), where, c.item, first, csv),
            _floats(rb.column(c.label), where, c.label, first, csv),
            _floats(rb.column(c.time), where, c.time, first, csv, nullable=True)
            if self.has_time and c.time is not None
            else None,
            csv,
            {name: _floats(rb.column(name), where, name, first, csv, nullable=True) for name in self.extra},
        )
        return out


def _where_row(where: str, column: str, first: int, k: int, csv: bool) -> str:
    row = f"line {first + k + 2}" if csv else f"row {first + k}"
    return f"{where}: {row}, column '{column}'"


def _ids(col: pa.Array, where: str, name: str, first: int, csv: bool) -> NDArray:
    if col.null_count:
        k = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
        raise DataError(f"{_where_row(where, name, first, k, csv)}: empty; expected an id")
    if pa.types.is_integer(col.type):
        return col.to_numpy().astype(np.int64, copy=False)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return np.asarray(col.to_numpy(zero_copy_only=False)).astype(str)
    if pa.types.is_floating(col.type):
        values = col.to_numpy()
        whole = np.isfinite(values) & (values == np.round(values))
        if not whole.all():
            k = int(np.argmin(whole))
            raise DataError(f"{_where_row(where, name, first, k, csv)}: {float(values[k])!r} is not an integer id")
        return values.astype(np.int64)
    raise DataError(f"{where}: column '{name}' has type {col.type}; expected integer or string ids")


def _floats(col: pa.Array, where: str, name: str, first: int, csv: bool, nullable: bool = False) -> NDArray[np.float64]:
    if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_null(col.type)):
        raise DataError(f"{where}: column '{name}' has type {col.type}; expected numbers")
    values = col.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    if col.null_count and not nullable:
        k = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
        raise DataError(f"{_where_row(where, name, first, k, csv)}: empty; expected a number")
    return values


def collect_ids(source: LogSource, batch_rows: int = BATCH_ROWS) -> tuple[IdMap, IdMap]:
    """Vocabularies of every user and item id in the log, in one streaming pass (sorted ascending)."""
    users: list[NDArray] = []
    items: list[NDArray] = []
    for raw in source.iter_raw(batch_rows):
        users.append(np.unique(raw.user))
        items.append(np.unique(raw.item))
        if len(users) > 32:  # fold now and then, so the lists stay short
            users, items = [np.unique(np.concatenate(users))], [np.unique(np.concatenate(items))]
    u = np.unique(np.concatenate(users)) if users else np.zeros(0, np.int64)
    i = np.unique(np.concatenate(items)) if items else np.zeros(0, np.int64)
    return IdMap(u), IdMap(i)


def index_batches(
    source: LogSource,
    users: IdMap,
    items: IdMap,
    *,
    clip: float | None = None,
    non_negative: bool = False,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[Batch]:
    """The log as index-space :class:`Batch` es, labels validated (finite, optionally >= 0) and clipped.

    Raises
    ------
    DataError
        Naming the file, row and column of the first bad value or unknown id.
    """
    c = source.columns
    for raw in source.iter_raw(batch_rows):
        label = raw.label
        finite = np.isfinite(label)
        if not finite.all():
            k = int(np.argmin(finite))
            where = _where_row(raw.where, c.label, raw.first_row, k, raw.csv)
            raise DataError(f"{where}: {float(label[k])!r}; expected a finite number")
        if non_negative and (label < 0).any():
            k = int(np.argmax(label < 0))
            where = _where_row(raw.where, c.label, raw.first_row, k, raw.csv)
            raise DataError(f"{where}: {float(label[k])!r}; expected a value >= 0")
        if clip is not None:
            label = np.minimum(label, clip)
        u = users.index(raw.user, missing="negative")
        i = items.index(raw.item, missing="negative")
        for name, idx, values in ((c.user, u, raw.user), (c.item, i, raw.item)):
            if (idx < 0).any():
                k = int(np.argmax(idx < 0))
                where = _where_row(raw.where, name, raw.first_row, k, raw.csv)
                raise DataError(f"{where}: id {values[k].item()!r} is not in the vocabulary")
        yield Batch(u, i, label.astype(np.float32), raw.time)


def csv_to_parquet_shards(
    csv: str | Path,
    out_dir: str | Path,
    *,
    rows_per_file: int = 5_000_000,
    drop: tuple[str, ...] = ("time",),
) -> list[Path]:
    """Rewrite a big CSV log as a folder of parquet shards without loading it (pyarrow datasets, streamed).

    ``drop`` leaves out columns training never reads (KuaiRec's local-time string is the bulk of its
    CSV). Returns the shard paths, in order; the folder must not hold shards already.
    """
    import pyarrow.dataset as ds

    if isinstance(rows_per_file, bool) or not isinstance(rows_per_file, int) or rows_per_file < 1:
        raise ValueError(f"rows_per_file={rows_per_file!r}, must be an integer >= 1")
    csv, out = Path(csv), Path(out_dir)
    if not csv.is_file():
        raise DataError(f"{csv}: no such CSV file")
    if out.is_dir() and any(out.glob("*.parquet")):
        raise DataError(f"{out}: already holds parquet shards; remove them or choose another folder")
    try:
        source = ds.dataset(csv, format="csv")
        columns = [c for c in source.schema.names if c not in drop]
        ds.write_dataset(
            ds.Scanner.from_dataset(source, columns=columns),
            out,
            format="parquet",
            basename_template="part-{i}.parquet",
            max_rows_per_file=rows_per_file,
            max_rows_per_group=min(rows_per_file, 1 << 20),
            existing_data_behavior="overwrite_or_ignore",
            preserve_order=True,  # shards in file order, so row numbers in error messages stay meaningful
        )
    except pa.ArrowInvalid as exc:
        raise DataError(f"{csv}: malformed CSV ({exc})") from None
    return sorted(out.glob("*.parquet"), key=lambda p: int(p.stem.rsplit("-", 1)[-1]))
