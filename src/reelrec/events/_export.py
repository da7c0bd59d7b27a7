"""Export a store's events as one parquet file (for DuckDB, polars or a warehouse), written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import polars as pl

from reelrec._atomic import current_umask
from reelrec.events._store import EventStore

SCHEMA = {
    "id": pl.Int64,
    "user_id": pl.String,
    "item_id": pl.String,
    "watch_ratio": pl.Float64,
    "skipped": pl.Boolean,
    "timestamp": pl.Float64,
    "received_at": pl.Float64,
}


def export_events(store_path: Path, out: Path, after: int = 0) -> int:
    """Write every event with ``id > after`` to ``out`` (parquet); returns the number of rows.

    Ids stay text, as stored: ``reelrec train --events`` maps them to the data's id type.
    """
    if not store_path.is_file():
        raise FileNotFoundError(f"{store_path}: no such event store file")
    if out.is_dir():
        raise IsADirectoryError(f"{out} is a directory; expected a .parquet file path")
    store = EventStore(store_path)
    try:
        frames = [
            pl.DataFrame(batch, schema=list(SCHEMA), orient="row").cast(SCHEMA)  # type: ignore[arg-type]
            for batch in store.events(after)
        ]
    finally:
        store.close()
    frame = pl.concat(frames) if frames else pl.DataFrame(schema=SCHEMA)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        frame.write_parquet(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return frame.height
