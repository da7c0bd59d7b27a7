"""CLI commands ``reelrec bench`` (compare models over seeds) and ``reelrec report`` (HTML report)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from reelrec.cli._common import console, err_console, param_value, print_json


def register(app: typer.Typer) -> None:
    """Add ``bench`` and ``report`` to ``app``."""
    app.command("bench")(bench)
    app.command("report")(report)


def _split_list(text: str | None, what: str) -> list[str] | None:
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise typer.BadParameter(f"{what} is empty; give a comma-separated list")
    return items


def _parse_ks(text: str) -> tuple[int, ...]:
    try:
        ks = tuple(int(t) for t in _split_list(text, "--k") or [])
    except ValueError:
        raise typer.BadParameter(f"--k {text!r}: expected integers such as 5,10,20") from None
    if any(k < 1 for k in ks):
        raise typer.BadParameter(f"--k {text!r}: every cut-off must be >= 1")
    return ks


def _parse_params(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``MODEL.NAME=VALUE`` pairs; VALUE is read as JSON when it parses (numbers, lists), else text."""
    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        model, dot, name = key.partition(".")
        if not sep or not dot or not model or not name:
            raise typer.BadParameter(f"--param {item!r}: expected MODEL.NAME=VALUE, e.g. ease.reg=500")
        out.setdefault(model.strip(), {})[name.strip()] = param_value(raw)
    return out


