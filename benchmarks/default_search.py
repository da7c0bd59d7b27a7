"""Choosing the default model: every model tuned with equal trials on validation, side by side per data kind.

Usage::

    python benchmarks/default_search.py DATA [--seeds 0 1 2] [--trials 8] [--models hybrid ease ...]
        [--kuairec-dirs DIR ...] [--test] [--cold 0.2] [--hybrid-param name=value] [--threads 1]

``DATA`` is ``ml100k`` (holdout 80/20 per user, relevance >= 4 and relevance = any), ``kuairec``
(folders from ``reelrec synth``, one per seed, given with ``--kuairec-dirs``; kuairec protocol:
train on the big matrix, rank the small block), ``impressions`` or ``plays`` (the independent worlds
of ``benchmarks/worlds.py``, generated per seed). Choices are made on validation only: a holdout
carved from the training part (80/20 per user). Holdout data are judged on full-catalogue rankings;
kuairec-shaped data on each validation user's held-out views ranked among themselves (the big
matrix is an impression log, so this is the closest the training data come to the fully observed
block). Every baseline gets ``--trials`` configurations from its declared grid
(``search_baselines.SPACES``); ``hybrid`` gets one, its own automatic choices happening inside
``fit`` on a sub-holdout. The test split is touched only with ``--test``, once per model, for the
configuration validation chose: mean +- std over seeds and a paired t-test over users (pooled seeds)
against ``hybrid``. ``--cold`` moves a share of the test users' training rows out (they are ranked
from their features only) and adds ``cold_ndcg@10`` to the test table.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from _common import dump, find_data, machine_note, parse_params, print_table, set_threads
from reelrec.data import load_dataset
from reelrec.data._dataset import Dataset
from reelrec.eval import Split, evaluate, holdout_split, kuairec_split
from reelrec.models import Recommender
from reelrec.models._hybrid_valid import impression_ndcg
from search_baselines import SPACES, build, trials
from worlds import WORLDS

MODELS = ["hybrid", "ease", "itemknn", "mf", "ials", "item-mean", "popularity"]
#: Relevance settings per data kind: (label, threshold for ``evaluate``; 0.5 = any rating or play).
RELEVANCE: dict[str, list[tuple[str, float | None]]] = {
    "ml100k": [(">=4", 4.0), ("any", 0.5)],
    "kuairec": [(">=2", 2.0)],
    "impressions": [(">=2", 2.0)],
    "plays": [("any", 0.5)],
}


@dataclass
class Case:
    """One seed of one data kind: the test split and the validation split carved from its training part."""

    seed: int
    test: Split
    valid: Split
    impressions: bool
    fits: dict[str, float] = field(default_factory=dict)


def make_cases(
    kind: str, seeds: list[int], kuairec_dirs: list[str] | None, data: str | None, cold: float = 0.0
) -> list[Case]:
    cases = []
    for n, seed in enumerate(seeds):
        if kind == "ml100k":
            folder = find_data(data)
            if folder is None:
                raise SystemExit("MovieLens-100K not found (--data, $REELREC_ML100K or ../shared/data/ml-100k)")
            ds: Dataset = load_dataset(folder)
        elif kind == "kuairec":
            if not kuairec_dirs or len(kuairec_dirs) <= n:
                raise SystemExit("--kuairec-dirs needs one `reelrec synth` folder per seed")
            ds = load_dataset(kuairec_dirs[n])
        else:
            ds = WORLDS[kind](seed=seed)
        if ds.fully_observed is not None:
            test = kuairec_split(ds, cold_user_fraction=cold, seed=seed)
        else:
            test = holdout_split(ds, 0.2, seed=seed, cold_user_fraction=cold)
        valid = holdout_split(test.train, 0.2, seed=1000 + seed)
        cases.append(Case(seed, test, valid, impressions=test.protocol == "kuairec"))
    return cases


def impression_scores(model: Recommender, split: Split, threshold: float) -> dict[str, float]:
    """NDCG@10 of each validation user's held-out views ranked among themselves (binary and graded)."""
    held = split.test
    users = np.unique(held.user)
    row_of = np.full(split.train.n_users, -1, np.int64)
    row_of[users] = np.arange(len(users))
    score = np.empty(len(held), np.float32)
    for lo in range(0, len(users), 1024):
        batch = users[lo : lo + 1024]
        block = model.score_users(batch)
        rows = np.flatnonzero(np.isin(held.user, batch))
        score[rows] = block[row_of[held.user[rows]] - lo, held.item[rows]]
    rows = row_of[held.user].astype(np.int32)
    binary = (held.label >= threshold).astype(np.float64)
    graded = np.clip(held.label.astype(np.float64), 0.0, 5.0)
    return {"ndcg@10": impression_ndcg(rows, score, binary), "graded_ndcg@10": impression_ndcg(rows, score, graded)}


