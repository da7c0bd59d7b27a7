"""Which ranking rule the two-tower serves by default, chosen on validation data carved from training.

Usage::

    python benchmarks/two_tower_scoring.py [--kuairec-scale 0.03] [--seeds 0 1 2] [--threads 2]
        [--ml100k DIR] [--skip-ml100k] [--skip-kuairec] [--time-budget S]

For each data set the test split (holdout seed 0; KuaiRec: the fully observed block) is set aside
untouched; from its training part a per-user random 20 % is carved as validation (split seed
``10 + seed``). The default two-tower is fitted on the rest (model seed ``seed``) and every rule
ranks the full catalogue, seen videos excluded: NDCG@10 (relevant: rating >= 4 / watch ratio >= 2)
and, on watch ratios, graded NDCG@10. Rows give mean ± std over seeds and a paired t-test (users x
seeds) of each rule against ``expected``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from _common import find_data, machine_note, print_table, set_threads
from reelrec.data import load_dataset
from reelrec.eval import evaluate, holdout_split, kuairec_split
from reelrec.eval._significance import paired_t_test
from reelrec.models import create_model
from reelrec.synth import write_kuairec

#: Rules compared; ``expected w=1`` is ``expected`` with the watch weight fixed at 1.
RULES = ("expected", "expected w=1", "watch", "retrieval")


def measure(name: str, train, seeds: list[int], budget: float | None) -> list[dict]:
    per_rule: dict[str, dict[str, list[np.ndarray]]] = {r: {} for r in RULES}
    weights = []
    for seed in seeds:
        val = holdout_split(train, test_fraction=0.2, seed=10 + seed)
        model = create_model("two-tower", seed=seed, progress=False, time_budget_s=budget).fit(val.train)
        weights.append(model.watch_weight_)
        tuned = model.watch_weight_
        for rule in RULES:
            model.scoring = "expected" if rule.startswith("expected") else rule
            model.watch_weight_ = 1.0 if rule == "expected w=1" else tuned
            res = evaluate(model, val, ks=(10,))
            for metric in ("ndcg@10", "graded_ndcg@10"):
                if metric in res.per_user:
                    per_rule[rule].setdefault(metric, []).append(np.asarray(res.per_user[metric], np.float64))
        model.watch_weight_ = tuned
    rows = []
    for rule in RULES:
        row: dict = {"data": name, "rule": rule}
        for metric, runs in per_rule[rule].items():
            means = [float(np.nanmean(r)) for r in runs]
            row[metric] = f"{np.mean(means):.4f} ± {np.std(means):.4f}"
            if rule != "expected":
                a = np.concatenate(per_rule["expected"][metric])
                b = np.concatenate(runs)
                ok = np.isfinite(a) & np.isfinite(b)
                row[f"p vs expected ({metric})"] = f"{paired_t_test(a[ok], b[ok])[1]:.3g}"
        rows.append(row)
    print(f"{name}: tuned watch weights {weights}")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kuairec-scale", type=float, default=0.03)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--ml100k")
    ap.add_argument("--skip-ml100k", action="store_true")
    ap.add_argument("--skip-kuairec", action="store_true")
    ap.add_argument("--time-budget", type=float, default=None, help="seconds per training loop (run option)")
    args = ap.parse_args()
    threads = set_threads(args.threads)
    print(f"# two-tower ranking rules on validation ({machine_note(threads)})\n")
    rows: list[dict] = []
    if not args.skip_kuairec:
        with tempfile.TemporaryDirectory() as tmp:
            write_kuairec(Path(tmp), scale=args.kuairec_scale, seed=0)
            train = kuairec_split(load_dataset(tmp)).train
            rows += measure(f"kuairec-synth {args.kuairec_scale}", train, args.seeds, args.time_budget)
    folder = None if args.skip_ml100k else find_data(args.ml100k)
    if folder is not None:
        rows += measure(
            "ml-100k",
            holdout_split(load_dataset(folder), test_fraction=0.2, seed=0).train,
            args.seeds,
            args.time_budget,
        )
    columns = ["data", "rule", "ndcg@10", "graded_ndcg@10", "p vs expected (ndcg@10)", "p vs expected (graded_ndcg@10)"]
    print_table(rows, columns)


if __name__ == "__main__":
    main()
