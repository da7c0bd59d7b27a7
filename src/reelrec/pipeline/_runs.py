"""End-to-end runs behind the CLI: train an artifact, evaluate one honestly, compare with baselines."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from reelrec.config import DataConfig, RunConfig, load_config
from reelrec.config._load import format_errors
from reelrec.data import Dataset
from reelrec.models import BASELINES, SCALE_OUT_MODEL, Recommender, create_model, model_class

if TYPE_CHECKING:
    from reelrec.eval import EvalProtocol, Split


def protocol_for(data: str | Path | Dataset, data_cfg: DataConfig) -> EvalProtocol:
    """The evaluation protocol a data config names, over ``data`` loaded with the config's load options."""
    from reelrec.eval import EvalProtocol

    return EvalProtocol.from_config(data, data_cfg.model_dump(), load_options(data_cfg))


def load_options(data_cfg: DataConfig) -> dict[str, Any]:
    """Load options the config sets explicitly; the rest keep each reader's own default
    (e.g. watch ratios are clipped at 5 for KuaiRec, generic labels are not clipped)."""
    return {name: getattr(data_cfg, name) for name in ("duplicates", "clip") if name in data_cfg.model_fields_set}


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
    refit: bool = True,
    events: str | Path | None = None,
) -> dict[str, Any]:
    """Load data, fit the configured model, evaluate it on the configured split, refit, save the artifact.

    ``events`` names a service event store whose events are appended to the data first (see
    :mod:`reelrec.events._dataset`); the artifact records the last event id it was trained on.

    The metrics are the split's: the model fitted on the split's training part, judged on its test
    part. With ``refit`` (the default, scikit-learn's ``refit=True`` habit) the model is then fitted
    again on all the data (the big matrix only under ``kuairec``: the fully observed block is for
    evaluation) and that model is saved; ``refit=False`` saves the split's model.

    Under ``torchrun`` every rank loads the data (rank 0 first, so caches are built once) and trains
    its share of each batch (DistributedDataParallel); rank 0 alone evaluates and writes the artifact
    while the others wait. ``stream=True`` (or ``data`` being a shard store, or a KuaiRec folder whose
    big matrix is parquet shards) trains out of core with :func:`reelrec.scale.train_sharded`. Without
    a model named, out-of-core and ``torchrun`` runs train the two-tower (the model that streams and
    trains data-parallel); in memory the default is the hybrid.
    """
    from reelrec.scale import distributed_session, is_store

    out_of_core = stream or is_store(data) or _parquet_only_kuairec(data)
    scale_out = out_of_core or int(os.environ.get("WORLD_SIZE", "1")) > 1
    config = load_config(config_path, overrides or [], default_model=SCALE_OUT_MODEL if scale_out else None)
    if quiet and config.training.progress == "auto":
        config.training.progress = False
    with distributed_session(config.device) as info:
        if out_of_core:
            from reelrec.scale import train_sharded

            if events is not None:
                raise ValueError("--events works with in-memory training only, not with --stream or shard stores")
            return train_sharded(config, data, out)
        result = _train_in_memory(config, data, out, info.is_main, refit, events)
        return {**result, "rank": info.rank, "processes": info.world_size}


def _parquet_only_kuairec(data: str | Path) -> bool:
    """A KuaiRec-shaped folder whose big matrix exists only as parquet (the in-memory loader reads CSV)."""
    from reelrec.scale import find_sharded_kuairec

    root = find_sharded_kuairec(data)
    return root is not None and not (root / "big_matrix.csv").is_file()


def _train_in_memory(
    config: RunConfig, data: str | Path, out: str | Path, is_main: bool, refit: bool, events: str | Path | None
) -> dict[str, Any]:
    from reelrec.eval import evaluate
    from reelrec.scale import barrier, rank0_first

    protocol = protocol_for(data, config.data)
    if events is not None:
        from reelrec.events._dataset import append_events

        loaded = rank0_first(lambda: protocol.dataset)
        protocol = protocol_for(append_events(loaded, Path(events)), config.data)
    dataset = rank0_first(lambda: protocol.dataset)
    split = None if protocol.name == "none" else rank0_first(protocol.split)
    model = config.build_model()
    train_data = dataset if split is None else split.train
    started = time.perf_counter()
    model.fit(train_data)
    fit_seconds = time.perf_counter() - started
    metrics: dict[str, Any] = {}
    if split is not None and is_main:
        metrics = dict(evaluate(model, split).metrics)
    refit_info = None
    if split is not None and refit:
        model, train_data, refit_info = _refit(config, protocol, split, model)
    history = getattr(model, "history_", None)
    trained_on = "split" if refit_info is None or not refit_info["fitted"] else refit_info["data"]
    record = {
        "metrics": metrics,
        "fit_seconds": fit_seconds,
        "protocol": protocol.name,
        "history": history or [],
        "split": {**protocol.record(), "trained_on": trained_on},
        "refit": refit_info,
    }
    if events is not None:
        record["events"] = dataset.meta.get("events")
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
        "refit": refit_info,
        **({"events": record["events"]} if events is not None else {}),
    }


def _refit(
    config: RunConfig, protocol: EvalProtocol, split: Split, model: Recommender
) -> tuple[Recommender, Any, dict[str, Any]]:
    """The model to deploy, refitted on :meth:`EvalProtocol.refit_data`; the split's own ``model`` when
    its training part already is that data (kuairec without cold users)."""
    what = "big matrix" if protocol.name == "kuairec" else "all interactions"
    if not protocol.refit_changes_data(split):
        rows = len(split.train.interactions)
        return model, split.train, {"fitted": False, "data": what, "rows": rows, "seconds": 0.0}
    data = protocol.refit_data()
    final = config.build_model()
    started = time.perf_counter()
    final.fit(data)
    info = {"fitted": True, "data": what, "rows": len(data.interactions), "seconds": time.perf_counter() - started}
    return final, data, info


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

    The saved model is used as is only when it was trained on exactly this split's training part:
    same protocol and settings, same data content (its fingerprint, not only its ids) and the same
    version of the code that carves the split; otherwise the same model (name and parameters) is
    re-fitted on the split's training part. A model refitted on all the data is never reused.
    """
    from reelrec.artifacts import load_artifact
    from reelrec.eval import evaluate

    art = load_artifact(artifact, model_class)
    extras = ("data_path", "load_options")
    config = RunConfig.from_json({k: v for k, v in art.config.items() if k not in extras}) if art.config else None
    if protocol == "none":
        raise ValueError(
            "evaluate needs a test split: --protocol must be auto, kuairec, holdout or temporal (got 'none')"
        )
    if protocol == "temporal":  # the config's spelling: a holdout split in temporal mode
        protocol, split = "holdout", "temporal"
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
    from reelrec.eval import EvalProtocol

    evaluation = EvalProtocol.from_config(data, data_cfg.model_dump(), art.config.get("load_options", {}))
    the_split = evaluation.split()
    model = art.model
    saved = art.metrics.get("split") if isinstance(art.metrics, dict) else None
    reuse = _same_split(saved, evaluation) and model.users_ == evaluation.dataset.users
    reuse = reuse and model.items_ == evaluation.dataset.items
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
    return {"model": model.name, "protocol": evaluation.name, "note": note, "comparison": comparison}


def _same_split(saved: Any, evaluation: EvalProtocol) -> bool:
    """The artifact's recorded training split is this protocol's, on the same data and split code."""
    if not isinstance(saved, dict) or saved.get("trained_on") != "split":
        return False
    return {k: v for k, v in saved.items() if k != "trained_on"} == evaluation.record()
