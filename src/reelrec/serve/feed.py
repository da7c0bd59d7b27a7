"""Feed rules in the service: a request's ``rules`` over the server defaults, applied to one ranked pool.

The rules themselves live in :mod:`reelrec.feed`; this module only resolves which apply to a request and
keeps the per-artifact arrays they need (first tag and training views per item), computed once per state.
"""

from __future__ import annotations

import importlib
import weakref
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reelrec.serve.settings import ServeSettings
from reelrec.serve.state import ServingState

_FIRST_TAGS: weakref.WeakKeyDictionary[ServingState, NDArray[np.int32]] = weakref.WeakKeyDictionary()


class RulesUnavailableError(Exception):
    """Feed rules were asked for but this build has no :mod:`reelrec.feed`."""


def _rules_module() -> ModuleType | None:
    try:
        return importlib.import_module("reelrec.feed")
    except ImportError:
        return None


def resolve_rules(settings: ServeSettings, max_per_tag: int | None, explore_share: float | None) -> Any | None:
    """The rules for one request (its values over the server's), or ``None`` when every rule is off."""
    cap = settings.feed_max_per_tag if max_per_tag is None else max_per_tag
    share = settings.feed_explore_share if explore_share is None else float(explore_share)
    if cap is None and share == 0.0:
        return None
    feed = _rules_module()
    if feed is None:
        raise RulesUnavailableError("feed rules are not available in this build (no reelrec.feed module)")
    rules = feed.FeedRules(max_per_tag=cap, explore_share=share)
    return rules if rules.active else None


def pool_size(rules: Any | None, k: int) -> int:
    """Ranked candidates to ask the model for, so the rules have room to re-pick ``k``."""
    return k if rules is None else int(rules.pool_size(k))


def first_tags(state: ServingState) -> NDArray[np.int32]:
    """First tag per item index of this state's model (``-1``: none), computed once per state."""
    tags = _FIRST_TAGS.get(state)
    if tags is None:
        feed = _rules_module()
        assert feed is not None  # only called once rules resolved
        # The artifact's display table carries the tags even for models that keep no item features.
        display = {} if state.display is None else {"item_features": state.display}
        tags = np.asarray(feed.item_first_tags(state.model, **display), np.int32)
        _FIRST_TAGS[state] = tags
    return tags


def apply_rules(
    state: ServingState, items: NDArray[np.int32], scores: NDArray[np.float32], k: int, rules: Any | None
) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """The final top ``k`` of one ranked pool (shape (pool,) each) under ``rules`` (``None``: the first k)."""
    if rules is None:
        return items[:k], scores[:k]
    feed = _rules_module()
    assert feed is not None
    views = np.asarray(state.model.item_popularity_, np.float32)
    out_i, out_s = feed.apply_feed_rules(items[None, :], scores[None, :], k, rules, first_tags(state), views)
    return np.asarray(out_i[0], np.int32), np.asarray(out_s[0], np.float32)
