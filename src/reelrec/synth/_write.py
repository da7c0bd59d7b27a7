"""``write_kuairec``: generate a synthetic world and write it as KuaiRec 2.0's CSV files."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import polars as pl

from reelrec.synth._daily import daily_frame
from reelrec.synth._drift import DEFAULT_DRIFT, check_drift
from reelrec.synth._matrices import big_chunk, chunks, coverage_users, small_chunk
from reelrec.synth._shape import synth_shape
from reelrec.synth._social import friend_lists, social_frame
from reelrec.synth._text import caption_frame, tag_vocab
from reelrec.synth._users import user_features_frame
from reelrec.synth._videos import Videos
from reelrec.synth._world import LATENT_DIM, make_world

KUAIREC_FILES = (
    "big_matrix.csv",
    "small_matrix.csv",
    "social_network.csv",
    "user_features.csv",
    "item_daily_features.csv",
    "item_categories.csv",
    "kuairec_caption_category.csv",
)
TRUTH_FILE = "small_matrix_truth.csv"
PARQUET_DIR = "big_matrix"
_SHARD_ROWS = 2_000_000
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S%.3f"


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[IO[bytes]]:
    """Write to a hidden sibling and rename on success, so a crash never leaves a half file."""
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with open(tmp, "wb") as fh:
            yield fh
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write(frame: pl.DataFrame, fh: IO[bytes], header: bool = True) -> None:
    frame.write_csv(fh, include_header=header, datetime_format=_TIME_FORMAT)


def _write_big_csv(path: Path, frames: Iterator[pl.DataFrame]) -> int:
    """Append each chunk's rows to one CSV (header once); returns the row count."""
    n = 0
    with _atomic(path) as fh:
        for i, frame in enumerate(frames):
            _write(frame, fh, header=i == 0)
            n += frame.height
    return n


def _write_big_parquet(folder: Path, frames: Iterator[pl.DataFrame]) -> int:
    """Shards of about 2 M rows, ``part-00000.parquet`` on, whole users each; ``time`` stays text."""
    tmp = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    n, shard = 0, 0
    pending: list[pl.DataFrame] = []

    def flush() -> None:
        nonlocal pending, shard
        if pending:
            frame = pl.concat(pending).with_columns(pl.col("time").dt.strftime(_TIME_FORMAT))
            frame.write_parquet(tmp / f"part-{shard:05d}.parquet")
            pending, shard = [], shard + 1

    try:
        for frame in frames:
            pending.append(frame)
            n += frame.height
            if sum(f.height for f in pending) >= _SHARD_ROWS:
                flush()
        flush()
        _remove_big_parquet(folder)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return n


def _check_big_parquet(folder: Path) -> None:
    """Refuse to touch a ``big_matrix`` folder that holds anything but a previous run's shards."""
    if folder.exists() and (not folder.is_dir() or any(not p.match("part-*.parquet") for p in folder.iterdir())):
        raise ValueError(f"{folder} exists and holds more than parquet shards; remove it or choose another folder")


def _remove_big_parquet(folder: Path) -> None:
    """Remove a previous run's shards (see :func:`_check_big_parquet`) and a single-file parquet big matrix."""
    folder.with_suffix(".parquet").unlink(missing_ok=True)
    if folder.is_dir():
        for shard in folder.glob("part-*.parquet"):
            shard.unlink()
        folder.rmdir()


def _categories_frame(videos: Videos) -> pl.DataFrame:
    """``item_categories.csv``: tag lists written as Python literals, e.g. ``[27, 9]``."""
    tags = np.split(videos.tag_values, videos.tag_offsets[1:-1])
    return pl.DataFrame(
        {
            "video_id": np.arange(len(videos), dtype=np.int64),
            "feat": pl.Series(["[" + ", ".join(map(str, t.tolist())) + "]" for t in tags], dtype=pl.String),
        }
    )


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed={seed}, must be >= 0")
    return int(seed)


