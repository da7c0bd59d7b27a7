"""Parquet cache of loaded data sets, keyed by the input files' fingerprint and the load options."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import numpy as np
import polars as pl

from reelrec._codeversion import code_version
from reelrec.data._dataset import Dataset, FeatureTable, Interactions
from reelrec.data._source import DataSource
from reelrec.data._vocab import IdMap
from reelrec.data._warn import warn_data

#: Derived from the source of reelrec.data: any change to the loaders or the cached layout makes
#: older entries be ignored, with no constant to remember to bump.
CACHE_VERSION = code_version("data")
#: Entries kept per data folder (one per distinct set of load options), most recently used first.
MAX_ENTRIES = 4
_COMPRESSION: Final = "lz4"


def resolve_cache_dir(source: DataSource, cache_dir: str | Path | None) -> Path:
    """``cache_dir`` if given, else ``$REELREC_CACHE_DIR``, else ``.reelrec-cache`` beside the data."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("REELREC_CACHE_DIR")
    return Path(env) if env else source.cache_home()


def user_cache_dir() -> Path:
    """The per-user cache folder: ``$XDG_CACHE_HOME/reelrec``, else ``~/.cache/reelrec``."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "reelrec"


def _writable(folder: Path) -> bool:
    """Whether a file can be created in ``folder`` (creating the folder if needed).

    Trying is the only reliable test: permission bits say nothing for root, read-only mounts or a
    file standing where the folder should be.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{uuid.uuid4().hex[:8]}"
        probe.touch(exist_ok=False)
        probe.unlink()
    except OSError:
        return False
    return True


def cached_load(
    kind: str,
    source: DataSource,
    files: list[str],
    options: dict[str, Any],
    build: Callable[[], Dataset],
    *,
    enabled: bool,
    cache_dir: str | Path | None,
    progress: Callable[[str], None] | None = None,
) -> Dataset:
    """Return the cached Dataset for these files and options, or ``build()`` it and store it.

    The key covers the loader version, every input file's fingerprint and the options, so an edited
    file or a different policy never reads a stale entry. Unreadable entries are deleted and rebuilt;
    a cache folder that cannot be written only costs the speed-up (a warning says so).
    """
    started = time.perf_counter()
    if not enabled:
        data = build()
        data.meta.update(cache="off", load_seconds=round(time.perf_counter() - started, 3))
        return data
    fingerprint = source.fingerprint(files)
    key_text = json.dumps(
        {"version": CACHE_VERSION, "kind": kind, "fingerprint": fingerprint, "options": options},
        sort_keys=True,
        default=str,
    )
    key = hashlib.sha256(key_text.encode()).hexdigest()[:24]
    folder = resolve_cache_dir(source, cache_dir)
    entry = folder / f"{kind}-{key}"
    chosen = cache_dir is not None or bool(os.environ.get("REELREC_CACHE_DIR"))
    if not chosen and not (entry / "manifest.json").exists() and not _writable(folder):
        # A read-only data folder (a shared mount, a read-only volume): keep the speed-up in the user's cache.
        fallback = user_cache_dir()
        warn_data(f"{folder} cannot be written; caching in {fallback} instead")
        folder, entry = fallback, fallback / f"{kind}-{key}"
    if (entry / "manifest.json").exists():
        if progress:
            progress("reading cache")
        try:
            data = read_entry(entry)
        except Exception as exc:  # any damage at all means: rebuild
            warn_data(f"cache entry {entry} is unreadable ({type(exc).__name__}: {exc}); rebuilding")
            shutil.rmtree(entry, ignore_errors=True)
        else:
            os.utime(entry / "manifest.json")
            data.meta.update(cache="hit", cache_path=str(entry), fingerprint=fingerprint)
            data.meta["load_seconds"] = round(time.perf_counter() - started, 3)
            return data
    data = build()
    data.meta.update(cache="miss", fingerprint=fingerprint)
    if progress:
        progress("writing cache")
    try:
        write_entry(data, entry, {"source": str(source.root.resolve()), "kind": kind, "options": options})
    except OSError as exc:
        warn_data(f"could not write the cache in {folder} ({exc}); loading uncached")
    else:
        data.meta["cache_path"] = str(entry)
        _prune(folder, kind, str(source.root.resolve()), fingerprint, keep=entry)
    data.meta["load_seconds"] = round(time.perf_counter() - started, 3)
    return data


