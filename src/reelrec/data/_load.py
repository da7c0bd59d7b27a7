"""``load_dataset``: recognise KuaiRec, MovieLens-100K or the generic layout and call the matching reader."""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from reelrec.data._dataset import Dataset
from reelrec.data._generic import load_generic
from reelrec.data._kuairec import load_kuairec
from reelrec.data._movielens import find_movielens_root, load_movielens_100k
from reelrec.data._source import find_kuairec_root
from reelrec.errors import DataError

Format = Literal["kuairec", "movielens-100k", "generic"]

_OPTIONS: dict[str, tuple[str, ...]] = {
    "kuairec": ("duplicates", "clip", "daily_until", "daily_window_days", "cache", "cache_dir", "progress"),
    "generic": ("duplicates", "clip", "schema", "id_dtype", "label_name", "cache", "cache_dir", "progress"),
    "movielens-100k": ("duplicates", "clip", "cache", "cache_dir", "progress"),
}
# Options a format does not use are accepted only at their no-op value, so shared call sites
# (``load_dataset(path, daily_until=None)``) work for every format while a real request is never ignored.
_NEUTRAL: dict[str, Any] = {"daily_until": None, "daily_window_days": None, "schema": None, "id_dtype": "auto"}


def detect_format(path: str | Path) -> Format:
    """Which reader ``path`` needs, from the files present (no flag needed).

    KuaiRec: ``big_matrix.csv`` in the folder, in ``data/`` or ``KuaiRec 2.0/data/``, or ``KuaiRec.zip``.
    MovieLens-100K: ``u.data`` in the folder or ``ml-100k/``, or ``ml-100k.zip``.
    Generic: ``interactions.csv`` or ``interactions.parquet`` (in the folder or a zip).
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if find_kuairec_root(path) is not None:
        return "kuairec"
    if find_movielens_root(path) is not None:
        return "movielens-100k"
    if path.is_dir() and any((path / f"interactions.{ext}").is_file() for ext in ("csv", "parquet")):
        return "generic"
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = {PurePosixPath(n).name for n in zf.namelist()}
        if names & {"interactions.csv", "interactions.parquet"}:
            return "generic"
    raise DataError(
        f"{path}: no data set recognised; expected KuaiRec (big_matrix.csv, or KuaiRec.zip), MovieLens-100K "
        "(u.data) or the generic layout (interactions.csv or interactions.parquet)"
    )


def load_dataset(path: str | Path, **options: Any) -> Dataset:
    """Load any supported data set into a :class:`Dataset`, recognising its format from the files.

    Options are those of the matching reader (:func:`load_kuairec`, :func:`load_generic`,
    :func:`load_movielens_100k`): ``duplicates``, ``clip``, ``daily_until``, ``daily_window_days``,
    ``schema``, ``id_dtype``, ``label_name``, ``cache``, ``cache_dir``, ``progress``. An option
    the detected format does not use is an error, not silently ignored. ``clip`` defaults to 5.0
    for KuaiRec watch ratios and to no clipping elsewhere.

    Stability: stable.
    """
    fmt = detect_format(path)
    accepted = _OPTIONS[fmt]
    for name in sorted(set(options) - set(accepted)):
        if name in _NEUTRAL and options[name] == _NEUTRAL[name]:
            del options[name]
            continue
        known = name in _NEUTRAL or any(name in opts for opts in _OPTIONS.values())
        reason = f"does not apply to {fmt} data" if known else "is not a load option"
        raise TypeError(f"{name}={options[name]!r} {reason}; accepted: {', '.join(accepted)}")
    if fmt == "kuairec":
        return load_kuairec(path, **options)
    if fmt == "generic":
        return load_generic(path, **options)
    # MovieLens-100K is small enough that caching would cost more than it saves.
    for name in ("cache", "cache_dir", "progress"):
        options.pop(name, None)
    return load_movielens_100k(path, **options)
