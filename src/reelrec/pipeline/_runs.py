"""End-to-end runs behind the CLI: train an artifact, evaluate one honestly, compare with baselines."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reelrec.config import DataConfig, RunConfig, load_config
from reelrec.config._load import format_errors
from reelrec.data import Dataset
from reelrec.models import BASELINES, Recommender, create_model, model_class


def make_split(dataset: Dataset, data_cfg: DataConfig) -> Any | None:
    """The evaluation split a data config asks for; ``None`` for protocol ``none``.

    ``auto`` is ``kuairec`` when the data has a fully observed block, else ``holdout``.
    """
    from reelrec.eval import holdout_split, kuairec_split

    protocol = resolve_protocol(dataset, data_cfg.protocol)
    if protocol == "none":
        return None
    if protocol == "kuairec":
        return kuairec_split(dataset, cold_user_fraction=data_cfg.cold_user_fraction)
    return holdout_split(
        dataset,
        test_fraction=data_cfg.test_fraction,
        seed=data_cfg.split_seed,
        mode=data_cfg.split,
        min_interactions=data_cfg.min_interactions,
        cold_user_fraction=data_cfg.cold_user_fraction,
    )


def resolve_protocol(dataset: Dataset, protocol: str) -> str:
    if protocol == "auto":
        return "kuairec" if dataset.fully_observed is not None else "holdout"
    if protocol == "kuairec" and dataset.fully_observed is None:
        raise ValueError("protocol 'kuairec' needs a fully observed block (KuaiRec's small_matrix.csv)")
    return protocol


def load_options(data_cfg: DataConfig) -> dict[str, Any]:
    """Load options the config sets explicitly; the rest keep each reader's own default
    (e.g. watch ratios are clipped at 5 for KuaiRec, generic labels are not clipped)."""
    return {name: getattr(data_cfg, name) for name in ("duplicates", "clip") if name in data_cfg.model_fields_set}


def load_for(config: RunConfig, data: str | Path) -> Dataset:
    from reelrec.data import load_dataset

    return load_dataset(data, **load_options(config.data))


def fit_and_evaluate(
    model: Recommender, split: Any, ks: tuple[int, ...] = (5, 10, 20), threshold: float | None = None
) -> dict[str, Any]:
    """Fit ``model`` on the split's training part and return its metrics plus ``fit_seconds``."""
    from reelrec.eval import evaluate

    started = time.perf_counter()
    model.fit(split.train)
    fit_seconds = time.perf_counter() - started
    result = evaluate(model, split, ks=ks, threshold=threshold)
    return {**result.metrics, "fit_seconds": fit_seconds, "recommend_seconds": result.recommend_seconds}


def train_run(
    data: str | Path,
    out: str | Path,
    *,
    config_path: str | Path | None = None,
    overrides: list[str] | None = None,
    quiet: bool = False,
    stream: bool = False,
) -> dict[str, Any]:
    """Load data, fit the configured model, evaluate on the configured split, save the artifact.

    Under ``torchrun`` every rank loads the data (rank 0 first, so caches are built once) and trains
    its share of each batch (DistributedDataParallel); rank 0 alone evaluates and writes the artifact
    while the others wait. ``stream=True`` (or ``data`` being a shard store, or a KuaiRec folder whose
    big matrix is parquet shards) trains out of core with :func:`reelrec.scale.train_sharded`.
    """
    from reelrec.scale import distributed_session, is_store

    config = load_config(config_path, overrides or [])
    if quiet and config.training.progress == "auto":
        config.training.progress = False
    with distributed_session(config.device) as info:
        if stream or is_store(data) or _parquet_only_kuairec(data):
            from reelrec.scale import train_sharded

            return train_sharded(config, data, out)
        result = _train_in_memory(config, data, out, info.is_main)
        return {**result, "rank": info.rank, "processes": info.world_size}


def _parquet_only_kuairec(data: str | Path) -> bool:
    """A KuaiRec-shaped folder whose big matrix exists only as parquet (the in-memory loader reads CSV)."""
    from reelrec.scale import find_sharded_kuairec

    root = find_sharded_kuairec(data)
    return root is not None and not (root / "big_matrix.csv").is_file()


