"""What a report is drawn from: a bench directory, or a model artifact (re-evaluated when data is given)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from reelrec.bench import BenchResult, collect_run, top_items
from reelrec.errors import ReelrecError

if TYPE_CHECKING:
    from reelrec.eval import Split
    from reelrec.models import Recommender


def load_source(
    path: str | Path,
    *,
    data: str | Path | None = None,
    ks: tuple[int, ...] = (5, 10, 20),
    threshold: float | None = None,
) -> BenchResult:
    """Read a bench directory, or turn a model artifact into a one-model :class:`BenchResult`.

    Parameters
    ----------
    path : path
        A directory written by ``reelrec bench`` (has ``bench.json``) or ``reelrec train`` (has
        ``manifest.json``).
    data : path, optional
        Artifacts only: the data the model was trained on. The model is then evaluated again on the
        split its configuration names, which gives every per-user plot; without it the report shows
        what the artifact's ``metrics.json`` holds.
    ks, threshold
        Artifacts with ``data`` only: cut-offs and relevance threshold of the re-evaluation.
    """
    path = Path(path)
    if (path / "bench.json").exists():
        if data is not None:
            raise ValueError(f"--data is for model artifacts; {path} is a bench directory with its own results")
        return BenchResult.read(path)
    if (path / "manifest.json").exists():
        return _from_artifact(path, data, ks, threshold)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such bench directory or artifact")
    raise ReelrecError(
        f"{path} is neither a bench directory (no bench.json) nor a model artifact (no manifest.json)"
    )


def _recorded_metrics(metrics: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per-model metric dicts recorded in an artifact's ``metrics.json`` (flat or nested layouts)."""
    def numeric(d: Any) -> dict[str, float]:
        if not isinstance(d, dict):
            return {}
        return {k: float(v) for k, v in d.items() if isinstance(v, int | float) and not isinstance(v, bool)}

    out: dict[str, dict[str, float]] = {}
    comparison = metrics.get("comparison")
    if isinstance(comparison, dict):
        out.update({str(name): numeric(vals) for name, vals in comparison.items()})
    return out


def _from_artifact(path: Path, data: str | Path | None, ks: tuple[int, ...], threshold: float | None) -> BenchResult:
    from reelrec.artifacts import load_artifact
    from reelrec.models import model_class

    art = load_artifact(path, model_class)
    model = art.model
    label = model.name
    recorded = art.metrics if isinstance(art.metrics, dict) else {}
    history_list = recorded.get("history") if isinstance(recorded.get("history"), list) else []
    own: dict[str, Any] = mine if isinstance(mine := recorded.get("metrics"), dict) else recorded
    others = _recorded_metrics(recorded)
    others.pop(label, None)
    data_cfg = art.config.get("data", {}) if isinstance(art.config.get("data"), dict) else {}
    notes: list[str] = []
    warnings: list[str] = []
    info: dict[str, Any] = {
        "source_kind": "artifact",
        "artifact": str(path),
        "artifact_id": art.artifact_id,
        "models": [label],
        "params": {label: model.get_params()},
        "seeds": [],
        "failures": [],
        "data": {"name": art.dataset.get("source", path.name), "summary": art.dataset,
                 "label": art.dataset.get("label", "label")},
        "protocol": recorded.get("protocol") or data_cfg.get("protocol") or "?",
        "notes": notes,
        "warnings": warnings,
    }
    history = {label: {"0": history_list}} if history_list else {}

    if data is None:
        row = {"model": label, "seed": 0, **{k: float(v) for k, v in own.items()
                                           if isinstance(v, int | float) and not isinstance(v, bool)}}
        if "fit_seconds" in recorded:
            row["fit_seconds"] = float(recorded["fit_seconds"])
        rows = [row] + [{"model": name, "seed": 0, **vals} for name, vals in others.items()]
        info["ks"] = _ks_in(rows)
        info["k"] = 10 if 10 in info["ks"] else (info["ks"][-1] if info["ks"] else 10)
        notes.append("Figures as recorded in the artifact's metrics.json; give --data to re-evaluate the model "
                     "and draw the per-user plots.")
        runs = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
        return BenchResult(info=info, runs=runs, history=history, path=path)

    from reelrec.eval import EvalProtocol, evaluate

    load_kw = {k: data_cfg[k] for k in ("duplicates", "clip") if k in data_cfg}
    requested = data_cfg.get("protocol") or recorded.get("protocol") or "auto"
    settings = {**data_cfg, "protocol": "auto" if requested == "none" else requested}
    evaluation = EvalProtocol.from_config(data, settings, load_kw)
    dataset = evaluation.dataset
    if model.users_ != dataset.users or model.items_ != dataset.items:
        raise ReelrecError(
            f"{path} was trained on other data than {data}: the artifact knows {len(model.users_)} users and "
            f"{len(model.items_)} videos, the data has {dataset.n_users} and {dataset.n_items} "
            "(or different ids); pass the data set the model was trained on"
        )
    protocol = evaluation.name
    seed = evaluation.seed
    split = evaluation.split()
    leaked = _leaked_share(model, split)
    if leaked > 0:
        warnings.append(
            f"{leaked:.1%} of the test (user, video) pairs are in the model's training data, so every figure "
            "below is optimistic: train with a protocol (not 'none') and --no-refit to get honest numbers."
        )
    result = evaluate(model, split, ks=ks, threshold=threshold)
    run, per_user, preds = collect_run(model, split, result, label=label, seed=seed, ks=ks)
    if "fit_seconds" in recorded:
        run["fit_seconds"] = float(recorded["fit_seconds"])
    rows = [run] + [{"model": name, "seed": seed, **vals} for name, vals in others.items()]
    if others:
        notes.append(f"{', '.join(others)}: figures as recorded in the artifact's metrics.json (no per-user data).")
    _, share, n_top = top_items(split)
    ks_sorted = sorted(set(ks))
    info.update(
        {
            "protocol": protocol,
            "split": split.summary(),
            "ks": ks_sorted,
            "k": 10 if 10 in ks_sorted else ks_sorted[-1],
            "threshold": result.threshold,
            "seeds": [seed],
            "data": {"name": Path(data).name, "path": str(data), "source": dataset.source,
                     "label": dataset.label_name, "summary": dataset.summary()},
            "popularity": {"top_fraction": 0.01, "n_top": n_top, "train_share": share},
            "test_fraction": float(data_cfg.get("test_fraction", 0.2)),
            "cold_user_fraction": float(data_cfg.get("cold_user_fraction", 0.0)),
        }
    )
    runs = pl.DataFrame(rows, infer_schema_length=None)
    return BenchResult(info=info, runs=runs, per_user=per_user, predictions=preds, history=history, path=path)


def _leaked_share(model: Recommender, split: Split) -> float:
    """Share of warm test pairs the model saw in training (0 for an honest split)."""
    test = split.test
    warm = ~np.isin(test.user, split.cold_users)
    if not warm.any():
        return 0.0
    seen = model.seen_
    users, items = test.user[warm], test.item[warm]
    hits = np.asarray(seen[users, items]).ravel() > 0
    return float(hits.mean())


def _ks_in(rows: list[dict[str, Any]]) -> list[int]:
    ks = set()
    for row in rows:
        for key, value in row.items():
            if key.startswith("ndcg@") and isinstance(value, float) and math.isfinite(value):
                ks.add(int(key.split("@")[1]))
    return sorted(ks)
