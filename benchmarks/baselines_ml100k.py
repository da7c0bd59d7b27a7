"""Baselines on MovieLens-100K under the documented holdout protocol, compared with the known anchors.

Usage::

    python benchmarks/baselines_ml100k.py [--data DIR] [--seed 0] [--models ease itemknn ...] [--builtin]

MovieLens-100K is read from ``--data``, else ``$REELREC_ML100K``, else ``../shared/data/ml-100k`` beside
the checkout; the script exits cleanly (status 0, a message) when it is absent. Its licence forbids
redistribution, so it is never copied into the repository.

Protocol (docs: the evaluation reference): users with fewer than 5 ratings dropped; per user a seeded
uniform 20 % of ratings go to test; models train on the rest (binary models see every training
rating, regressors see the rating value); every item with a training rating is a candidate, minus the
user's own training items; relevant = test rating >= 4; NDCG@10 and Recall@10 averaged over users with
at least one relevant test item.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from _common import find_data
from reelrec.data import Dataset, IdMap, Interactions
from reelrec.models import create_model

try:  # the evaluation package, when present; the script carries a minimal copy of the protocol otherwise
    from reelrec.eval import evaluate, holdout_split
except ImportError:  # pragma: no cover - depends on the checkout
    evaluate = holdout_split = None

K = 10
THRESHOLD = 4.0
# NDCG@10 anchors from the evaluation reference (MovieLens-100K, seed-0 split, relevance >= 4).
ANCHORS = {"popularity": 0.173, "mf": 0.121, "ease": 0.363, "itemknn": 0.320}
MODELS = ("popularity", "item-mean", "mf", "ease", "itemknn")


def load_ml100k(folder: Path) -> Dataset:
    """MovieLens-100K through ``reelrec.data`` when it has a reader, else ``u.data`` read directly."""
    try:
        from reelrec.data import load_movielens_100k
    except ImportError:  # pragma: no cover - depends on the checkout
        return read_u_data(folder)
    return load_movielens_100k(folder)


def read_u_data(folder: Path) -> Dataset:
    """``u.data`` (tab-separated user, item, rating, timestamp) as a Dataset with rating labels."""
    raw = np.loadtxt(folder / "u.data", dtype=np.int64, delimiter="\t", ndmin=2)
    if raw.shape[1] != 4:
        raise ValueError(f"{folder / 'u.data'}: expected 4 tab-separated columns, found {raw.shape[1]}")
    users, items = IdMap.from_values(raw[:, 0]), IdMap.from_values(raw[:, 1])
    inter = Interactions.from_arrays(users.index(raw[:, 0]), items.index(raw[:, 1]), raw[:, 2], raw[:, 3])
    return Dataset(users, items, inter, label_name="rating", source="movielens-100k")


def holdout(inter: Interactions, seed: int, test_share: float = 0.2, min_rows: int = 5) -> NDArray[np.bool_]:
    """Test mask: per user (>= ``min_rows`` rows) the top ``test_share`` of rows by a uniform draw.

    Rows of users below ``min_rows`` are neither train nor test; they get ``False`` here and are
    removed from training by the caller through :func:`kept_users`.
    """
    rng = np.random.default_rng(seed)
    draw = rng.random(len(inter))
    order = np.lexsort((draw, inter.user))
    counts = np.bincount(inter.user)
    starts = np.cumsum(counts) - counts
    rank = np.empty(len(inter), np.int64)
    rank[order] = np.arange(len(inter)) - np.repeat(starts, counts)
    n = counts[inter.user]
    return (n >= min_rows) & ((rank + 1) / n > 1.0 - test_share)


def metrics_at_k(recs: NDArray[np.int32], relevant: list[NDArray[np.int32]], k: int) -> tuple[float, float]:
    """Mean NDCG@k and Recall@k with binary relevance (one list of relevant items per row)."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ndcg, recall = [], []
    for row, rel in zip(recs, relevant, strict=True):
        hit = np.isin(row[:k], rel) & (row[:k] >= 0)
        ideal = discounts[: min(len(rel), k)].sum()
        ndcg.append((discounts[: len(hit)] * hit).sum() / ideal)
        recall.append(hit.sum() / len(rel))
    return float(np.mean(ndcg)), float(np.mean(recall))