def _train_in_memory(config: RunConfig, data: str | Path, out: str | Path, is_main: bool) -> dict[str, Any]:
    from reelrec.eval import evaluate
    from reelrec.scale import barrier, rank0_first

    dataset = rank0_first(lambda: load_for(config, data))
    split = make_split(dataset, config.data)
    model = config.build_model()
    train_data = dataset if split is None else split.train
    started = time.perf_counter()
    model.fit(train_data)
    fit_seconds = time.perf_counter() - started
    metrics: dict[str, Any] = {}
    if split is not None and is_main:
        result = evaluate(model, split)
        metrics = dict(result.metrics)
    history = getattr(model, "history_", None)
    record = {
        "metrics": metrics,
        "fit_seconds": fit_seconds,
        "protocol": resolve_protocol(dataset, config.data.protocol),
        "history": history or [],
    }
    saved_config = {**config.to_json(), "data_path": str(data), "load_options": load_options(config.data)}
    if is_main:
        model.save(out, dataset=train_data, config=saved_config, metrics=record)
    barrier()  # the artifact is complete before any rank returns
    return {
        "model": model.name,
        "artifact": str(out),
        "metrics": metrics,
        "fit_seconds": fit_seconds,
        "protocol": record["protocol"],
    }


def evaluate_artifact(
    artifact: str | Path,
    data: str | Path,
    *,
    protocol: str = "auto",
    ks: tuple[int, ...] = (5, 10, 20),
    threshold: float | None = None,
    test_fraction: float = 0.2,
    split: str = "random",
    split_seed: int = 0,
    cold_user_fraction: float = 0.0,
    baselines: bool = True,
    quiet: bool = False,
) -> dict[str, Any]:
    """Evaluate an artifact's model (and the baselines) on one split, without leakage.

    The saved model is used as is only when its recorded training split is exactly the requested one
    over the same vocabularies; otherwise the same model (name and parameters) is re-fitted on the
    split's training part.
    """
    from reelrec.artifacts import load_artifact
    from reelrec.eval import evaluate

    art = load_artifact(artifact, model_class)
    extras = ("data_path", "load_options")
    config = RunConfig.from_json({k: v for k, v in art.config.items() if k not in extras}) if art.config else None
    if protocol == "none":
        raise ValueError("evaluate needs a test split: --protocol must be auto, kuairec or holdout (got 'none')")
    try:
        data_cfg = DataConfig(
            protocol=protocol,  # type: ignore[arg-type]
            test_fraction=test_fraction,
            split=split,  # type: ignore[arg-type]
            split_seed=split_seed,
            cold_user_fraction=cold_user_fraction,
        )
    except ValidationError as exc:
        raise ValueError("; ".join(f"data.{part}" for part in format_errors(exc).split("; "))) from None
    from reelrec.data import load_dataset

    dataset = load_dataset(data, **art.config.get("load_options", {}))
    data_cfg.protocol = resolve_protocol(dataset, protocol)  # type: ignore[assignment]
    the_split = make_split(dataset, data_cfg)
    if the_split is None:
        raise ValueError("protocol 'none' has no split to evaluate on; choose auto, kuairec, holdout or temporal")
    model = art.model
    reuse = (
        config is not None
        and _same_split(config.data, data_cfg, dataset)
        and model.users_ == dataset.users
        and model.items_ == dataset.items
    )
    comparison: dict[str, dict[str, Any]] = {}
    if reuse:
        result = evaluate(model, the_split, ks=ks, threshold=threshold)
        comparison[model.name] = {**result.metrics, "recommend_seconds": result.recommend_seconds}
        note = "artifact evaluated as saved: it was trained on this split's training part"
    else:
        fresh = config.build_model() if config is not None else type(model)(**model.get_params())
        comparison[model.name] = fit_and_evaluate(fresh, the_split, ks, threshold)
        note = "model re-fitted on this split's training part (the artifact was trained on other data)"
    if baselines:
        for name in BASELINES:
            if name == model.name:
                continue
            comparison[name] = fit_and_evaluate(create_model(name), the_split, ks, threshold)
    return {"model": model.name, "protocol": data_cfg.protocol, "note": note, "comparison": comparison}


def _same_split(saved: DataConfig, wanted: DataConfig, dataset: Dataset) -> bool:
    saved_protocol = resolve_protocol(dataset, saved.protocol)
    if saved_protocol != wanted.protocol or saved.cold_user_fraction != wanted.cold_user_fraction:
        return False
    if wanted.protocol == "kuairec":
        return True
    keys = ("test_fraction", "split", "split_seed", "min_interactions")
    return all(getattr(saved, k) == getattr(wanted, k) for k in keys)
