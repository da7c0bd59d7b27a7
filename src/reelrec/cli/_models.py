"""CLI commands around models: train, recommend, predict, evaluate, demo."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import polars as pl
import typer

from reelrec.cli._common import console, err_console, print_json
from reelrec.cli._io import is_int, read_id_column, read_pairs, write_table
from reelrec.data._vocab import IdMap


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
    model: Annotated[
        str | None, typer.Option("--model", help="Model name; default: hybrid (two-tower for --stream, torchrun).")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="TOML run configuration.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed.")] = None,
    device: Annotated[str | None, typer.Option("--device", help="cpu, cuda or auto.")] = None,
    protocol: Annotated[
        str | None,
        typer.Option("--protocol", help="auto, kuairec, holdout, temporal, or none (train on everything)."),
    ] = None,
    refit: Annotated[
        bool,
        typer.Option(
            "--refit/--no-refit",
            help="After evaluating on the split, refit on all the data (the big matrix only under kuairec) and "
            "save that model; --no-refit saves the model the printed metrics belong to.",
        ),
    ] = True,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Config override, e.g. --set training.epochs=5.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars or tables.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    events: Annotated[
        Path | None,
        typer.Option(
            "--events",
            help="A service event store (reelrec serve --events): its events are appended to the data as "
            "interactions; the artifact records the last event id, so a server never applies them twice.",
        ),
    ] = None,
    stream: Annotated[
        bool,
        typer.Option(
            "--stream", help="Out of core: convert the big matrix to a shard store once, stream it (two-tower)."
        ),
    ] = False,
) -> None:
    """Train a model and write an artifact; evaluates on the configured protocol when there is one.

    The printed metrics are the split's (the model fitted on its training part). Then, by default, the
    model is refitted on all the data and that model is saved; under kuairec the refit uses the big
    matrix only (the fully observed block is for evaluation). --no-refit saves the split's model.

    Under torchrun (torchrun --nproc_per_node N -m reelrec train ...) the ranks train together with
    DistributedDataParallel and rank 0 alone evaluates, prints and writes the artifact.

    Example: reelrec train data/kuairec --out art/tt --set training.epochs=5
    """
    from reelrec.pipeline import train_run

    cli_overrides = list(overrides or [])
    if protocol == "temporal":  # the config's spelling of the temporal protocol
        _refuse_shadowed(cli_overrides, "data.split", "--protocol temporal")
        cli_overrides.append('data.split="temporal"')
        protocol = "holdout"
    flags = (("model", model, "--model"), ("seed", seed, "--seed"), ("device", device, "--device"))
    for key, value, flag in (*flags, ("data.protocol", protocol, "--protocol")):
        if value is None:
            continue
        _refuse_shadowed(cli_overrides, key, flag)
        cli_overrides.append(f'{key}="{value}"' if isinstance(value, str) else f"{key}={value}")
    result = train_run(
        data,
        out,
        config_path=config,
        overrides=cli_overrides,
        quiet=quiet or as_json,
        stream=stream,
        refit=refit,
        events=events,
    )
    if result.get("rank", 0) != 0:
        return  # one report per run: rank 0's
    if as_json:
        print_json(result)
        return
    if not quiet:
        _print_metrics(result.get("comparison") or {result["model"]: result.get("metrics", {})}, result["model"])
        console.print(f"artifact written to [bold]{result['artifact']}[/] ({result['fit_seconds']:.1f} s fit)")
        line = _refit_line(result)
        if line:
            console.print(line)


def _refit_line(result: dict[str, Any]) -> str | None:
    """What the saved model was trained on, next to whose metrics were printed (None: not recorded)."""
    if "refit" not in result:
        return None  # out-of-core runs train once, on the big matrix
    info = result["refit"]
    if result.get("protocol") == "none":
        return "no test split (protocol none): the saved model was trained on all the data"
    if info is None:
        return "metrics above are the split's; the saved model is that model (--no-refit)"
    if not info["fitted"]:
        return (
            f"metrics above are the split's; its training part already is the whole {info['data']} "
            f"({info['rows']:,} rows), so the saved model is that model"
        )
    on = "the big matrix only" if info["data"] == "big matrix" else "all interactions"
    return (
        f"metrics above are the split's; the saved model was then refitted on {on} "
        f"({info['rows']:,} rows, {info['seconds']:.1f} s); --no-refit keeps the split's model"
    )


def _refuse_shadowed(overrides: list[str], key: str, flag: str) -> None:
    """A ``--set`` under a key that a flag also sets would be replaced by the flag's value: refuse it."""
    for text in overrides:
        name = text.partition("=")[0].strip()
        if name == key or name.startswith(key + "."):
            hint = "; model parameters are set with --set params.<name>=value" if key == "model" else ""
            raise ValueError(f"--set {text}: {flag} also sets {key!r}, and would silently replace it{hint}")


