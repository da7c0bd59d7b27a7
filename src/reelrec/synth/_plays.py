"""``reelrec synth --world plays``: an implicit play-count log built unlike the KuaiRec generator.

The KuaiRec generator plants a biased log-scale MF plus tag taste, the structure of an MF watch
head; this world plants other structure, so no model is judged on its own. Taste is nonlinear: a
tanh layer over user x video latent products plus an age-group x category table and a video
quality term. Users play videos drawn from a softmax of that taste times a heavy-tailed
popularity; the label is a heavy-tailed play count (a Pareto draw scaled by taste and user
activity, capped), which is confidence, not a rating. Relevance is any play (holdout protocol).

Written in the generic layout (``interactions.csv``, ``users.csv``, ``items.csv`` and
``schema.json``) that ``load_dataset`` reads.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from reelrec._atomic import atomic_write_text
from reelrec.data._dataset import Dataset, FeatureKind, FeatureTable, Interactions
from reelrec.data._vocab import IdMap
from reelrec.synth._shape import synth_shape

N_CATEGORIES = 12
N_AGE_GROUPS = 5
N_TAGS = 40
DIM = 6
USER_KINDS: dict[str, FeatureKind] = {"age_group": "categorical", "region": "categorical", "activity": "numeric"}
ITEM_KINDS: dict[str, FeatureKind] = {
    "category": "categorical", "video_duration": "numeric", "creator": "categorical", "tags": "multi"
}


def side_features(rng: np.random.Generator, n_users: int, n_items: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """User and video attributes, observed (age group, category...) and latent."""
    users = {
        "age_group": rng.integers(0, N_AGE_GROUPS, n_users),
        "region": rng.integers(0, 8, n_users),
        "activity": rng.lognormal(0.0, 0.8, n_users),
        "latent": rng.standard_normal((n_users, DIM)),
    }
    items: dict[str, Any] = {
        "category": rng.integers(0, N_CATEGORIES, n_items),
        "duration_s": np.exp(rng.uniform(np.log(5), np.log(300), n_items)),
        "creator": rng.integers(0, max(2, n_items // 8), n_items),
        "quality": rng.standard_normal(n_items),
        "latent": rng.standard_normal((n_items, DIM)),
    }
    items["tags"] = [rng.choice(N_TAGS, size=rng.integers(1, 4), replace=False) for _ in range(n_items)]
    return users, items


def preference(rng: np.random.Generator, users: dict[str, Any], items: dict[str, Any]) -> NDArray[np.float64]:
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


def feature_frames(users: dict[str, Any], items: dict[str, Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The observed side features as frames (latent taste and quality stay hidden)."""
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
    return uf, itf


def plays_world(n_users: int = 1500, n_items: int = 2000, plays_per_user: int = 40, seed: int = 0) -> Dataset:
    """Implicit play-count log in memory: heavy-tailed counts, relevance = any play."""
    rng = np.random.default_rng(seed)
    users, items = side_features(rng, n_users, n_items)
    pref = preference(rng, users, items)
    popularity = np.log(rng.pareto(1.0, n_items) + 0.05)
    rows_u, rows_i, rows_y = [], [], []
    for u in range(n_users):
        logits = 1.5 * pref[u] + popularity
        p = np.exp(logits - logits.max())
        n = max(5, int(plays_per_user * users["activity"][u]))
        chosen = rng.choice(n_items, size=min(n, n_items // 2), replace=False, p=p / p.sum())
        # Heavy-tailed replays: more for stronger taste and more active users (Pareto, capped).
        scale = np.exp(0.8 * pref[u, chosen]) * users["activity"][u]
        counts = 1 + np.minimum(np.floor(scale * rng.pareto(1.3, len(chosen))), 5000)
        rows_u.append(np.full(len(chosen), u))
        rows_i.append(chosen)
        rows_y.append(counts)
    inter = Interactions.from_arrays(np.concatenate(rows_u), np.concatenate(rows_i), np.concatenate(rows_y))
    uf, itf = feature_frames(users, items)
    return Dataset(
        users=IdMap(np.arange(n_users)),
        items=IdMap(np.arange(n_items)),
        interactions=inter,
        user_features=FeatureTable(uf, dict(USER_KINDS)),
        item_features=FeatureTable(itf, dict(ITEM_KINDS)),
        label_name="plays",
        source="world-plays",
        meta={"world": "plays", "seed": seed},
    )


def write_plays(out: str | Path, scale: float = 0.03, seed: int = 0) -> dict[str, Any]:
    """Write the plays world in the generic layout; returns a summary.

    ``scale`` sizes it like ``reelrec synth`` (1.0 = KuaiRec's 7,176 users x 10,728 videos; 0.03 is
    about the benchmark world's 1,500 x 2,000).
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed={seed!r}, must be >= 0")
    shape = synth_shape(scale)
    start = time.perf_counter()
    ds = plays_world(shape.n_users, shape.n_videos, seed=seed)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    inter = ds.interactions
    frames = {
        "interactions.csv": pl.DataFrame(
            {"user_id": inter.user, "item_id": inter.item, "label": inter.label.astype(np.int64)}
        ),
        "users.csv": ds.user_features.frame.with_columns(pl.Series("user_id", np.arange(shape.n_users))),  # type: ignore[union-attr]
        "items.csv": ds.item_features.frame.with_columns(  # type: ignore[union-attr]
            pl.Series("item_id", np.arange(shape.n_videos)),
            pl.col("tags").list.eval(pl.element().cast(pl.String)).list.join("|"),
        ),
    }
    for name, frame in frames.items():
        id_col = [c for c in frame.columns if c.endswith("_id")]
        frame = frame.select(id_col + [c for c in frame.columns if c not in id_col])
        atomic_write_text(folder / name, frame.write_csv())
    schema = {"users": USER_KINDS, "items": ITEM_KINDS}
    atomic_write_text(folder / "schema.json", json.dumps(schema, indent=2) + "\n")
    return {
        "world": "plays", "out_dir": str(folder), "scale": float(scale), "seed": seed,
        "n_users": shape.n_users, "n_videos": shape.n_videos, "rows": {"interactions": len(inter)},
        "seconds": time.perf_counter() - start,
    }
