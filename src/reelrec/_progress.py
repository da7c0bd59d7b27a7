"""Progress displays in one place: rich bars on a terminal, plain lines in logs, or nothing.

Evaluation, benchmarks and training each show progress their own way (a bar per stage, one bar over
all steps, a bar per epoch with the loss); they share how ``progress="auto"`` is read and how a rich
display is opened and closed, so a display never outlives the work it reports on.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Literal, Self

from rich import get_console
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

Mode = Literal["bar", "lines", "off"]
# ``progress(stage, done, total)``; the same shape as :data:`reelrec.eval.ProgressCallback`.
_StageCallback = Callable[[str, int, int], None]


def progress_mode(progress: bool | str) -> Mode:
    """``True``: a bar; ``False``: nothing; ``"auto"``: a bar on a terminal, plain lines in logs."""
    if isinstance(progress, bool):
        return "bar" if progress else "off"
    if progress != "auto":
        raise ValueError(f"progress={progress!r}, expected true, false or 'auto'")
    return "bar" if sys.stderr.isatty() else "lines"


def progress_enabled(progress: bool | str) -> bool:
    """Whether ``progress`` asks for a bar (``"auto"``: only when stderr is a terminal)."""
    return progress_mode(progress) == "bar"


class _Display:
    """Owns one rich :class:`Progress` for the span of a ``with`` block (none when ``columns`` is None)."""

    def __init__(self, columns: tuple[ProgressColumn, ...] | None, console: Console, transient: bool) -> None:
        self.console = console
        self._columns = columns
        self._transient = transient
        self._progress: Progress | None = None

    def __enter__(self) -> Self:
        if self._columns is not None:
            self._progress = Progress(*self._columns, console=self.console, transient=self._transient)
            self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


@contextmanager
def rich_progress(console: Console | None = None) -> Iterator[_StageCallback]:
    """A ``progress`` callback that draws one rich bar per stage; the bars vanish on exit.

    Examples
    --------
    >>> with rich_progress() as progress:  # doctest: +SKIP
    ...     table = compare(models, split, progress=progress)
    """
    columns = tuple(Progress.get_default_columns())
    with _Display(columns, console or get_console(), transient=True) as display:
        bars = display._progress
        assert bars is not None  # columns were given
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.update(tasks[stage], completed=done, total=total)

        yield update


class StepProgress(_Display):
    """One bar over all (seed, model) steps whose label names the step running now, or one log line per step.

    Models are asked to keep their own bars off while benchmarked (two live displays on one
    terminal garble each other), so this bar and its elapsed-time column carry the feedback. In
    ``lines`` mode (stderr is a file or a CI log) each step start is one timestamped line instead.
    """

    def __init__(self, mode: Mode, total: int, console: Console | None = None) -> None:
        columns = (
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        super().__init__(columns if mode == "bar" else None, console or Console(stderr=True), transient=True)
        self.mode = mode
        self.total = total
        self._task: Any = None
        self._done = 0
        self._start = time.perf_counter()

    def __enter__(self) -> Self:
        self._start = time.perf_counter()
        super().__enter__()
        if self._progress is not None:
            self._task = self._progress.add_task("bench", total=self.total)
        return self

    def describe(self, text: str) -> None:
        """Name the step now running (e.g. ``seed 1/3 · ease · fit``)."""
        if self._progress is not None:
            self._progress.update(self._task, description=text)
        elif self.mode == "lines":
            elapsed = time.perf_counter() - self._start
            self.console.print(f"[{self._done}/{self.total} · {elapsed:6.1f} s] {text}", highlight=False, markup=False)

    def advance(self) -> None:
        self._done += 1
        if self._progress is not None:
            self._progress.advance(self._task)

    def log(self, text: str) -> None:
        """A line above the bar (warnings such as a failed model); printed in every mode."""
        self.console.print(text, highlight=False, soft_wrap=True)


class TrainProgress(_Display):
    """One bar per epoch: batches done, running loss, rows per second; epoch summaries as lines.

    Reading the loss forces a device sync, so the caller passes it at most every ``refresh_s``.
    """

    def __init__(self, enabled: bool, description: str = "train", refresh_s: float = 0.5) -> None:
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("{task.fields[rate]} rows/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        super().__init__(columns if enabled else None, Console(stderr=True), transient=False)
        self.enabled = enabled
        self.description = description
        self.refresh_s = refresh_s
        self._task: Any = None
        self._last = 0.0
        self._rows = 0
        self._start = 0.0

    def start_epoch(self, epoch: int, epochs: int, n_batches: int) -> None:
        self._rows = 0
        self._start = self._last = time.perf_counter()
        if self._progress is not None:
            self._task = self._progress.add_task(
                f"{self.description} {epoch}/{epochs}", total=n_batches, loss="-", rate="-"
            )

    def due(self) -> bool:
        """Whether the display wants a fresh loss value now (avoids a sync on every batch)."""
        return self._progress is not None and time.perf_counter() - self._last >= self.refresh_s

    def advance(self, rows: int, loss: float | None = None) -> None:
        self._rows += rows
        if self._progress is None:
            return
        fields: dict[str, Any] = {}
        if loss is not None:
            now = time.perf_counter()
            self._last = now
            fields = {"loss": f"{loss:.4f}", "rate": f"{self._rows / max(now - self._start, 1e-9):,.0f}"}
        self._progress.update(self._task, advance=1, **fields)

    def end_epoch(self, summary: str) -> None:
        if self._progress is not None:
            self._progress.console.print(summary, highlight=False)
