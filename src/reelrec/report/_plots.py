"""The report's plots, each from benchmark tables to PNG bytes (``None`` when there is nothing to draw)."""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

import numpy as np
import polars as pl
from matplotlib.ticker import MaxNLocator

from reelrec.report._figures import colour_map, figure_legend, grid, new_figure, styled, to_png

#: Metric families drawn against K, in this order, when present.
K_FAMILIES = ("ndcg", "graded_ndcg", "truth_graded_ndcg", "precision", "recall", "map", "hitrate", "coverage")
_K_RE = re.compile(r"^(?P<family>[a-z_0-9]+)@(?P<k>\d+)$")


def ks_of(columns: list[str], family: str) -> list[int]:
    """The cutoffs K for which ``<family>@K`` is a column, ascending."""
    found = [int(m["k"]) for c in columns if (m := _K_RE.match(c)) and m["family"] == family]
    return sorted(found)


def _models(frame: pl.DataFrame) -> list[str]:
    return list(dict.fromkeys(frame["model"].to_list()))


def _train_loss(epoch: dict[str, Any]) -> Any:
    return epoch.get("loss", epoch.get("train_loss"))


def training_curves(history: dict[str, dict[str, list[dict[str, Any]]]], colours: dict[str, str]) -> bytes | None:
    """Loss per epoch (train solid, validation dashed) and every other validation figure, per model.

    Parameters
    ----------
    history : dict
        ``{model: {seed: [{"epoch", "loss" | "train_loss", "val_loss", "val_<metric>"...}, ...]}}``;
        the first seed is drawn solid, further seeds faint.
    """
    series = {m: seeds for m, seeds in history.items() if any(len(e) for e in seeds.values())}
    if not series:
        return None
    keys = {k for seeds in series.values() for eps in seeds.values() for e in eps for k in e}
    val_metrics = sorted(k for k in keys if k.startswith("val_") and k != "val_loss")
    with styled():
        fig = new_figure(1 + len(val_metrics))
        axes = grid(fig, 1 + len(val_metrics))
        loss_ax = axes[0]
        for model, seeds in series.items():
            for i, (_, epochs) in enumerate(sorted(seeds.items(), key=lambda kv: str(kv[0]))):
                alpha = 1.0 if i == 0 else 0.35
                label = model if i == 0 else None
                ep = [e.get("epoch", j + 1) for j, e in enumerate(epochs)]
                _line(loss_ax, ep, [_train_loss(e) for e in epochs], colours[model], "-", alpha, label)
                _line(loss_ax, ep, [e.get("val_loss") for e in epochs], colours[model], "--", alpha, None)
                for ax, key in zip(axes[1:], val_metrics, strict=True):
                    _line(ax, ep, [e.get(key) for e in epochs], colours[model], "-", alpha, label)
        for ax in axes:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        loss_ax.set_title("loss per epoch (solid: train, dashed: validation)")
        loss_ax.set_xlabel("epoch")
        loss_ax.legend()
        for ax, key in zip(axes[1:], val_metrics, strict=True):
            ax.set_title(f"validation {key.removeprefix('val_').replace('_', ' ')}")
            ax.set_xlabel("epoch")
            if ax.get_legend_handles_labels()[0]:
                ax.legend()
        return to_png(fig)


def _line(ax: Any, x: list, y: list, colour: str, style: str, alpha: float, label: str | None) -> None:
    pts = [(a, b) for a, b in zip(x, y, strict=True) if isinstance(b, int | float) and math.isfinite(b)]
    if pts:
        xs, ys = zip(*pts, strict=True)
        ax.plot(xs, ys, style, color=colour, alpha=alpha, label=label, marker="o", markersize=3)


