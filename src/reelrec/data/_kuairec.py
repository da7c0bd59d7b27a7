"""KuaiRec 2.0 reader: the six CSV files (folder or KuaiRec.zip) to one validated, indexed Dataset."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import cast

import numpy as np
import polars as pl
from numpy.typing import NDArray

from reelrec.data import _duplicates
from reelrec.data import _kuairec_features as kf
from reelrec.data._cache import cached_load
from reelrec.data._csv import Col, Table, read_table
from reelrec.data._dataset import Dataset, FeatureKind, FeatureTable, Interactions
from reelrec.data._ids import align_rows, lookup, union_ids
from reelrec.data._source import DataSource, find_kuairec_root
from reelrec.data._vocab import IdMap
from reelrec.data._warn import warn_data
from reelrec.errors import DataError

Progress = Callable[[str], None]

REQUIRED_FILES = (
    "big_matrix.csv",
    "small_matrix.csv",
    "user_features.csv",
    "item_daily_features.csv",
    "item_categories.csv",
    "social_network.csv",
)
OPTIONAL_FILES = ("kuairec_caption_category.csv", "small_matrix_truth.csv")

_F = pl.Float64()
MATRIX_COLUMNS = (
    Col("user_id", pl.Int64(), "an integer user id"),
    Col("video_id", pl.Int64(), "an integer video id"),
    Col("video_duration", _F, "a positive video length in ms"),
    Col("date", _F, "a date as yyyymmdd", nullable=True, required=False),
    Col("timestamp", _F, "Unix seconds", nullable=True),
    Col("watch_ratio", _F, "a finite, non-negative watch ratio"),
)
# KuaiRec's `date` is a Beijing-time (UTC+8) partition label.
_BEIJING = dt.timezone(dt.timedelta(hours=8))


@dataclass
class _Log:
    """One interaction matrix after validation, still keyed by raw ids."""

    where: str
    user: pl.Series
    video: pl.Series
    watch_ratio: NDArray[np.float64]
    timestamp: NDArray[np.float64]
    duration: NDArray[np.float64]
    last_date: int | None
    user_index: NDArray[np.int32] | None = None
    item_index: NDArray[np.int32] | None = None

    def index(self, users: IdMap, items: IdMap) -> None:
        self.user_index = lookup(users, self.user)
        self.item_index = lookup(items, self.video)


def load_kuairec(
    path: str | Path,
    *,
    duplicates: str = "keep",
    clip: float | None = 5.0,
    daily_until: int | str | dt.date | None = None,
    daily_window_days: int | None = None,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> Dataset:
    """Load KuaiRec 2.0 into a :class:`Dataset` (big matrix = training log, small matrix = fully observed block).

    Parameters
    ----------
    path : str or Path
        The folder holding the CSV files, a folder with ``data/`` or ``KuaiRec 2.0/data/`` below it,
        or ``KuaiRec.zip`` itself (read without unpacking).
    duplicates : {"keep", "drop", "aggregate"}
        Exact duplicate rows and repeat views: keep every row, drop rows identical to an earlier
        one, or drop those and then average repeat views into one row per (user, video) with the
        mean watch ratio and the last timestamp. Applied to both matrices.
    clip : float or None
        Upper bound for watch ratios (a few views run hundreds of times the video length), applied
        to every row before aggregation; ``None`` keeps raw values.
    daily_until : int, str or date, optional
        Last day (yyyymmdd) of item_daily_features.csv used for the ``mean_*`` item features;
        default: the last date of the big matrix. Set it to a training cutoff to avoid leakage.
    daily_window_days : int, optional
        Only average the last this many days up to ``daily_until``.
    cache : bool
        Reuse (and write) a parquet cache of the result keyed by the files' fingerprint and these options.
    cache_dir : str or Path, optional
        Cache folder; default ``$REELREC_CACHE_DIR`` or ``.reelrec-cache`` beside the data.
    progress : callable, optional
        Called with a short description at the start of each step (for progress displays).

    Returns
    -------
    Dataset
        ``source="kuairec"``, ``label_name="watch_ratio"``; ``truth`` when ``small_matrix_truth.csv``
        exists (synthetic data). ``meta`` records files, policies, duplicate and clipping counts.

    Raises
    ------
    DataError
        A file is missing or malformed; the message names file, column and first bad row.
    """
    root = find_kuairec_root(Path(path))
    if root is None:
        raise DataError(
            f"{path}: no KuaiRec data found; expected big_matrix.csv (and the other KuaiRec 2.0 files) in this "
            "folder, in data/ or 'KuaiRec 2.0/data/' below it, or KuaiRec.zip"
        )
    if duplicates not in _duplicates.POLICIES:
        raise ValueError(f"duplicates={duplicates!r}, expected one of {', '.join(_duplicates.POLICIES)}")
    if clip is not None and not (np.isfinite(clip) and clip > 0):
        raise ValueError(f"clip={clip!r}, expected a positive number or None")
    until = None if daily_until is None else kf.parse_yyyymmdd(daily_until, "daily_until")
    if daily_window_days is not None and (int(daily_window_days) != daily_window_days or daily_window_days < 1):
        raise ValueError(f"daily_window_days={daily_window_days!r}, expected a whole number of days >= 1")
    source = DataSource(root)
    options = {
        "duplicates": duplicates,
        "clip": None if clip is None else float(clip),
        "daily_until": None if until is None else until.isoformat(),
        "daily_window_days": daily_window_days,
    }
    return cached_load(
        "kuairec",
        source,
        [*REQUIRED_FILES, *OPTIONAL_FILES],
        options,
        lambda: _build(source, duplicates, clip, until, daily_window_days, progress or _quiet),
        enabled=cache,
        cache_dir=cache_dir,
        progress=progress,
    )


def _quiet(step: str) -> None:
    """No progress display."""


def _build(
    source: DataSource,
    policy: str,
    clip: float | None,
    until: dt.date | None,
    window: int | None,
    progress: Progress,
) -> Dataset:
    started = time.perf_counter()
    missing = [name for name in REQUIRED_FILES if not source.exists(name)]
    if missing:
        raise DataError(f"{source.display(missing[0])}: file not found (KuaiRec needs {', '.join(REQUIRED_FILES)})")
    progress("reading big_matrix.csv")
    big = _read_log(source, "big_matrix.csv")
    progress("reading small_matrix.csv")
    small = _read_log(source, "small_matrix.csv")
    progress("reading side tables")
    side = _read_side_tables(source)
    tags, daily, captions = side.tags, side.daily, side.captions
    truth_table = _read_truth(source)

    progress("indexing")
    users, items = _index_ids(big, small, side)

    meta: dict = {"format": "kuairec", "files": {n: source.display(n) for n in REQUIRED_FILES if source.exists(n)}}
    progress("checking duplicates")
    train, train_info = _to_interactions(big, users, items, policy, clip)
    block, block_info = _to_interactions(small, users, items, policy, clip)
    meta["big_matrix"] = train_info
    meta["small_matrix"] = block_info
    meta["duplicates_policy"] = policy
    meta["clip"] = clip

    truth = None
    if truth_table is not None:
        truth = _align_truth(truth_table, block, users, items)
        meta["files"]["small_matrix_truth.csv"] = truth_table.where

    progress("building features")
    last_date = big.last_date or _last_local_date(big.timestamp)
    cutoff = until or (dt.datetime.strptime(str(last_date), "%Y%m%d").date() if last_date else dt.date.max)
    user_ft = _user_table(users, side)
    item_ft, daily_info = _item_features(items, tags, daily, captions, cutoff, window, big, small)
    meta.update(daily_info)
    if captions is not None:
        meta["files"]["kuairec_caption_category.csv"] = captions.where

    social_map = _social_map(users, side)
    meta["social_users"] = len(social_map)
    meta["build_seconds"] = round(time.perf_counter() - started, 3)
    return Dataset(
        users=users,
        items=items,
        interactions=train,
        fully_observed=block,
        truth=truth,
        user_features=user_ft,
        item_features=item_ft,
        social=social_map,
        label_name="watch_ratio",
        source="kuairec",
        meta=meta,
    )


@dataclass
class _SideTables:
    """The side files every KuaiRec build reads (in memory or with the big matrix out of core)."""

    users: Table
    user_kinds: dict[str, FeatureKind]
    tags: Table
    social: Table
    daily: Table
    captions: Table | None

    @cached_property
    def friends(self) -> pl.Series:
        """Every friend id of the social graph, flattened (read by the vocabulary and the social map)."""
        return self.social.frame["friends"].explode().drop_nulls()


def _read_side_tables(source: DataSource) -> _SideTables:
    users, kinds = kf.user_features(source)
    return _SideTables(
        users,
        kinds,
        kf.item_tags(source),
        kf.social_edges(source),
        kf.daily_table(source),
        kf.caption_categories(source),
    )


def _index_ids(big: _Log, small: _Log, side: _SideTables) -> tuple[IdMap, IdMap]:
    """Vocabularies over every file's ids; both matrices indexed in place; side-table ids that match
    no view are warned about."""
    side_users = (side.users.frame["user_id"], side.social.frame["user_id"], side.friends)
    users = union_ids(big.user, small.user, *side_users)
    item_sources = [big.video, small.video, side.tags.frame["video_id"], side.daily.frame["video_id"]]
    if side.captions is not None:
        item_sources.append(side.captions.frame["video_id"])
    items = union_ids(*item_sources)
    big.index(users, items)
    small.index(users, items)
    _warn_unmatched(users, [big.user_index, small.user_index], side.users, "user_id", "users")
    _warn_unmatched(items, [big.item_index, small.item_index], side.tags, "video_id", "videos")
    _warn_unmatched(items, [big.item_index, small.item_index], side.daily, "video_id", "videos")
    return users, items


def _user_table(users: IdMap, side: _SideTables) -> FeatureTable:
    frame = side.users.frame
    return FeatureTable(align_rows(users, frame["user_id"], frame.drop("user_id")), side.user_kinds)


def _social_map(users: IdMap, side: _SideTables) -> dict[int, list[int]]:
    return kf.social_dict(side.social, lookup(users, side.social.frame["user_id"]), lookup(users, side.friends))


def _read_log(source: DataSource, name: str) -> _Log:
    """Read and validate one interaction matrix (only the columns the loader needs)."""
    table = read_table(source, name, MATRIX_COLUMNS)
    frame = table.frame
    table.require("video_duration", frame["video_duration"] > 0, "a positive video length in ms")
    ratio = frame["watch_ratio"]
    table.require("watch_ratio", ratio.is_finite() & (ratio >= 0), "a finite, non-negative watch ratio")
    ts = frame["timestamp"]
    table.require("timestamp", ts.is_finite() | ts.is_nan() | ts.is_null(), "Unix seconds or empty")
    last_date = None
    if "date" in frame.columns:
        dates = frame["date"].fill_nan(None).drop_nulls()
        if len(dates):
            # Checking the extremes is enough to catch a shifted or garbled column without parsing every row.
            for value in (dates.min(), dates.max()):
                if not _is_yyyymmdd(cast(float, value)):
                    table.require("date", frame["date"] != value, "a date as yyyymmdd or empty")
            last_date = int(cast(float, dates.max()))
    return _Log(
        where=table.where,
        user=frame["user_id"],
        video=frame["video_id"],
        watch_ratio=ratio.to_numpy(),
        timestamp=ts.fill_null(np.nan).to_numpy(),
        duration=frame["video_duration"].to_numpy(),
        last_date=last_date,
    )


def _to_interactions(
    log: _Log, users: IdMap, items: IdMap, policy: str, clip: float | None
) -> tuple[Interactions, dict]:
    user, item = log.user_index, log.item_index
    assert user is not None and item is not None  # set by _Log.index in _index_ids
    # play_duration is not compared: with video_duration and the full-precision watch_ratio
    # (their quotient) equal, it is equal too.
    exact = _duplicates.exact_duplicates(user, log.timestamp, [item, log.watch_ratio, log.duration])
    report = _duplicates.report(user, item, exact, len(users), len(items))
    label = log.watch_ratio
    n_clipped = 0
    if clip is not None:
        over = label > clip
        n_clipped = int(over.sum())
        if n_clipped:
            label = np.minimum(label, clip)
    user, item, label, ts = _duplicates.apply_policy(
        policy, user, item, label, log.timestamp, exact, len(users), len(items)
    )
    info = {
        **report.to_dict(),
        "rows_kept": len(user),
        "clipped_rows": n_clipped,
        "rows_without_timestamp": int(np.isnan(log.timestamp).sum()),
    }
    return Interactions.from_arrays(user, item, label, ts), info


def _read_truth(source: DataSource) -> Table | None:
    name = "small_matrix_truth.csv"
    if not source.exists(name):
        return None
    table = read_table(
        source,
        name,
        [
            Col("user_id", pl.Int64(), "an integer user id"),
            Col("video_id", pl.Int64(), "an integer video id"),
            Col("expected_watch_ratio", _F, "a finite, non-negative expected watch ratio"),
        ],
    )
    value = table.frame["expected_watch_ratio"]
    table.require("expected_watch_ratio", value.is_finite() & (value >= 0), "a finite, non-negative watch ratio")
    return table


def _align_truth(table: Table, block: Interactions, users: IdMap, items: IdMap) -> NDArray[np.float32]:
    """Expected watch ratio for every fully observed row, matched on (user, video)."""
    frame = table.frame
    u = users.index(frame["user_id"].to_numpy(), missing="negative")
    i = items.index(frame["video_id"].to_numpy(), missing="negative")
    table.require("user_id", pl.Series(u >= 0), "a user of small_matrix.csv")
    table.require("video_id", pl.Series(i >= 0), "a video of small_matrix.csv")
    values = frame["expected_watch_ratio"].to_numpy()
    same_rows = len(u) == len(block) and np.array_equal(u, block.user) and np.array_equal(i, block.item)
    if same_rows and _duplicates.count_pairs(u, i, len(items), len(users)) == len(u):
        return values.astype(np.float32)  # the generator writes both files in one order: nothing to match
    key = u.astype(np.int64) * len(items) + i
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    repeated = np.flatnonzero(sorted_key[1:] == sorted_key[:-1])
    if len(repeated):
        row = int(order[repeated[0] + 1])
        raise DataError(f"{table.at('video_id', row)}: (user, video) pair listed twice; expected one row per pair")
    want = block.user.astype(np.int64) * len(items) + block.item
    pos = np.minimum(np.searchsorted(sorted_key, want), max(len(sorted_key) - 1, 0))
    found = sorted_key[pos] == want if len(sorted_key) else np.zeros(len(want), bool)
    if not found.all():
        k = int(np.argmin(found))
        raise DataError(
            f"{table.where}: no expected_watch_ratio for {int((~found).sum())} small-matrix pairs, first "
            f"user_id {users.raw_ids[block.user[k]]!r}, video_id {items.raw_ids[block.item[k]]!r}"
        )
    # Distinct block pairs by bitmap: np.unique's hashing took most of a cold load's CPU time here.
    extra = len(sorted_key) - _duplicates.count_pairs(block.user, block.item, len(items), len(users))
    if extra > 0:
        warn_data(f"{table.where}: {extra} rows match no small-matrix pair")
    return values[order[pos]].astype(np.float32)


def _item_features(
    items: IdMap,
    tags: Table,
    daily: Table,
    captions: Table | None,
    cutoff: dt.date,
    window: int | None,
    big: _Log,
    small: _Log,
) -> tuple[FeatureTable, dict]:
    agg, mean_cols, info = kf.aggregate_daily(daily, cutoff, window)
    tag_col = align_rows(items, tags.frame["video_id"], tags.frame.select("tags"))
    stat = align_rows(items, agg["video_id"], agg.drop("video_id"))
    # A video without daily rows up to the cutoff still has a known length: the one its views logged.
    logged = np.full(len(items), np.nan)
    for log in (small, big):
        logged[log.item_index] = log.duration
    daily_duration = stat["video_duration"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    duration = pl.Series(np.where(np.isnan(daily_duration), logged, daily_duration)).fill_nan(None)
    columns: dict[str, pl.Series] = {"tags": tag_col["tags"]}
    kinds: dict[str, FeatureKind] = {"tags": "multi"}
    for name in kf.ITEM_STATIC_CATEGORICAL:
        columns[name] = stat[name]
        kinds[name] = "categorical"
    for name in kf.ITEM_STATIC_NUMERIC:
        series = duration if name == "video_duration" else stat[name]
        columns[name] = series.cast(pl.Float32)
        kinds[name] = "numeric"
    for name in mean_cols:
        columns[name] = stat[name]
        kinds[name] = "numeric"
    if captions is not None:
        cats = align_rows(items, captions.frame["video_id"], captions.frame.drop("video_id"))
        for name in kf.CAPTION_CATEGORIES:
            columns[name] = cats[name]
            kinds[name] = "categorical"
    frame = pl.DataFrame([s.alias(n) for n, s in columns.items()])
    return FeatureTable(frame, kinds), info


def _is_yyyymmdd(value: float) -> bool:
    if value != int(value):
        return False
    try:
        dt.datetime.strptime(str(int(value)), "%Y%m%d")
    except ValueError:
        return False
    return True


def _last_local_date(timestamp: NDArray[np.float64]) -> int | None:
    finite = timestamp[np.isfinite(timestamp)]
    if not len(finite):
        return None
    return int(dt.datetime.fromtimestamp(float(finite.max()), _BEIJING).strftime("%Y%m%d"))


def _warn_unmatched(ids: IdMap, logs: list[NDArray[np.int32] | None], table: Table, column: str, entity: str) -> None:
    """Feature rows for ids that never occur in an interaction are kept (cold-start entities) but reported."""
    seen = np.zeros(len(ids), dtype=bool)
    for log in logs:
        if log is not None:  # None: an unindexed log (never: _index_ids indexes both first)
            seen[log] = True
    rows = lookup(ids, table.frame[column].unique())
    unmatched = rows[~seen[rows]]
    if len(unmatched):
        shown = ", ".join(str(x) for x in ids.raw_ids[np.sort(unmatched)[:5]].tolist())
        warn_data(
            f"{table.where}: {len(unmatched)} {entity} in column '{column}' match no interaction "
            f"(e.g. {shown}); they are kept as entities without interactions"
        )
