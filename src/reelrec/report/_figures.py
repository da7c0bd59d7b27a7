"""Matplotlib (Agg) figure helpers shared by the report's plots: one style, PNG bytes out."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# Colour-blind-safe palette (Okabe & Ito, 2008); models keep their colour across every plot.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")

_STYLE: dict[Any, Any] = {  # rc_context types its keys as a Literal of every rc name
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 8,
    "legend.frameon": False,
}


def colour_map(models: list[str]) -> dict[str, str]:
    """A fixed colour per model, in the order given."""
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(models)}


@contextmanager
def styled() -> Iterator[None]:
    """Apply the report style for the duration of a plot (no global state leaks out)."""
    with matplotlib.rc_context(_STYLE):
        yield


def new_figure(n_panels: int, *, panel_width: float = 4.2, height: float = 3.2, max_cols: int = 3) -> Figure:
    """A figure laid out for ``n_panels`` panels, without pyplot (thread-safe, no GUI backend).

    Margins are fixed in inches rather than solved by a layout engine: constrained layout measures
    every tick label and doubled the rendering time of a report.
    """
    cols = max(1, min(n_panels, max_cols))
    rows = -(-n_panels // cols)
    width, total_height = panel_width * cols, height * rows
    fig = Figure(figsize=(width, total_height))
    FigureCanvasAgg(fig)
    fig.subplots_adjust(
        left=0.65 / width,
        right=1 - 0.15 / width,
        bottom=0.55 / total_height,
        top=1 - 0.35 / total_height,
        wspace=0.75 / (panel_width - 0.75),
        hspace=0.95 / (height - 0.95),
    )
    return fig


def grid(fig: Figure, n_panels: int, max_cols: int = 3) -> list[Any]:
    """Axes for ``n_panels`` panels on ``fig``; unused grid slots are not created."""
    cols = max(1, min(n_panels, max_cols))
    rows = -(-n_panels // cols)
    return [fig.add_subplot(rows, cols, i + 1) for i in range(n_panels)]


def figure_legend(fig: Figure, ax: Any, max_cols: int = 6) -> None:
    """One legend for the whole figure, above the panels, so it never hides data."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    # About 1.1 inch per entry keeps long model names from running off the canvas.
    fit = max(1, int(fig.get_figwidth() / 1.1))
    ncols = min(max_cols, len(handles), fit)
    rows = -(-len(handles) // ncols)
    height = fig.get_figheight()
    fig.subplots_adjust(top=1 - (0.4 + 0.22 * rows) / height)
    fig.legend(handles, labels, loc="upper center", ncols=ncols, bbox_to_anchor=(0.5, 1.0))


def to_png(fig: Figure, dpi: int = 96) -> bytes:
    """Render ``fig`` to PNG bytes with the Agg canvas."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