# ------------------------------------------------------------------------------------------ recommend
def recommend(
    artifact: Annotated[Path, typer.Argument(help="Artifact directory written by `reelrec train`.")],
    user: Annotated[str | None, typer.Option("--user", help="One user id.")] = None,
    users_file: Annotated[
        Path | None,
        typer.Option("--users-file", help="CSV with a user_id column, or one id per line; - reads standard input."),
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=10_000, help="Items per user.")] = 10,
    candidates: Annotated[
        Path | None,
        typer.Option(
            "--candidates",
            help="Rank only these item ids: a CSV with an item_id column, or one id per line (- for standard "
            "input). An empty list gives no rows.",
        ),
    ] = None,
    include_seen: Annotated[bool, typer.Option("--include-seen", help="Keep items seen in training.")] = False,
    skip_unknown: Annotated[
        bool, typer.Option("--skip-unknown", help="Skip user ids the model does not know (counted on stderr).")
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", help="CSV file (JSON when it ends in .json).")] = None,
    history: Annotated[
        Path | None,
        typer.Option(
            "--history",
            help="One user's most recent views, newest last: CSV item_id,watch_ratio[,timestamp,skipped] "
            "(- reads standard input). Folded into --user's state, or alone for a new user (no --user).",
        ),
    ] = None,
    scoring: Annotated[
        str | None, typer.Option("--scoring", help="Ranking rule of the model (its first rule by default).")
    ] = None,
) -> None:
    """Top-k videos per user as CSV ``user_id,item_id,rank,score`` in original ids.

    score is the model's ranking value, comparable within one list only; its unit depends on the
    model and --scoring: a predicted label (watch ratio or rating) for mf and item-mean, distinct
    training viewers for popularity, a unitless score for ease, itemknn, ials and bpr (docs/models.md
    for the neural models' rules). Regressing models add predicted_watch_ratio: the label predicted
    for a known user, as `reelrec predict` gives it (empty for a new user).

    With --history the user's recent views (newest counting most) move the ranking; those videos
    are never recommended. An empty candidate list is not an error: the output is the header alone
    (an empty list in JSON).

    Example: reelrec recommend art/tt --user 42 --k 10 --history recent.csv
    """
    from reelrec.artifacts import load_artifact
    from reelrec.models import model_class

    if history is not None and users_file is not None:
        raise typer.BadParameter("--history is for one user: give --user (or none for a new user), not --users-file")
    if history is None and (user is None) == (users_file is None):
        raise typer.BadParameter("give exactly one of --user or --users-file")
    art = load_artifact(artifact, model_class)
    model = art.model
    if history is not None:
        _recommend_session(
            model, history, user, k, cand_file=candidates, include_seen=include_seen, scoring=scoring, out=out
        )
        return
    users = np.asarray([user]) if user is not None else read_id_column(users_file, "user_id")  # type: ignore[arg-type]
    try:
        user_idx = _user_indices(model.users_, users, skip_unknown)
    except KeyError as exc:
        if users_file is None:
            raise
        raise KeyError(f"--users-file {users_file}: {exc.args[0]} (--skip-unknown skips them)") from None
    cand = _candidate_indices(model, candidates)
    items, scores = model.recommend_indices(
        user_idx, k=k, exclude_seen=not include_seen, candidates=cand, scoring=scoring
    )
    write_table(_recommendation_frame(model, user_idx, items, scores), out)


