"""Choose the fold-in's ``history_weight`` and ``prior_views`` on session *validation* splits.

Usage::

    python benchmarks/session_tune.py DATA [DATA ...] [--models ease itemknn ials]
        [--weights 0.25 0.5 1 2] [--priors 0 5 20 50] [--threads 1]

For each data folder the session protocol's split is built and then carved again inside its training
part (``session_split(split.train)``): the test views are never read. Each model is fitted once on
that validation training part (the fold-in settings only act at scoring time) and scored at every
grid point for N in {1, 5, 20} revealed views against the ``blind`` control (the N videos excluded,
the history withheld). The criterion is the relative NDCG@10 gain over blind,
``ndcg / blind - 1``, averaged over data sets, models and N, among the settings never below blind
(worst cell >= 0): one cross-data default, no per-data-set values. Seeded models use seed 0 only.
"""

from __future__ import annotations

import argparse
import itertools
import time
from typing import Any

import numpy as np

from _common import machine_note, print_table, set_threads
from reelrec.eval import EvalProtocol, evaluate_session, session_relevance, session_split
from reelrec.models import _fold, create_model

REVEAL = (1, 5, 20)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="+")
    ap.add_argument("--models", nargs="+", default=["ease", "itemknn", "ials"])
    ap.add_argument("--weights", nargs="+", type=float, default=[0.25, 0.5, 1.0, 2.0])
    ap.add_argument("--priors", nargs="+", type=float, default=[0.0, 5.0, 20.0, 50.0])
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    threads = set_threads(args.threads)
    started = time.perf_counter()
    key = f"ndcg@{args.k}"
    print(f"# fold-in validation grid ({machine_note(threads)})\n")
    gains: dict[tuple[float, float], list[float]] = {}
    rows: list[dict[str, Any]] = []
    saved = _fold.PRIOR_VIEWS
    try:
        for data in args.data:
            val = session_split(EvalProtocol(data).session_split().train)
            rel = session_relevance(val)
            print(f"{data}: validation test users {val.params['test_users']}, scored {int((rel.n_relevant > 0).sum())}")
            for name in args.models:
                params: dict[str, Any] = {"seed": 0} if name in ("ials", "mf", "bpr") else {}
                model = create_model(name, **params).fit(val.train)
                blind = {
                    n: evaluate_session(model, val, n, args.k, relevance=rel, blind=True).metrics[key] for n in REVEAL
                }
                for weight, prior in itertools.product(args.weights, args.priors):
                    model.history_weight = weight
                    _fold.PRIOR_VIEWS = prior
                    name_of_data = data.rstrip("/").split("/")[-1]
                    row: dict[str, Any] = {"data": name_of_data, "model": name, "weight": weight, "prior": prior}
                    for n in REVEAL:
                        got = evaluate_session(model, val, n, args.k, relevance=rel).metrics[key]
                        row[f"N={n}"] = f"{got:.4f} ({got / blind[n] - 1:+.1%})"
                        gains.setdefault((weight, prior), []).append(got / blind[n] - 1)
                    rows.append(row)
                print(f"  {name}: blind " + ", ".join(f"N={n} {v:.4f}" for n, v in blind.items()))
    finally:
        _fold.PRIOR_VIEWS = saved
    print()
    print_table(rows, ["data", "model", "weight", "prior", *(f"N={n}" for n in REVEAL)])
    print("\n## mean relative gain over blind (data sets x models x N)\n")
    summary = [
        {"weight": w, "prior": p, "mean gain": f"{np.mean(g):+.2%}", "worst": f"{np.min(g):+.2%}"}
        for (w, p), g in sorted(gains.items(), key=lambda kv: -np.mean(kv[1]))
    ]
    print_table(summary, ["weight", "prior", "mean gain", "worst"])
    safe = {wp: g for wp, g in gains.items() if np.min(g) >= 0} or gains
    best = max(safe, key=lambda wp: float(np.mean(safe[wp])))
    print(f"\nchosen (best mean gain, never below blind): history_weight={best[0]:g}, prior_views={best[1]:g}")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
