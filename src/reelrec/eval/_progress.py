"""Optional rich progress bars for :func:`reelrec.eval.evaluate` and :func:`reelrec.eval.compare`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, TaskID

from reelrec.eval._runner import ProgressCallback


@contextmanager
def rich_progress(console: Console | None = None) -> Iterator[ProgressCallback]:
    """A ``progress`` callback that draws one rich bar per stage; the bars vanish on exit.

    Examples
    --------
    >>> with rich_progress() as progress:  # doctest: +SKIP
    ...     table = compare(models, split, progress=progress)
    """
    with Progress(console=console, transient=True) as bars:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.update(tasks[stage], completed=done, total=total)

        yield update
