"""``run_bench``: train every chosen model on the same splits, evaluate alike, repeat over seeds."""

from __future__ import annotations

import gc
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl
import torch
from numpy.typing import NDArray

from reelrec._progress import StepProgress, progress_mode
from reelrec.bench._collect import TOP_FRACTION, collect_run, history_of, top_items
from reelrec.bench._memory import PeakRSS
from reelrec.bench._plan import PROTOCOLS, ModelEntry, Protocol, check_ks, check_seeds, entries_for
from reelrec.bench._result import BenchResult, check_out_dir
from reelrec.bench._tuning import tune_entry, tuning_info, tuning_record
from reelrec.data import Dataset
from reelrec.errors import ReelrecError
from reelrec.eval._significance import paired_test_scores
from reelrec.models import Recommender

if TYPE_CHECKING:
    from reelrec.eval import EvalResult, Split


def _significance(per_user: pl.DataFrame, summary: pl.DataFrame, metric: str, n_boot: int) -> dict[str, Any]:
    """Paired test of the best model against the runner-up on ``metric``, pairing on users."""
    col = f"{metric}_mean"
    if col not in summary.columns or metric not in per_user.columns:
        return {"metric": metric, "note": f"no model reports {metric}; significance not computed"}
    ranked = summary.filter(pl.col(col).is_not_nan()).sort(col, descending=True)["model"].to_list()
    if len(ranked) < 2:
        return {"metric": metric, "note": "fewer than two models have results; nothing to compare"}
    best, second = ranked[0], ranked[1]
    warm = per_user.filter(~pl.col("cold") & pl.col(metric).is_not_nan())
    a = warm.filter(pl.col("model") == best).select("seed", "user", pl.col(metric).alias("a"))
    b = warm.filter(pl.col("model") == second).select("seed", "user", pl.col(metric).alias("b"))
    # Users are the unit: a user scored under several seeds contributes the mean of their seeds,
    # so repeated splits do not pass for extra independent observations.
    paired = a.join(b, on=["seed", "user"]).group_by("user").agg(pl.col("a").mean(), pl.col("b").mean())
    if paired.height < 2:
        return {"metric": metric, "a": best, "b": second, "note": f"only {paired.height} paired users"}
    test = paired_test_scores(paired["a"].to_numpy(), paired["b"].to_numpy(), metric=metric, names=(best, second),
                       n_boot=n_boot)
    return test.to_dict()