def metrics_at_k(runs: pl.DataFrame, colours: dict[str, str]) -> bytes | None:
    """One panel per metric family: mean over seeds against K, error bars one std, a line per model."""
    families = [f for f in K_FAMILIES if len(ks_of(runs.columns, f)) >= 1]
    if not families or runs.is_empty():
        return None
    with styled():
        fig = new_figure(len(families), max_cols=4, panel_width=3.6)
        for ax, family in zip(grid(fig, len(families), max_cols=4), families, strict=True):
            ks = ks_of(runs.columns, family)
            for model in _models(runs):
                sub = runs.filter(pl.col("model") == model)
                means = [_nanmean(sub[f"{family}@{k}"]) for k in ks]
                stds = [_nanstd(sub[f"{family}@{k}"]) for k in ks]
                if all(math.isnan(v) for v in means):
                    continue
                ax.errorbar(ks, means, yerr=stds, color=colours[model], marker="o", markersize=3, capsize=2,
                            label=model)
            ax.set_title(f"{family.replace('_', ' ')}@K")
            ax.set_xlabel("K")
            ax.set_xticks(ks)
        figure_legend(fig, fig.axes[0])
        return to_png(fig)


def _nanmean(col: pl.Series) -> float:
    arr = col.cast(pl.Float64).fill_null(float("nan")).to_numpy()
    return float(np.nanmean(arr)) if np.isfinite(arr).any() else float("nan")


def _nanstd(col: pl.Series) -> float:
    arr = col.cast(pl.Float64).fill_null(float("nan")).to_numpy()
    arr = arr[np.isfinite(arr)]
    return float(arr.std(ddof=1)) if len(arr) > 1 else 0.0


def predicted_vs_true(predictions: pl.DataFrame, colours: dict[str, str], label_name: str) -> bytes | None:
    """Per regressing model: distributions of predicted and true labels, and a binned calibration curve."""
    if predictions.is_empty():
        return None
    models = _models(predictions)
    true_all = predictions["true"].to_numpy()
    hi = float(np.quantile(true_all, 0.995)) if len(true_all) else 1.0
    lo = min(0.0, float(true_all.min())) if len(true_all) else 0.0
    hi = max(hi, lo + 1e-6)
    bins = np.linspace(lo, hi, 41)
    with styled():
        fig = new_figure(2 * len(models), max_cols=2, panel_width=4.6)
        axes = grid(fig, 2 * len(models), max_cols=2)
        for j, model in enumerate(models):
            sub = predictions.filter(pl.col("model") == model)
            pred = sub["predicted"].to_numpy()
            true = sub["true"].to_numpy()
            ax = axes[2 * j]
            ax.hist(np.clip(true, lo, hi), bins=bins, histtype="stepfilled", alpha=0.35, color="#777777",
                    label=f"true {label_name}", density=True)
            ax.hist(np.clip(pred, lo, hi), bins=bins, histtype="step", linewidth=1.5, color=colours[model],
                    label="predicted", density=True)
            ax.set_title(f"{model}: distribution ({len(pred):,} test pairs)")
            ax.set_xlabel(label_name)
            ax.legend()
            cal = axes[2 * j + 1]
            edges = np.unique(np.quantile(pred, np.linspace(0, 1, 21)))
            if len(edges) >= 2:
                which = np.clip(np.searchsorted(edges, pred, side="right") - 1, 0, len(edges) - 2)
                counts = np.bincount(which, minlength=len(edges) - 1)
                ok = counts > 0
                mean_pred = np.bincount(which, pred, minlength=len(edges) - 1)[ok] / counts[ok]
                mean_true = np.bincount(which, true, minlength=len(edges) - 1)[ok] / counts[ok]
                cal.plot(mean_pred, mean_true, "o-", color=colours[model], markersize=3, label="binned mean")
            both = np.concatenate([pred, true])
            span = (float(np.quantile(both, 0.01)), float(np.quantile(both, 0.99)))
            cal.plot(span, span, ":", color="#444444", label="perfect calibration")
            cal.set_title(f"{model}: mean true vs predicted (20 quantile bins)")
            cal.set_xlabel(f"predicted {label_name}")
            cal.set_ylabel(f"true {label_name}")
            cal.legend()
        return to_png(fig)