def write_kuairec(
    out_dir: str | os.PathLike[str],
    scale: float = 1.0,
    seed: int = 0,
    *,
    big_format: Literal["csv", "parquet"] = "csv",
    drift: float = DEFAULT_DRIFT,
) -> dict[str, Any]:
    """Write a synthetic KuaiRec 2.0 data set with a planted ground truth into ``out_dir``.

    The seven files have KuaiRec 2.0's names, columns, column order and text formats, and its
    quirks; ``small_matrix_truth.csv`` adds the noise-free expected watch ratio of every
    small-matrix row (same rows, same order). Existing files of those names are replaced;
    each is written to a temporary name first and renamed when complete.

    Parameters
    ----------
    out_dir : path
        Folder to write into; created if missing.
    scale : float
        1.0 is KuaiRec's size (7,176 users x 10,728 videos, about 12.5 M big-matrix rows). Users and
        videos grow with ``sqrt(scale)``, rows linearly; 0.01 to 0.05 suits tests and examples.
    seed : int
        Same seed and scale give byte-identical files (on the same platform).
    big_format : {"csv", "parquet"}
        ``"parquet"`` writes the big matrix as ``big_matrix/part-*.parquet`` shards of whole users
        (same columns, ``time`` as text) instead of ``big_matrix.csv``, for out-of-core training. A
        previous run's big matrix in the other format is removed, so the folder never holds two.
    drift : float
        Strength of the drifting short-term interests in [0, 1]: the share of each user's big-matrix
        views placed in time by a topic that changes every few dozen views (``0``: views in random
        order, the files of earlier versions). Only the order changes, not which videos are viewed.

    Returns
    -------
    dict
        ``rows`` and ``bytes`` per table (keys without ``.csv``), entity counts, and ``seconds``.

    Stability: stable.
    """
    shape = synth_shape(scale)
    seed = _check_seed(seed)
    drift = check_drift(drift)
    if big_format not in ("csv", "parquet"):
        raise ValueError(f"big_format={big_format!r}, expected 'csv' or 'parquet'")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output path {out} exists and is not a directory")
    _check_big_parquet(out / PARQUET_DIR)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    world = make_world(shape, seed)
    seeds = np.random.SeedSequence([seed, 0xF11E5]).spawn(8)
    rngs = [np.random.default_rng(s) for s in seeds[:6]]
    vocab = tag_vocab(rngs[0], world.sub_tags_per_tag)
    lists = friend_lists(rngs[1], world.user_vec[:, -LATENT_DIM:], shape.n_social_users)
    members = np.fromiter(lists, dtype=np.int64)
    degree = np.array([len(f) for f in lists.values()], dtype=np.int64)
    world.users.counts[members, 2] = np.maximum(world.users.counts[members, 2], degree)

    rows: dict[str, int] = {}
    forced = coverage_users(world, rngs[2])
    big_users = list(chunks(np.arange(shape.n_users)))
    frames = (
        big_chunk(world, users, forced, child, drift)
        for users, child in zip(big_users, seeds[6].spawn(len(big_users)), strict=True)
    )
    if big_format == "parquet":
        rows["big_matrix"] = _write_big_parquet(out / PARQUET_DIR, frames)
        (out / "big_matrix.csv").unlink(missing_ok=True)
    else:
        rows["big_matrix"] = _write_big_csv(out / "big_matrix.csv", frames)
        _remove_big_parquet(out / PARQUET_DIR)
    with _atomic(out / "small_matrix.csv") as fh, _atomic(out / TRUTH_FILE) as truth_fh:
        n = 0
        small_users = list(chunks(world.small_users))
        for i, (users, child) in enumerate(zip(small_users, seeds[7].spawn(len(small_users)), strict=True)):
            matrix, truth = small_chunk(world, users, child)
            _write(matrix, fh, header=i == 0)
            _write(truth, truth_fh, header=i == 0)
            n += matrix.height
        rows["small_matrix"] = rows["small_matrix_truth"] = n
    tables = {
        "social_network.csv": social_frame(lists),
        "user_features.csv": user_features_frame(world.users),
        "item_daily_features.csv": daily_frame(rngs[3], world.videos, vocab),
        "item_categories.csv": _categories_frame(world.videos),
        "kuairec_caption_category.csv": caption_frame(rngs[4], world.videos, vocab),
    }
    for name, frame in tables.items():
        with _atomic(out / name) as fh:
            _write(frame, fh)
        rows[name.removesuffix(".csv")] = frame.height

    def size(name: str) -> int:
        path = out / name
        return sum(p.stat().st_size for p in path.iterdir()) if path.is_dir() else path.stat().st_size

    written = [PARQUET_DIR if big_format == "parquet" else "big_matrix.csv", *KUAIREC_FILES[1:], TRUTH_FILE]
    return {
        "out_dir": str(out),
        "scale": shape.scale,
        "seed": seed,
        "drift": drift,
        "n_users": shape.n_users,
        "n_videos": shape.n_videos,
        "n_small_users": shape.n_small_users,
        "n_small_videos": shape.n_small_videos,
        "n_social_users": shape.n_social_users,
        "big_format": big_format,
        "rows": rows,
        "bytes": {name: size(name) for name in written},
        "seconds": round(time.perf_counter() - started, 3),
    }
