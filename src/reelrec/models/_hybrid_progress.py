"""The hybrid fit's clock: seconds per phase (kept on the model) and one optional progress bar with an ETA.

The bar advances in work units, roughly floating-point operations, so a penalty walk's EASE inverses
(cubic in the catalogue) and its ALS sweeps (linear in the views) move it at the pace they cost.
The plan is an estimate made before the walks start: when a walk takes more steps than planned the
total grows, so the bar never passes 100 % and still finishes at 100 %.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reelrec.models._hybrid import Hybrid

#: EASE inverses the plan expects per penalty walk (a walk from the middle takes at least three).
PLANNED_INVERSES = 3


#: ALS runs at a few times lower flop rate than the dense EASE algebra (gathers, small batched
#: products, one small solve per row): measured about 6x on synthetic KuaiRec at scale 0.25.
ALS_SLOWDOWN = 6.0


def mf_units(nnz: int, n_users: int, n_items: int, k: int, sweeps: int) -> float:
    """Work of one biased-ALS fit: per sweep, each pair adds a ``(k+1)^2`` Gram term on both sides."""
    return ALS_SLOWDOWN * 2.0 * sweeps * (nnz * (k + 1) ** 2 + (n_users + n_items) * (k + 1) ** 3 / 3)


def ials_units(nnz: int, n_users: int, n_items: int, k: int, sweeps: int) -> float:
    """Work of one implicit-ALS fit (same shape as :func:`mf_units`, plus the shared ``Y'Y``)."""
    return mf_units(nnz, n_users, n_items, k, sweeps) + ALS_SLOWDOWN * 2.0 * sweeps * (n_users + n_items) * k * k


def gram_units(nnz: int, n_users: int, n_items: int) -> float:
    """Work of the item-item Gram matrix: dense BLAS blocks on dense logs, sparse products otherwise."""
    if nnz >= 0.01 * n_users * n_items:
        return 2.0 * n_users * n_items * n_items
    return 2.0 * nnz * (nnz / max(1, n_users))


def inverse_units(n_items: int) -> float:
    """Work of one EASE solve over the catalogue (Cholesky, triangular inverse and product)."""
    return 3.0 * float(n_items) ** 3


def refit_units(model: Hybrid, kind: str, nnz: int, n_users: int, n_items: int, use_ease: bool) -> dict[str, float]:
    """Planned work of the final fits on every pair: MF always, iALS and EASE when they were tried.

    iALS is tried on every kind: by the first blend, and on watch-ratio logs by the catalogue rule.
    """
    epochs = int(model.epochs)
    tried_ials = bool(model.ials_options)
    return {
        "mf": mf_units(nnz, n_users, n_items, int(model.embedding_size), epochs),
        "ials": ials_units(nnz, n_users, n_items, int(model.ials_size), epochs) if tried_ials else 0.0,
        "ease": gram_units(nnz, n_users, n_items) + inverse_units(n_items) if use_ease else 0.0,
    }


def fit_plan(model: Hybrid, kind: str, nnz: int, n_held: int, n_users: int, n_items: int, use_ease: bool) -> float:
    """Estimated work of a whole fit: the choices on the training pairs, then the refits on all pairs."""
    n_train, sweeps = nnz - n_held, max(2, int(model.epochs) // 2)
    k0 = int(model.embedding_size)
    units = 3 * mf_units(n_train, n_users, n_items, k0, sweeps) if n_held else 0.0
    units += sum(mf_units(n_train, n_users, n_items, int(k), sweeps) for k in model.other_sizes) if n_held else 0.0
    if use_ease and n_held:
        units += gram_units(n_train, n_users, n_items) + PLANNED_INVERSES * inverse_units(n_items)
    if model.ials_options and n_held:
        size = int(model.ials_size)
        tried = len(model.ials_options) if kind != "watch_ratio" else 1  # the catalogue rule tries one
        units += tried * ials_units(n_train, n_users, n_items, size, sweeps)
    return units + sum(refit_units(model, kind, nnz, n_users, n_items, use_ease).values())


class FitClock:
    """Seconds spent per phase and, when ``show`` is true, a rich progress bar on stderr.

    ``plan`` is the estimated total work; :meth:`advance` moves the bar by what a step cost.
    """

    def __init__(self, plan: float, show: bool, description: str = "hybrid fit") -> None:
        self.seconds: dict[str, float] = {}
        self._plan = max(float(plan), 1.0)
        self._done = 0.0
        self._bar: Any = None
        self._task: Any = None
        if show:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(description, total=self._plan)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Add the block's wall seconds to ``seconds[name]`` (a phase may be entered more than once)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def advance(self, units: float, note: str | None = None) -> None:
        """Count ``units`` of work done; the plan grows if the walks took more steps than estimated."""
        self._done += float(units)
        if self._done > self._plan:
            self._plan = self._done * 1.05
        if self._bar is not None:
            fields: dict[str, Any] = {"completed": self._done, "total": self._plan}
            if note is not None:
                fields["description"] = f"hybrid fit: {note}"
            self._bar.update(self._task, **fields)

    def add_plan(self, units: float) -> None:
        """Grow (or, with negative ``units``, shrink) the plan when a step turns out longer or shorter than planned."""
        self._plan = max(self._plan + float(units), self._done, 1.0)
        if self._bar is not None:
            self._bar.update(self._task, total=self._plan)

    def close(self) -> dict[str, float]:
        """Finish the bar at 100 % and return the per-phase seconds (rounded to milliseconds)."""
        if self._bar is not None:
            self._bar.update(self._task, completed=self._plan, total=self._plan, description="hybrid fit: done")
            self._bar.stop()
            self._bar = None
        return {name: round(s, 3) for name, s in self.seconds.items()}
