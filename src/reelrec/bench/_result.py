"""What a benchmark produces, in memory and on disk: the bench directory format.

Layout of a bench directory (format version 1)::

    OUT/
      bench.json         configuration, protocol, data summary, summary and watch-time tables, best, significance
      bench.md           the table in Markdown (best per column in bold) plus the protocol and watch-time tables
      bench.csv          both tables: <column>_mean, <column>_std per model, and which columns it wins
      runs.parquet       one row per (model, seed): every metric at every K, timings, memory, duration edges
      per_user.parquet   one row per (model, seed, scored user): per-user metrics, training size, cold flag
      predictions.parquet  regressing models: predicted vs observed label on (a sample of) test pairs
      history.json       neural models: training history per epoch, per seed
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from reelrec.bench._table import Column, best_models, summarize, to_csv_frame, to_markdown
from reelrec.bench._tuning import tuning_markdown
from reelrec.errors import ReelrecError
from reelrec.eval._significance import PairedTest

FORMAT = "reelrec-bench"
FORMAT_VERSION = 1

#: Metric families in table order; anything else evaluation reports follows them.
FAMILY_ORDER = (
    "ndcg",
    "cold_ndcg",
    "graded_ndcg",
    "truth_graded_ndcg",
    "precision",
    "recall",
    "map",
    "hitrate",
    "hit_rate",
    "coverage",
    "mae",
    "rmse",
    "xauc",
    "xgauc",
    "truth_mae",
    "truth_rmse",
    "pop_share",
)
_HEADERS = {
    "ndcg": "NDCG",
    "cold_ndcg": "cold NDCG",
    "graded_ndcg": "gNDCG",
    "truth_graded_ndcg": "truth gNDCG",
    "precision": "P",
    "recall": "R",
    "map": "MAP",
    "hitrate": "HR",
    "hit_rate": "HR",
    "coverage": "Cov",
    "mae": "MAE",
    "rmse": "RMSE",
    "xauc": "XAUC",
    "xgauc": "XGAUC",
    "xauc_time": "XAUC time",
    "xgauc_time": "XGAUC time",
    "truth_mae": "truth MAE",
    "truth_rmse": "truth RMSE",
    "pop_share": "top-1% share",
}
#: Cost columns appended to every table.
COST_COLUMNS = (
    Column("fit_seconds", "train s", 2),
    Column("recommend_seconds", "recommend s", 3),
    Column("peak_rss_mib", "in-process peak RSS Δ MiB", 1),
    Column("tune_seconds", "tune s", 1),
)
_K_RE = re.compile(r"^(?P<family>[a-z_0-9]+)@(?P<k>\d+)$")
_NON_METRIC = {
    "model",
    "seed",
    "fit_seconds",
    "recommend_seconds",
    "predict_seconds",
    "peak_rss_mib",
    "tune_seconds",
    "n_users",
    "n_cold_users",
    "duration_edges",
}
#: Watch-time detail (KuaiRec-style data): its own tables, so the main one stays readable.
WATCH_TIME_COLUMNS = ("xauc_time", "xgauc_time")
_BUCKET_RE = re.compile(r"^(?P<error>mae|rmse)_dur_q(?P<q>\d+)$")


class BenchFormatError(ReelrecError, ValueError):
    """A bench directory is missing files or is of another version, or an output directory is not one."""


def split_metric(column: str) -> tuple[str, int | None]:
    """``"ndcg@10"`` -> ``("ndcg", 10)``; ``"rmse"`` -> ``("rmse", None)``."""
    m = _K_RE.match(column)
    return (m["family"], int(m["k"])) if m else (column, None)


def is_watch_detail(column: str) -> bool:
    """Watch time XAUC/XGAUC and errors by duration bucket: shown in the watch-time tables, not the main one."""
    return column in WATCH_TIME_COLUMNS or _BUCKET_RE.match(column) is not None


def watch_columns(columns: list[str]) -> list[str]:
    """The watch-time detail columns present: XAUC/XGAUC on watch time, then MAE and RMSE by bucket."""
    def key(col: str) -> tuple[bool, int]:
        m = _BUCKET_RE.match(col)
        assert m is not None  # only bucket columns are sorted with this key
        return m["error"] != "mae", int(m["q"])

    buckets = sorted((c for c in columns if _BUCKET_RE.match(c)), key=key)
    return [c for c in WATCH_TIME_COLUMNS if c in columns] + buckets


def metric_columns(columns: list[str], k: int | None = None) -> list[str]:
    """Metric columns in table order; only those at cutoff ``k`` (plus K-free ones) when ``k`` is given."""
    # Of the cold-user figures only NDCG makes the table; the report breaks the rest down.
    found = [
        c
        for c in columns
        if c not in _NON_METRIC
        and not is_watch_detail(c)
        and (not c.startswith("cold_") or c.startswith("cold_ndcg@"))
    ]

    def key(col: str) -> tuple[int, str, int]:
        family, kk = split_metric(col)
        rank = FAMILY_ORDER.index(family) if family in FAMILY_ORDER else len(FAMILY_ORDER)
        return rank, family, kk or 0

    keep = [c for c in found if k is None or split_metric(c)[1] in (None, k)]
    return sorted(keep, key=key)


def header_for(column: str) -> str:
    bucket = _BUCKET_RE.match(column)
    if bucket:
        return f"{_HEADERS[bucket['error']]} q{bucket['q']}"
    family, k = split_metric(column)
    name = _HEADERS.get(family, family)
    return f"{name}@{k}" if k is not None else name


@dataclass
class BenchResult:
    """A finished benchmark: tables in memory, readable back from its directory.

    Attributes
    ----------
    info : dict
        JSON-friendly facts: ``protocol``, ``ks``, ``k`` (the table's cutoff), ``seeds``, ``models``,
        ``data``, ``significance``, ``memory_method``, ``popularity``, ``failures``...
    runs : polars.DataFrame
        One row per successful (model, seed).
    per_user : polars.DataFrame
        One row per (model, seed, scored user).
    predictions : polars.DataFrame
        Regressing models only: ``model, seed, user, item, predicted, true``.
    history : dict
        ``{model: {seed (str): [epoch dicts]}}`` for models that record ``history_``.
    path : Path or None
        Where the result was written or read from.
    """

    info: dict[str, Any]
    runs: pl.DataFrame
    per_user: pl.DataFrame = field(default_factory=pl.DataFrame)
    predictions: pl.DataFrame = field(default_factory=pl.DataFrame)
    history: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    path: Path | None = None

    # ------------------------------------------------------------- the table
    @property
    def k(self) -> int:
        return int(self.info.get("k", 10))

    @property
    def primary_metric(self) -> str:
        return str(self.info.get("primary_metric", f"ndcg@{self.k}"))

    def columns(self, k: int | None = None) -> list[Column]:
        """Table columns: every metric at ``k`` (default: the bench's K), then the costs."""
        kk = self.k if k is None else k
        metrics = [c for c in metric_columns(self.runs.columns, kk) if self._has_values(c)]
        costs = [c for c in COST_COLUMNS if c.key in self.runs.columns]
        return [Column(c, header_for(c)) for c in metrics] + costs

    def watch_columns(self) -> list[Column]:
        """Watch-time detail columns with a value: XAUC/XGAUC on watch time, MAE and RMSE by duration quintile."""
        return [Column(c, header_for(c)) for c in watch_columns(self.runs.columns) if self._has_values(c)]

    def watch_summary(self) -> pl.DataFrame:
        """Mean and std over seeds per model for :meth:`watch_columns` (empty without them)."""
        cols = self.watch_columns()
        return summarize(self.runs, [c.key for c in cols]) if cols else pl.DataFrame()

    def duration_edges(self) -> dict[int, list[float]]:
        """Video-duration quintile edges of the test views, per seed (empty when the data has no durations)."""
        if "duration_edges" not in self.runs.columns:
            return {}
        out: dict[int, list[float]] = {}
        for seed, edges in self.runs.select("seed", "duration_edges").iter_rows():
            if edges:
                out.setdefault(int(seed), [float(e) for e in edges])
        return out

    def _has_values(self, column: str) -> bool:
        values = self.runs[column].cast(pl.Float64).fill_nan(None)
        return values.null_count() < len(values)

    def summary(self, k: int | None = None) -> pl.DataFrame:
        """Mean and std over seeds per model for :meth:`columns`."""
        if self.runs.is_empty():
            return pl.DataFrame({"model": [], "runs": []}, schema={"model": pl.String, "runs": pl.Int32})
        return summarize(self.runs, [c.key for c in self.columns(k)])

    def best(self, k: int | None = None) -> dict[str, list[str]]:
        return best_models(self.summary(k), [c.key for c in self.columns(k)])

    @property
    def significance(self) -> PairedTest | None:
        sig = self.info.get("significance")
        if not sig or "t_statistic" not in sig:
            return None
        fields = PairedTest.__dataclass_fields__
        return PairedTest(**{k: v for k, v in sig.items() if k in fields})

    def markdown(self) -> str:
        """The bench as a Markdown document: table, significance, protocol, notes."""
        info = self.info
        cols = self.columns()
        lines = [f"# Benchmark: {info.get('data', {}).get('name', 'data')}", ""]
        lines.append(describe_protocol(info))
        lines.append("")
        lines.append(to_markdown(self.summary(), cols))
        lines.append(
            f"Mean ± sample std over {len(info.get('seeds', []))} seed(s); best per column in **bold** "
            "(↑ higher is better, ↓ lower is better)."
        )
        lines.append(f"Peak RSS Δ: growth of this process's resident memory during `fit`, in-process "
                     f"({info.get('memory_method', 'unknown method')}); a lower bound for a fresh process.")
        lines.append(f"Top-1% share: share of top-{self.k} slots given to the 1% most-viewed training videos "
                     f"({_fmt_share(info.get('popularity', {}).get('train_share'))} of training views go to them).")
        lines.append("")
        lines.append("## Significance")
        lines.append("")
        sig = self.significance
        lines.append(sig.sentence() if sig else str(info.get("significance", {}).get("note", "not computed")))
        lines += self._watch_markdown()
        if info.get("tuning"):
            lines += ["", tuning_markdown(info).rstrip()]
        failures = info.get("failures") or []
        if failures:
            lines += ["", "## Failures", ""]
            lines += [f"- {f['model']} (seed {f['seed']}): {f['error']}" for f in failures]
        if len(info.get("ks", [])) > 1:
            lines += ["", "## Every cutoff", ""]
            for kk in info["ks"]:
                if kk == self.k:
                    continue
                lines += [f"### K = {kk}", "", to_markdown(self.summary(kk), self.columns(kk))]
        return "\n".join(lines).rstrip() + "\n"

    def _watch_markdown(self) -> list[str]:
        cols = self.watch_columns()
        if not cols:
            return []
        edges = self.duration_edges()
        lines = ["", "## Watch time", ""]
        if edges:
            lines.append(
                "Errors by video-duration quintile (q1 = shortest fifth of the test views; a view on an inner "
                "edge goes to the upper bucket). Edges, in the data's `video_duration` units: "
                + "; ".join(f"seed {s}: " + ", ".join(f"{e:g}" for e in v) for s, v in edges.items())
                + "."
            )
        if any(c.key in WATCH_TIME_COLUMNS for c in cols):
            lines.append("XAUC/XGAUC time: the same pairs ordered by watch time in seconds (ratio × duration).")
        lines.append("")
        lines.append(to_markdown(self.watch_summary(), cols))
        return lines

    def to_json(self) -> dict[str, Any]:
        """The summary in JSON form (``--json``): info plus the table rows, the winners and the watch-time table."""
        # Strict JSON: NaN and infinities become null (json.dumps would write bare NaN).
        watch = self.watch_summary()
        return _jsonable({
            **self.info,
            "table": self.summary().to_dicts(),
            "best": self.best(),
            "watch_table": watch.to_dicts(),
            "duration_edges": {str(s): e for s, e in self.duration_edges().items()},
        })

    # ------------------------------------------------------------- disk
    def write(self, out: str | Path) -> Path:
        """Write the bench directory ``out`` (created if needed; only a bench directory is overwritten)."""
        out = check_out_dir(out)
        out.mkdir(parents=True, exist_ok=True)
        files = {
            "bench.json": "configuration, protocol, summary, significance",
            "bench.md": "the table in Markdown",
            "bench.csv": "the table and the watch-time columns: mean and std per column",
            "runs.parquet": "one row per (model, seed)",
            "per_user.parquet": "per-user metrics, training size and cold flag",
            "predictions.parquet": "predicted vs observed labels of regressing models",
            "history.json": "training history per epoch of neural models",
        }
        self.info["files"] = files
        self.runs.write_parquet(out / "runs.parquet")
        self.per_user.write_parquet(out / "per_user.parquet")
        self.predictions.write_parquet(out / "predictions.parquet")
        _write_json(out / "history.json", {"models": self.history})
        cols = self.columns() + self.watch_columns()
        if not self.runs.is_empty():
            csv = to_csv_frame(summarize(self.runs, [c.key for c in cols]), cols)
        else:
            csv = to_csv_frame(self.summary(), cols)
        csv.write_csv(out / "bench.csv", float_precision=6)
        (out / "bench.md").write_text(self.markdown())
        _write_json(out / "bench.json", {"format": FORMAT, "format_version": FORMAT_VERSION, **self.to_json()})
        self.path = out
        return out

    @classmethod
    def read(cls, path: str | Path) -> BenchResult:
        """Read a bench directory written by :meth:`write`."""
        path = Path(path)
        meta_path = path / "bench.json"
        if not meta_path.exists():
            raise BenchFormatError(f"{path}: not a bench directory (bench.json is missing)")
        try:
            info = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise BenchFormatError(f"{meta_path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if info.get("format") != FORMAT or info.get("format_version") != FORMAT_VERSION:
            raise BenchFormatError(
                f"{meta_path}: format {info.get('format')!r} version {info.get('format_version')!r} is not "
                f"supported (expected {FORMAT!r} version {FORMAT_VERSION})"
            )
        for key in ("format", "format_version", "table", "best", "watch_table", "duration_edges"):
            info.pop(key, None)
        frames = {}
        for name in ("runs", "per_user", "predictions"):
            fpath = path / f"{name}.parquet"
            if not fpath.exists():
                raise BenchFormatError(f"{path}: {fpath.name} is missing")
            frames[name] = pl.read_parquet(fpath)
        history = {}
        if (path / "history.json").exists():
            history = json.loads((path / "history.json").read_text()).get("models", {})
        return cls(info=info, history=history, path=path, **frames)


def check_out_dir(out: str | Path) -> Path:
    """``out`` as a Path if a benchmark may be written there: new, empty, or an earlier bench directory."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BenchFormatError(f"{out} exists and is not a directory; give --out a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / "bench.json").exists():
        raise BenchFormatError(f"{out} is not empty and holds no bench.json; refusing to write a benchmark into it")
    return out


def _fmt_share(value: Any) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, int | float) and math.isfinite(value) else "?"


def describe_protocol(info: dict[str, Any]) -> str:
    """One paragraph saying exactly how the numbers were measured."""
    proto = info.get("protocol", "?")
    ks = ", ".join(str(k) for k in info.get("ks", []))
    threshold = info.get("threshold")
    seeds = info.get("seeds", [])
    parts = [f"Protocol **{proto}**"]
    if proto == "kuairec":
        parts.append("train on the big matrix, rank the fully observed block's videos for its users")
    elif proto in ("holdout", "temporal"):
        frac = info.get("test_fraction", 0.2)
        how = "latest" if proto == "temporal" else "random"
        parts.append(
            f"per user, the {how} {frac:.0%} of interactions are test; every training item ranked, seen items excluded"
        )
    if info.get("cold_user_fraction"):
        parts.append(f"{info['cold_user_fraction']:.0%} of test users held out as cold")
    parts.append(f"K = {ks}; relevance threshold {threshold if threshold is not None else 'protocol default'}")
    parts.append(f"seeds {', '.join(str(s) for s in seeds)} (split and model init)")
    if info.get("fast"):
        parts.append("**fast** hyperparameters (smoke test, not tuned)")
    if info.get("tuning"):
        tuning = info["tuning"]
        parts.append(f"every model tuned alike: {tuning['trials']} random-search trials per seed on validation "
                     f"{tuning['metric']} (see Tuning)")
    return "; ".join(parts) + "."


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(_jsonable(obj), indent=2, sort_keys=True) + "\n")


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, str | int | float | bool) or obj is None:
        return obj
    return str(obj)
