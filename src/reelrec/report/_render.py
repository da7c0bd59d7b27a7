"""``render_report``: one self-contained HTML file from a bench directory or a model artifact."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from reelrec._atomic import atomic_write_text
from reelrec.bench import BenchResult
from reelrec.bench._result import describe_protocol
from reelrec.report import _plots
from reelrec.report._html import Section, page, summary_table, table_html
from reelrec.report._sources import load_source
from reelrec.report._watch import watch_section

#: Section ids, in page order (tests and links rely on them).
SECTION_IDS: tuple[str, ...] = (
    "summary",
    "training-curves",
    "metrics-at-k",
    "predicted-vs-true",
    "watch-time",
    "per-user-ndcg",
    "cold-vs-warm",
    "popularity-bias",
    "coverage",
)


def render_report(
    source: str | Path | BenchResult,
    out: str | Path = "report.html",
    *,
    data: str | Path | None = None,
    ks: tuple[int, ...] = (5, 10, 20),
    threshold: float | None = None,
    title: str | None = None,
    on_step: Callable[[str], None] | None = None,
) -> Path:
    """Write a single self-contained HTML report (PNG plots embedded as base64) and return its path.

    Parameters
    ----------
    source : path or BenchResult
        A bench directory (``reelrec bench --out``), a model artifact (``reelrec train --out``), or a
        :class:`~reelrec.bench.BenchResult` in memory.
    out : path
        The HTML file to write (atomically: a reader never sees half a report).
    data : path, optional
        For an artifact: the data it was trained on, to re-evaluate it and draw per-user plots.
    ks, threshold
        Cut-offs and relevance threshold when an artifact is re-evaluated.
    title : str, optional
        Page title (default: names the data and models).
    on_step : callable, optional
        Called with a short description before each slow step (progress display).

    Stability: provisional.
    """
    step = on_step or (lambda _text: None)
    step("reading results")
    bench = source if isinstance(source, BenchResult) else load_source(source, data=data, ks=ks, threshold=threshold)
    sections = build_sections(bench, step)
    info = bench.info
    data_name = info.get("data", {}).get("name", "data")
    kind = "artifact" if info.get("source_kind") == "artifact" else "benchmark"
    heading = title or f"reelrec {kind} report: {data_name}"
    subtitle = f"{len(info.get('models', []))} model(s) · protocol {info.get('protocol', '?')} · " + (
        f"seeds {', '.join(str(s) for s in info.get('seeds', []))}" if info.get("seeds") else "recorded metrics"
    )
    footer = (
        f"Generated {datetime.now(UTC).isoformat(timespec='seconds')} by reelrec "
        f"{info.get('environment', {}).get('reelrec', '')} from {bench.path or 'memory'}."
    )
    document = page(heading, subtitle, sections, footer)
    step("writing")
    return atomic_write_text(Path(out), document)


def build_sections(bench: BenchResult, step: Callable[[str], None] = lambda _t: None) -> list[Section]:
    """Every report section in :data:`SECTION_IDS` order, each with plots or a reason they are missing."""
    info = bench.info
    k = bench.k
    metric = f"ndcg@{k}"
    label_name = str(info.get("data", {}).get("label") or "label")
    colours = _plots.all_colours(bench.runs, bench.per_user, bench.predictions, extra=list(bench.history))
    per_user_missing = (
        "the per-user results are not in this source; give --data DATA to re-evaluate the artifact"
        if info.get("source_kind") == "artifact"
        else "no per-user results were recorded"
    )
    sections = [_summary(bench)]

    step("plotting training curves")
    s = Section(
        "training-curves",
        "Training curves",
        "Loss per epoch on the training data (solid) and on held-out validation data (dashed), and the "
        "validation metric the model tracked. Diverging curves mean over-fitting; flat ones, too small a "
        "learning rate or model.",
    )
    _add(s, _plots.training_curves(bench.history, colours), "training curves",
         "no model recorded a training history (only the neural models do)")
    sections.append(s)

    step("plotting metrics at K")
    s = Section(
        "metrics-at-k",
        "Metrics at K",
        "Each ranking metric at every cut-off K, one line per model (mean over seeds, bars: one standard "
        "deviation). Lines that cross mean the ranking of models depends on K.",
    )
    _add(s, _plots.metrics_at_k(bench.runs, colours), "metrics at K", "no ranking metric was recorded")
    sections.append(s)

    step("plotting predictions")
    s = Section(
        "predicted-vs-true",
        f"Predicted vs true {label_name.replace('_', ' ')}",
        f"For models that predict the {label_name} itself (regressors): the distribution of predictions "
        "against the observed values on test pairs, and the mean observed value per bin of prediction. "
        "A calibrated model follows the dotted diagonal.",
    )
    if bench.predictions.is_empty():
        reason = per_user_missing if info.get("source_kind") == "artifact" and bench.per_user.is_empty() else (
            f"no model in this run predicts the {label_name} (ranking-only models)"
        )
        s.missing = reason
    else:
        _add(s, _plots.predicted_vs_true(bench.predictions, colours, label_name), "predicted vs true", "")
    sections.append(s)

    step("plotting watch-time figures")
    sections.append(watch_section(bench, label_name, colours))

    step("plotting per-user results")
    s = Section(
        "per-user-ndcg",
        f"Per-user NDCG@{k}",
        f"How {metric} is spread over the users scored (seeds pooled). The mean in the table hides whether "
        "a model is mediocre for everyone or excellent for some and useless for others.",
    )
    _add(s, _plots.per_user_histogram(bench.per_user, metric, colours), "per-user histogram", per_user_missing)
    sections.append(s)

    s = Section(
        "cold-vs-warm",
        "Cold vs warm users",
        "Cold users have no training interactions and are scored from their features only; warm users are "
        "also broken down by how many training interactions they have. Bars: one standard error.",
    )
    if not bench.per_user.is_empty() and not bool(bench.per_user["cold"].any()):
        s.add_text(
            "This run held out no cold users (use --cold-users FRACTION with `reelrec bench`), so only the "
            "activity breakdown is shown.",
            "small",
        )
    _add(s, _plots.cold_vs_warm(bench.per_user, metric, colours), "cold vs warm", per_user_missing)
    sections.append(s)

    step("plotting popularity bias")
    pop = info.get("popularity", {}) or {}
    s = Section(
        "popularity-bias",
        "Popularity bias",
        f"Share of the top-{k} recommendation slots given to the {pop.get('n_top', '1%')} most-viewed videos "
        "(the top 1% of the candidate catalogue by training viewers). The dotted line is their share of "
        "training views: far above it, a model amplifies popularity; near 1%, it ignores it.",
    )
    _add(s, _plots.popularity_bias(bench.runs, k, pop.get("train_share"), colours), "popularity bias",
         "recommendations were not recorded for this source (give --data DATA for an artifact)")
    if f"pop_share@{k}" in bench.runs.columns:
        s.add_html(_metric_table(bench, "pop_share"))
    sections.append(s)

    s = Section(
        "coverage",
        "Coverage",
        "Share of the candidate catalogue that appears in at least one user's top K. Low coverage means "
        "many videos are never shown, whatever their quality.",
    )
    _add(s, _plots.coverage(bench.runs, colours), "coverage", "coverage was not recorded for this source")
    if any(c.startswith("coverage@") for c in bench.runs.columns):
        s.add_html(_metric_table(bench, "coverage"))
    sections.append(s)
    return sections


def _add(section: Section, png: bytes | None, alt: str, missing: str) -> None:
    if png is None:
        section.missing = missing
    else:
        section.add_image(png, alt)


def _summary(bench: BenchResult) -> Section:
    info = bench.info
    s = Section(
        "summary",
        "Summary",
        "Every model trained and evaluated on the same split(s) with the same metrics. Cells show the mean "
        "± sample standard deviation over seeds; the best value of each column is highlighted (↑ higher "
        "is better, ↓ lower is better).",
    )
    for warning in info.get("warnings", []):
        s.add_text(warning, "missing")
    for note in info.get("notes", []):
        s.add_text(note, "note")
    if info.get("protocol") and info.get("ks"):
        s.add_html(f"<p>{_md_bold(describe_protocol(info))}</p>")
    if bench.runs.is_empty():
        s.missing = "no results"
        return s
    s.add_html(summary_table(bench.summary(), bench.columns()))
    method = info.get("memory_method")
    if method:
        s.add_text(f"Peak RSS Δ: growth of the process's resident memory during fit, measured in-process "
                   f"({method}); a lower bound for a fresh process.", "small")
    sig = bench.significance
    if sig is not None:
        s.add_html(f"<p><strong>Significance.</strong> {html.escape(sig.sentence())}</p>")
    elif info.get("significance", {}).get("note"):
        s.add_text(f"Significance: {info['significance']['note']}")
    failures = info.get("failures") or []
    if failures:
        lines = [f"{f['model']} (seed {f['seed']}): {f['error']}" for f in failures]
        items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
        s.add_html(f"<p><strong>Failed runs</strong></p><ul>{items}</ul>")
    s.add_html(_data_table(info))
    return s


def _md_bold(text: str) -> str:
    """Escape ``text`` and turn ``**x**`` into ``<strong>x</strong>`` (the protocol sentence uses it)."""
    parts = html.escape(text).split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))


def _data_table(info: dict[str, Any]) -> str:
    summary = info.get("data", {}).get("summary", {}) or {}
    split = info.get("split", {}) or {}
    facts: list[tuple[str, Any]] = [
        ("data", info.get("data", {}).get("path") or info.get("data", {}).get("name")),
        ("source", summary.get("source")),
        ("users", summary.get("users")),
        ("videos", summary.get("items")),
        ("interactions", summary.get("interactions")),
        ("train rows", split.get("train_rows")),
        ("test rows", split.get("test_rows")),
        ("test users", split.get("test_users")),
        ("cold users", split.get("cold_users")),
        ("candidate catalogue", split.get("catalogue")),
        ("threshold", info.get("threshold")),
    ]
    env = info.get("environment", {}) or {}
    if env:
        facts.append(("machine", f"{env.get('cpu_count')} CPUs, torch {env.get('torch')}, {env.get('platform')}"))
    if info.get("wall_seconds") is not None:
        facts.append(("bench wall time", f"{info['wall_seconds']:.1f} s"))
    rows = [[(name, False), (_fmt(value), False)] for name, value in facts if value is not None]
    return "<details><summary>Data, split and machine</summary>" + table_html(["fact", "value"], rows) + "</details>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _metric_table(bench: BenchResult, family: str) -> str:
    cols = [c for c in bench.runs.columns if c.startswith(f"{family}@")]
    cols.sort(key=lambda c: int(c.split("@")[1]))
    agg = bench.runs.group_by("model", maintain_order=True).agg(
        [pl.col(c).cast(pl.Float64).fill_nan(None).mean().alias(c) for c in cols]
    )
    rows = [
        [(rec["model"], False), *((("–" if rec[c] is None else f"{rec[c]:.3f}"), False) for c in cols)]
        for rec in agg.iter_rows(named=True)
    ]
    return table_html(["model", *cols], rows)