def _environment() -> dict[str, Any]:
    from reelrec import __version__

    return {
        "reelrec": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpu_count": _cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }


def _cpu_count() -> int | None:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count()


def run_bench(
    data: str | Path | Dataset,
    models: Sequence[str | Recommender] | None = None,
    *,
    protocol: Protocol = "auto",
    seeds: int | Sequence[int] = 3,
    ks: Sequence[int] = (5, 10, 20),
    k: int | None = None,
    threshold: float | None = None,
    fast: bool = False,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    test_fraction: float = 0.2,
    min_interactions: int = 5,
    cold_user_fraction: float = 0.0,
    out: str | Path | None = None,
    progress: bool | Literal["auto"] = "auto",
    max_prediction_rows: int = 20_000,
    n_boot: int = 10_000,
    tune_trials: int = 0,
    trial_budget_s: float | None = None,
) -> BenchResult:
    """Benchmark models on one data set: same split per seed, same metrics, mean ± std over seeds.

    Parameters
    ----------
    data : path or Dataset
        A KuaiRec / MovieLens-100K / generic data folder (see ``reelrec.data.load_dataset``) or a
        loaded :class:`~reelrec.data.Dataset`.
    models : sequence of str or Recommender, optional
        Registry names or configured instances (refitted per seed). Default: every baseline, the
        ``seed`` preset and the default model.
    protocol : {"auto", "kuairec", "holdout", "temporal"}
        ``auto``: ``kuairec`` when the data has a fully observed block, else ``holdout`` (random
        per-user holdout); ``temporal`` holds out the interactions after a time cutoff, with KuaiRec's
        daily statistics rebuilt from the days before it (see :class:`reelrec.eval.EvalProtocol`).
    seeds : int or sequence of int
        ``3`` means seeds 0, 1, 2. A seed sets the holdout split (and the cold-user draw) and the
        initialisation of every model that takes a ``seed`` (torch's global seed too).
    ks : sequence of int
        Cut-offs for every top-K metric.
    k : int, optional
        The cut-off shown in the table (default 10 if in ``ks``, else the largest).
    threshold : float, optional
        Relevance threshold (default by label: watch ratio 2.0, rating 4.0, else any positive).
    fast : bool
        Use each model's ``fast_params()`` (smoke tests, CI); the numbers are then not tuned.
    params : mapping, optional
        Extra hyperparameters per model label or registry name, e.g. ``{"ease": {"reg": 500.0}}``.
    test_fraction, min_interactions, cold_user_fraction : float, int, float
        Split settings (see :func:`reelrec.eval.holdout_split` and :func:`reelrec.eval.kuairec_split`).
    out : path, optional
        Write the bench directory there (see :mod:`reelrec.bench._result` for its files).
    progress : bool or "auto"
        A progress bar on stderr; ``auto``: a bar on a terminal, one line per step otherwise.
    max_prediction_rows : int
        Test pairs per regressing model and seed kept for the predicted-vs-true plot.
    n_boot : int
        Bootstrap resamples of the significance test.
    tune_trials : int
        With ``> 0``, every model is first tuned per seed by :func:`reelrec.tune.tune` (the same
        number of trials for each) on the protocol's validation split of that seed's split
        (:meth:`reelrec.eval.EvalProtocol.validation_split`), maximising the table's NDCG@K; the chosen
        values and the tuning time are recorded
        (``info["tuning"]``, the ``tune_seconds`` column). The test split is not read while tuning.
    trial_budget_s : float, optional
        Wall-clock budget of one tuning trial for models that take ``time_budget_s``.

    Returns
    -------
    BenchResult
        Runs, per-user metrics, predictions, histories and the summary (``.summary()``,
        ``.best()``, ``.significance``); a model that fails is recorded in ``info["failures"]``
        and the others go on.

    Stability: provisional.
    """
    ks_t, table_k = check_ks(ks, k)
    seed_list = check_seeds(seeds)
    if int(tune_trials) != tune_trials or tune_trials < 0:
        raise ValueError(f"tune_trials={tune_trials}, must be an integer >= 0")
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol={protocol!r}, must be one of {', '.join(PROTOCOLS)}")
    entries = entries_for(models, fast, params)
    if max_prediction_rows < 0:
        raise ValueError(f"max_prediction_rows={max_prediction_rows}, must be >= 0")
    if out is not None:
        check_out_dir(out)  # before hours of training, not after
    started = time.perf_counter()
    with StepProgress(progress_mode(progress), total=len(seed_list) * len(entries)) as bar:
        bar.describe("loading data")
        from reelrec.eval import EvalProtocol

        evaluation = EvalProtocol(
            data,
            protocol,
            test_fraction=test_fraction,
            min_interactions=min_interactions,
            cold_user_fraction=cold_user_fraction,
        )
        dataset = evaluation.dataset
        data_path = None if isinstance(data, Dataset) else str(data)
        proto = evaluation.name
        runs: list[dict[str, Any]] = []
        per_user: list[pl.DataFrame] = []
        predictions: list[pl.DataFrame] = []
        history: dict[str, dict[str, list[dict[str, Any]]]] = {}
        failures: list[dict[str, Any]] = []
        split_summary: dict[str, Any] = {}
        train_shares: list[float] = []
        n_top = 0
        memory_method = ""
        threshold_used: float | None = threshold
        tuning: dict[str, dict[str, Any]] = {}
        for si, seed in enumerate(seed_list):
            bar.describe(f"seed {seed} ({si + 1}/{len(seed_list)}) · splitting")
            split = evaluation.split(seed)
            if not split_summary:
                split_summary = split.summary()
            top, share, n_top = top_items(split)
            train_shares.append(share)
            validation = evaluation.validation_split(split, seed) if tune_trials else None
            for entry in entries:
                step = f"seed {seed} ({si + 1}/{len(seed_list)}) · {entry.label}"

                def describe(text: str, step: str = step) -> None:
                    bar.describe(f"{step} · {text}")

                try:
                    tuned = None
                    if validation is not None:
                        bar.describe(f"{step} · tuning ({tune_trials} trials)")
                        tuned = tune_entry(entry, validation, seed, tune_trials, f"ndcg@{table_k}", threshold,
                                           trial_budget_s)
                        tuning.setdefault(entry.label, {})[str(seed)] = tuning_record(tuned)
                    run, users, preds, hist, method = _run_one(
                        entry, split, seed, ks_t, threshold, max_prediction_rows, top, describe=describe,
                        overrides=tuned.chosen if tuned else None,
                    )
                    if tuned is not None:
                        run["tune_seconds"] = tuned.seconds
                except Exception as exc:  # one broken model must not sink the whole benchmark
                    message = f"{type(exc).__name__}: {exc}"
                    failures.append({"model": entry.label, "seed": seed, "error": message})
                    bar.log(f"[yellow]warning:[/] {entry.label} failed on seed {seed}: {message}")
                else:
                    memory_method = method
                    threshold_used = run.pop("threshold")
                    runs.append(run)
                    per_user.append(users)
                    if not preds.is_empty():
                        predictions.append(preds)
                    if hist:
                        history.setdefault(entry.label, {})[str(seed)] = hist
                gc.collect()
                bar.advance()
        if not runs:
            first = failures[0]
            raise ReelrecError(f"every model failed; first: {first['model']} (seed {first['seed']}): {first['error']}")
        bar.describe("significance test")
        runs_frame = pl.DataFrame(runs, infer_schema_length=None)
        per_user_frame = pl.concat(per_user, how="diagonal_relaxed")
        preds_frame = pl.concat(predictions, how="diagonal_relaxed") if predictions else pl.DataFrame()
        info: dict[str, Any] = {
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "data": {
                "name": Path(data_path).name if data_path else dataset.source,
                "path": data_path,
                "source": dataset.source,
                "label": dataset.label_name,
                "summary": _safe_summary(dataset),
            },
            "protocol": proto,
            "protocol_requested": protocol,
            "split": split_summary,
            "ks": list(ks_t),
            "k": table_k,
            "primary_metric": f"ndcg@{table_k}",
            "threshold": threshold_used,
            "seeds": seed_list,
            "models": [e.label for e in entries],
            "params": {e.label: {**e.params} for e in entries},
            "fast": fast,
            "test_fraction": test_fraction,
            "min_interactions": min_interactions,
            "cold_user_fraction": cold_user_fraction,
            "memory_method": memory_method,
            "popularity": {
                "top_fraction": TOP_FRACTION,
                "n_top": n_top,
                "train_share": float(np.nanmean(train_shares)) if train_shares else None,
            },
            "failures": failures,
            "environment": _environment(),
        }
        if tune_trials:
            info["tuning"] = tuning_info(int(tune_trials), f"ndcg@{table_k}", trial_budget_s, tuning)
        result = BenchResult(info=info, runs=runs_frame, per_user=per_user_frame, predictions=preds_frame,
                             history=history)
        info["significance"] = _significance(per_user_frame, result.summary(), result.primary_metric, n_boot)
        info["wall_seconds"] = time.perf_counter() - started
        if out is not None:
            bar.describe("writing")
            result.write(out)
    return result


def _run_one(
    entry: ModelEntry,
    split: Split,
    seed: int,
    ks: tuple[int, ...],
    threshold: float | None,
    max_prediction_rows: int,
    top: NDArray[np.bool_],
    describe: Callable[[str], None],
    overrides: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], pl.DataFrame, pl.DataFrame, list[dict[str, Any]], str]:
    """Fit one model on one split under memory watch, evaluate it, and collect its rows."""
    model = entry.build(seed, overrides)
    torch.manual_seed(seed)  # for models that draw from torch's global generator
    describe("fit")
    with PeakRSS() as mem:
        start = time.perf_counter()
        model.fit(split.train)
        fit_seconds = time.perf_counter() - start
    describe("evaluate")
    result = _evaluate(model, split, ks, threshold)
    run, users, preds = collect_run(
        model, split, result, label=entry.label, seed=seed, ks=ks, max_prediction_rows=max_prediction_rows, top=top
    )
    run["fit_seconds"] = fit_seconds
    run["peak_rss_mib"] = mem.peak_mib
    run["threshold"] = result.threshold
    return run, users, preds, history_of(model), mem.method


def _evaluate(model: Recommender, split: Split, ks: Sequence[int], threshold: float | None) -> EvalResult:
    from reelrec.eval import evaluate

    return evaluate(model, split, ks=ks, threshold=threshold)


def _safe_summary(dataset: Dataset) -> dict[str, Any]:
    try:
        return dataset.summary()
    except Exception as exc:  # a summary is a nicety; never lose a benchmark over it
        return {"error": f"{type(exc).__name__}: {exc}"}
