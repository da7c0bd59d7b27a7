"""CLI command ``reelrec tune``: search one model's hyperparameters on validation data, optionally save it."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from reelrec.cli._common import console, err_console, param_value, print_json


def register(app: typer.Typer) -> None:
    """Add ``tune`` to ``app``."""
    app.command("tune")(tune_command)


def _parse_params(items: list[str] | None) -> dict[str, Any]:
    """``NAME=VALUE`` pairs; VALUE is read as JSON when it parses (numbers, lists), else text."""
    out: dict[str, Any] = {}
    for item in items or []:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"--param {item!r}: expected NAME=VALUE, e.g. reg=500")
        out[name.strip()] = param_value(raw)
    return out


def tune_command(
    data: Annotated[Path, typer.Argument(help="KuaiRec folder/zip, MovieLens-100K folder, or generic folder.")],
    model: Annotated[str, typer.Option("--model", help="Model to tune (see `reelrec models list`).")],
    trials: Annotated[int, typer.Option("--trials", min=1, help="Configurations to try, the defaults first.")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the split, the draws and the models.")] = 0,
    protocol: Annotated[
        str, typer.Option("--protocol", help="auto (kuairec when the data has a fully observed block, else "
                          "holdout), kuairec, holdout or temporal.")
    ] = "auto",
    metric: Annotated[str, typer.Option("--metric", help="Validation objective, e.g. ndcg@10 or recall@20.")] = (
        "ndcg@10"
    ),
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="Relevance threshold (default: 2.0 watch ratio, 4 rating).")
    ] = None,
    test_fraction: Annotated[
        float, typer.Option("--test-fraction", min=0.01, max=0.99, help="Holdout share per user.")
    ] = 0.2,
    params: Annotated[
        list[str] | None, typer.Option("--param", help="Fixed hyperparameter NAME=VALUE, e.g. max_memory_gb=8.")
    ] = None,
    trial_budget: Annotated[
        float | None, typer.Option("--trial-budget", min=1.0, help="Seconds per trial for the neural models.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Fit the chosen configuration and write this artifact.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress lines or tables.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Random-search a model's hyperparameters on a validation split carved from the training part.

    The split is the one `reelrec bench` uses for --seed; its test part is not read while tuning. With
    --out, the chosen configuration is fitted on the split's training part, evaluated once on its test
    part, and saved with the trials, the chosen values and the tuning time (metrics.json "tuning").

    Example: reelrec tune data/ml-100k --model ease --trials 20 --out art/ease
    """
    from reelrec.eval import EvalProtocol
    from reelrec.models import model_class
    from reelrec.tune import build_model, tune

    cls = model_class(model)
    fixed = _parse_params(params)
    evaluation = EvalProtocol(data, protocol, test_fraction=test_fraction, seed=seed)
    proto = evaluation.name
    split = evaluation.split()
    validation = evaluation.validation_split(split)
    show = not (quiet or as_json)

    def on_trial(trial: Any) -> None:
        if show:
            score = "failed" if trial.error else f"{trial.score:.4f}"
            err_console.print(f"trial {trial.index + 1}/{trials}: {metric} {score} ({trial.seconds:.1f} s)",
                              highlight=False)

    result = tune(cls, validation, trials, params=fixed, seed=seed, metric=metric, threshold=threshold,
                  trial_budget_s=trial_budget, on_trial=on_trial)
    record: dict[str, Any] = {"protocol": proto, "validation": validation.summary(), **result.to_dict()}
    if out is not None:
        from reelrec.eval import evaluate

        fitted = build_model(cls, {**fixed, **result.chosen}, seed, trial_budget)
        started = time.perf_counter()
        fitted.fit(split.train)
        fit_seconds = time.perf_counter() - started
        test = evaluate(fitted, split, threshold=threshold)
        fitted.save(out, dataset=split.train, metrics={
            "metrics": test.metrics, "fit_seconds": fit_seconds, "protocol": proto, "tuning": record,
        })
        record.update(artifact=str(out), test=test.metrics)
    if as_json:
        print_json(record)
    elif not quiet:
        _print_trials(result, record)


def _print_trials(result: Any, record: dict[str, Any]) -> None:
    """The trials as a Markdown table (every column kept in logs and pipes), then the choice."""
    from reelrec.bench._tuning import format_value

    names = sorted(record["space"])
    print(f"| trial | {' | '.join(names)} | validation {result.metric} | s |")
    print("|---:|" + "---:|" * len(names) + "---:|---:|")
    for t in result.trials:
        values = [format_value(t.params[n]) if n in t.params else "default" for n in names]
        score = "failed" if t.error else f"{t.score:.4f}"
        print(f"| {t.index + 1} | {' | '.join(values)} | {score} | {t.seconds:.1f} |")
    chosen = ", ".join(f"{k}={format_value(v)}" for k, v in sorted(result.chosen.items())) or "the defaults"
    if not result.trials:
        console.print(f"{result.model} has no hyperparameters to tune: nothing searched", highlight=False)
    else:
        console.print(f"chosen for {result.model}: {chosen} (validation {result.metric} "
                      f"{result.best_score:.4f}; {len(result.trials)} trials in {result.seconds:.1f} s)",
                      highlight=False, soft_wrap=True)
    if "artifact" in record:
        ndcg = record["test"].get(result.metric, math.nan)
        console.print(f"artifact written to [bold]{record['artifact']}[/]; test {result.metric} {ndcg:.4f} "
                      "(the test split's one use)", highlight=False, soft_wrap=True)
