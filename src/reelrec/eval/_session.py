"""The session protocol: replay each test user's latest views and rank what they watch next.

For each ``N`` in the split's ``reveal`` lengths, the first ``N`` held-out views are handed to the
model as a :class:`~reelrec.models.History` through ``recommend_session_indices`` (full catalogue;
training views and the history excluded) and the views after position ``max(reveal)`` are the
targets, the same for every ``N``. A target is relevant when its label passes the protocol's threshold
(watch ratio >= 2, rating >= 4). NDCG@K and Recall@K per user come from :mod:`reelrec.eval._metrics`;
users without a relevant target are not scored. Optional feed rules re-pick each top-K from a longer
ranked pool, and the result then also says what the rules bought: catalogue coverage, the share of
few-view videos and the distinct first tags in each top-K.

Stability: provisional.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reelrec.eval._metrics import Relevance, coverage_at_k, ndcg_at_k, recall_at_k
from reelrec.eval._runner import default_threshold
from reelrec.eval._session_split import SKIP_BELOW, SessionSplit
from reelrec.feed import FeedRules, apply_feed_rules, item_first_tags
from reelrec.models._base import Recommender
from reelrec.models._history import History


@dataclass
class SessionResult:
    """One model at one revealed history length.

    Attributes
    ----------
    model : str
    n : int
        Revealed views per user.
    metrics : dict
        ``ndcg@K``, ``recall@K`` (means over scored users), ``coverage@K`` (distinct recommended
        items over the training catalogue), ``few_view_share@K`` (share of slots holding a video
        with at most ``explore_max_views`` training views), ``distinct_tags@K`` (mean distinct first
        tags per top-K; ``NaN`` without tags), ``n_scored``.
    per_user : dict
        ``ndcg@K`` / ``recall@K`` per test user (``NaN`` where no target is relevant), aligned with
        the split's ``users``: pair two results on it.
    recommendations : ndarray of int32, shape (n_users, K)
        Do not modify.
    """

    model: str
    n: int
    metrics: dict[str, float]
    per_user: dict[str, NDArray[np.float32]]
    recommendations: NDArray[np.int32]
    settings: dict[str, Any] = field(default_factory=dict)


def session_recommend(
    model: Recommender,
    split: SessionSplit,
    n: int,
    k: int = 10,
    mark_skips: bool = False,
    rules: FeedRules | None = None,
    first_tag: NDArray[np.int32] | None = None,
    skip_below: float = SKIP_BELOW,
    blind: bool = False,
    scoring: str | None = None,
) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """Top-``k`` of every test user with ``n`` revealed views, feed rules applied when given.

    ``blind`` withholds the history from the model but still excludes its videos: the control that
    separates what a model learns from the last views from the mere removal of watched videos.
    ``scoring`` names one of the model's ranking rules (its default when omitted).
    """
    histories = split.histories(n, mark_skips=mark_skips, skip_below=skip_below)
    rules = rules or FeedRules()
    pool = min(rules.pool_size(k), model.n_items)
    exclude = None
    if blind:
        exclude = [np.unique(h.items).astype(np.int32) for h in histories]
        histories = [History.empty() for _ in histories]
    items, scores = model.recommend_session_indices(
        histories, split.users, k=max(pool, k), exclude=exclude, scoring=scoring
    )
    if not rules.active:
        return items[:, :k], scores[:, :k]
    tags = item_first_tags(model, split.train.item_features) if first_tag is None else first_tag
    return apply_feed_rules(items, scores, k, rules, tags, model.item_popularity_)


def evaluate_session(
    model: Recommender,
    split: SessionSplit,
    n: int,
    k: int = 10,
    threshold: float | None = None,
    mark_skips: bool = False,
    rules: FeedRules | None = None,
    relevance: Relevance | None = None,
    blind: bool = False,
    scoring: str | None = None,
) -> SessionResult:
    """NDCG@``k`` / Recall@``k`` of ``model`` with ``n`` revealed views (see the module docstring).

    Parameters
    ----------
    model : Recommender
        Fitted on ``split.train`` (same vocabularies).
    threshold : float, optional
        Relevance threshold; the label's default (watch ratio 2.0, rating 4.0) when omitted.
    mark_skips : bool
        Pass revealed views below a watch ratio of 0.3 as ``skipped`` (negative feedback).
    rules : FeedRules, optional
        Feed rules applied to each top-``k``.
    relevance : Relevance, optional
        The split's prepared relevance (reuse it across calls to save the indexing).
    blind : bool
        Exclude the ``n`` revealed videos without passing them as a history (the control row).
    scoring : str, optional
        One of ``model.scorings``; the model's default when omitted.
    """
    if model.users_ != split.train.users or model.items_ != split.train.items:
        raise ValueError("the model was not fitted on this session split's training data (other vocabularies)")
    if relevance is None:
        relevance = session_relevance(split, threshold)
    rules = rules or FeedRules()
    first_tag = item_first_tags(model, split.train.item_features)
    recs, _ = session_recommend(model, split, n, k, mark_skips, rules, first_tag, blind=blind, scoring=scoring)
    ndcg = ndcg_at_k(recs, relevance, k)
    recall = recall_at_k(recs, relevance, k)
    metrics = {
        f"ndcg@{k}": ndcg.mean,
        f"recall@{k}": recall.mean,
        "n_scored": float(ndcg.n),
        **feed_metrics(recs, k, model, first_tag, rules.explore_max_views),
    }
    return SessionResult(
        model=model.name,
        n=n,
        metrics=metrics,
        per_user={f"ndcg@{k}": ndcg.per_user, f"recall@{k}": recall.per_user},
        recommendations=recs,
        settings={"mark_skips": mark_skips, "rules": vars(rules).copy(), "k": k, "blind": blind, "scoring": scoring},
    )


def session_relevance(split: SessionSplit, threshold: float | None = None) -> Relevance:
    """The split's target relevance under ``threshold`` (the label's default when omitted)."""
    if threshold is None:
        threshold = default_threshold(split.train.label_name)
    return Relevance(split.relevance(threshold))


def feed_metrics(
    recs: NDArray[np.int32], k: int, model: Recommender, first_tag: NDArray[np.int32], few_views: int
) -> dict[str, float]:
    """What a feed shows beyond accuracy: coverage, few-view share and distinct first tags per top-``k``."""
    top = recs[:, :k]
    shown = top >= 0
    catalogue = int((model.item_popularity_ > 0).sum())
    views = model.item_popularity_[np.maximum(top, 0)]
    few = float(((views <= few_views) & shown).sum() / max(int(shown.sum()), 1))
    out = {f"coverage@{k}": coverage_at_k(top, k, max(catalogue, 1)), f"few_view_share@{k}": few}
    if (first_tag >= 0).any():
        tags = np.where(shown, first_tag[np.maximum(top, 0)], -1)
        tags = np.sort(tags, axis=1)
        distinct = (tags >= 0) & np.r_["1", np.ones((len(tags), 1), bool), tags[:, 1:] != tags[:, :-1]]
        out[f"distinct_tags@{k}"] = float(distinct.sum(axis=1).mean()) if len(tags) else float("nan")
    else:
        out[f"distinct_tags@{k}"] = float("nan")
    return out
