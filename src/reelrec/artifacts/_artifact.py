"""Model artifacts: a directory of safetensors + JSON, written atomically and verified on load.

Layout (format version 1)::

    ART/
      manifest.json        format, version, model name, library versions, sha256 of every file
      model.json           registry name, constructor params, learned JSON (feature pipeline...)
      weights.safetensors  learned arrays, plus the training seen-matrix and item popularity
      ids.safetensors      raw user/item ids when integer (ids.json when strings)
      history.safetensors  each user's most recent training views (service page), optional
      items.parquet        item display features (tags...), optional
      config.json          training configuration, optional
      metrics.json         evaluation results, optional
      dataset.json         summary of the training data

No pickle anywhere: every file is plain data.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from numpy.typing import NDArray
from safetensors.numpy import load_file, save_file

from reelrec.data._dataset import Dataset
from reelrec.data._vocab import IdMap
from reelrec.errors import ArtifactError

if TYPE_CHECKING:  # annotations only: the artifact layer never imports the models (they import it)
    from reelrec.models._base import Recommender

#: Resolves the registry name in ``model.json`` to a class, e.g. :func:`reelrec.models.model_class`.
ModelClass = Callable[[str], "type[Recommender]"]

FORMAT = "reelrec-artifact"
FORMAT_VERSION = 1
_BASE_PREFIX = "__base__."


@dataclass
class History:
    """Each user's most recent training views, time-ordered (oldest first), CSR-style."""

    indptr: NDArray[np.int64]
    items: NDArray[np.int32]
    labels: NDArray[np.float32]

    def of(self, user: int) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        lo, hi = self.indptr[user], self.indptr[user + 1]
        return self.items[lo:hi], self.labels[lo:hi]


@dataclass
class Artifact:
    """A loaded artifact: the model plus everything saved beside it."""

    path: Path
    model: Recommender
    manifest: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    dataset: dict[str, Any] = field(default_factory=dict)
    history: History | None = None
    items: pl.DataFrame | None = None

    @property
    def artifact_id(self) -> str:
        return str(self.manifest.get("artifact_id", ""))


def _library_versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for name in ("reelrec", "numpy", "torch", "polars", "pyarrow", "safetensors", "scipy"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return out


def recent_history(dataset: Dataset, limit: int) -> History:
    """The last ``limit`` views of every user by timestamp (rows without time count as oldest)."""
    inter = dataset.interactions
    ts = np.nan_to_num(inter.timestamp, nan=-np.inf)
    order = np.lexsort((ts, inter.user))
    users = inter.user[order]
    counts = np.bincount(users, minlength=dataset.n_users)
    ends = np.cumsum(counts)
    keep_n = np.minimum(counts, limit)
    # Position of each row within its user's block, counted from the end.
    pos_from_end = np.repeat(ends, counts) - 1 - np.arange(len(order))
    keep = pos_from_end < np.repeat(keep_n, counts)
    indptr = np.zeros(dataset.n_users + 1, np.int64)
    np.cumsum(keep_n, out=indptr[1:])
    sel = order[keep]
    return History(indptr, inter.item[sel].astype(np.int32), inter.label[sel].astype(np.float32))


def _display_items(dataset: Dataset) -> pl.DataFrame | None:
    table = dataset.item_features
    if table is None:
        return None
    cols = [c for c, kind in table.kinds.items() if kind in ("categorical", "multi")][:6]
    frame = table.frame.select(cols) if cols else pl.DataFrame()
    return frame.with_columns(pl.Series("item_id", dataset.items.raw_ids)).select(["item_id", *cols])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def _write_ids(tmp: Path, users: IdMap, items: IdMap) -> None:
    if users.is_integer and items.is_integer:
        save_file({"users": users.raw_ids, "items": items.raw_ids}, str(tmp / "ids.safetensors"))
    else:
        _write_json(tmp / "ids.json", {"users": users.to_list(), "items": items.to_list()})


def save_artifact(
    model: Recommender,
    path: str | Path,
    *,
    dataset: Dataset | None = None,
    config: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    history_limit: int = 50,
) -> Path:
    """Write ``model`` (fitted) to the directory ``path``, atomically.

    Everything is written to a temporary sibling directory first and renamed into place, so a crash
    never leaves a half-written artifact, and an existing artifact is replaced only once the new one
    is complete. A non-empty directory that is not an artifact is never overwritten.
    """
    model._check_fitted()
    path = Path(path)
    if path.exists() and (not path.is_dir() or (any(path.iterdir()) and not (path / "manifest.json").exists())):
        raise ArtifactError(f"{path} exists and is not a reelrec artifact; refusing to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        tensors, extra = model._get_state()
        base = {
            _BASE_PREFIX + "seen_indptr": model.seen_.indptr.astype(np.int64),
            _BASE_PREFIX + "seen_indices": model.seen_.indices.astype(np.int32),
            _BASE_PREFIX + "item_popularity": model.item_popularity_,
        }
        all_tensors = {k: np.ascontiguousarray(v) for k, v in {**tensors, **base}.items()}
        save_file(all_tensors, str(tmp / "weights.safetensors"))
        _write_ids(tmp, model.users_, model.items_)
        # Run options (device, progress, checkpoints...) say how a fit ran, not what it learned: not saved.
        run_params = getattr(type(model), "run_params", ())
        params = {k: v for k, v in model.get_params().items() if k not in run_params}
        _write_json(tmp / "model.json", {"name": model.name, "params": params, "extra": extra})
        if config is not None:
            _write_json(tmp / "config.json", config)
        if metrics is not None:
            _write_json(tmp / "metrics.json", metrics)
        if dataset is not None:
            _write_json(tmp / "dataset.json", dataset.summary())
            hist = recent_history(dataset, history_limit)
            save_file(
                {"indptr": hist.indptr, "items": hist.items, "labels": hist.labels},
                str(tmp / "history.safetensors"),
            )
            display = _display_items(dataset)
            if display is not None:
                display.write_parquet(tmp / "items.parquet")
        files = {p.name: _sha256(p) for p in sorted(tmp.iterdir())}
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "artifact_id": uuid.uuid4().hex[:12],
            "model": model.name,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": _library_versions(),
            "n_users": len(model.users_),
            "n_items": len(model.items_),
            "files": files,
        }
        _write_json(tmp / "manifest.json", manifest)
        _swap_into_place(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _swap_into_place(tmp: Path, path: Path) -> None:
    if path.exists():
        backup = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:8]}"
        os.rename(path, backup)
        try:
            os.rename(tmp, path)
        except BaseException:
            os.rename(backup, path)
            raise
        shutil.rmtree(backup, ignore_errors=True)
    else:
        os.rename(tmp, path)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Read and check an artifact's manifest and file checksums; raises :class:`ArtifactError`."""
    path = Path(path)
    if not path.is_dir():
        raise ArtifactError(f"{path}: no such artifact directory")
    mpath = path / "manifest.json"
    if not mpath.exists():
        raise ArtifactError(f"{path}: not a reelrec artifact (manifest.json is missing)")
    manifest = _read_json(mpath)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(f"{mpath}: not a reelrec artifact manifest")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ArtifactError(
            f"{mpath}: format_version {version!r} is not supported (this reelrec reads {FORMAT_VERSION})"
        )
    for name, digest in manifest.get("files", {}).items():
        fpath = path / name
        if not fpath.exists():
            raise ArtifactError(f"{path}: file {name} listed in the manifest is missing")
        if _sha256(fpath) != digest:
            raise ArtifactError(f"{fpath}: checksum mismatch (the file is corrupt or was modified)")
    return manifest


