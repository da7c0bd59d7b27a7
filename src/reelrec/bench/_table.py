"""The benchmark table: mean ± std per model and column, the best per column marked."""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

#: Columns where smaller is better; every other metric is "higher is better".
_LOWER_IS_BETTER = ("mae", "rmse", "fit_seconds", "recommend_seconds", "peak_rss_mib", "tune_seconds")
#: Descriptive columns with no better direction: never marked best. A low popularity share is not a
#: virtue in itself (a random ranker has the lowest), so the table shows it without judging it.
_NEUTRAL = ("pop_share",)


def _family(column: str) -> str:
    # "mae_dur_q3" (MAE of the third video-duration quintile) is judged like "mae".
    return column.split("@")[0].removeprefix("cold_").removeprefix("truth_").split("_dur_q")[0]


def lower_is_better(column: str) -> bool:
    """Direction of a benchmark column: errors and costs go down, quality goes up."""
    return _family(column) in _LOWER_IS_BETTER


def is_neutral(column: str) -> bool:
    """Whether a column is descriptive only (no best is marked)."""
    return _family(column) in _NEUTRAL


@dataclass(frozen=True)
class Column:
    """One column of the table: the run-level field, its header and number format."""

    key: str
    header: str
    digits: int = 4

    @property
    def lower_is_better(self) -> bool:
        return lower_is_better(self.key)

    @property
    def arrow(self) -> str:
        """``↑`` / ``↓`` for the better direction, empty for descriptive columns."""
        return "" if is_neutral(self.key) else ("↓" if self.lower_is_better else "↑")


def summarize(runs: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Mean and sample std over seeds of each column, one row per model (first-seen order).

    Parameters
    ----------
    runs : polars.DataFrame
        One row per (model, seed) with a ``model`` column and the numeric ``columns``.

    Returns
    -------
    polars.DataFrame
        ``model``, ``runs`` (seeds that succeeded), then ``<col>_mean`` and ``<col>_std`` (float64;
        NaN when the model has no value, std NaN too when it has a single one).
    """
    order = list(dict.fromkeys(runs["model"].to_list()))
    aggs: list[pl.Expr] = [pl.len().alias("runs")]
    for col in columns:
        values = pl.col(col).cast(pl.Float64).fill_nan(None)
        aggs.append(values.mean().alias(f"{col}_mean"))
        aggs.append(values.std(ddof=1).alias(f"{col}_std"))
    out = runs.group_by("model", maintain_order=True).agg(aggs)
    out = out.with_columns(
        [
            pl.when(pl.col(f"{c}_mean").is_null()).then(None).otherwise(pl.col(f"{c}_std")).alias(f"{c}_std")
            for c in columns
        ]
    )
    rank = {m: i for i, m in enumerate(order)}
    out = out.sort(pl.col("model").replace_strict(rank, return_dtype=pl.Int64))
    return out.with_columns(pl.col("runs").cast(pl.Int32), pl.exclude("model", "runs").fill_null(float("nan")))


def best_models(summary: pl.DataFrame, columns: list[str], rel_tol: float = 1e-9) -> dict[str, list[str]]:
    """For each column, the model(s) with the best mean (ties within ``rel_tol`` all win).

    Columns where fewer than two models have a value, or where every model ties, are left out: a
    lone number, or a column nobody wins, has no best.
    """
    best: dict[str, list[str]] = {}
    models = summary["model"].to_list()
    for col in columns:
        if is_neutral(col):
            continue
        values = summary[f"{col}_mean"].to_list()
        finite = [(m, v) for m, v in zip(models, values, strict=True) if v is not None and math.isfinite(v)]
        if len(finite) < 2:
            continue
        pick = min if lower_is_better(col) else max
        target = pick(v for _, v in finite)
        tol = rel_tol * max(1.0, abs(target))
        winners = [m for m, v in finite if abs(v - target) <= tol]
        if len(winners) < len(finite):
            best[col] = winners
    return best


def format_cell(mean: float | None, std: float | None, digits: int) -> str:
    """``mean ± std`` with ``digits`` decimals; the mean alone for a single seed; ``–`` without a value."""
    if mean is None or not math.isfinite(mean):
        return "–"
    if std is None or not math.isfinite(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def table_cells(summary: pl.DataFrame, columns: list[Column]) -> list[list[tuple[str, bool]]]:
    """Formatted ``(text, is_best)`` cells, one row per model, for any renderer."""
    best = best_models(summary, [c.key for c in columns])
    rows = []
    for rec in summary.iter_rows(named=True):
        row = []
        for col in columns:
            text = format_cell(rec[f"{col.key}_mean"], rec[f"{col.key}_std"], col.digits)
            row.append((text, rec["model"] in best.get(col.key, [])))
        rows.append(row)
    return rows


def to_markdown(summary: pl.DataFrame, columns: list[Column]) -> str:
    """A GitHub-flavoured Markdown table; the best value of each column is **bold**."""
    header = ["model", *(f"{c.header} {c.arrow}".rstrip() for c in columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * len(columns)) + "|"]
    models = summary["model"].to_list()
    for model, row in zip(models, table_cells(summary, columns), strict=True):
        cells = [f"**{text}**" if is_best else text for text, is_best in row]
        lines.append("| " + " | ".join([model, *cells]) + " |")
    return "\n".join(lines) + "\n"


def to_csv_frame(summary: pl.DataFrame, columns: list[Column]) -> pl.DataFrame:
    """The summary with a ``best`` column listing (``;``-separated) the columns each model wins."""
    best = best_models(summary, [c.key for c in columns])
    wins = [
        ";".join(c.key for c in columns if m in best.get(c.key, [])) for m in summary["model"].to_list()
    ]
    keep = ["model", "runs"] + [f"{c.key}_{s}" for c in columns for s in ("mean", "std")]
    return summary.select(keep).with_columns(pl.Series("best", wins, dtype=pl.String))
