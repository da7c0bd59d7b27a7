"""Feed rules in the service: a request's ``rules`` over the server defaults, applied to one ranked pool.

The rules themselves live in :mod:`reelrec.feed`; this module only resolves which apply to a request and
keeps the per-artifact array they need (the first tag of every item), computed once per serving state.
"""

from __future__ import annotations

import weakref

import numpy as np
from numpy.typing import NDArray

from reelrec.feed import FeedRules, apply_feed_rules, item_first_tags
from reelrec.serve.settings import ServeSettings
from reelrec.serve.state import ServingState

_FIRST_TAGS: weakref.WeakKeyDictionary[ServingState, NDArray[np.int32]] = weakref.WeakKeyDictionary()


def resolve_rules(settings: ServeSettings, max_per_tag: int | None, explore_share: float | None) -> FeedRules | None:
    """The rules for one request (its values over the server's), or ``None`` when every rule is off."""
    cap = settings.feed_max_per_tag if max_per_tag is None else max_per_tag
    share = settings.feed_explore_share if explore_share is None else float(explore_share)
    rules = FeedRules(max_per_tag=cap, explore_share=share)
    return rules if rules.active else None


def pool_size(rules: FeedRules | None, k: int) -> int:
    """Ranked candidates to ask the model for, so the rules have room to re-pick ``k``."""
    return k if rules is None else rules.pool_size(k)


def first_tags(state: ServingState) -> NDArray[np.int32]:
    """First tag per item index of this state's model (``-1``: none), computed once per state.

    The artifact's display table carries the tags even for models that keep no item features.
    """
    tags = _FIRST_TAGS.get(state)
    if tags is None:
        tags = np.asarray(item_first_tags(state.model, state.display), np.int32)
        _FIRST_TAGS[state] = tags
    return tags


def apply_rules(
    state: ServingState, items: NDArray[np.int32], scores: NDArray[np.float32], k: int, rules: FeedRules | None
) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """The final top ``k`` of one ranked pool (shape (pool,) each) under ``rules`` (``None``: the first k)."""
    if rules is None:
        return items[:k], scores[:k]
    views = np.asarray(state.model.item_popularity_, np.float32)
    out_i, out_s = apply_feed_rules(items[None, :], scores[None, :], k, rules, first_tags(state), views)
    return out_i[0], out_s[0]
