"""CLI commands for data: ``reelrec data check`` (load, validate, summarise) and ``reelrec download``."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from reelrec.cli._common import console, err_console, print_json

data_app = typer.Typer(
    name="data",
    help="Inspect data sets.\n\nExample: reelrec data check data/kuairec",
    no_args_is_help=True,
    add_completion=False,
)


def register(app: typer.Typer) -> None:
    """Add the ``data`` group (``data check``) and ``download`` to ``app``."""
    app.add_typer(data_app, name="data")
    app.command("download")(download)


@data_app.command("check")
def check(
    data: Annotated[
        Path, typer.Argument(help="KuaiRec folder or KuaiRec.zip, MovieLens-100K folder, or generic folder.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    duplicates: Annotated[
        str | None, typer.Option(help="keep, drop (exact copies) or aggregate (one row per pair).")
    ] = None,
    clip: Annotated[str | None, typer.Option(help="Upper bound for labels, or 'none' (KuaiRec default: 5).")] = None,
    daily_until: Annotated[
        str | None, typer.Option(help="KuaiRec: last day (yyyymmdd) of daily item statistics used.")
    ] = None,
    daily_window_days: Annotated[
        int | None, typer.Option(help="KuaiRec: average only this many days up to --daily-until.")
    ] = None,
    schema: Annotated[Path | None, typer.Option(help="Generic layout: feature-kind schema file (JSON/TOML).")] = None,
    cache: Annotated[bool, typer.Option("--cache/--no-cache", help="Use and write the parquet cache.")] = True,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Cache folder (default: .reelrec-cache beside the data).")
    ] = None,
) -> None:
    """Load a data set, validate every file, and print a summary.

    Shows users, items, interactions, density, label quantiles, time range, duplicates found and
    the side features with their kinds. Malformed input stops with one line naming the file,
    column and first bad row.

    Example: reelrec data check data/kuairec --duplicates drop --json
    """
    from reelrec.data import detect_format, load_dataset

    fmt = detect_format(data)
    options: dict[str, Any] = {}
    if duplicates is not None:
        options["duplicates"] = duplicates
    if clip is not None:
        options["clip"] = None if clip.lower() == "none" else _float(clip, "--clip")
    if daily_until is not None:
        options["daily_until"] = daily_until
    if daily_window_days is not None:
        options["daily_window_days"] = daily_window_days
    if schema is not None:
        options["schema"] = schema
    if fmt != "movielens-100k":
        options["cache"] = cache
        if cache_dir is not None:
            options["cache_dir"] = cache_dir
    with _steps(enabled=not as_json) as step, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if fmt != "movielens-100k":
            options["progress"] = step
        dataset = load_dataset(data, **options)
    notes = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    summary = dataset.summary()
    summary["warnings"] = notes
    if as_json:
        print_json(summary)
        return
    for note in notes:
        err_console.print(f"[yellow]warning:[/] {note}", highlight=False, soft_wrap=True)
    console.print(_summary_table(summary, data))


def download(
    name: Annotated[str, typer.Argument(help="kuairec or movielens-100k.")],
    dest: Annotated[Path, typer.Option("--dest", help="Folder for the archive and its contents.")] = Path("data"),
    url: Annotated[str | None, typer.Option("--url", help="A mirror of the same archive.")] = None,
    md5: Annotated[
        str | None, typer.Option("--md5", help="Expected MD5 (default: the official one); 'none' skips the check.")
    ] = None,
    size: Annotated[
        int | None, typer.Option("--size", help="Expected size in bytes (default: the official one).")
    ] = None,
    unpack: Annotated[bool, typer.Option("--unpack/--no-unpack", help="Extract the archive after download.")] = True,
    retries: Annotated[int, typer.Option("--retries", help="Attempts before giving up (each resumes).")] = 5,
) -> None:
    """Download a public data set: resumable, size- and checksum-verified, then unpacked.

    An interrupted download keeps a .part file; running the command again resumes it.
    KuaiRec 2.0 is 432 MB (CC BY-SA 4.0) and can be read straight from the zip.

    Example: reelrec download kuairec --dest data && reelrec data check data/KuaiRec.zip
    """
    from reelrec.data import DATASETS, download_dataset

    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    spec = DATASETS[name]
    kwargs: dict[str, Any] = {"url": url, "retries": retries}
    if md5 is not None:
        kwargs["md5"] = None if md5.lower() == "none" else md5
    if size is not None:
        kwargs["size"] = size
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=True, disable=not err_console.is_terminal) as bar:
        task = bar.add_task(f"{spec.filename}", total=spec.size)

        def advance(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        archive = download_dataset(name, dest, progress=advance, unpack=False, **kwargs)
    path = archive
    if unpack:
        from reelrec.data._download import unpack_archive

        with _steps(enabled=True) as step:
            step(f"unpacking {archive.name}")
            path = unpack_archive(archive, dest)
    console.print(f"{name} ready at [bold]{path}[/] (licence: {spec.license})", highlight=False)
    console.print(f"next: reelrec data check {_quote(path)}", highlight=False)


@contextmanager
def _steps(enabled: bool) -> Iterator[Any]:
    """A spinner line per load step (read, index, features, cache), removed when the load ends."""
    if not enabled or not err_console.is_terminal:
        yield lambda step: None
        return
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console, transient=True
    )
    current: list[TaskID] = []

    def step(description: str) -> None:
        if current:
            progress.update(current[-1], completed=1)
        current.append(progress.add_task(description, total=1))

    with progress:
        yield step


def _summary_table(summary: dict[str, Any], data: Path) -> Table:
    table = Table(title=f"{data} ({summary['source']})", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("users", f"{summary['users']:,}")
    table.add_row("items", f"{summary['items']:,}")
    table.add_row("interactions", f"{summary['interactions']:,}")
    table.add_row("density", f"{summary['density']:.4%}")
    if "label_quantiles" in summary:
        q = summary["label_quantiles"]
        table.add_row(
            f"{summary['label']} quantiles",
            "  ".join(f"{k} {v:.3g}" for k, v in q.items()) + f"  (mean {summary['label_mean']:.3g})",
        )
    if summary.get("time_range"):
        lo, hi = (dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M") for t in summary["time_range"])
        table.add_row("time range (UTC)", f"{lo} .. {hi}")
    if summary.get("fully_observed"):
        block = summary["fully_observed"]
        table.add_row(
            "fully observed block",
            f"{block['interactions']:,} rows, {block['users']:,} users x {block['items']:,} items",
        )
    for key in ("big_matrix", "small_matrix", "log"):
        info = summary.get(key)
        if isinstance(info, dict) and "exact_duplicate_rows" in info:
            label = "duplicates" if key == "log" else f"duplicates ({key})"
            table.add_row(
                label,
                f"{info['exact_duplicate_rows']:,} exact copies, {info['repeat_view_rows']:,} repeat views, "
                f"{info['unique_pairs']:,} distinct pairs; policy {summary.get('duplicates_policy')}: "
                f"{info['rows_kept']:,} rows kept",
            )
            if info.get("clipped_rows"):
                table.add_row(f"clipped ({key})", f"{info['clipped_rows']:,} rows above {summary.get('clip')}")
    for side in ("user_features", "item_features"):
        kinds: dict[str, str] = summary.get(side) or {}
        if kinds:
            by_kind: dict[str, list[str]] = {}
            for col, kind in kinds.items():
                by_kind.setdefault(kind, []).append(col)
            text = "; ".join(f"{kind} ({len(cols)}): {_names(cols)}" for kind, cols in by_kind.items())
            table.add_row(side.replace("_", " "), text)
        else:
            table.add_row(side.replace("_", " "), "none")
    if summary.get("daily_until"):
        span = f"{summary.get('daily_from') or 'first day'} .. {summary['daily_until']}"
        table.add_row("daily item statistics", f"{span} ({summary.get('daily_rows_used', 0):,} rows)")
    if summary.get("social_users") is not None:
        table.add_row("social graph", f"{summary['social_users']:,} users with friends")
    cache = summary.get("cache")
    table.add_row("load", f"{summary.get('load_seconds', 0):.2f} s (cache: {cache})")
    return table


def _names(cols: list[str], limit: int = 6) -> str:
    shown = ", ".join(cols[:limit])
    return shown + (f", ... (+{len(cols) - limit})" if len(cols) > limit else "")


def _float(text: str, option: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{option}={text!r}, expected a number or 'none'") from None


def _quote(path: Path) -> str:
    text = str(path)
    return f'"{text}"' if " " in text else text