def write_entry(data: Dataset, entry: Path, about: dict[str, Any]) -> None:
    """Write ``data`` under ``entry`` atomically: a temporary sibling folder renamed into place."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = entry.parent / f".tmp-{entry.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        files: dict[str, int] = {}

        def put(name: str, frame: pl.DataFrame) -> None:
            frame.write_parquet(tmp / name, compression=_COMPRESSION, statistics=False)
            files[name] = frame.height

        put("interactions.parquet", data.interactions.to_frame())
        if data.fully_observed is not None:
            block = data.fully_observed.to_frame()
            if data.truth is not None:
                block = block.with_columns(truth=pl.Series(data.truth))
            put("fully_observed.parquet", block)
        put("users.parquet", pl.DataFrame({"id": data.users.raw_ids}))
        put("items.parquet", pl.DataFrame({"id": data.items.raw_ids}))
        kinds = {}
        for name, table in (("user_features", data.user_features), ("item_features", data.item_features)):
            if table is not None:
                put(f"{name}.parquet", table.frame)
                kinds[name] = table.kinds
        if data.social is not None:
            social = pl.DataFrame(
                {
                    "user": pl.Series(list(data.social.keys()), dtype=pl.Int32),
                    "friends": pl.Series(list(data.social.values()), dtype=pl.List(pl.Int32)),
                }
            )
            put("social.parquet", social)
        manifest = {
            "version": CACHE_VERSION,
            **about,
            "fingerprint": data.meta.get("fingerprint"),
            "label_name": data.label_name,
            "source_name": data.source,
            "kinds": kinds,
            "files": files,
            "meta": {k: v for k, v in data.meta.items() if k not in ("cache", "cache_path")},
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, default=str, indent=1))
        try:
            tmp.rename(entry)
        except OSError:
            if not (entry / "manifest.json").exists():
                raise
            # Another process stored the same entry first: theirs is as good as ours.
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_entry(entry: Path) -> Dataset:
    """Read an entry written by :func:`write_entry`; raises on any missing or inconsistent part."""
    manifest = json.loads((entry / "manifest.json").read_text())
    if manifest.get("version") != CACHE_VERSION:
        raise ValueError(f"cache version {manifest.get('version')}, expected {CACHE_VERSION}")
    files: dict[str, int] = manifest["files"]

    def get(name: str) -> pl.DataFrame:
        frame = pl.read_parquet(entry / name)
        if frame.height != files[name]:
            raise ValueError(f"{name} has {frame.height} rows, expected {files[name]}")
        return frame

    def interactions(frame: pl.DataFrame) -> Interactions:
        return Interactions(
            frame["user"].to_numpy(writable=True).astype(np.int32, copy=False),
            frame["item"].to_numpy(writable=True).astype(np.int32, copy=False),
            frame["label"].to_numpy(writable=True).astype(np.float32, copy=False),
            frame["timestamp"].to_numpy(writable=True).astype(np.float64, copy=False),
        )

    users = IdMap(get("users.parquet")["id"].to_numpy())
    items = IdMap(get("items.parquet")["id"].to_numpy())
    block = truth = None
    if "fully_observed.parquet" in files:
        frame = get("fully_observed.parquet")
        block = interactions(frame)
        if "truth" in frame.columns:
            truth = frame["truth"].to_numpy(writable=True).astype(np.float32, copy=False)
    tables = {}
    for name, kinds in manifest["kinds"].items():
        tables[name] = FeatureTable(get(f"{name}.parquet"), kinds)
    social = None
    if "social.parquet" in files:
        frame = get("social.parquet")
        social = dict(zip(frame["user"].to_list(), frame["friends"].to_list(), strict=True))
    return Dataset(
        users=users,
        items=items,
        interactions=interactions(get("interactions.parquet")),
        fully_observed=block,
        truth=truth,
        user_features=tables.get("user_features"),
        item_features=tables.get("item_features"),
        social=social,
        label_name=manifest["label_name"],
        source=manifest["source_name"],
        meta=dict(manifest["meta"]),
    )


def _prune(folder: Path, kind: str, source: str, fingerprint: str, keep: Path) -> None:
    """Drop entries of this data folder made from older file versions, and all but the newest few."""
    mine: list[tuple[float, Path]] = []
    for entry in folder.glob(f"{kind}-*"):
        if entry == keep:
            continue
        try:
            manifest = json.loads((entry / "manifest.json").read_text())
            mtime = (entry / "manifest.json").stat().st_mtime
        except (OSError, ValueError):
            continue
        if manifest.get("source") != source:
            continue
        if manifest.get("fingerprint") != fingerprint:
            shutil.rmtree(entry, ignore_errors=True)
        else:
            mine.append((mtime, entry))
    for _, entry in sorted(mine, reverse=True)[MAX_ENTRIES - 1 :]:
        shutil.rmtree(entry, ignore_errors=True)
