"""Progress display for long benchmark steps: a rich bar on a terminal, plain lines in logs, or nothing."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any, Literal, Self

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

Mode = Literal["bar", "lines", "off"]


def progress_mode(progress: bool | Literal["auto"]) -> Mode:
    """``True``: a bar; ``False``: nothing; ``"auto"``: a bar on a terminal, plain lines in logs."""
    if isinstance(progress, bool):
        return "bar" if progress else "off"
    if progress != "auto":
        raise ValueError(f"progress={progress!r}, expected True, False or 'auto'")
    return "bar" if sys.stderr.isatty() else "lines"


class StepProgress:
    """One bar over all (seed, model) steps whose label names the step running now, or one log line per step.

    Models are asked to keep their own bars off while benchmarked (two live displays on one
    terminal garble each other), so this bar and its elapsed-time column carry the feedback. In
    ``lines`` mode (stderr is a file or a CI log) each step start is one timestamped line instead.
    """

    def __init__(self, mode: Mode, total: int, console: Console | None = None) -> None:
        self.mode = mode
        self.total = total
        self.console = console or Console(stderr=True)
        self._progress: Progress | None = None
        self._task: Any = None
        self._done = 0
        self._start = time.perf_counter()

    def __enter__(self) -> Self:
        self._start = time.perf_counter()
        if self.mode == "bar":
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("bench", total=self.total)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.__exit__(exc_type, exc, tb)
            self._progress = None

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
