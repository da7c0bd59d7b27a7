"""KuaiRec-protocol quality: the two-tower against the baselines on (synthetic) KuaiRec data.

Usage::

    python benchmarks/quality_kuairec.py DATA_DIR [--models two-tower mf ...] [--param name=value ...]
        [--cold 0.1] [--threads 1]

``DATA_DIR`` holds KuaiRec 2.0 files (e.g. ``reelrec synth DATA_DIR --scale 0.25``). Protocol: train on
the big matrix; score the small-block users over the small-block videos (every pair observed, none in
training); relevant = watch_ratio >= 2; graded NDCG uses the clipped watch ratio, and on synthetic
data also the planted noise-free truth (``truth_graded_ndcg@10``). With ``--cold`` a share of the
block users lose their big-matrix rows and are scored from their features only.
"""

from __future__ import annotations

import argparse
import sys
import time

from _common import dump, machine_note, parse_params, print_table, set_threads
from reelrec.data import load_dataset
from reelrec.eval import evaluate, kuairec_split
from reelrec.models import create_model

MODELS = ["two-tower", "mf", "item-mean", "popularity", "seed"]
COLUMNS = ["model", "ndcg@10", "graded_ndcg@10", "truth_graded_ndcg@10", "rmse", "truth_rmse", "fit s"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--models", nargs="+", default=MODELS)
    ap.add_argument("--param", action="append", help="two-tower hyperparameter, name=value")
    ap.add_argument("--cold", type=float, default=0.0, help="share of block users made cold")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    threads = set_threads(args.threads)
    start = time.perf_counter()
    ds = load_dataset(args.data)
    print(f"# KuaiRec protocol on {ds.n_users} users x {ds.n_items} videos, {len(ds.interactions):,} rows")
    print(f"# loaded in {time.perf_counter() - start:.1f}s; {machine_note(threads)}\n")
    split = kuairec_split(ds, cold_user_fraction=args.cold, seed=args.seed)
    params = parse_params(args.param)
    rows = []
    for name in args.models:
        kwargs = {"seed": args.seed, "progress": False, **params} if name == "two-tower" else {}
        if name == "seed":
            kwargs = {"progress": False, "seed": args.seed}
        model = create_model(name, **kwargs)
        start = time.perf_counter()
        model.fit(split.train)
        fit_s = time.perf_counter() - start
        metrics = evaluate(model, split, ks=(10,)).metrics
        row = {"model": name, **{c: metrics.get(c) for c in COLUMNS[1:-1]}, "fit s": round(fit_s, 1)}
        if args.cold:
            row.update({k: v for k, v in metrics.items() if k.startswith("cold_") and k.endswith("@10")})
        rows.append(row)
        if name == "two-tower":
            detail = {"best_epoch": model.best_epoch_, "watch_weight": model.watch_weight_, **model.options_}
            detail["residual_lambda"] = model.residual_lambda_
            for mode in ("retrieval", "watch", "expected"):
                model.scoring = mode
                m = evaluate(model, split, ks=(10,)).metrics
                detail[mode] = [round(m["ndcg@10"], 4), round(m["truth_graded_ndcg@10"], 4)]
            print(f"two-tower {dump(params)}: {dump(detail)}", file=sys.stderr)
        print(f"{name}: {dump(row)}", file=sys.stderr)
    cols = COLUMNS + sorted({k for r in rows for k in r if k.startswith("cold_")})
    print_table(rows, cols)


if __name__ == "__main__":
    main()
