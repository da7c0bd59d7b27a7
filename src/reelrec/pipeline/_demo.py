"""``reelrec demo``: the main job end to end on built-in synthetic data, in about a minute."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import numpy as np

from reelrec._extras import require_extra
from reelrec.models import DEFAULT_MODEL, create_model, model_class
from reelrec.pipeline._runs import fit_and_evaluate

# Baselines cheap enough for a quick demo on two cores (EASE/ItemKNN/iALS are in `reelrec bench`; the
# default hybrid tries EASE itself and keeps it only if validation says so).
_DEMO_BASELINES = ("popularity", "item-mean", "mf")


def run_demo(
    out: str | Path,
    *,
    scale: float = 0.03,
    seed: int = 0,
    quiet: bool = False,
    report: bool = False,
    threads: int | None = 1,
) -> dict[str, Any]:
    """Synthesise KuaiRec-shaped data, train the default model, the notebook preset and baselines on the
    big matrix, evaluate all on the fully observed block, save the default's artifact, and return the
    comparison plus one user's top-10.

    ``threads`` is torch's intra-op thread count for the run (``None``: torch's default, one per core).
    The demo's models are small: one thread is about as fast on an idle machine, and several threads
    spin-wait and slow down many times over when other jobs share the cores.
    """
    import torch

    from reelrec.synth import synth_shape

    if threads is not None and threads < 1:
        raise ValueError(f"threads={threads!r}, must be at least 1")
    synth_shape(scale)  # a bad scale is one error before any progress line or file
    if report:
        require_extra("report", "reelrec demo --report")
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _run_demo(Path(out), scale, seed, quiet, report)
    finally:
        torch.set_num_threads(previous)


def _run_demo(out: Path, scale: float, seed: int, quiet: bool, report: bool) -> dict[str, Any]:
    from rich.console import Console

    from reelrec.eval import EvalProtocol
    from reelrec.synth import write_kuairec

    console = Console(stderr=True, quiet=quiet)
    data_dir = out / "data"
    console.print(f"[1/4] synthesising KuaiRec-shaped data (scale {scale}) into {data_dir}")
    write_kuairec(data_dir, scale=scale, seed=seed)
    protocol = EvalProtocol(data_dir, "kuairec", load_options={"cache": False})
    dataset = protocol.dataset
    split = protocol.split()
    console.print(
        f"      {dataset.n_users} users, {dataset.n_items} videos, {len(dataset.interactions):,} training views, "
        f"{len(split.test):,} fully observed test cells"
    )

    comparison: dict[str, dict[str, Any]] = {}
    models: dict[str, Any] = {}
    console.print(f"[2/4] training the default model ({DEFAULT_MODEL}) and the notebook preset")
    for name in (DEFAULT_MODEL, "notebook"):
        model = create_model(name, seed=seed, **_run_options(name, progress=not quiet))
        comparison[name] = fit_and_evaluate(model, split, ks=(5, 10, 20))
        models[name] = model
    console.print("[3/4] training baselines on the same split")
    for name in _DEMO_BASELINES:
        comparison[name] = fit_and_evaluate(create_model(name), split, ks=(5, 10, 20))

    console.print("[4/4] saving the default model's artifact")
    default = models[DEFAULT_MODEL]
    artifact = out / "artifact"
    default.save(
        artifact,
        dataset=split.train,
        metrics={"metrics": comparison[DEFAULT_MODEL], "comparison": comparison, "protocol": "kuairec"},
        config={"model": DEFAULT_MODEL, "params": default.get_params(), "seed": seed},
    )
    top10 = _user_top10(default, dataset, split)
    result = {"model": DEFAULT_MODEL, "comparison": comparison, "top10": top10, "artifact": str(artifact)}
    if report:
        from reelrec.report import render_report

        render_report(artifact, out / "report.html", data=data_dir)
        result["report"] = str(out / "report.html")
    return result


def _run_options(name: str, **options: Any) -> dict[str, Any]:
    """The run options ``name``'s constructor takes (a progress bar, for the models that draw one)."""
    accepted = inspect.signature(model_class(name).__init__).parameters
    return {key: value for key, value in options.items() if key in accepted}


def _user_top10(model: Any, dataset: Any, split: Any) -> dict[str, Any]:
    """Top-10 over the whole catalogue for the most active fully-observed user, seen videos excluded."""
    users = np.unique(split.test.user)
    activity = np.bincount(split.train.interactions.user, minlength=dataset.n_users)[users]
    user = int(users[np.argmax(activity)])
    items, scores = model.recommend_indices([user], k=10)
    items, scores = items[0], scores[0]
    keep = items >= 0
    items, scores = items[keep], scores[keep]
    preds = model.predict_indices(np.full(len(items), user), items) if model.regresses else None
    tags = None
    if dataset.item_features is not None and "tags" in dataset.item_features.frame.columns:
        tags = dataset.item_features.frame["tags"].to_list()
    rows = []
    for rank, (item, score) in enumerate(zip(items.tolist(), scores.tolist(), strict=True), start=1):
        rows.append(
            {
                "rank": rank,
                "item_id": dataset.items.raw_ids[item].item(),
                "score": float(score),
                "tags": tags[item] if tags is not None else "",
                "predicted_watch_ratio": None if preds is None else float(preds[rank - 1]),
            }
        )
    return {"user_id": dataset.users.raw_ids[user].item(), "rows": rows}