def run(data: Dataset, models: list[str], seed: int) -> list[dict[str, float | str]]:
    """Split once, then fit and score every model on the same split (through ``reelrec.eval``)."""
    if holdout_split is None or evaluate is None:
        return run_builtin(data, models, seed)
    split = holdout_split(data, test_fraction=0.2, seed=seed, min_interactions=5)
    summary = split.summary()
    print(
        f"reelrec.eval: train {summary['train_rows']} rows, test {summary['test_rows']} rows, "
        f"{summary['test_users']} test users, {summary['catalogue']} candidate items"
    )
    results = []
    for name in models:
        model = create_model(name)
        start = time.perf_counter()
        model.fit(split.train)
        fit_s = time.perf_counter() - start
        res = evaluate(model, split, ks=(K,), threshold=THRESHOLD)
        results.append(
            {
                "model": name,
                "ndcg": res.metrics[f"ndcg@{K}"],
                "recall": res.metrics[f"recall@{K}"],
                "fit_s": fit_s,
                "recommend_s": res.recommend_seconds,
            }
        )
    return results


def run_builtin(data: Dataset, models: list[str], seed: int) -> list[dict[str, float | str]]:
    """The same protocol without ``reelrec.eval``: split, fit, rank, NDCG/Recall."""
    inter = data.interactions
    test = holdout(inter, seed)
    kept = np.bincount(inter.user, minlength=data.n_users)[inter.user] >= 5
    train = data.with_interactions(inter.take(kept & ~test))
    test_rows = inter.take(test & (inter.label >= THRESHOLD))
    candidates = np.unique(train.interactions.item)
    users = np.unique(test_rows.user)
    by_user = np.split(
        test_rows.item[np.argsort(test_rows.user, kind="stable")],
        np.cumsum(np.bincount(test_rows.user, minlength=data.n_users)[users])[:-1],
    )
    print(
        f"built-in protocol: train {len(train.interactions)} rows, test {int(test.sum())} rows, "
        f"{len(users)} scored users, {len(candidates)} candidate items"
    )
    results = []
    for name in models:
        model = create_model(name)
        start = time.perf_counter()
        model.fit(train)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        recs, _ = model.recommend_indices(users, k=K, exclude_seen=True, candidates=candidates)
        rec_s = time.perf_counter() - start
        ndcg, recall = metrics_at_k(recs, by_user, K)
        results.append({"model": name, "ndcg": ndcg, "recall": recall, "fit_s": fit_s, "recommend_s": rec_s})
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="folder holding u.data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument(
        "--builtin", action="store_true", help="use the script's own split and metrics, not reelrec.eval"
    )
    args = parser.parse_args(argv)
    try:
        folder = find_data(args.data)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if folder is None:
        print("MovieLens-100K not found (--data, $REELREC_ML100K or ../shared/data/ml-100k); nothing to do")
        return 0
    runner = run_builtin if args.builtin else run
    results = runner(load_ml100k(folder), args.models, args.seed)
    print(f"{'model':<11} {'NDCG@10':>8} {'anchor':>7} {'diff':>7} {'Recall@10':>9} {'fit s':>7} {'rec s':>6}")
    for r in results:
        anchor = ANCHORS.get(str(r["model"]))
        shown = f"{anchor:.3f}" if anchor is not None else "-"
        diff = f"{float(r['ndcg']) - anchor:+.3f}" if anchor is not None else "-"
        print(
            f"{r['model']:<11} {r['ndcg']:>8.3f} {shown:>7} {diff:>7} {r['recall']:>9.3f} "
            f"{r['fit_s']:>7.2f} {r['recommend_s']:>6.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
