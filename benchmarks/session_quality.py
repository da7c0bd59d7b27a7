"""Session protocol quality: NDCG@10 as each test user's latest views are revealed one by one.

Usage::

    python benchmarks/session_quality.py DATA [--models ease mf ials itemknn popularity] [--seeds 0 1 2]
        [--reference ease] [--skips] [--refit ease] [--rules ease] [--fast] [--threads 1]

DATA is any data folder ``load_dataset`` reads (synthetic KuaiRec from ``reelrec synth``, MovieLens-100K).
Split (see ``reelrec.eval.session_split``): each user's latest 40 distinct views by time are held out in
order (fewer, down to 25, to leave the user 10 training videos; users with fewer are skipped, counted);
the first N in {0, 1, 5, 20} are revealed as the history; the views after position 20 are the targets
for every N. Full-catalogue ranking, training views and the history excluded; relevant = watch ratio
>= 2 / rating >= 4. The split is fixed by time, so ``--seeds`` vary model initialisation only
(deterministic models are fitted once: their std is 0). p-values: paired t-test over users of the
seed-averaged per-user NDCG@10, against the same model at N=0 and against EASE (``--reference``: another
entry of ``--models``) at the same N.
``blind`` is the control: the same model with the N revealed videos excluded but not passed as a
history (excluding watched videos alone lifts every model), with the paired p-value against it.

A model may be named ``NAME:RULE`` to rank with one of its scoring rules (``recommend(...,
scoring=RULE)``), e.g. ``--models hybrid hybrid:catalogue``: the entries of one model share its fits
(``--skips``, ``--refit`` and ``--rules`` use plain names, the default rule).

``--skips``: where videos co-viewed with the revealed swipe-aways (watch ratio < 0.3) rank at N=20,
without and with passing those views as ``skipped`` (watch-ratio data only). ``--refit M``: model M
folding 5 revealed views in against M retrained on train + those views. ``--rules M``: model M at N=5
under feed rules max_per_tag in {off, 3, 2} x explore_share in {0, 0.1, 0.2}.
"""

from __future__ import annotations

import argparse
import inspect
import itertools
import time
from typing import Any

import numpy as np

from _common import machine_note, print_table, set_threads
from reelrec.eval import EvalProtocol, evaluate_session, paired_test_scores, refit_gap, session_relevance, skip_effect
from reelrec.feed import FeedRules
from reelrec.models import create_model, model_class

MODELS = ["popularity", "itemknn", "ease", "mf", "ials"]


def build(name: str, seed: int, fast: bool) -> Any:
    cls = model_class(name)
    params = dict(cls.fast_params()) if fast else {}
    accepted = inspect.signature(cls.__init__).parameters
    if "seed" in accepted:
        params["seed"] = seed
    if "progress" in accepted:
        params["progress"] = False
    return create_model(name, **params)


