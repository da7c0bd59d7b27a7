"""Two questions the session protocol answers beside its table: do skips push similar videos down, and
how far is folding a history in from retraining on it?

Stability: provisional.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reelrec.data._dataset import Dataset, Interactions
from reelrec.eval._metrics import ndcg_at_k
from reelrec.eval._session import evaluate_session, session_relevance
from reelrec.eval._session_split import SKIP_BELOW, SessionSplit
from reelrec.eval._significance import paired_test_scores
from reelrec.models._base import Recommender


def co_view_neighbours(split: SessionSplit, items: NDArray[np.int32], n_similar: int = 10) -> NDArray[np.int32]:
    """The ``n_similar`` most co-viewed videos of each item (cosine over training viewers), shape (len(items), n).

    Model-free on purpose: "similar" must not be judged by the model whose ranking is measured.
    """
    train = split.train
    x = train.interactions.to_csr(train.n_users, train.n_items, values="ones").tocsc()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
    norms[norms == 0] = 1.0
    co = (x[:, items].T @ x).toarray() / norms[items][:, None] / norms[None, :]
    co[np.arange(len(items)), items] = -np.inf
    top = np.argsort(-co, axis=1, kind="stable")[:, :n_similar]
    return top.astype(np.int32)


def skip_effect(
    model: Recommender,
    split: SessionSplit,
    n: int = 20,
    k: int = 10,
    n_similar: int = 10,
    skip_below: float = SKIP_BELOW,
) -> dict[str, Any]:
    """Where videos similar to a user's swiped-away views rank, without and with marking them skipped.

    For users with at least one revealed view below ``skip_below``, the ``n_similar`` most co-viewed
    videos of each such view (not excluded for the user) are located in the user's full ranking
    with ``n`` revealed views passed plainly and then with those views marked ``skipped``. A model
    that reads skips as negative feedback moves them down: a larger mean percentile rank (0 = top)
    and a smaller share in the top ``k``.
    """
    plain = split.histories(n)
    marked = split.histories(n, mark_skips=True, skip_below=skip_below)
    rows = np.flatnonzero([h.skipped.any() for h in marked])
    out: dict[str, Any] = {"n": n, "users": len(rows)}
    if len(rows) == 0:
        return out
    skipped = np.unique(np.concatenate([marked[r].items[marked[r].skipped] for r in rows])).astype(np.int32)
    neighbours = dict(zip(skipped.tolist(), co_view_neighbours(split, skipped, n_similar), strict=True))
    users = split.users[rows]
    width = model.n_items
    ranks: dict[str, list[float]] = {"plain": [], "skips": []}
    tops: dict[str, list[float]] = {"plain": [], "skips": []}
    for name, hist in (("plain", plain), ("skips", marked)):
        recs, _ = model.recommend_session_indices([hist[r] for r in rows], users, k=width)
        for j, r in enumerate(rows):
            similar = np.unique(np.concatenate([neighbours[int(v)] for v in marked[r].items[marked[r].skipped]]))
            ranked = recs[j][recs[j] >= 0]
            pos = np.full(width, -1, np.int64)
            pos[ranked] = np.arange(len(ranked))
            where = pos[similar]
            where = where[where >= 0]  # excluded videos (seen, in the history) have no rank
            ranks[name].append(float(where.mean() / max(len(ranked) - 1, 1)) if len(where) else np.nan)
            tops[name].append(float((where < k).mean()) if len(where) else np.nan)
    a, b = np.asarray(ranks["plain"]), np.asarray(ranks["skips"])
    ok = ~np.isnan(a) & ~np.isnan(b)
    out.update(
        mean_rank_pct_plain=float(a[ok].mean()) if ok.any() else np.nan,
        mean_rank_pct_skips=float(b[ok].mean()) if ok.any() else np.nan,
        top_k_share_plain=float(np.nanmean(tops["plain"])),
        top_k_share_skips=float(np.nanmean(tops["skips"])),
        p_value=paired_test_scores(b[ok], a[ok], metric="rank_pct").p_value if ok.sum() >= 2 else np.nan,
    )
    return out


def refit_gap(
    make: Callable[[], Recommender],
    split: SessionSplit,
    n: int = 5,
    k: int = 10,
    fitted: Recommender | None = None,
    threshold: float | None = None,
) -> dict[str, Any]:
    """NDCG@``k`` of folding ``n`` revealed views in against a full retrain that includes them.

    ``make()`` builds an unfitted model; the session side uses ``fitted`` (trained on
    ``split.train``) or fits one. The retrain learns from ``split.train`` plus every test user's
    ``n`` revealed views and ranks without a history (its training views, the revealed ones
    among them, excluded), on the same targets.
    """
    rel = session_relevance(split, threshold)
    session_model = fitted if fitted is not None else make().fit(split.train)
    folded = evaluate_session(session_model, split, n, k, relevance=rel).per_user[f"ndcg@{k}"]
    retrained = make().fit(_with_revealed(split, n))
    recs, _ = retrained.recommend_indices(split.users, k=k)
    refit = ndcg_at_k(recs, rel, k).per_user
    ok = ~np.isnan(folded) & ~np.isnan(refit)
    test = paired_test_scores(folded[ok], refit[ok], metric=f"ndcg@{k}", names=("session", "refit"))
    return {
        "model": session_model.name,
        "n": n,
        f"ndcg@{k}_session": test.mean_a,
        f"ndcg@{k}_refit": test.mean_b,
        "users": test.n,
        "p_value": test.p_value,
    }


def _with_revealed(split: SessionSplit, n: int) -> Dataset:
    """``split.train`` plus the first ``n`` held-out views of every test user."""
    lengths = np.minimum(np.diff(split.offsets), n)
    take = np.concatenate([np.arange(lo, lo + m) for lo, m in zip(split.offsets[:-1], lengths, strict=True)])
    take = take.astype(np.int64) if len(take) else np.zeros(0, np.int64)
    users = np.repeat(split.users, lengths)
    extra = Interactions.from_arrays(users, split.items[take], split.label[take], split.timestamp[take])
    train = split.train
    return train.with_interactions(train.interactions.concat(extra))