def bench(
    data: Annotated[Path, typer.Argument(help="KuaiRec folder/zip, MovieLens-100K folder, or generic folder.")],
    models: Annotated[
        str | None,
        typer.Option("--models", help="Comma-separated model names; default: every baseline, notebook, hybrid."),
    ] = None,
    protocol: Annotated[
        str, typer.Option("--protocol", help="auto (kuairec when the data has a fully observed block, else "
                          "holdout), kuairec, holdout or temporal.")
    ] = "auto",
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="Repetitions; each seed changes split and init.")] = 3,
    out: Annotated[
        Path | None, typer.Option("--out", help="Bench directory to write; default runs/bench-<UTC time>.")
    ] = None,
    k: Annotated[str, typer.Option("--k", help="Cut-offs, e.g. 5,10,20; the table shows K=10 (or the largest).")] = (
        "5,10,20"
    ),
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="Relevance threshold (default: 2.0 watch ratio, 4 rating).")
    ] = None,
    fast: Annotated[bool, typer.Option("--fast", help="Each model's fast_params (smoke tests, CI).")] = False,
    cold_users: Annotated[
        float, typer.Option("--cold-users", min=0.0, max=0.99, help="Share of test users held out as cold.")
    ] = 0.0,
    test_fraction: Annotated[
        float, typer.Option("--test-fraction", min=0.01, max=0.99, help="Holdout share per user.")
    ] = 0.2,
    params: Annotated[
        list[str] | None, typer.Option("--param", help="Hyperparameter MODEL.NAME=VALUE, e.g. ease.reg=500.")
    ] = None,
    tune: Annotated[
        bool, typer.Option("--tune", help="Tune every model first, alike, on validation data carved from training.")
    ] = False,
    trials: Annotated[int, typer.Option("--trials", min=1, help="Tuning trials per model and seed.")] = 20,
    trial_budget: Annotated[
        float | None, typer.Option("--trial-budget", min=1.0, help="Seconds per trial for the neural models.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars or table.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
) -> None:
    """Train every chosen model on the same split, evaluate alike, repeat over seeds, print one table.

    With --tune, each model's search space is random-searched (--trials per model and seed, the same
    for every model) on a validation split carved from that seed's training part; the chosen values
    and the tuning time are printed and stored in bench.json / bench.md.

    Writes bench.md, bench.csv, runs/per-user/prediction parquet files and bench.json to --out; the best
    value per column is marked, and the best model is tested against the runner-up (paired over users).

    Example: reelrec bench data/kuairec --models popularity,ease,two-tower --seeds 3 --out runs/b1
    """
    from reelrec.bench import run_bench

    model_list = _split_list(models, "--models")
    if out is None:
        out = Path("runs") / f"bench-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"
    result = run_bench(
        data,
        model_list,
        protocol=protocol,  # type: ignore[arg-type]
        seeds=seeds,
        ks=_parse_ks(k),
        threshold=threshold,
        fast=fast,
        params=_parse_params(params),
        test_fraction=test_fraction,
        cold_user_fraction=cold_users,
        out=out,
        progress=False if (quiet or as_json) else "auto",
        tune_trials=trials if tune else 0,
        trial_budget_s=trial_budget,
    )
    failures = result.info.get("failures") or []
    if as_json:
        print_json({**result.to_json(), "out": str(out)})
    elif not quiet:
        _print_table(result)
        console.print(f"wrote [bold]{out}[/] (bench.md, bench.csv, *.parquet); "
                      f"next: reelrec report {out} --out report.html", highlight=False, soft_wrap=True)
    if failures:
        err_console.print(f"[yellow]warning:[/] {len(failures)} run(s) failed; see bench.md", highlight=False)
        # SystemExit, not typer.Exit: the app runs with standalone_mode=False, which swallows Exit codes.
        raise SystemExit(1)


def _print_table(result: Any) -> None:
    """A rich table on a terminal; plain Markdown otherwise (logs and pipes keep every column intact)."""
    from rich.table import Table

    from reelrec.bench._table import format_cell, to_markdown
    from reelrec.bench._tuning import tuning_markdown, tuning_rows

    cols = result.columns()
    if not console.is_terminal:
        print(to_markdown(result.summary(), cols), end="")
        sig = result.significance
        print(sig.sentence() if sig is not None else f"significance: {result.info['significance'].get('note')}")
        if result.info.get("tuning"):
            print("\n" + tuning_markdown(result.info), end="")
        return
    summary = result.summary()
    best = result.best()
    info = result.info
    table = Table(
        title=f"{info['data']['name']} · protocol {info['protocol']} · {len(info['seeds'])} seed(s)"
        + (" · fast params" if info.get("fast") else ""),
        caption=f"mean ± std over seeds; [bold green]best[/] per column; peak RSS Δ = in-process growth during fit "
        f"({info.get('memory_method', '?')})",
        header_style="bold",
    )
    table.add_column("model", no_wrap=True)
    for c in cols:
        table.add_column(f"{c.header} {c.arrow}".rstrip(), justify="right")
    for rec in summary.iter_rows(named=True):
        cells = []
        for c in cols:
            digits = min(c.digits, 3)
            text = format_cell(rec[f"{c.key}_mean"], rec[f"{c.key}_std"], digits).replace(" ± ", "±")
            cells.append(f"[bold green]{text}[/]" if rec["model"] in best.get(c.key, []) else text)
        table.add_row(rec["model"], *cells)
    console.print(table)
    sig = result.significance
    if sig is not None:
        console.print(sig.sentence(), highlight=False)
    elif info.get("significance", {}).get("note"):
        console.print(f"significance: {info['significance']['note']}", highlight=False)
    if info.get("tuning"):
        tuned = Table(title=f"tuned on validation {info['tuning']['metric']} · {info['tuning']['trials']} trials "
                      "per model and seed", header_style="bold")
        for name in ("model", "seed", "chosen", "validation", "tune s"):
            tuned.add_column(name, justify="left" if name in ("model", "chosen") else "right")
        for row in tuning_rows(info):
            tuned.add_row(*row)
        console.print(tuned)


def report(
    source: Annotated[Path, typer.Argument(help="A bench directory (reelrec bench --out) or a model artifact.")],
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("report.html"),
    data: Annotated[
        Path | None, typer.Option("--data", help="Artifacts: the training data, to re-evaluate and plot per user.")
    ] = None,
    k: Annotated[str, typer.Option("--k", help="Cut-offs when an artifact is re-evaluated.")] = "5,10,20",
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="Relevance threshold when an artifact is re-evaluated.")
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="Page title.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress display.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report path and sections as JSON.")] = False,
) -> None:
    """Render a single self-contained HTML report (plots embedded as PNG) from a bench or an artifact.

    Sections: summary, training curves, metrics@K, predicted vs true, watch time, per-user NDCG, cold vs warm,
    popularity bias, coverage.

    Example: reelrec report runs/b1 --out report.html
    """
    from reelrec.report import SECTION_IDS, render_report

    ks = _parse_ks(k)
    if quiet or as_json or not err_console.is_terminal:
        path = render_report(source, out, data=data, ks=ks, threshold=threshold, title=title)
    else:
        with err_console.status("rendering report") as status:
            path = render_report(
                source, out, data=data, ks=ks, threshold=threshold, title=title,
                on_step=lambda text: status.update(f"report: {text}"),
            )
    if as_json:
        print_json({"report": str(path), "bytes": path.stat().st_size, "sections": list(SECTION_IDS)})
    elif not quiet:
        console.print(f"wrote [bold]{path}[/] ({path.stat().st_size / 1024:.0f} KiB, self-contained)", highlight=False)
