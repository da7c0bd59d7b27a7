"""``bench --tune``: every model searched alike on validation data carved from each seed's training part."""

from __future__ import annotations

import json
from typing import Any

from reelrec.bench._plan import ModelEntry
from reelrec.bench._table import format_cell
from reelrec.eval import Split
from reelrec.tune import TuneResult, tune


def tune_entry(
    entry: ModelEntry,
    validation: Split,
    seed: int,
    trials: int,
    metric: str,
    threshold: float | None,
    trial_budget_s: float | None,
) -> TuneResult:
    """Tune one bench entry on ``validation``; a seed the caller did not fix follows the bench seed."""
    params = {k: v for k, v in entry.params.items() if k != "seed" or "seed" in entry.fixed}
    return tune(
        entry.cls, validation, trials, params=params, seed=seed, metric=metric, threshold=threshold,
        trial_budget_s=trial_budget_s,
    )


def tuning_record(result: TuneResult) -> dict[str, Any]:
    """What the bench keeps of one tuning run (bench.json ``tuning.models[label][seed]``)."""
    return {
        "chosen": result.chosen,
        "validation_score": result.best_score,
        "seconds": result.seconds,
        "n_trials": len(result.trials),
        "failed_trials": sum(t.error is not None for t in result.trials),
    }


def tuning_info(
    trials: int, metric: str, trial_budget_s: float | None, models: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """``bench.json``'s ``tuning``: the search's settings and, per model label and seed, its record."""
    return {"trials": trials, "metric": metric, "method": "random search", "trial_budget_s": trial_budget_s,
            "models": models}


def tuning_rows(info: dict[str, Any]) -> list[list[str]]:
    """``[model, seed, chosen values, validation score, tune s]`` rows for the tables."""
    rows = []
    for label, per_seed in (info.get("tuning", {}).get("models") or {}).items():
        for seed, rec in per_seed.items():
            values = sorted(rec["chosen"].items())
            chosen = ", ".join(f"{k}={format_value(v)}" for k, v in values)
            chosen = chosen or ("the defaults" if rec["n_trials"] else "(nothing to tune)")
            score = rec.get("validation_score")
            rows.append([label, str(seed), chosen, format_cell(score, None, 4) if score is not None else "–",
                         f"{rec['seconds']:.1f}"])
    return rows


def tuning_markdown(info: dict[str, Any]) -> str:
    """The ``## Tuning`` section of bench.md: how the search ran and what it chose per model and seed."""
    tuning = info.get("tuning") or {}
    if not tuning:
        return ""
    lines = [
        "## Tuning",
        "",
        f"Seeded random search, {tuning['trials']} trials per model and seed (the first: the model's given "
        f"parameters), maximising validation {tuning['metric']} on a split carved from each seed's training part only "
        "(the test split is not read).",
        "",
        f"| model | seed | chosen | validation {tuning['metric']} | tune s |",
        "|---|---:|---|---:|---:|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in tuning_rows(info)]
    return "\n".join(lines) + "\n"


def format_value(value: Any) -> str:
    """A searched value for tables: floats to three significant digits, the rest as JSON."""
    return f"{value:.3g}" if isinstance(value, float) else json.dumps(value)
