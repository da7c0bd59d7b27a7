"""Small synthetic worlds built differently from ``reelrec synth``, so no model is judged on its own structure.

``reelrec synth`` plants a biased log-scale MF plus tag taste: exactly the structure of an MF watch
head. These worlds plant other structure, in memory (no files), for the default-model search:

- ``impressions``: KuaiRec-shaped. The log watch ratio comes from a nonlinear interaction of user and
  video features (a tanh layer over their outer product, plus an age-group x category table), a
  duration bias (short videos are finished and replayed, long ones abandoned) and a sequence effect
  (a video of the category the user watched just before gets a boost that decays over the session).
  The big log is an impression log of an old recommender (popularity x a noisy guess of taste); the
  fully observed block holds every pair of a user and video subset, with its noise-free truth.
- ``plays``: implicit feedback (``reelrec.synth._plays``, also written by ``reelrec synth --world
  plays``). Users play videos drawn from a softmax of the same kind of nonlinear preference; the
  label is a heavy-tailed play count, which is confidence, not a rating. Judged with the holdout
  protocol, relevance = any play.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from reelrec.data._dataset import Dataset, FeatureTable, Interactions
from reelrec.data._vocab import IdMap
from reelrec.synth._plays import ITEM_KINDS, USER_KINDS, feature_frames, plays_world
from reelrec.synth._plays import preference as _preference
from reelrec.synth._plays import side_features as _side


def _duration_factor(duration_s: NDArray[np.float64]) -> NDArray[np.float64]:
    """Log watch-ratio shift by length: short videos are replayed (> 1), long ones abandoned."""
    return 0.9 - 0.35 * np.log(duration_s / 5.0)


def _tables(users: dict, items: dict) -> tuple[FeatureTable, FeatureTable]:
    uf, itf = feature_frames(users, items)
    return FeatureTable(uf, dict(USER_KINDS)), FeatureTable(itf, dict(ITEM_KINDS))


def impressions_world(n_users: int = 1200, n_items: int = 1500, views_per_user: int = 200, seed: int = 0) -> Dataset:
    """KuaiRec-shaped impression log plus a fully observed block with its planted truth."""
    rng = np.random.default_rng(seed)
    users, items = _side(rng, n_users, n_items)
    pref = _preference(rng, users, items)
    base = pref + _duration_factor(items["duration_s"])[None, :] - 0.6
    block_users = np.sort(rng.choice(n_users, n_users // 5, replace=False))
    block_items = np.sort(rng.choice(n_items, n_items // 3, replace=False))
    in_block = np.zeros((n_users, n_items), bool)
    in_block[np.ix_(block_users, block_items)] = True
    # The old recommender: popularity times a noisy view of taste; the block's pairs are never logged.
    popularity = rng.pareto(1.2, n_items) + 0.05
    guess = pref + rng.standard_normal(pref.shape) * 0.8
    rows_u, rows_i, rows_y, rows_t = [], [], [], []
    for u in range(n_users):
        weight = popularity * np.exp(0.8 * guess[u])
        weight[in_block[u]] = 0.0
        n = max(5, int(views_per_user * users["activity"][u] / 1.4))
        seen = rng.choice(n_items, size=min(n, int((weight > 0).sum())), replace=False, p=weight / weight.sum())
        # Sequence effect: the previous view's category lifts the next one (a session habit).
        cat = items["category"][seen]
        follow = np.r_[0.0, (cat[1:] == cat[:-1]) * 0.4]
        log_y = base[u, seen] + follow + rng.normal(0.0, 0.45, len(seen))
        rows_u.append(np.full(len(seen), u))
        rows_i.append(seen)
        rows_y.append(np.exp(log_y))
        rows_t.append(1.6e9 + np.sort(rng.uniform(0, 60 * 86400, len(seen))))
    inter = Interactions.from_arrays(
        np.concatenate(rows_u), np.concatenate(rows_i), np.concatenate(rows_y), np.concatenate(rows_t)
    )
    bu, bi = np.meshgrid(block_users, block_items, indexing="ij")
    bu, bi = bu.ravel(), bi.ravel()
    truth = np.exp(base[bu, bi] + 0.45**2 / 2)
    noisy = np.exp(base[bu, bi] + rng.normal(0.0, 0.45, len(bu)))
    block = Interactions.from_arrays(bu, bi, noisy, np.full(len(bu), 1.66e9))
    uf, itf = _tables(users, items)
    return Dataset(
        users=IdMap(np.arange(n_users)),
        items=IdMap(np.arange(n_items)),
        interactions=inter,
        fully_observed=block,
        truth=truth.astype(np.float32),
        user_features=uf,
        item_features=itf,
        label_name="watch_ratio",
        source="world-impressions",
        meta={"world": "impressions", "seed": seed},
    )


WORLDS = {"impressions": impressions_world, "plays": plays_world}
