"""Shared fixtures: a seeded rng, a small in-memory data set with planted structure, paths."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import numpy as np
import polars as pl
import pytest

from reelrec.data import Dataset, FeatureTable, IdMap, Interactions

REPO_ROOT = Path(__file__).resolve().parents[1]


def ml100k_dir() -> Path | None:
    """MovieLens-100K beside the checkout (``../shared/data/ml-100k``) or ``$REELREC_ML100K``."""
    env = os.environ.get("REELREC_ML100K")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared" / "data" / "ml-100k")
    for path in candidates:
        if (path / "u.data").exists():
            return path
    return None


def make_toy_dataset(
    n_users: int = 60,
    n_items: int = 90,
    per_user: int = 25,
    seed: int = 0,
    with_block: bool = True,
) -> Dataset:
    """A tiny KuaiRec-like data set with a known answer.

    Users and items have latent factors; user features and item tags are noisy views of them, so both
    content and collaborative models can learn. Users view the items they like more often
    (biased exposure), and ``label`` is a watch ratio that grows with the affinity. With
    ``with_block``, the first third of users and items form a fully observed block disjoint from
    the training log, with the noise-free expectation as ``truth``.
    """
    rng = np.random.default_rng(seed)
    dim = 4
    u_fac = rng.normal(size=(n_users, dim)).astype(np.float32)
    i_fac = rng.normal(size=(n_items, dim)).astype(np.float32)
    affinity = u_fac @ i_fac.T / np.sqrt(dim)
    expected = np.exp(0.5 * affinity - 0.2).astype(np.float32)

    block_users = np.arange(n_users // 3) if with_block else np.zeros(0, int)
    block_items = np.arange(n_items // 3) if with_block else np.zeros(0, int)
    in_block = np.zeros((n_users, n_items), bool)
    in_block[np.ix_(block_users, block_items)] = True

    rows_u, rows_i = [], []
    for u in range(n_users):
        logits = 1.5 * affinity[u].copy()
        logits[in_block[u]] = -np.inf
        p = np.exp(logits - logits[np.isfinite(logits)].max())
        p /= p.sum()
        items = rng.choice(n_items, size=per_user, replace=True, p=p)
        rows_u.append(np.full(per_user, u))
        rows_i.append(items)
    user = np.concatenate(rows_u)
    item = np.concatenate(rows_i)
    noise = rng.lognormal(0.0, 0.3, size=len(user)).astype(np.float32)
    label = expected[user, item] * noise
    ts = 1_593_878_903.0 + np.sort(rng.uniform(0, 60 * 86400, size=len(user)))
    interactions = Interactions.from_arrays(user, item, label, ts)

    block = None
    truth = None
    if with_block:
        bu, bi = np.meshgrid(block_users, block_items, indexing="ij")
        bu, bi = bu.ravel(), bi.ravel()
        truth = expected[bu, bi]
        block_label = truth * rng.lognormal(0.0, 0.3, size=len(bu)).astype(np.float32)
        block = Interactions.from_arrays(bu, bi, block_label, np.full(len(bu), np.nan))

    user_frame = pl.DataFrame(
        {
            "activity": np.where(u_fac[:, 0] > 0, "high", "low"),
            "code": (np.digitize(u_fac[:, 1], [-0.5, 0.5])).astype(np.int64),
            "follows": rng.lognormal(2.0, 1.0, n_users).round(),
            "age": np.clip(30 + 8 * u_fac[:, 2] + rng.normal(0, 2, n_users), 15, 70),
        }
    )
    tags = [[int(np.argmax(i_fac[i, :3])) + 1] + ([7] if i_fac[i, 3] > 1 else []) for i in range(n_items)]
    item_frame = pl.DataFrame(
        {
            "tags": pl.Series(tags, dtype=pl.List(pl.Int64)),
            "category": np.where(i_fac[:, 0] > 0, "a", "b"),
            "duration": rng.lognormal(9.0, 0.5, n_items),
            "mean_play_progress": 1 / (1 + np.exp(-i_fac.sum(axis=1))),
        }
    )
    return Dataset(
        users=IdMap(np.arange(n_users, dtype=np.int64) * 3 + 100),
        items=IdMap(np.arange(n_items, dtype=np.int64) * 7 + 5000),
        interactions=interactions,
        fully_observed=block,
        truth=truth,
        user_features=FeatureTable(
            user_frame, {"activity": "categorical", "code": "categorical", "follows": "numeric", "age": "numeric"}
        ),
        item_features=FeatureTable(
            item_frame,
            {"tags": "multi", "category": "categorical", "duration": "numeric", "mean_play_progress": "numeric"},
        ),
        label_name="watch_ratio",
        source="toy",
    )


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(42)


@pytest.fixture(scope="session")
def toy_dataset() -> Dataset:
    """Shared read-only toy data set (do not modify in place)."""
    return make_toy_dataset()


def on_ci() -> bool:
    """Whether this is a CI run (``CI=true``, as CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing_ml100k() -> NoReturn:
    """Skip a MovieLens-100K anchor test on a developer's machine; fail it on CI, where the quality
    claims it checks must hold on every submission."""
    where = "../shared/data/ml-100k or $REELREC_ML100K"
    if on_ci():
        pytest.fail(f"CI=true but MovieLens-100K is missing ({where}): the anchor tests cannot run")
    pytest.skip(f"MovieLens-100K not found ({where})")


@pytest.fixture(scope="session")
def ml100k_path() -> Path:
    path = ml100k_dir()
    if path is None:
        missing_ml100k()
    return path


@pytest.fixture(scope="session")
def kuairec_tiny(tmp_path_factory) -> Path:
    """Synthetic KuaiRec files at scale 0.002 (about 27 k big-matrix views, 63 days), written once.

    Read-only: tests that edit the files work on a copy.
    """
    from reelrec.synth import write_kuairec

    path = tmp_path_factory.mktemp("kuairec-tiny") / "kuairec"
    write_kuairec(path, scale=0.002, seed=0)
    return path
