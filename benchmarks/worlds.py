"""Small synthetic worlds built differently from ``reelrec synth``, so no model is judged on its own structure.

``reelrec synth`` plants a biased log-scale MF plus tag taste: exactly the structure of an MF watch
head. These worlds plant other structure, in memory (no files), for the default-model search:

- ``impressions``: KuaiRec-shaped. The log watch ratio comes from a nonlinear interaction of user and
  video features (a tanh layer over their outer product, plus an age-group x category table), a
  duration bias (short videos are finished and replayed, long ones abandoned) and a sequence effect
  (a video of the category the user watched just before gets a boost that decays over the session).
  The big log is an impression log of an old recommender (popularity x a noisy guess of taste); the
  fully observed block holds every pair of a user and video subset, with its noise-free truth.
- ``plays``: implicit feedback. Users play videos drawn from a softmax of the same kind of nonlinear
  preference; the label is a heavy-tailed play count (a Zipf-like draw scaled by preference and user
  activity), which is confidence, not a rating. Judged with the holdout protocol, relevance = any play.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from numpy.typing import NDArray

from reelrec.data._dataset import Dataset, FeatureTable, Interactions
from reelrec.data._vocab import IdMap

N_CATEGORIES = 12
N_AGE_GROUPS = 5
N_TAGS = 40
DIM = 6


def _side(rng: np.random.Generator, n_users: int, n_items: int) -> tuple[dict[str, NDArray], dict[str, NDArray]]:
    users = {
        "age_group": rng.integers(0, N_AGE_GROUPS, n_users),
        "region": rng.integers(0, 8, n_users),
        "activity": rng.lognormal(0.0, 0.8, n_users),
        "latent": rng.standard_normal((n_users, DIM)),
    }
    items = {
        "category": rng.integers(0, N_CATEGORIES, n_items),
        "duration_s": np.exp(rng.uniform(np.log(5), np.log(300), n_items)),
        "creator": rng.integers(0, max(2, n_items // 8), n_items),
        "quality": rng.standard_normal(n_items),
        "latent": rng.standard_normal((n_items, DIM)),
    }
    items["tags"] = [rng.choice(N_TAGS, size=rng.integers(1, 4), replace=False) for _ in range(n_items)]
    return users, items


def _preference(rng: np.random.Generator, users: dict, items: dict) -> NDArray[np.float64]:
    """Nonlinear taste: a tanh layer over user x video latent products, plus an age x category table."""
    mix = rng.standard_normal((DIM * DIM, 8)) / DIM
    out_w = rng.standard_normal(8) * 0.45
    n_users = len(users["latent"])
    nonlinear = np.empty((n_users, len(items["latent"])))
    for lo in range(0, n_users, 100):
        outer = np.einsum("ud,ie->uide", users["latent"][lo : lo + 100], items["latent"])
        nonlinear[lo : lo + 100] = np.tanh(outer.reshape(*outer.shape[:2], DIM * DIM) @ mix) @ out_w
    table = rng.standard_normal((N_AGE_GROUPS, N_CATEGORIES)) * 0.5
    return nonlinear + table[users["age_group"]][:, items["category"]] + 0.25 * items["quality"][None, :]


def _duration_factor(duration_s: NDArray[np.float64]) -> NDArray[np.float64]:
    """Log watch-ratio shift by length: short videos are replayed (> 1), long ones abandoned."""
    return 0.9 - 0.35 * np.log(duration_s / 5.0)


def _tables(users: dict, items: dict) -> tuple[FeatureTable, FeatureTable]:
    uf = pl.DataFrame({
        "age_group": users["age_group"].astype(str),
        "region": users["region"].astype(str),
        "activity": users["activity"].astype(np.float32),
    })
    itf = pl.DataFrame({
        "category": items["category"].astype(str),
        "video_duration": items["duration_s"].astype(np.float32),
        "creator": items["creator"].astype(str),
        "tags": pl.Series([t.tolist() for t in items["tags"]], dtype=pl.List(pl.Int64)),
    })
    return (
        FeatureTable(uf, {"age_group": "categorical", "region": "categorical", "activity": "numeric"}),
        FeatureTable(
            itf, {"category": "categorical", "video_duration": "numeric", "creator": "categorical", "tags": "multi"}
        ),
    )


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


def plays_world(n_users: int = 1500, n_items: int = 2000, plays_per_user: int = 40, seed: int = 0) -> Dataset:
    """Implicit play-count log: heavy-tailed counts, relevance = any play (holdout protocol)."""
    rng = np.random.default_rng(seed)
    users, items = _side(rng, n_users, n_items)
    pref = _preference(rng, users, items)
    popularity = np.log(rng.pareto(1.0, n_items) + 0.05)
    rows_u, rows_i, rows_y = [], [], []
    for u in range(n_users):
        logits = 1.5 * pref[u] + popularity
        p = np.exp(logits - logits.max())
        n = max(5, int(plays_per_user * users["activity"][u]))
        chosen = rng.choice(n_items, size=min(n, n_items // 2), replace=False, p=p / p.sum())
        # Heavy-tailed replays: more for stronger taste and more active users (Zipf-like, capped).
        scale = np.exp(0.8 * pref[u, chosen]) * users["activity"][u]
        counts = 1 + np.minimum(np.floor(scale * rng.pareto(1.3, len(chosen))), 5000)
        rows_u.append(np.full(len(chosen), u))
        rows_i.append(chosen)
        rows_y.append(counts)
    inter = Interactions.from_arrays(np.concatenate(rows_u), np.concatenate(rows_i), np.concatenate(rows_y))
    uf, itf = _tables(users, items)
    return Dataset(
        users=IdMap(np.arange(n_users)),
        items=IdMap(np.arange(n_items)),
        interactions=inter,
        user_features=uf,
        item_features=itf,
        label_name="plays",
        source="world-plays",
        meta={"world": "plays", "seed": seed},
    )


WORLDS = {"impressions": impressions_world, "plays": plays_world}
