"""MovieLens-100K adapter: u.data, u.user and u.item (ISO-8859-1) to a Dataset with user and item features."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
import polars as pl

from reelrec.data import _duplicates
from reelrec.data._csv import Col, Table, read_table
from reelrec.data._dataset import Dataset, FeatureKind, FeatureTable, Interactions
from reelrec.data._ids import align_rows, lookup, union_ids
from reelrec.data._kuairec_features import require_unique
from reelrec.data._source import DataSource
from reelrec.data._warn import warn_data
from reelrec.errors import DataError

_INT = pl.Int64()
# The 19 genre flags of u.item, in order, used when u.genre is absent.
_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip


def find_movielens_root(path: Path) -> Path | None:
    """The folder (or zip) holding ``u.data``: ``path`` itself, ``path/ml-100k``, or ``ml-100k.zip``."""
    path = Path(path)
    if path.is_file():
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                names = {PurePosixPath(n).name for n in zf.namelist()}
            return path if "u.data" in names else None
        return path.parent if path.name == "u.data" else None
    for candidate in (path, path / "ml-100k"):
        if (candidate / "u.data").is_file():
            return candidate
    archive = path / "ml-100k.zip"
    return find_movielens_root(archive) if archive.is_file() else None


def load_movielens_100k(path: str | Path, *, duplicates: str = "keep", clip: float | None = None) -> Dataset:
    """Load MovieLens-100K (label = rating 1..5).

    ``duplicates`` and ``clip`` behave as in :func:`load_generic` (the official files have no
    repeated pair and no rating above 5, so the defaults change nothing).

    User features: ``age`` (numeric), ``gender``, ``occupation`` and ``zip_prefix`` (first character
    of the zip code, i.e. the US postal region; categorical). Item features: ``genres`` (multi,
    genre names) and ``release_year`` (numeric, null when unknown). The files are small (about
    2 MB), so this loader never writes a cache.

    Raises
    ------
    DataError
        A file is missing or malformed; the message names file, column and first bad row.
    """
    started = time.perf_counter()
    if duplicates not in _duplicates.POLICIES:
        raise ValueError(f"duplicates={duplicates!r}, expected one of {', '.join(_duplicates.POLICIES)}")
    root = find_movielens_root(Path(path))
    if root is None:
        raise DataError(f"{path}: no MovieLens-100K u.data found here, in ml-100k/ below it, or in ml-100k.zip")
    source = DataSource(root)
    ratings = read_table(
        source,
        "u.data",
        [
            Col("user_id", _INT, "an integer user id"),
            Col("item_id", _INT, "an integer item id"),
            Col("rating", pl.Float64(), "a rating from 1 to 5"),
            Col("timestamp", pl.Float64(), "Unix seconds"),
        ],
        separator="\t",
        header=False,
        quote_char=None,
    )
    rating = ratings.frame["rating"]
    ratings.require("rating", rating.is_finite() & (rating >= 0), "a finite, non-negative rating")
    ratings.require("timestamp", ratings.frame["timestamp"].is_finite(), "finite Unix seconds")
    users_table = _users(source)
    items_table = _items(source)

    users = union_ids(ratings.frame["user_id"], users_table.frame["user_id"])
    items = union_ids(ratings.frame["item_id"], items_table.frame["item_id"])
    user = lookup(users, ratings.frame["user_id"])
    item = lookup(items, ratings.frame["item_id"])
    for table, ids, used, col in ((users_table, users, user, "user_id"), (items_table, items, item, "item_id")):
        seen = np.zeros(len(ids), dtype=bool)
        seen[used] = True
        n_unused = int((~seen).sum())
        if n_unused:
            warn_data(f"{table.where}: {n_unused} ids in column '{col}' match no rating; kept without interactions")

    label = rating.to_numpy()
    timestamp = ratings.frame["timestamp"].to_numpy()
    exact = _duplicates.exact_duplicates(user, timestamp, [item, label])
    report = _duplicates.report(user, item, exact, len(users), len(items))
    n_clipped = 0 if clip is None else int((label > clip).sum())
    if clip is not None:
        label = np.minimum(label, clip)
    user, item, label, timestamp = _duplicates.apply_policy(
        duplicates, user, item, label, timestamp, exact, len(users), len(items)
    )

    user_kinds: dict[str, FeatureKind] = {
        "age": "numeric",
        "gender": "categorical",
        "occupation": "categorical",
        "zip_prefix": "categorical",
    }
    item_kinds: dict[str, FeatureKind] = {"genres": "multi", "release_year": "numeric"}
    user_frame = align_rows(users, users_table.frame["user_id"], users_table.frame.select(list(user_kinds)))
    item_frame = align_rows(items, items_table.frame["item_id"], items_table.frame.select(list(item_kinds)))
    return Dataset(
        users=users,
        items=items,
        interactions=Interactions.from_arrays(user, item, label, timestamp),
        user_features=FeatureTable(user_frame, user_kinds),
        item_features=FeatureTable(item_frame, item_kinds),
        label_name="rating",
        source="movielens-100k",
        meta={
            "format": "movielens-100k",
            "files": {n: source.display(n) for n in ("u.data", "u.user", "u.item")},
            "log": {**report.to_dict(), "rows_kept": len(user), "clipped_rows": n_clipped},
            "duplicates_policy": duplicates,
            "clip": clip,
            "cache": "off",
            "load_seconds": round(time.perf_counter() - started, 3),
        },
    )


def _users(source: DataSource) -> Table:
    table = read_table(
        source,
        "u.user",
        [
            Col("user_id", _INT, "an integer user id"),
            Col("age", pl.Float64(), "an age in years"),
            Col("gender", pl.String(), "M or F"),
            Col("occupation", pl.String(), "an occupation"),
            Col("zip", pl.String(), "a zip code", nullable=True),
        ],
        separator="|",
        header=False,
        quote_char=None,
    )
    require_unique(table, "user_id", "user")
    frame = table.frame.with_columns(
        pl.col("age").cast(pl.Float32),
        zip_prefix=pl.col("zip").str.strip_chars().str.slice(0, 1).str.to_uppercase(),
    )
    return Table(frame, table.where, header=False)


def _items(source: DataSource) -> Table:
    genres = _genre_names(source)
    columns = [
        Col("item_id", _INT, "an integer item id"),
        Col("title", pl.String(), "a title", nullable=True),
        Col("release_date", pl.String(), "a date like 01-Jan-1995", nullable=True),
        Col("video_release_date", pl.String(), "a date", nullable=True),
        Col("url", pl.String(), "a URL", nullable=True),
    ] + [Col(f"g{k}", _INT, "a 0/1 genre flag") for k in range(len(genres))]
    table = read_table(source, "u.item", columns, separator="|", header=False, encoding="latin-1", quote_char=None)
    require_unique(table, "item_id", "item")
    frame = table.frame
    for k in range(len(genres)):
        flag = frame[f"g{k}"]
        table.require(f"g{k}", flag.is_in([0, 1]), "a 0/1 genre flag")
    date = frame["release_date"].str.strip_chars()
    year = date.str.slice(-4).cast(pl.Int64, strict=False)
    table.require("release_date", year.is_not_null() | date.is_null(), "a date like 01-Jan-1995 or empty")
    names = pl.concat_list([pl.when(pl.col(f"g{k}") == 1).then(pl.lit(g)) for k, g in enumerate(genres)])
    frame = frame.select(
        "item_id",
        genres=names.list.drop_nulls(),
        release_year=pl.Series(year).cast(pl.Float32),
    )
    return Table(frame, table.where, header=False)


def _genre_names(source: DataSource) -> tuple[str, ...]:
    """Genre names from u.genre (``name|id`` lines) when present, else the standard 19."""
    if not source.exists("u.genre"):
        return _GENRES
    lines = [ln for ln in source.read_bytes("u.genre").decode("latin-1").splitlines() if ln.strip()]
    pairs = []
    for number, line in enumerate(lines, start=1):
        name, _, idx = line.rpartition("|")
        if not name or not idx.strip().isdigit():
            raise DataError(f"{source.display('u.genre')}: line {number}: {line!r}, expected 'name|id'")
        pairs.append((int(idx), name))
    pairs.sort()
    if [i for i, _ in pairs] != list(range(len(pairs))):
        raise DataError(f"{source.display('u.genre')}: genre ids must run 0..{len(pairs) - 1}")
    return tuple(name for _, name in pairs)
