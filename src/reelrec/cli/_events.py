"""``reelrec events``: work with a service event store (``reelrec serve --events``) offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reelrec.cli._common import console

events_app = typer.Typer(help="Work with a service event store (reelrec serve --events FILE).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``events`` (with ``export``) to ``app``."""
    app.add_typer(events_app, name="events")


@events_app.command("export")
def export(
    store: Annotated[Path, typer.Argument(help="The event store file.")],
    out: Annotated[Path, typer.Argument(help="Parquet file to write (atomically).")],
    after: Annotated[int, typer.Option("--after", min=0, help="Only events with a larger id.")] = 0,
) -> None:
    """Write the store's events as parquet: id, user_id, item_id, watch_ratio, skipped, timestamp, received_at.

    Example: reelrec events export feed.db events.parquet
    """
    from reelrec.events._export import export_events

    rows = export_events(store, out, after)
    console.print(f"{rows:,} events written to [bold]{out}[/]")
