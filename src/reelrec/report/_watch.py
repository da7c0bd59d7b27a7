"""The report's watch-time section: XAUC/XGAUC per model and MAE by video-duration quintile, figure and table."""

from __future__ import annotations

import numpy as np
import polars as pl

from reelrec.bench import BenchResult
from reelrec.bench._result import header_for
from reelrec.bench._table import Column, summarize
from reelrec.report._figures import figure_legend, grid, new_figure, styled, to_png
from reelrec.report._html import Section, summary_table

#: Pairwise figures drawn as bars, when recorded: on the label, then on watch time in seconds.
XAUC_COLUMNS = ("xauc", "xgauc", "xauc_time", "xgauc_time")
_XAUC_NAMES = {"xauc": "XAUC", "xgauc": "XGAUC", "xauc_time": "XAUC time", "xgauc_time": "XGAUC time"}


def _finite_mean(values: pl.Series) -> tuple[float, float]:
    """Mean and sample std over seeds of the finite values (``NaN`` when there are none)."""
    arr = values.cast(pl.Float64).fill_null(np.nan).to_numpy()
    arr = arr[np.isfinite(arr)]
    if len(arr) == 0:
        return float("nan"), float("nan")
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0


def watch_time(runs: pl.DataFrame, colours: dict[str, str]) -> bytes | None:
    """Bars of XAUC/XGAUC per label-predicting model, and its MAE per duration quintile (lines).

    Returns ``None`` when no model recorded an XAUC (no model predicts the label).
    """
    present = [c for c in XAUC_COLUMNS if c in runs.columns]
    if runs.is_empty() or "xauc" not in present:
        return None
    models = [m for m in dict.fromkeys(runs["model"].to_list())
              if np.isfinite(_finite_mean(runs.filter(pl.col("model") == m)["xauc"])[0])]
    if not models:
        return None
    buckets = sorted((c for c in runs.columns if c.startswith("mae_dur_q")), key=lambda c: int(c.rsplit("q", 1)[1]))
    with styled():
        fig = new_figure(2 if buckets else 1, panel_width=max(4.5, 0.5 * len(models) * len(present) + 1.5))
        axes = grid(fig, 2 if buckets else 1)
        ax = axes[0]
        width = 0.8 / len(models)
        x = np.arange(len(present))
        for i, model in enumerate(models):
            sub = runs.filter(pl.col("model") == model)
            stats = [_finite_mean(sub[c]) for c in present]
            ax.bar(x + i * width, [m for m, _ in stats], width, yerr=[s for _, s in stats], color=colours[model],
                   capsize=2, edgecolor="#333333", linewidth=0.4, label=model)
        ax.axhline(0.5, color="#555555", linestyle=":", linewidth=1)  # a constant prediction
        ax.set_xticks(x + 0.4 - width / 2, [_XAUC_NAMES[c] for c in present])
        ax.set_ylim(0, 1.05)
        ax.set_title("pairs ordered like the truth (dotted: chance)")
        if buckets:
            ax2 = axes[1]
            q = np.arange(1, len(buckets) + 1)
            for model in models:
                sub = runs.filter(pl.col("model") == model)
                stats = [_finite_mean(sub[c]) for c in buckets]
                ax2.errorbar(q, [m for m, _ in stats], yerr=[s for _, s in stats], color=colours[model],
                             marker="o", markersize=3, capsize=2, linewidth=1.2)
            ax2.set_xticks(q, [f"q{k}" for k in q])
            ax2.set_xlabel("video-duration quintile (q1 shortest)")
            ax2.set_ylabel("MAE")
            ax2.set_title("MAE by video length")
        figure_legend(fig, ax)
        return to_png(fig)


def watch_section(bench: BenchResult, label_name: str, colours: dict[str, str]) -> Section:
    """The section: figure, a table of every watch-time figure per model, and the quintile edges."""
    s = Section(
        "watch-time",
        "Watch-time ordering and error by video length",
        f"XAUC: among pairs of test views with different observed {label_name.replace('_', ' ')}, the share the "
        "prediction orders the same way (a tie counts one half); XGAUC: the same within each user, averaged "
        "over users. On KuaiRec also on watch time in seconds. Watch ratio depends strongly on video length, "
        "so the mean absolute error is broken down by quintile of video duration over the test views.",
    )
    png = watch_time(bench.runs, colours)
    if png is None:
        s.missing = f"no model in this run predicts the {label_name} (ranking-only models)"
        return s
    s.add_image(png, "watch-time figures")
    cols = [Column(c, header_for(c)) for c in ("xauc", "xgauc") if c in bench.runs.columns]
    cols += bench.watch_columns()
    s.add_html(summary_table(summarize(bench.runs, [c.key for c in cols]), cols))
    for seed, edges in bench.duration_edges().items():
        s.add_text(f"Seed {seed}: video_duration quintile edges over the test views "
                   f"{', '.join(f'{e:g}' for e in edges)} (KuaiRec: milliseconds).", "small")
    return s
