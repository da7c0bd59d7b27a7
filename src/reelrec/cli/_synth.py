"""``reelrec synth``: write synthetic KuaiRec-shaped files with a planted ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from reelrec.cli._common import console, print_json


def synth(
    out: Path = typer.Argument(..., help="Folder to write the files into (created if missing)."),
    scale: float = typer.Option(1.0, "--scale", help="1.0 = KuaiRec size (12.5 M views); 0.01-0.05 for quick tries."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed and scale give identical files."),
    fmt: str = typer.Option(
        "csv", "--format", help="csv: KuaiRec's own files; parquet: the big matrix as big_matrix/*.parquet shards."
    ),
    drift: float = typer.Option(
        0.5, "--drift", help="Share of views in time order that follow a short-term topic changing every few dozen "
        "views (0-1; 0 = random order).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    world: str = typer.Option(
        "kuairec", "--world", help="kuairec: KuaiRec's files; plays: an implicit play-count log (generic layout)."
    ),
) -> None:
    """Write KuaiRec 2.0-shaped files plus small_matrix_truth.csv (the noise-free expected watch ratio).

    With ``--world plays`` it writes an implicit play-count log in the generic layout instead
    (interactions.csv with play counts, users.csv, items.csv, schema.json; relevance = any play).

    Example: reelrec synth data/kuairec --scale 0.05 --seed 0
    """
    from reelrec.synth import write_kuairec

    if world not in ("kuairec", "plays"):
        raise ValueError(f"--world {world!r}: expected 'kuairec' or 'plays'")
    if world == "plays":
        _synth_plays(out, scale, seed, as_json)
        return
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"--format {fmt!r}: expected 'csv' or 'parquet'")
    big_format: Literal["csv", "parquet"] = "parquet" if fmt == "parquet" else "csv"
    summary = write_kuairec(out, scale=scale, seed=seed, big_format=big_format, drift=drift)
    if as_json:
        print_json(summary)
        return
    rows = summary["rows"]
    console.print(f"wrote synthetic KuaiRec to {summary['out_dir']} in {summary['seconds']:.1f} s", highlight=False)
    console.print(
        f"  scale {summary['scale']:g}, seed {summary['seed']}: {summary['n_users']:,} users x "
        f"{summary['n_videos']:,} videos, {rows['big_matrix']:,} big-matrix rows",
        highlight=False,
    )
    console.print(
        f"  small block {summary['n_small_users']:,} x {summary['n_small_videos']:,}, {rows['small_matrix']:,} rows",
        highlight=False,
    )
    for name, size in summary["bytes"].items():
        console.print(f"  {name:<30} {size / 2**20:9.1f} MiB", highlight=False)


def _synth_plays(out: Path, scale: float, seed: int, as_json: bool) -> None:
    from reelrec.synth._plays import write_plays

    summary = write_plays(out, scale=scale, seed=seed)
    if as_json:
        print_json(summary)
        return
    console.print(
        f"wrote a play-count world to {summary['out_dir']}: {summary['n_users']:,} users x "
        f"{summary['n_videos']:,} videos, {summary['rows']['interactions']:,} plays in {summary['seconds']:.1f} s",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``synth`` to ``app``."""
    app.command("synth")(synth)
