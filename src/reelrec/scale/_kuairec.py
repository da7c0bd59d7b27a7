"""KuaiRec-shaped data too big for memory: side tables in a Dataset, the big matrix streamed into a shard store.

The big matrix is either ``big_matrix.csv`` or parquet (``big_matrix/*.parquet`` shards, or
``big_matrix.parquet``, as written by ``reelrec synth --format parquet``). It is read twice, in
batches: once for its ids, video lengths and last date, once into the store. Everything else (small
matrix, features, social graph, truth) is read as :func:`reelrec.data.load_kuairec` reads it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
from numpy.typing import NDArray

from reelrec.data import _kuairec as kr
from reelrec.data._cache import resolve_cache_dir
from reelrec.data._dataset import Dataset, Interactions
from reelrec.data._source import DataSource
from reelrec.errors import DataError
from reelrec.scale._convert import convert_log
from reelrec.scale._sources import BATCH_ROWS, LogColumns, LogSource
from reelrec.scale._store import ShardStore
from reelrec.scale._write import MEMORY_ROWS, SHARD_PAIRS

Progress = Callable[[str], None]
SIDE_FILES = ("small_matrix.csv", "user_features.csv", "item_daily_features.csv", "item_categories.csv")


def find_sharded_kuairec(path: str | Path) -> Path | None:
    """The KuaiRec folder under ``path`` whose big matrix is parquet, or ``None``.

    Looks in ``path``, ``path/data`` and ``path/KuaiRec 2.0/data`` for the side files next to
    ``big_matrix/*.parquet`` or ``big_matrix.parquet``.
    """
    path = Path(path)
    for root in (path, path / "data", path / "KuaiRec 2.0" / "data"):
        if not all((root / name).is_file() for name in SIDE_FILES):
            continue
        if (root / "big_matrix.parquet").is_file() or any((root / "big_matrix").glob("*.parquet")):
            return root
    return None


def big_matrix_source(root: Path) -> LogSource:
    """The big matrix of a KuaiRec folder as a :class:`LogSource` (parquet preferred over CSV)."""
    for candidate in (root / "big_matrix", root / "big_matrix.parquet", root / "big_matrix.csv"):
        if (candidate.is_dir() and any(candidate.glob("*.parquet"))) or candidate.is_file():
            probe = LogSource(candidate)
            extra = tuple(c for c in ("video_duration", "date") if probe._has_column(c))
            return LogSource(candidate, LogColumns(), extra=extra)
    raise DataError(f"{root}: no big matrix (big_matrix.csv, big_matrix.parquet or big_matrix/*.parquet)")


def load_kuairec_sharded(
    path: str | Path,
    *,
    clip: float | None = 5.0,
    duplicates: str = "keep",
    fully_observed: bool = True,
    store_dir: str | Path | None = None,
    memory_rows: int = MEMORY_ROWS,
    shard_pairs: int = SHARD_PAIRS,
    batch_rows: int = BATCH_ROWS,
    progress: Progress | None = None,
) -> tuple[Dataset, ShardStore]:
    """Side tables as a :class:`Dataset` with no training rows, plus the big matrix as a :class:`ShardStore`.

    Parameters
    ----------
    path : str or Path
        A KuaiRec folder (``data/`` and ``KuaiRec 2.0/data/`` below it are searched too).
    clip : float or None
        Upper bound for watch ratios, applied before repeat views are averaged (as the loader does).
    duplicates : {"keep"}
        The store averages every logged view of a pair, which is what ``"keep"`` gives the neural
        models; the row-dropping policies need whole-log comparisons and are not supported here.
    fully_observed : bool
        Read the small matrix (and truth) for the ``kuairec`` evaluation protocol; ``False`` skips it
        (training only), which saves its memory at large scales.
    store_dir : str or Path, optional
        Where the store lives; default: a ``store-*`` folder in the data cache
        (``$REELREC_CACHE_DIR`` or ``.reelrec-cache`` beside the data). Rebuilt only when the big
        matrix or the options change.

    Returns
    -------
    dataset : Dataset
        Vocabularies, features, social graph and (optionally) the fully observed block; its
        ``interactions`` is empty and ``meta["store"]`` names the store.
    store : ShardStore
        The big matrix as distinct (user, video) pairs with mean watch ratio.

    Raises
    ------
    DataError
        A file is missing or malformed (named with its column and row).
    NotImplementedError
        For ``duplicates`` other than ``"keep"``.
    """
    if duplicates != "keep":
        raise NotImplementedError(
            f"duplicates={duplicates!r} is not supported for sharded data; repeat views are averaged per pair "
            "(use duplicates='keep')"
        )
    if clip is not None and not (np.isfinite(clip) and clip > 0):
        raise ValueError(f"clip={clip!r}, expected a positive number or None")
    say = progress or (lambda step: None)
    root = _root(Path(path))
    source = DataSource(root)
    big = big_matrix_source(root)
    say("scanning the big matrix")
    summary = _scan(big, batch_rows)
    dataset = _side_dataset(source, summary, clip, fully_observed, say)
    if store_dir is None:
        # Same folder on every rank: a digest of the data path and options (not Python's salted hash()).
        key = hashlib.sha256(f"{root.resolve()}|{clip}".encode()).hexdigest()[:16]
        store_dir = resolve_cache_dir(source, None) / f"store-{key}"
    say("building the shard store")
    store = convert_log(
        big,
        store_dir,
        users=dataset.users,
        items=dataset.items,
        clip=clip,
        non_negative=True,
        label_name="watch_ratio",
        memory_rows=memory_rows,
        shard_pairs=shard_pairs,
        batch_rows=batch_rows,
    )
    dataset.meta.update(store=str(store.path), store_pairs=store.n_pairs, store_views=store.n_views)
    return dataset, store


def _root(path: Path) -> Path:
    root = find_sharded_kuairec(path)
    if root is not None:
        return root
    for candidate in (path, path / "data", path / "KuaiRec 2.0" / "data"):
        if (candidate / "big_matrix.csv").is_file() and all((candidate / n).is_file() for n in SIDE_FILES):
            return candidate
    raise DataError(
        f"{path}: no KuaiRec data found; expected big_matrix.csv or big_matrix/*.parquet next to "
        f"{', '.join(SIDE_FILES)}"
    )


class _BigSummary:
    """What the side tables need from the big matrix: its ids, each video's logged length, its last date."""

    def __init__(
        self,
        users: NDArray,
        videos: NDArray,
        durations: NDArray[np.float64],
        last_date: int | None,
        where: str,
        rows: int,
    ) -> None:
        self.users, self.videos, self.durations = users, videos, durations
        self.last_date, self.where, self.rows = last_date, where, rows

    def as_log(self) -> kr._Log:
        """A one-row-per-video stand-in for the big matrix, enough for the loader's feature step."""
        return _stand_in(self.where, self.users, self.videos, self.durations, self.last_date)


def _scan(big: LogSource, batch_rows: int) -> _BigSummary:
    users: list[NDArray] = []
    videos: list[NDArray] = []
    durations: list[NDArray] = []
    last_date = None
    last_time = -np.inf
    rows = 0
    for raw in big.iter_raw(batch_rows):
        rows += len(raw.user)
        users.append(np.unique(raw.user))
        vids, first = np.unique(raw.item, return_index=True)
        videos.append(vids)
        dur = raw.extra.get("video_duration")
        durations.append(dur[first] if dur is not None else np.full(len(vids), np.nan))
        date = raw.extra.get("date")
        if date is not None and np.isfinite(date).any():
            day = int(np.nanmax(date))
            last_date = day if last_date is None else max(last_date, day)
        if raw.time is not None and np.isfinite(raw.time).any():
            last_time = max(last_time, float(np.nanmax(raw.time)))
        if len(users) > 32:
            users = [np.unique(np.concatenate(users))]
            v, d = _first_per_video(np.concatenate(videos), np.concatenate(durations))
            videos, durations = [v], [d]
    u = np.unique(np.concatenate(users)) if users else np.zeros(0, np.int64)
    v, d = _first_per_video(np.concatenate(videos), np.concatenate(durations)) if videos else (u[:0], np.zeros(0))
    if last_date is None and np.isfinite(last_time):
        last_date = kr._last_local_date(np.array([last_time]))
    return _BigSummary(u, v, d, last_date, str(big.path), rows)


def _first_per_video(videos: NDArray, durations: NDArray[np.float64]) -> tuple[NDArray, NDArray[np.float64]]:
    uniq, first = np.unique(videos, return_index=True)
    return uniq, durations[first]


def _side_dataset(source: DataSource, big: _BigSummary, clip: float | None, with_block: bool, say: Progress) -> Dataset:
    """:func:`reelrec.data.load_kuairec`'s build step with the big matrix replaced by its summary."""
    if with_block:
        say("reading small_matrix.csv")
        small = kr._read_log(source, "small_matrix.csv")
    else:
        small = _ids_only(source, "small_matrix.csv")
    say("reading side tables")
    side = kr._read_side_tables(source)
    truth_table = kr._read_truth(source) if with_block else None

    big_log = big.as_log()
    users, items = kr._index_ids(big_log, small, side)

    meta: dict = {
        "format": "kuairec",
        "sharded": True,
        "files": {n: source.display(n) for n in SIDE_FILES},
        "big_matrix": {"rows": big.rows, "source": big.where},
        "duplicates_policy": "keep",
        "clip": clip,
    }
    block = truth = None
    if with_block:
        block, meta["small_matrix"] = kr._to_interactions(small, users, items, "keep", clip)
        if truth_table is not None:
            truth = kr._align_truth(truth_table, block, users, items)

    last_date = big.last_date or small.last_date
    cutoff = dt.datetime.strptime(str(last_date), "%Y%m%d").date() if last_date else dt.date.max
    user_ft = kr._user_table(users, side)
    item_ft, daily_info = kr._item_features(items, side.tags, side.daily, side.captions, cutoff, None, big_log, small)
    meta.update(daily_info)
    social_map = kr._social_map(users, side)
    return Dataset(
        users=users,
        items=items,
        interactions=Interactions.empty(),
        fully_observed=block,
        truth=truth,
        user_features=user_ft,
        item_features=item_ft,
        social=social_map,
        label_name="watch_ratio",
        source="kuairec",
        meta=meta,
    )


def _ids_only(source: DataSource, name: str) -> kr._Log:
    """A matrix's user and video ids (and video lengths), streamed: what vocabularies and features need."""
    log = LogSource(Path(source.display(name)), LogColumns(time=None), extra=("video_duration",))
    users, videos, durations = [], [], []
    for raw in log.iter_raw():
        users.append(np.unique(raw.user))
        v, first = np.unique(raw.item, return_index=True)
        videos.append(v)
        durations.append(raw.extra["video_duration"][first])
    u = np.unique(np.concatenate(users)) if users else np.zeros(0, np.int64)
    v, d = _first_per_video(np.concatenate(videos), np.concatenate(durations)) if videos else (u[:0], np.zeros(0))
    return _stand_in(source.display(name), u, v, d, None)


def _stand_in(where: str, users: NDArray, videos: NDArray, durations: NDArray, last_date: int | None) -> kr._Log:
    """A matrix reduced to what the side tables need: its distinct users, and its videos with their lengths."""
    return kr._Log(
        where=where,
        user=pl.Series(np.asarray(users)),
        video=pl.Series(np.asarray(videos)),
        watch_ratio=np.zeros(len(videos)),
        timestamp=np.full(len(videos), np.nan),
        duration=np.asarray(durations, np.float64),
        last_date=last_date,
    )
