"""Training progress: a rich bar per epoch with the running loss and throughput, or silence."""

from __future__ import annotations

import sys
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def progress_enabled(progress: bool | str) -> bool:
    """``True``/``False`` as given; ``"auto"`` shows bars only when stderr is a terminal."""
    if isinstance(progress, bool):
        return progress
    if progress != "auto":
        raise ValueError(f"progress={progress!r}, expected true, false or 'auto'")
    return sys.stderr.isatty()


class TrainProgress:
    """One bar per epoch: batches done, running loss, rows per second; epoch summaries as lines.

    Reading the loss forces a device sync, so the caller passes it at most every ``refresh_s``.
    """

    def __init__(self, enabled: bool, description: str = "train", refresh_s: float = 0.5) -> None:
        self.enabled = enabled
        self.description = description
        self.refresh_s = refresh_s
        self._progress: Progress | None = None
        self._task: Any = None
        self._last = 0.0
        self._rows = 0
        self._start = 0.0

    def __enter__(self) -> TrainProgress:
        if self.enabled:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"),
                TextColumn("{task.fields[rate]} rows/s"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

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
