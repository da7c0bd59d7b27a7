"""Streaming logs from CSV and parquet: same rows either way, bad values named by file, row and column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from reelrec.data import IdMap
from reelrec.errors import DataError
from reelrec.scale import LogColumns, LogSource, collect_ids, csv_to_parquet_shards, index_batches


def _frame(rng: np.random.Generator, n: int = 5_000) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": rng.integers(100, 160, n),
            "video_id": rng.integers(5_000, 5_090, n),
            "play_duration": rng.integers(0, 10_000, n),
            "watch_ratio": rng.gamma(1.0, 1.2, n),
            "timestamp": rng.uniform(1.59e9, 1.6e9, n),
        }
    )


def _parquet_shards(frame: pl.DataFrame, folder: Path, parts: int = 3) -> Path:
    folder.mkdir()
    size = -(-frame.height // parts)
    for k in range(parts):
        frame.slice(k * size, size).write_parquet(folder / f"part-{k:05d}.parquet")
    return folder


def test_csv_and_parquet_give_the_same_batches(tmp_path: Path, rng: np.random.Generator) -> None:
    frame = _frame(rng)
    csv = tmp_path / "big_matrix.csv"
    frame.write_csv(csv)
    shards = _parquet_shards(frame, tmp_path / "big_matrix")
    out = {}
    for name, path in (("csv", csv), ("parquet", shards)):
        source = LogSource(path)
        users, items = collect_ids(source, batch_rows=700)
        assert users == IdMap(np.unique(frame["user_id"].to_numpy()))
        batches = list(index_batches(source, users, items, clip=2.0, non_negative=True, batch_rows=700))
        assert len(batches) > 3 and max(len(b) for b in batches) <= 5_000
        out[name] = [np.concatenate([getattr(b, c) for b in batches]) for c in ("user", "item", "label", "time")]
    for a, b in zip(out["csv"], out["parquet"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    user, item, label, _ = out["parquet"]
    assert user.dtype == np.int32 and item.dtype == np.int32 and label.dtype == np.float32
    assert label.max() <= 2.0
    np.testing.assert_array_equal(users.raw(user), frame["user_id"].to_numpy())


def test_missing_column_names_the_file(tmp_path: Path, rng: np.random.Generator) -> None:
    path = tmp_path / "log.csv"
    _frame(rng).drop("watch_ratio").write_csv(path)
    with pytest.raises(DataError, match=r"log\.csv: column 'watch_ratio' is missing; expected a numeric label"):
        LogSource(path)
    source = LogSource(path, LogColumns(label="play_duration", time=None))
    assert not source.has_time


def test_bad_values_name_file_row_and_column(tmp_path: Path, rng: np.random.Generator) -> None:
    frame = _frame(rng, 50)
    ratio = frame["watch_ratio"].to_numpy().copy()
    ratio[7] = -1.0
    shards = _parquet_shards(frame.with_columns(pl.Series("watch_ratio", ratio)), tmp_path / "p", parts=1)
    source = LogSource(shards)
    users, items = collect_ids(source)
    message = r"part-00000\.parquet: row 7, column 'watch_ratio': -1\.0; expected a value >= 0"
    with pytest.raises(DataError, match=message):
        list(index_batches(source, users, items, non_negative=True))

    csv = tmp_path / "log.csv"
    frame.with_columns(pl.when(pl.int_range(pl.len()) == 4).then(None).otherwise(pl.col("user_id")).alias("user_id")
                       ).write_csv(csv)
    with pytest.raises(DataError, match=r"log\.csv: line 6, column 'user_id': empty; expected an id"):
        list(LogSource(csv).iter_raw())

    known = IdMap(np.unique(frame["user_id"].to_numpy())[1:])
    with pytest.raises(DataError, match=r"column 'user_id': id .* is not in the vocabulary"):
        list(index_batches(LogSource(shards), known, items))


def test_rejects_paths_without_a_log(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="holds no"):
        LogSource(tmp_path)
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DataError, match=r"not a \.csv file"):
        LogSource(tmp_path / "x.json")


def test_csv_to_parquet_shards_streams_the_same_rows(tmp_path: Path, rng: np.random.Generator) -> None:
    frame = _frame(rng, 2_500).with_columns(pl.lit("2020-07-05 10:00:00.000").alias("time"))
    csv = tmp_path / "big_matrix.csv"
    frame.write_csv(csv)
    shards = csv_to_parquet_shards(csv, tmp_path / "big_matrix", rows_per_file=1_000)
    assert [p.name for p in shards] == ["part-0.parquet", "part-1.parquet", "part-2.parquet"]
    back = pl.concat([pl.read_parquet(p) for p in shards])
    assert "time" not in back.columns
    assert back.equals(frame.drop("time"))
    with pytest.raises(DataError, match="already holds parquet shards"):
        csv_to_parquet_shards(csv, tmp_path / "big_matrix")
