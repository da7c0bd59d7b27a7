"""CLI commands around models: train, recommend, predict, evaluate, demo."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import polars as pl
import typer

from reelrec.cli._common import console, print_json
from reelrec.cli._io import read_id_column, read_pairs, write_table


def register(app: typer.Typer) -> None:
    """Add ``train``, ``recommend``, ``predict``, ``evaluate`` and ``demo`` to ``app``."""
    app.command("train")(train)
    app.command("recommend")(recommend)
    app.command("predict")(predict)
    app.command("evaluate")(evaluate)
    app.command("demo")(demo)


# ---------------------------------------------------------------------------------------------- train
def train(
    data: Annotated[Path, typer.Argument(help="KuaiRec folder/zip, MovieLens-100K folder, or generic folder.")],
    out: Annotated[Path, typer.Option("--out", help="Artifact directory to write (atomically).")],
    model: Annotated[str | None, typer.Option("--model", help="Model name; default: two-tower.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="TOML run configuration.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed.")] = None,
    device: Annotated[str | None, typer.Option("--device", help="cpu, cuda or auto.")] = None,
    protocol: Annotated[
        str | None, typer.Option("--protocol", help="auto, kuairec, holdout, or none (train on everything).")
    ] = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Config override, e.g. --set training.epochs=5.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars or tables.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    stream: Annotated[
        bool,
        typer.Option(
            "--stream", help="Out of core: convert the big matrix to a shard store once, stream it (two-tower)."
        ),
    ] = False,
) -> None:
    """Train a model and write an artifact; evaluates on the configured protocol when there is one.

    Under torchrun (torchrun --nproc_per_node N -m reelrec train ...) the ranks train together with
    DistributedDataParallel and rank 0 alone evaluates, prints and writes the artifact.

    Example: reelrec train data/kuairec --out art/tt --set training.epochs=5
    """
    from reelrec.pipeline import train_run

    cli_overrides = list(overrides or [])
    for key, value in (("model", model), ("seed", seed), ("device", device), ("data.protocol", protocol)):
        if value is not None:
            cli_overrides.append(f'{key}="{value}"' if isinstance(value, str) else f"{key}={value}")
    result = train_run(data, out, config_path=config, overrides=cli_overrides, quiet=quiet or as_json, stream=stream)
    if result.get("rank", 0) != 0:
        return  # one report per run: rank 0's
    if as_json:
        print_json(result)
        return
    if not quiet:
        _print_metrics(result.get("comparison") or {result["model"]: result.get("metrics", {})}, result["model"])
        console.print(f"artifact written to [bold]{result['artifact']}[/] ({result['fit_seconds']:.1f} s fit)")


# ------------------------------------------------------------------------------------------ recommend
def recommend(
    artifact: Annotated[Path, typer.Argument(help="Artifact directory written by `reelrec train`.")],
    user: Annotated[str | None, typer.Option("--user", help="One user id.")] = None,
    users_file: Annotated[
        Path | None, typer.Option("--users-file", help="CSV with a user_id column, or one id per line.")
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=10_000, help="Items per user.")] = 10,
    candidates: Annotated[
        Path | None, typer.Option("--candidates", help="Restrict ranking to these item ids (item_id column).")
    ] = None,
    include_seen: Annotated[bool, typer.Option("--include-seen", help="Keep items seen in training.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="CSV file (JSON when it ends in .json).")] = None,
) -> None:
    """Top-k videos per user as CSV ``user_id,item_id,rank,score`` in original ids.

    Example: reelrec recommend art/tt --user 42 --k 10
    """
    from reelrec.artifacts import load_artifact

    if (user is None) == (users_file is None):
        raise typer.BadParameter("give exactly one of --user or --users-file")
    users = np.asarray([user]) if user is not None else read_id_column(users_file, "user_id")  # type: ignore[arg-type]
    art = load_artifact(artifact)
    model = art.model
    user_idx = model.users_.index(users)
    cand = None
    if candidates is not None:
        cand = model.items_.index(read_id_column(candidates, "item_id"))
    items, scores = model.recommend_indices(user_idx, k=k, exclude_seen=not include_seen, candidates=cand)
    rows_user, rows_rank = np.nonzero(items >= 0)
    frame = pl.DataFrame(
        {
            "user_id": model.users_.raw(user_idx[rows_user]),
            "item_id": model.items_.raw(items[rows_user, rows_rank]),
            "rank": (rows_rank + 1).astype(np.int32),
            "score": scores[rows_user, rows_rank],
        }
    )
    write_table(frame, out)


# -------------------------------------------------------------------------------------------- predict
def predict(
    artifact: Annotated[Path, typer.Argument(help="Artifact directory written by `reelrec train`.")],
    pairs: Annotated[Path, typer.Option("--pairs", help="CSV with user_id,item_id columns.")],
    out: Annotated[Path | None, typer.Option("--out", help="CSV file (JSON when it ends in .json).")] = None,
) -> None:
    """Predicted label (watch ratio) for each ``user_id,item_id`` row; unknown ids give an empty value.

    Example: reelrec predict art/tt --pairs pairs.csv --out predictions.csv
    """
    from reelrec.artifacts import load_artifact

    art = load_artifact(artifact)
    model = art.model
    if not model.regresses:
        raise ValueError(f"model {model.name!r} ranks items but does not predict the label; use a regressing model")
    users, items = read_pairs(pairs)
    preds = model.predict(model.users_.coerce(users), model.items_.coerce(items))
    frame = pl.DataFrame({"user_id": users, "item_id": items, "prediction": preds}).with_columns(
        pl.col("prediction").fill_nan(None)
    )
    write_table(frame, out)


# ------------------------------------------------------------------------------------------- evaluate
def evaluate(
    artifact: Annotated[Path, typer.Argument(help="Artifact directory written by `reelrec train`.")],
    data: Annotated[Path, typer.Argument(help="The data set to evaluate on.")],
    protocol: Annotated[str, typer.Option("--protocol", help="auto, kuairec or holdout.")] = "auto",
    k: Annotated[list[int] | None, typer.Option("--k", help="Cut-offs (repeatable); default 5, 10, 20.")] = None,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="Relevance threshold; default by label.")
    ] = None,
    test_fraction: Annotated[float, typer.Option("--test-fraction", help="Holdout share per user.")] = 0.2,
    split: Annotated[str, typer.Option("--split", help="Holdout split: random or temporal.")] = "random",
    split_seed: Annotated[int, typer.Option("--split-seed", help="Holdout split seed.")] = 0,
    cold_users: Annotated[float, typer.Option("--cold-users", help="Share of users held out whole.")] = 0.0,
    baselines: Annotated[bool, typer.Option(help="Train and show the baselines on the same split.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress output.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """The metrics table of an artifact's model, baselines beside it, on one split.

    The artifact is evaluated as saved only when it was trained on exactly this split's training part;
    otherwise its model (same name and parameters) is re-fitted on the split's training part, so test
    data never leaks into training.

    Example: reelrec evaluate art/tt data/kuairec --k 10 --threshold 2
    """
    from reelrec.pipeline import evaluate_artifact

    result = evaluate_artifact(
        artifact,
        data,
        protocol=protocol,
        ks=tuple(k or (5, 10, 20)),
        threshold=threshold,
        test_fraction=test_fraction,
        split=split,
        split_seed=split_seed,
        cold_user_fraction=cold_users,
        baselines=baselines,
        quiet=quiet or as_json,
    )
    if as_json:
        print_json(result)
        return
    console.print(f"protocol: {result['protocol']}  ({result['note']})")
    _print_metrics(result["comparison"], result["model"])


# ----------------------------------------------------------------------------------------------- demo
def demo(
    out: Annotated[Path, typer.Option("--out", help="Working folder for data and artifacts.")] = Path("demo-run"),
    scale: Annotated[float, typer.Option("--scale", help="Synthetic data scale (1.0 = full KuaiRec).")] = 0.03,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    report: Annotated[bool, typer.Option("--report", help="Also render an HTML report.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="Only the final tables.")] = False,
    threads: Annotated[
        int, typer.Option("--threads", min=0, help="Torch threads (0: one per core; 1 is fastest on a busy machine).")
    ] = 1,
) -> None:
    """Synthesise small KuaiRec data, train the default and the seed preset, compare, show a top-10.

    Example: reelrec demo --scale 0.03
    """
    from reelrec.pipeline import run_demo

    started = time.perf_counter()
    result = run_demo(out, scale=scale, seed=seed, quiet=quiet, report=report, threads=threads or None)
    _print_metrics(result["comparison"], result["model"])
    _print_user_top10(result["top10"])
    console.print(f"demo finished in {time.perf_counter() - started:.0f} s; files under [bold]{out}[/]")


# -------------------------------------------------------------------------------------------- display
_SHOWN = ("ndcg@10", "graded_ndcg@10", "precision@10", "recall@10", "map@10", "hitrate@10", "coverage@10")


def _print_metrics(comparison: dict[str, dict[str, Any]], chosen: str) -> None:
    """One row per model, the chosen one marked, the best value per column in bold."""
    from rich.table import Table

    if not comparison:
        return
    names = list(comparison)
    metric_names = [m for m in _SHOWN if any(m in comparison[n] for n in names)]
    extra_names = ("truth_graded_ndcg@10", "mae", "rmse", "xauc", "xgauc", "fit_seconds")
    extra = [m for m in extra_names if any(m in comparison[n] for n in names)]
    table = Table(title="metrics (mean over scored users)")
    table.add_column("model")
    for m in metric_names + extra:
        table.add_column(m, justify="right")
    best: dict[str, float] = {}
    for m in metric_names + extra:
        values = [comparison[n][m] for n in names if comparison[n].get(m) is not None]
        if values:
            lower_better = m in ("mae", "rmse", "fit_seconds")
            best[m] = min(values) if lower_better else max(values)
    for n in names:
        cells = []
        for m in metric_names + extra:
            v = comparison[n].get(m)
            text = "–" if v is None else (f"{v:.1f}" if m == "fit_seconds" else f"{v:.4f}")
            if v is not None and v == best.get(m) and len(names) > 1:
                text = f"[bold green]{text}[/]"
            cells.append(text)
        table.add_row(f"[bold]{n}[/] *" if n == chosen else n, *cells)
    console.print(table)


def _print_user_top10(top: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"top-10 for user {top['user_id']} (seen videos excluded)")
    for col in ("rank", "video_id", "tags", "predicted watch ratio", "score"):
        table.add_column(col, justify="right" if col != "tags" else "left")
    for row in top["rows"]:
        pred = row.get("predicted_watch_ratio")
        table.add_row(
            str(row["rank"]),
            str(row["item_id"]),
            str(row.get("tags", "")),
            "" if pred is None else f"{pred:.2f}",
            f"{row['score']:.3f}",
        )
    console.print(table)