def seeded(name: str) -> bool:
    return "seed" in inspect.signature(model_class(name).__init__).parameters


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``NAME`` or ``NAME:RULE`` -> (registry name, scoring rule or None), the rule checked against the model."""
    name, _, rule = spec.partition(":")
    cls = model_class(name)
    if rule and rule not in cls.scorings:
        raise SystemExit(f"--models {spec}: {name} has no scoring rule {rule!r} (rules: {', '.join(cls.scorings)})")
    return name, rule or None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--models", nargs="+", default=MODELS)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--skips", action="store_true")
    ap.add_argument("--refit", default=None, help="model for the fold-in vs retrain gap at N=5")
    ap.add_argument("--rules", default=None, help="model for the feed-rules grid at N=5")
    ap.add_argument("--fast", action="store_true", help="each model's fast_params()")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--reference", default="ease", help="model entry the 'p vs' column pairs every other with")
    args = ap.parse_args()
    threads = set_threads(args.threads)
    started = time.perf_counter()
    split = EvalProtocol(args.data).session_split()
    rel = session_relevance(split)
    p = split.params
    print(f"# session protocol on {args.data} ({machine_note(threads)})\n")
    print(
        f"test users {p['test_users']} (skipped {p['skipped_users']}), held-out views {p['held_out_views']}, "
        f"late re-views dropped {p['late_reviews_dropped']}, scored users {int((rel.n_relevant > 0).sum())}, "
        f"label {split.train.label_name}\n"
    )
    key = f"ndcg@{args.k}"
    per_user: dict[tuple[str, int], list[np.ndarray]] = {}
    means: dict[tuple[str, int], list[float]] = {}
    blind: dict[tuple[str, int], list[np.ndarray]] = {}
    fitted: dict[str, Any] = {}
    fits: dict[tuple[str, int], Any] = {}  # one fit per model and seed, shared by its scoring rules
    for name in args.models:
        base, rule = parse_spec(name)
        for seed in args.seeds if seeded(base) else args.seeds[:1]:
            t0 = time.perf_counter()
            if (base, seed) not in fits:
                fits[(base, seed)] = build(base, seed, args.fast).fit(split.train)
            model = fits[(base, seed)]
            fitted.setdefault(name, model)
            for n in split.reveal:
                res = evaluate_session(model, split, n, args.k, relevance=rel, scoring=rule)
                per_user.setdefault((name, n), []).append(res.per_user[key])
                means.setdefault((name, n), []).append(res.metrics[key])
                if n:
                    ctl = evaluate_session(model, split, n, args.k, relevance=rel, blind=True, scoring=rule)
                    blind.setdefault((name, n), []).append(ctl.per_user[key])
            print(f"  {name} seed {seed}: fit + {len(split.reveal)} evaluations {time.perf_counter() - t0:.1f} s")
    print()
    rows = []
    ref = args.reference
    versus = "p vs EASE" if ref == "ease" else f"p vs {ref}"
    for n in split.reveal:
        for name in args.models:
            avg = np.mean(per_user[(name, n)], axis=0)
            row: dict[str, Any] = {"N": n, "model": name}
            m = means[(name, n)]
            row[key] = f"{np.mean(m):.4f} ± {np.std(m):.4f}" + ("" if len(m) > 1 else " (1 fit)")
            row["p vs N=0"] = _p(avg, np.mean(per_user[(name, 0)], axis=0)) if n else None
            if n:
                ctl = np.mean(blind[(name, n)], axis=0)
                row["blind"] = f"{np.nanmean(ctl):.4f}"
                row["p vs blind"] = _p(avg, ctl)
            if name != ref and (ref, n) in per_user:
                row[versus] = _p(avg, np.mean(per_user[(ref, n)], axis=0))
            rows.append(row)
    print_table(rows, ["N", "model", key, "p vs N=0", versus, "blind", "p vs blind"])
    if args.skips:
        print("\n## skips at N=20: percentile rank (0 = top) of videos co-viewed with the swipe-aways\n")
        skip_rows = [
            {"model": name, **skip_effect(fitted[name], split, 20, args.k)} for name in args.models if ":" not in name
        ]
        print_table(
            skip_rows,
            [
                "model",
                "users",
                "mean_rank_pct_plain",
                "mean_rank_pct_skips",
                "top_k_share_plain",
                "top_k_share_skips",
                "p_value",
            ],
        )
    if args.refit:
        print(f"\n## fold-in vs retrain ({args.refit}, N=5)\n")
        gap = refit_gap(
            lambda: build(args.refit, args.seeds[0], args.fast), split, 5, args.k, fitted=fitted.get(args.refit)
        )
        print_table([gap], list(gap))
    if args.rules:
        print(f"\n## feed rules ({args.rules}, N=5)\n")
        model = fitted.get(args.rules) or build(args.rules, args.seeds[0], args.fast).fit(split.train)
        base = evaluate_session(model, split, 5, args.k, relevance=rel)
        rule_rows = []
        for cap, share in itertools.product((None, 3, 2), (0.0, 0.1, 0.2)):
            res = evaluate_session(
                model, split, 5, args.k, relevance=rel, rules=FeedRules(max_per_tag=cap, explore_share=share)
            )
            row = {
                "max_per_tag": "off" if cap is None else cap,
                "explore_share": share,
                **{k: v for k, v in res.metrics.items() if k != "n_scored"},
            }
            row["p vs off"] = _p(res.per_user[key], base.per_user[key]) if (cap, share) != (None, 0.0) else None
            rule_rows.append(row)
        print_table(
            rule_rows,
            [
                "max_per_tag",
                "explore_share",
                key,
                f"recall@{args.k}",
                f"coverage@{args.k}",
                f"few_view_share@{args.k}",
                f"distinct_tags@{args.k}",
                "p vs off",
            ],
        )
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


def _p(a: np.ndarray, b: np.ndarray) -> float | None:
    ok = ~np.isnan(a) & ~np.isnan(b)
    if ok.sum() < 2 or np.array_equal(a[ok], b[ok]):
        return None
    return paired_test_scores(a[ok], b[ok], metric="ndcg", n_boot=200).p_value


if __name__ == "__main__":
    main()