def validate(name: str, params: dict[str, Any], case: Case, threshold: float | None) -> tuple[dict[str, float], float]:
    model = build(name, params)
    start = time.perf_counter()
    model.fit(case.valid.train)
    fit_s = time.perf_counter() - start
    if case.impressions:
        return impression_scores(model, case.valid, threshold or 2.0), fit_s
    metrics = evaluate(model, case.valid, ks=(10,), threshold=threshold).metrics
    return {"ndcg@10": metrics["ndcg@10"]}, fit_s


def tune(name: str, budget: int, cases: list[Case], threshold: float | None) -> tuple[dict[str, Any], list[dict]]:
    """Every trial on every seed's validation split; the configuration with the best mean NDCG@10."""
    log = []
    for params in trials(name, budget):
        per_seed = [validate(name, params, case, threshold) for case in cases]
        scores = [m["ndcg@10"] for m, _ in per_seed]
        row = {"params": params, "ndcg@10": float(np.mean(scores)), "std": float(np.std(scores))}
        row["fit s"] = float(np.mean([s for _, s in per_seed]))
        if "graded_ndcg@10" in per_seed[0][0]:
            row["graded_ndcg@10"] = float(np.mean([m["graded_ndcg@10"] for m, _ in per_seed]))
        print(f"  valid {name} {dump(params)}: {dump(row)}", flush=True)
        log.append(row)
    best = max(log, key=lambda r: r["ndcg@10"])
    return best["params"], log


def test_once(name: str, params: dict[str, Any], cases: list[Case], threshold: float | None) -> dict[str, Any]:
    """Fit the chosen configuration on each seed's training part and score the test split once."""
    per_seed, per_user, fit_s = [], [], []
    for case in cases:
        model = build(name, params)
        start = time.perf_counter()
        model.fit(case.test.train)
        fit_s.append(time.perf_counter() - start)
        res = evaluate(model, case.test, ks=(10,), threshold=threshold)
        per_seed.append(res.metrics)
        per_user.append(res.per_user["ndcg@10"][~res.cold])
    out: dict[str, Any] = {"per_user": np.concatenate(per_user), "fit s": float(np.mean(fit_s))}
    for key in ("ndcg@10", "truth_graded_ndcg@10", "cold_ndcg@10"):
        if key in per_seed[0]:
            vals = [m[key] for m in per_seed]
            out[key] = f"{np.mean(vals):.4f} ± {np.std(vals):.4f}"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kind", choices=sorted(RELEVANCE))
    ap.add_argument("--data", help="ml100k folder (default: $REELREC_ML100K or ../shared/data/ml-100k)")
    ap.add_argument("--kuairec-dirs", nargs="+", help="one `reelrec synth` folder per seed")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--models", nargs="+", default=MODELS)
    ap.add_argument("--test", action="store_true", help="also score the chosen configurations on test, once")
    ap.add_argument("--hybrid-param", action="append", help="hybrid hyperparameter, name=value (experiments)")
    ap.add_argument("--cold", type=float, default=0.0, help="share of test users scored from features only")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    threads = set_threads(args.threads)
    SPACES["hybrid"] = [parse_params(args.hybrid_param)]
    print(f"# default search on {args.kind}, seeds {args.seeds}, {args.trials} trials ({machine_note(threads)})")
    cases = make_cases(args.kind, args.seeds, args.kuairec_dirs, args.data, args.cold)
    print(f"# {dump(cases[0].test.summary())}")
    for rel_name, threshold in RELEVANCE[args.kind]:
        print(f"\n## relevance {rel_name}: validation (mean over seeds of the best trial)\n", flush=True)
        chosen, rows = {}, []
        for name in args.models:
            params, log = tune(name, args.trials, cases, threshold)
            best = max(log, key=lambda r: r["ndcg@10"])
            chosen[name] = params
            rows.append({"model": name, "trials": len(log), "params": dump(params), **{
                k: best[k] for k in ("ndcg@10", "std", "graded_ndcg@10", "fit s") if k in best}})
        print_table(rows, ["model", "trials", "params", "ndcg@10", "std", "graded_ndcg@10", "fit s"])
        if not args.test:
            continue
        print(f"\n## relevance {rel_name}: TEST, once, the configurations chosen above\n", flush=True)
        results = {name: test_once(name, chosen[name], cases, threshold) for name in args.models}
        ref = results.get("hybrid")
        rows = []
        for name, res in results.items():
            row = {"model": name, **{k: v for k, v in res.items() if k != "per_user"}}
            if ref is not None and name != "hybrid":
                ok = np.isfinite(ref["per_user"]) & np.isfinite(res["per_user"])
                p = stats.ttest_rel(ref["per_user"][ok], res["per_user"][ok]).pvalue
                row["p vs hybrid"] = f"{p:.2g}" if p > 0 else "<1e-300"
            rows.append(row)
        print_table(rows, ["model", "ndcg@10", "truth_graded_ndcg@10", "cold_ndcg@10", "p vs hybrid", "fit s"])


if __name__ == "__main__":
    main()
