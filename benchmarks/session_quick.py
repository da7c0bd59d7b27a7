"""Quick check that a five-view session history helps: NDCG@10 with and without it, MovieLens-100K.

Each eligible user's views are put in time order; the last 25 are held out, the first 5 of those
are revealed as the session history and the last 20 are the test views (relevant: label >=
``--threshold``, 4 for MovieLens ratings, 2 for KuaiRec watch ratios).
Models are fitted on everything else and rank the full catalogue, training views and the five
history videos excluded in both arms. ``--validation`` repeats the carving inside the training
part (the test views never seen), which is where ``history_weight`` is chosen. This is a quick
measurement, not the session protocol.

Example: python benchmarks/session_quick.py --data ../shared/data/ml-100k --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp

from reelrec.data import Dataset, Interactions, load_dataset
from reelrec.eval._metrics import ndcg_at_k
from reelrec.eval._significance import paired_t_test
from reelrec.models import create_model
from reelrec.models._history import History

HOLD, REVEAL = 25, 5


def carve(inter: Interactions, min_train: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Row masks: training rows, then for each eligible user (time order) history and test rows."""
    order = np.lexsort((inter.item, inter.timestamp, inter.user))
    user = inter.user[order]
    counts = np.bincount(user)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(len(order)) - start[user]
    from_end = counts[user] - pos  # 1 = the user's newest view
    eligible = counts[user] >= HOLD + min_train
    held = eligible & (from_end <= HOLD)
    hist = held & (from_end > HOLD - REVEAL)
    train, history, test = np.zeros(len(order), bool), np.zeros(len(order), bool), np.zeros(len(order), bool)
    train[order[~held]] = True
    history[order[hist]] = True
    test[order[held & ~hist]] = True
    return train, history, test, np.unique(user[eligible])


def run(
    data: Dataset, inter: Interactions, names: list[str], seeds: list[int], weights: list[float], threshold: float
) -> None:
    train, hist_rows, test_rows, users = carve(inter, min_train=20)
    fit_data = Dataset(data.users, data.items, inter.take(train), label_name=data.label_name)
    hi = inter.take(hist_rows)
    order = np.lexsort((hi.item, hi.timestamp, hi.user))
    hi = hi.take(order)
    histories = [History.of(hi.item[hi.user == u], hi.label[hi.user == u]) for u in users]
    te = inter.take(test_rows)
    gains = (te.label >= threshold).astype(np.float32)
    rel = sp.csr_matrix((gains, (te.user, te.item)), shape=(data.n_users, data.n_items))
    rel = rel[users]
    rel.eliminate_zeros()
    exclude = [h.items for h in histories]
    scored = int((np.diff(rel.indptr) > 0).sum())
    print(f"{len(users)} users, {scored} with a relevant test view; train rows {train.sum()}")
    for name in names:
        for weight in weights:
            plain_runs, sess_runs = [], []
            started = time.perf_counter()
            for seed in seeds if name in ("mf", "ials", "bpr") else seeds[:1]:
                params = {"history_weight": weight} | ({"seed": seed} if name in ("mf", "ials", "bpr") else {})
                model = create_model(name, **params).fit(fit_data)
                plain, _ = model.recommend_indices(users, k=10, exclude=exclude)
                sess, _ = model.recommend_session_indices(histories, users=users, k=10)
                plain_runs.append(ndcg_at_k(plain, rel, 10).per_user)
                sess_runs.append(ndcg_at_k(sess, rel, 10).per_user)
            p_means = [float(np.nanmean(r)) for r in plain_runs]
            s_means = [float(np.nanmean(r)) for r in sess_runs]
            ok = ~np.isnan(plain_runs[0])
            t, p = paired_t_test(np.mean(sess_runs, axis=0)[ok], np.mean(plain_runs, axis=0)[ok])
            print(
                f"{name:8s} history_weight={weight:<5g} without {np.mean(p_means):.4f} ± {np.std(p_means):.4f}  "
                f"with {np.mean(s_means):.4f} ± {np.std(s_means):.4f}  (runs={len(p_means)}, paired t={t:.2f}, "
                f"p={p:.2g}, n={int(ok.sum())}, {time.perf_counter() - started:.0f} s)",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--models", nargs="+", default=["mf", "ials", "ease", "itemknn"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--history-weights", nargs="+", type=float, default=[1.0])
    parser.add_argument("--threshold", type=float, default=4.0, help="Relevance: label >= this (2 for watch ratios).")
    parser.add_argument("--validation", action="store_true", help="Measure inside the training part only.")
    args = parser.parse_args()
    data = load_dataset(args.data)
    inter = data.interactions
    if args.validation:
        train, _, _, _ = carve(inter, min_train=20)
        inter = inter.take(train)
    run(data, inter, args.models, args.seeds, args.history_weights, args.threshold)


if __name__ == "__main__":
    main()
