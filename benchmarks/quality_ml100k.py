"""MovieLens-100K quality: the two-tower against every baseline, under the reference protocol.

Usage::

    python benchmarks/quality_ml100k.py [--data DIR] [--seed 0] [--models two-tower ease ...]
        [--param name=value ...] [--threads 1]

Protocol (the evaluation reference): users with fewer than 5 ratings dropped; per user a seeded random
20 % of ratings go to test; every item rated in training is a candidate, minus the user's own
training items (full ranking); relevant = test rating >= 4; metrics averaged over users with a
relevant test item. ``--param`` sets two-tower hyperparameters. The data is read from ``--data``,
``$REELREC_ML100K`` or ``../shared/data/ml-100k`` beside the checkout (never copied into the repo);
the script exits cleanly when it is absent.
"""

from __future__ import annotations

import argparse
import sys
import time

from _common import dump, find_data, machine_note, parse_params, print_table, set_threads
from reelrec.data import load_dataset
from reelrec.eval import evaluate, holdout_split
from reelrec.models import create_model

#: NDCG@10 anchors of the evaluation reference (seed-0 split, relevance >= 4).
ANCHORS = {"ease": 0.363, "itemknn": 0.320, "popularity": 0.173, "mf": 0.121, "tfrs two-tower (reference)": 0.336}
MODELS = ["two-tower", "ease", "itemknn", "mf", "item-mean", "popularity", "seed"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data")
    ap.add_argument("--seed", type=int, default=0, help="split seed")
    ap.add_argument("--model-seed", type=int, default=0)
    ap.add_argument("--models", nargs="+", default=MODELS)
    ap.add_argument("--param", action="append", help="two-tower hyperparameter, name=value")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    folder = find_data(args.data)
    if folder is None:
        print("MovieLens-100K not found (--data, $REELREC_ML100K or ../shared/data/ml-100k); skipping")
        return
    threads = set_threads(args.threads)
    print(f"# MovieLens-100K, holdout seed {args.seed} ({machine_note(threads)})\n")
    split = holdout_split(load_dataset(folder), test_fraction=0.2, seed=args.seed)
    params = parse_params(args.param)
    rows = []
    for name in args.models:
        kwargs = {"seed": args.model_seed, "progress": False, **params} if name == "two-tower" else {}
        if name == "seed":
            kwargs = {"progress": False, "seed": args.model_seed}
        model = create_model(name, **kwargs)
        start = time.perf_counter()
        model.fit(split.train)
        fit_s = time.perf_counter() - start
        res = evaluate(model, split, ks=(10,))
        row = {
            "model": name,
            "ndcg@10": res.metrics["ndcg@10"],
            "recall@10": res.metrics["recall@10"],
            "rmse": res.metrics.get("rmse"),
            "fit s": round(fit_s, 1),
            "anchor": ANCHORS.get(name),
        }
        rows.append(row)
        if name == "two-tower":
            detail = {"best_epoch": model.best_epoch_, "watch_weight": model.watch_weight_, **model.options_}
            detail["residual_lambda"] = model.residual_lambda_
            detail["tuning"] = {k: round(v, 4) for k, v in model.watch_tuning_.items()}
            for mode in ("retrieval", "watch", "expected"):
                model.scoring = mode
                detail[f"ndcg@10 ({mode})"] = round(evaluate(model, split, ks=(10,)).metrics["ndcg@10"], 4)
            print(f"two-tower {dump(params)}: {dump(detail)}", file=sys.stderr)
        print(f"{name}: {dump(row)}", file=sys.stderr)
    rows += [{"model": k, "anchor": v} for k, v in ANCHORS.items() if k not in args.models]
    print_table(rows, ["model", "ndcg@10", "recall@10", "rmse", "fit s", "anchor"])


if __name__ == "__main__":
    main()
