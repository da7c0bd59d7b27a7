"""KuaiRec side tables: user features, video tags, per-video daily statistics up to a cutoff, social graph."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import polars as pl

from reelrec.data._csv import Col, Table, read_table
from reelrec.data._dataset import FeatureKind
from reelrec.data._lists import parse_int_lists
from reelrec.data._source import DataSource
from reelrec.data._warn import warn_data
from reelrec.errors import DataError

_INT = pl.Int64()
_FLOAT = pl.Float64()
_STR = pl.String()

USER_NUMERIC = ("follow_user_num", "fans_user_num", "friend_user_num", "register_days")
ITEM_STATIC_CATEGORICAL = ("video_tag_id", "music_id", "author_id", "video_type", "upload_type")
ITEM_STATIC_NUMERIC = ("video_duration", "video_width", "video_height")
# Columns of item_daily_features.csv that are neither static features nor daily counters.
_DAILY_SKIPPED = ("upload_dt", "visible_status", "video_tag_name")
CAPTION_CATEGORIES = ("first_level_category_id", "second_level_category_id", "third_level_category_id")


def user_feature_columns(header: list[str]) -> list[Col]:
    """Typed columns of user_features.csv, decided by name as documented for KuaiRec 2.0."""
    cols = [Col("user_id", _INT, "an integer user id")]
    for name in header:
        if name == "user_id":
            continue
        if name == "user_active_degree" or name.endswith("_range"):
            cols.append(Col(name, _STR, "a category label", nullable=True))
        elif name.startswith(("onehot_feat", "is_")) or name in USER_NUMERIC:
            cols.append(Col(name, _FLOAT, "a number", nullable=True))
    return cols


def user_features(source: DataSource) -> tuple[Table, dict[str, FeatureKind]]:
    """user_features.csv as a table keyed by ``user_id``, with the documented feature kinds.

    Encrypted one-hot codes hold NaN for unknown values (pandas reads them as floats); they become
    nullable integers so a missing code is a null category, not a made-up ``0``.
    """
    name = "user_features.csv"
    header = _header(source, name)
    table = read_table(source, name, user_feature_columns(header), rest="infer", min_rows=1)
    kinds: dict[str, FeatureKind] = {}
    exprs = []
    for col in table.frame.columns:
        if col == "user_id":
            continue
        series = table.frame[col]
        if col.startswith(("onehot_feat", "is_")):
            values = series.fill_nan(None)
            table.require(col, (values == values.floor()) | values.is_null(), "an integer category code or empty")
            exprs.append(pl.col(col).fill_nan(None).cast(pl.Int64))
            kinds[col] = "categorical"
        elif col == "user_active_degree" or col.endswith("_range"):
            exprs.append(pl.col(col))
            kinds[col] = "categorical"
        elif series.dtype.is_numeric():
            exprs.append(pl.col(col).cast(pl.Float64).fill_nan(None).cast(pl.Float32))
            kinds[col] = "numeric"
        else:
            exprs.append(pl.col(col).cast(pl.String))
            kinds[col] = "categorical"
    frame = table.frame.select(pl.col("user_id"), *exprs)
    require_unique(table, "user_id", "user")
    return Table(frame, table.where), kinds


def item_tags(source: DataSource) -> Table:
    """item_categories.csv: ``video_id`` and ``tags`` (``List(Int64)``) parsed from the ``feat`` column."""
    table = read_table(
        source,
        "item_categories.csv",
        [Col("video_id", _INT, "an integer video id"), Col("feat", _STR, "a list of tag ids like '[27, 9]'", True)],
        min_rows=0,
    )
    require_unique(table, "video_id", "video")
    tags = parse_int_lists(table, "feat").alias("tags")
    return Table(table.frame.select("video_id").with_columns(tags), table.where)


def social_edges(source: DataSource) -> Table:
    """social_network.csv: ``user_id`` and ``friends`` (``List(Int64)``) parsed from ``friend_list``."""
    table = read_table(
        source,
        "social_network.csv",
        [Col("user_id", _INT, "an integer user id"), Col("friend_list", _STR, "a list of user ids like '[2975]'")],
        min_rows=0,
    )
    require_unique(table, "user_id", "user")
    friends = parse_int_lists(table, "friend_list").alias("friends")
    return Table(table.frame.select("user_id").with_columns(friends), table.where)


def daily_table(source: DataSource) -> Table:
    """item_daily_features.csv with static columns typed by name and every other column a numeric counter."""
    columns = [
        Col("video_id", _INT, "an integer video id"),
        Col("date", _INT, "a date as yyyymmdd"),
        Col("author_id", _INT, "an integer author id", nullable=True),
        Col("video_type", _STR, "a label", nullable=True),
        Col("upload_type", _STR, "a label", nullable=True),
        Col("video_duration", _FLOAT, "a video length in ms", nullable=True),
        Col("video_width", _FLOAT, "a width in pixels", nullable=True),
        Col("video_height", _FLOAT, "a height in pixels", nullable=True),
        Col("music_id", _INT, "an integer music id", nullable=True),
        Col("video_tag_id", _INT, "an integer tag id", nullable=True),
    ] + [Col(c, _STR, "text", nullable=True, required=False) for c in _DAILY_SKIPPED]
    table = read_table(source, "item_daily_features.csv", columns, rest=_FLOAT, rest_expect="a number", min_rows=0)
    frame = table.frame.drop([c for c in _DAILY_SKIPPED if c in table.frame.columns])
    return Table(frame, table.where)


def parse_yyyymmdd(value: int | str | dt.date, what: str) -> dt.date:
    """``20200905``, ``"20200905"``, ``"2020-09-05"`` or a date, to a date; ``ValueError`` naming ``what``."""
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if re.fullmatch(r"\d{8}(\.0)?", text):
        text = text[:8]
        fmt = "%Y%m%d"
    else:
        fmt = "%Y-%m-%d"
    try:
        return dt.datetime.strptime(text, fmt).date()
    except ValueError:
        raise ValueError(f"{what}={value!r}, expected a date as yyyymmdd (e.g. 20200905)") from None


def aggregate_daily(
    table: Table, until: dt.date, window_days: int | None
) -> tuple[pl.DataFrame, list[str], dict[str, object]]:
    """Per-video features from the daily rows dated ``until`` or earlier (and within the window).

    Each daily counter becomes ``mean_<counter>``, the mean over the days kept (missing days and
    empty cells ignored). Static columns take the latest value seen up to the cutoff. Rows after
    the cutoff are never read, so a model trained on logs up to ``until`` sees no later statistics.

    Returns
    -------
    frame : polars.DataFrame
        One row per video with daily rows in range: ``video_id``, static columns, ``mean_*``.
    counters : list of str
        Names of the ``mean_*`` columns, in file order.
    info : dict
        Dates and row counts used, for ``Dataset.meta``.
    """
    frame = table.frame
    dates = frame["date"].cast(pl.String).str.to_date("%Y%m%d", strict=False)
    table.require("date", dates.is_not_null(), "a valid date as yyyymmdd")
    duration = frame["video_duration"]
    bad = int(((duration <= 0) & duration.is_not_null()).sum())
    if bad:
        row = int(((duration <= 0) & duration.is_not_null()).arg_true()[0])
        warn_data(f"{table.at('video_duration', row)}: {bad} non-positive video_duration values treated as missing")
        frame = frame.with_columns(pl.when(pl.col("video_duration") > 0).then(pl.col("video_duration")))
    keep = dates <= until
    first = None
    if window_days is not None:
        first = until - dt.timedelta(days=window_days - 1)
        keep = keep & (dates >= first)
    static = [c for c in (*ITEM_STATIC_CATEGORICAL, *ITEM_STATIC_NUMERIC) if c in frame.columns]
    counters = [c for c in frame.columns if c not in ("video_id", "date", *static)]
    kept = frame.filter(keep).sort("video_id", "date")
    agg = kept.group_by("video_id", maintain_order=True).agg(
        *[pl.col(c).drop_nulls().last() for c in static],
        *[pl.col(c).fill_nan(None).mean().cast(pl.Float32).alias(f"mean_{c}") for c in counters],
    )
    info: dict[str, object] = {
        "daily_until": int(until.strftime("%Y%m%d")),
        "daily_from": int(first.strftime("%Y%m%d")) if first else None,
        "daily_rows_used": kept.height,
        "daily_rows_total": frame.height,
    }
    return agg, [f"mean_{c}" for c in counters], info


def caption_categories(source: DataSource) -> Table | None:
    """Category ids from kuairec_caption_category.csv, or ``None`` (with a warning) when it does not parse.

    The file is optional and its free-text columns are known to trip CSV readers; only the three
    category id columns are used.
    """
    name = "kuairec_caption_category.csv"
    if not source.exists(name):
        return None
    try:
        columns = [Col("video_id", _INT, "an integer video id")]
        columns += [Col(c, _INT, "an integer category id", nullable=True) for c in CAPTION_CATEGORIES]
        table = read_table(source, name, columns, min_rows=0)
        require_unique(table, "video_id", "video")
    except (DataError, pl.exceptions.PolarsError) as exc:
        warn_data(f"{source.display(name)} ignored: {exc}")
        return None
    return table


def require_unique(table: Table, column: str, entity: str) -> None:
    """Feature files hold one row per entity; name the first repeated id."""
    repeated = table.frame[column].is_duplicated()
    if repeated.any():
        first_seen = table.frame[column].is_first_distinct()
        table.require(column, ~(repeated & ~first_seen), f"one row per {entity} (this id appears earlier)")


def _header(source: DataSource, name: str) -> list[str]:
    if not source.exists(name):
        raise DataError(f"{source.display(name)}: file not found")
    line = source.first_line(name).decode("utf-8-sig", errors="replace")
    return [f.strip().strip('"') for f in line.split(",")]


def social_dict(edges: Table, user_index: np.ndarray, friend_index: np.ndarray) -> dict[int, list[int]]:
    """Build ``{user index: [friend indices]}`` from per-row user indices and the flattened friend indices."""
    lengths = edges.frame["friends"].list.len().fill_null(0).to_numpy()
    splits = np.cumsum(lengths)[:-1]
    return {int(u): [int(f) for f in part] for u, part in zip(user_index, np.split(friend_index, splits), strict=True)}