def per_user_histogram(per_user: pl.DataFrame, metric: str, colours: dict[str, str]) -> bytes | None:
    """Histogram of the per-user metric for each model (seeds pooled), mean marked."""
    if per_user.is_empty() or metric not in per_user.columns:
        return None
    models = _models(per_user)
    bins = np.linspace(0.0, 1.0, 21)
    with styled():
        fig = new_figure(len(models), max_cols=3, panel_width=3.6, height=2.8)
        for ax, model in zip(grid(fig, len(models)), models, strict=True):
            vals = per_user.filter(pl.col("model") == model)[metric].drop_nulls().drop_nans().to_numpy()
            ax.hist(np.clip(vals, 0, 1), bins=bins, color=colours[model], alpha=0.8)
            if len(vals):
                ax.axvline(float(vals.mean()), color="#222222", linestyle="--", linewidth=1,
                           label=f"mean {vals.mean():.3f}")
                zero = float((vals == 0).mean())
                ax.set_title(f"{model}: {metric} per user ({zero:.0%} at 0)")
                ax.legend()
            ax.set_xlabel(metric)
            seeds = per_user.filter(pl.col("model") == model)["seed"].n_unique()
            ax.set_ylabel("users" if seeds == 1 else f"users × {seeds} seeds")
        return to_png(fig)


def cold_vs_warm(per_user: pl.DataFrame, metric: str, colours: dict[str, str]) -> bytes | None:
    """Mean per-user metric for cold vs warm users, and by training-activity quartile, per model."""
    if per_user.is_empty() or metric not in per_user.columns:
        return None
    models = _models(per_user)
    has_cold = bool(per_user["cold"].any())
    warm = per_user.filter(~pl.col("cold"))
    n_panels = 2 if has_cold else 1
    with styled():
        fig = new_figure(n_panels, panel_width=5.2)
        axes = grid(fig, n_panels)
        width = 0.8 / max(1, len(models))
        if has_cold:
            ax = axes[0]
            groups = [("warm", per_user.filter(~pl.col("cold"))), ("cold", per_user.filter(pl.col("cold")))]
            for i, model in enumerate(models):
                means, errs = [], []
                for _, frame in groups:
                    vals = frame.filter(pl.col("model") == model)[metric].drop_nulls().drop_nans().to_numpy()
                    means.append(float(vals.mean()) if len(vals) else np.nan)
                    errs.append(_sem(vals))
                ax.bar(np.arange(2) + i * width, means, width, yerr=errs, color=colours[model], label=model,
                       capsize=2)
            n_cold = per_user.filter(pl.col("cold"))["user"].n_unique()
            n_warm = per_user.filter(~pl.col("cold"))["user"].n_unique()
            ax.set_xticks(np.arange(2) + 0.4 - width / 2, [f"warm ({n_warm:,} users)", f"cold ({n_cold:,} users)"])
            ax.set_title(f"{metric}: warm vs cold users (±1 s.e.)")
        ax = axes[-1]
        n_train = warm["n_train"].to_numpy()
        if len(n_train):
            edges = np.unique(np.quantile(n_train, [0, 0.25, 0.5, 0.75, 1.0]))
            if len(edges) < 2:
                edges = np.array([n_train.min(), n_train.min() + 1])
            # Bins are [a, b) except the last, [a, b]: label them with the integers they hold.
            labels = [f"{int(a)}–{int(b) - 1}" for a, b in itertools.pairwise(edges[:-1])]
            labels.append(f"{int(edges[-2])}–{int(edges[-1])}")
            for i, model in enumerate(models):
                sub = warm.filter(pl.col("model") == model)
                which = np.clip(np.searchsorted(edges, sub["n_train"].to_numpy(), side="right") - 1, 0,
                                len(edges) - 2)
                vals = sub[metric].cast(pl.Float64).fill_null(np.nan).to_numpy()
                means = [float(np.nanmean(vals[which == b])) if (which == b).any() else np.nan
                         for b in range(len(labels))]
                errs = [_sem(vals[which == b]) for b in range(len(labels))]
                ax.bar(np.arange(len(labels)) + i * width, means, width, yerr=errs, color=colours[model],
                       label=model, capsize=2)
            ax.set_xticks(np.arange(len(labels)) + 0.4 - width / 2, labels)
            ax.set_xlabel("training interactions of the user (quartile bins)")
            ax.set_title(f"{metric} by user activity (warm users, ±1 s.e.)")
        figure_legend(fig, axes[-1])
        return to_png(fig)