def load_artifact(path: str | Path, model_class: ModelClass) -> Artifact:
    """Load and verify an artifact directory written by :func:`save_artifact`.

    ``model_class`` maps the saved registry name to a class (pass :func:`reelrec.models.model_class`);
    taking it from the caller keeps this layer free of the models, which save and load through it.
    """
    path = Path(path)
    manifest = read_manifest(path)
    spec = _read_json(path / "model.json")
    try:
        cls = model_class(spec["name"])
    except (KeyError, ValueError) as exc:
        raise ArtifactError(f"{path / 'model.json'}: {exc}") from None
    model = cls(**spec.get("params", {}))
    try:
        tensors = load_file(str(path / "weights.safetensors"))
    except Exception as exc:  # safetensors raises its own error types
        raise ArtifactError(f"{path / 'weights.safetensors'}: unreadable ({exc})") from None
    if (path / "ids.safetensors").exists():
        ids = load_file(str(path / "ids.safetensors"))
        users, items = IdMap(ids["users"]), IdMap(ids["items"])
    else:
        ids = _read_json(path / "ids.json")
        users, items = IdMap(np.asarray(ids["users"])), IdMap(np.asarray(ids["items"]))
    model.users_, model.items_ = users, items
    indptr = tensors.pop(_BASE_PREFIX + "seen_indptr")
    indices = tensors.pop(_BASE_PREFIX + "seen_indices")
    model.seen_ = sp.csr_matrix(
        (np.ones(len(indices), np.float32), indices, indptr), shape=(len(users), len(items))
    )
    model.item_popularity_ = tensors.pop(_BASE_PREFIX + "item_popularity")
    model._set_state(tensors, spec.get("extra", {}))
    art = Artifact(path=path, model=model, manifest=manifest)
    for name in ("config", "metrics", "dataset"):
        fpath = path / f"{name}.json"
        if fpath.exists():
            setattr(art, name, _read_json(fpath))
    if (path / "history.safetensors").exists():
        h = load_file(str(path / "history.safetensors"))
        art.history = History(h["indptr"], h["items"], h["labels"])
    if (path / "items.parquet").exists():
        art.items = pl.read_parquet(path / "items.parquet")
    return art