def _candidate_indices(model: Any, candidates: Path | None) -> np.ndarray | None:
    if candidates is None:
        return None
    try:
        return np.asarray(model.items_.index(read_id_column(candidates, "item_id")))
    except KeyError as exc:
        raise KeyError(f"--candidates {candidates}: {exc.args[0]}") from None


def _recommend_session(
    model: Any,
    history: Path,
    user: str | None,
    k: int,
    *,
    cand_file: Path | None,
    include_seen: bool,
    scoring: str | None,
    out: Path | None,
) -> None:
    """``recommend --history``: one known (``--user``) or new user, their recent views folded in."""
    from reelrec.cli._history_io import read_history

    hist = read_history(history, model.items_)
    u = -1 if user is None else int(model.users_.index(np.asarray([user]))[0])
    cand = _candidate_indices(model, cand_file)
    items, scores = model.recommend_session_indices(
        [hist], np.asarray([u], np.int32), k=k, exclude_seen=not include_seen, candidates=cand, scoring=scoring
    )
    write_table(_recommendation_frame(model, np.asarray([u], np.int32), items, scores), out)


def _recommendation_frame(model: Any, user_idx: np.ndarray, items: np.ndarray, scores: np.ndarray) -> pl.DataFrame:
    """``user_id,item_id,rank,score`` rows (padding dropped), plus ``predicted_watch_ratio`` for
    regressing models: the label predicted for known users, empty for new ones (index ``-1``)."""
    rows_user, rows_rank = np.nonzero(items >= 0)
    row_users = user_idx[rows_user]
    known = row_users >= 0
    raw_users = model.users_.raw(np.maximum(row_users, 0))
    if not known.all():  # a new user (history only) has no id
        raw_users = pl.Series([r if ok else None for r, ok in zip(raw_users.tolist(), known.tolist(), strict=True)])
    columns: dict[str, Any] = {
        "user_id": raw_users,
        "item_id": model.items_.raw(items[rows_user, rows_rank]),
        "rank": (rows_rank + 1).astype(np.int32),
        "score": scores[rows_user, rows_rank],
    }
    if model.regresses:
        pred = np.full(len(row_users), np.nan, np.float32)
        if known.any():
            pred[known] = model.predict_indices(row_users[known], items[rows_user, rows_rank][known])
        columns["predicted_watch_ratio"] = pl.Series(pred).fill_nan(None)
    return pl.DataFrame(columns)


def _user_indices(users: IdMap, raw: np.ndarray, skip_unknown: bool) -> np.ndarray:
    """Indices of the requested users; unknown ids fail the run unless skipped (then counted on stderr)."""
    if not skip_unknown:
        return users.index(raw)
    valid = np.asarray([is_int(v) for v in raw.tolist()], bool) if users.is_integer else np.ones(len(raw), bool)
    idx = np.full(len(raw), -1, np.int32)
    if valid.any():
        idx[valid] = users.index(raw[valid], missing="negative")
    unknown = raw[idx < 0]
    if len(unknown):
        shown = ", ".join(str(u) for u in unknown[:5].tolist())
        err_console.print(
            f"skipped {len(unknown)} of {len(raw)} user ids not in the model (e.g. {shown})",
            highlight=False,
            soft_wrap=True,
        )
    return idx[idx >= 0]