def _sem(vals: np.ndarray) -> float:
    vals = vals[np.isfinite(vals)]
    return float(vals.std(ddof=1) / np.sqrt(len(vals))) if len(vals) > 1 else 0.0


def popularity_bias(runs: pl.DataFrame, k: int, train_share: float | None, colours: dict[str, str]) -> bytes | None:
    """Share of top-K slots taken by the top 1% most-viewed videos, per model, against the training share."""
    col = f"pop_share@{k}"
    if runs.is_empty() or col not in runs.columns:
        return None
    models = [m for m in _models(runs) if not math.isnan(_nanmean(runs.filter(pl.col("model") == m)[col]))]
    if not models:
        return None
    with styled():
        fig = new_figure(1, panel_width=6.5, height=0.9 + 0.38 * len(models))
        fig.subplots_adjust(left=0.2)
        ax = grid(fig, 1)[0]
        y = np.arange(len(models))[::-1]
        for yi, model in zip(y, models, strict=True):
            sub = runs.filter(pl.col("model") == model)[col]
            ax.barh(yi, _nanmean(sub), xerr=_nanstd(sub), color=colours[model], capsize=2, height=0.7)
        if train_share is not None and math.isfinite(train_share):
            ax.axvline(train_share, color="#444444", linestyle=":", label="their share of training views")
            ax.legend(loc="lower right")
        ax.set_yticks(y, models)
        ax.set_xlabel(f"share of top-{k} slots")
        ax.set_title(f"top-{k} slots given to the top 1% most-viewed videos")
        return to_png(fig)


def coverage(runs: pl.DataFrame, colours: dict[str, str]) -> bytes | None:
    """Catalogue coverage@K per model: one bar group per model, one bar per K (darker = larger K)."""
    ks = ks_of(runs.columns, "coverage")
    if runs.is_empty() or not ks:
        return None
    models = _models(runs)
    width = 0.8 / len(ks)
    with styled():
        fig = new_figure(1, panel_width=max(5.0, 0.9 * len(models) + 1.5))
        ax = grid(fig, 1)[0]
        x = np.arange(len(models))
        for j, kk in enumerate(ks):
            col = f"coverage@{kk}"
            alpha = 0.35 + 0.65 * (j + 1) / len(ks)
            for i, model in enumerate(models):
                sub = runs.filter(pl.col("model") == model)[col]
                ax.bar(x[i] + j * width, _nanmean(sub), width, yerr=_nanstd(sub), color=colours[model], alpha=alpha,
                       capsize=2, edgecolor="#333333", linewidth=0.4)
                if i == 0:
                    ax.bar(0, 0, 0, color="#777777", alpha=alpha, label=f"K = {kk}")
        ax.set_xticks(x + 0.4 - width / 2, models)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("share of candidate catalogue")
        ax.set_title("catalogue coverage@K (darker: larger K)")
        figure_legend(fig, ax)
        return to_png(fig)


def all_colours(*frames: pl.DataFrame, extra: list[str] | None = None) -> dict[str, str]:
    """One colour per model across every frame (frames may lack some models)."""
    names: list[str] = []
    for frame in frames:
        if not frame.is_empty() and "model" in frame.columns:
            names.extend(_models(frame))
    names.extend(extra or [])
    return colour_map(list(dict.fromkeys(names)))