# -------------------------------------------------------------------------------------------- predict
def predict(
    artifact: Annotated[Path, typer.Argument(help="Artifact directory written by `reelrec train`.")],
    pairs: Annotated[Path, typer.Option("--pairs", help="CSV with user_id,item_id columns; - reads standard input.")],
    out: Annotated[Path | None, typer.Option("--out", help="CSV file (JSON when it ends in .json).")] = None,
) -> None:
    """Predicted label (watch ratio) for each ``user_id,item_id`` row; unknown ids give an empty value.

    Example: reelrec predict art/tt --pairs pairs.csv --out predictions.csv
    """
    from reelrec.artifacts import load_artifact
    from reelrec.models import model_class

    art = load_artifact(artifact, model_class)
    model = art.model
    if not model.regresses:
        raise ValueError(f"model {model.name!r} ranks items but does not predict the label; use a regressing model")
    users, items = read_pairs(pairs)
    # Ids are written in the model's id type (integers for KuaiRec), as `recommend` writes them.
    users, items = model.users_.coerce(users), model.items_.coerce(items)
    preds = model.predict(users, items)
    frame = pl.DataFrame({"user_id": users, "item_id": items, "prediction": preds}).with_columns(
        pl.col("prediction").fill_nan(None)
    )
    write_table(frame, out)


# ------------------------------------------------------------------------------------------- evaluate
def evaluate(
    artifact: Annotated[Path, typer.Argument(help="Artifact directory written by `reelrec train`.")],
    data: Annotated[Path, typer.Argument(help="The data set to evaluate on.")],
    protocol: Annotated[str, typer.Option("--protocol", help="auto, kuairec, holdout or temporal.")] = "auto",
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
    """Synthesise small KuaiRec data, train the default and the notebook preset, compare, show a top-10.

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
    """One row per model, the chosen one marked, the best value per column in bold.

    Columns that do not fit the terminal go to a second table (the model column repeated) rather
    than being cut to ``0.1…`` in a narrow terminal.
    """
    from rich.table import Table

    if not comparison:
        return
    names = list(comparison)
    metric_names = [m for m in _SHOWN if any(m in comparison[n] for n in names)]
    extra_names = ("truth_graded_ndcg@10", "mae", "rmse", "xauc", "xgauc", "fit_seconds")
    columns = metric_names + [m for m in extra_names if any(m in comparison[n] for n in names)]
    cells: dict[str, list[str]] = {}
    for m in columns:
        values = [comparison[n].get(m) for n in names]
        present = [v for v in values if v is not None]
        best = (min(present) if m in ("mae", "rmse", "fit_seconds") else max(present)) if present else None
        texts = ["–" if v is None else (f"{v:.1f}" if m == "fit_seconds" else f"{v:.4f}") for v in values]
        cells[m] = [
            f"[bold green]{t}[/]" if v is not None and v == best and len(names) > 1 else t
            for t, v in zip(texts, values, strict=True)
        ]
    labels = [f"[bold]{n}[/] *" if n == chosen else n for n in names]
    # Rich draws each column as its text, one space either side and one border: width + 3.
    label_width = max(len(n) for n in [*names, "model"]) + 2 + 3 + 1
    for part, group in enumerate(_fit_columns(columns, console.width - label_width, lambda m: max(len(m), 7) + 3)):
        title = "metrics (mean over scored users)" + (" (continued)" if part else "")
        table = Table(title=title)
        table.add_column("model", no_wrap=True)
        for m in group:
            table.add_column(m, justify="right", no_wrap=True)
        for row, label in enumerate(labels):
            table.add_row(label, *(cells[m][row] for m in group))
        console.print(table)


def _fit_columns(columns: list[str], width: int, cost: Callable[[str], int]) -> list[list[str]]:
    """Split ``columns`` into consecutive groups whose summed ``cost`` fits ``width`` (at least one each)."""
    groups: list[list[str]] = [[]]
    used = 0
    for col in columns:
        if groups[-1] and used + cost(col) > width:
            groups.append([])
            used = 0
        groups[-1].append(col)
        used += cost(col)
    return groups


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
