"""``reelrec train --stream``: side tables in memory, the log as a shard store, fit from it; rank 0 evaluates, saves."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from reelrec.data._dataset import Dataset, Interactions
from reelrec.models._two_tower import TwoTower
from reelrec.scale._fit import fit_store
from reelrec.scale._store import ShardStore, is_store
from reelrec.training.distributed import barrier, current, rank0_first

#: Latest stored pairs per user kept in the artifact's history file (what the service shows).
HISTORY_LIMIT = 50


def load_sharded(data: str | Path, *, clip: float | None, fully_observed: bool) -> tuple[Dataset, ShardStore]:
    """The side tables and the store of ``data``: a KuaiRec-shaped folder (CSV or parquet big matrix) or a store.

    A bare store directory gives a data set with its id maps and no features.
    """
    if is_store(data):
        store = ShardStore(data)
        dataset = Dataset(
            users=store.users,
            items=store.items,
            interactions=Interactions.empty(),
            label_name=store.label_name,
            source="store",
            meta={"store": str(store.path), "store_pairs": store.n_pairs, "store_views": store.n_views},
        )
        return dataset, store
    from reelrec.scale._kuairec import load_kuairec_sharded

    return load_kuairec_sharded(data, clip=clip, fully_observed=fully_observed)


def train_sharded(config: Any, data: str | Path, out: str | Path) -> dict[str, Any]:
    """Fit ``config``'s model out of core from ``data``; rank 0 evaluates and writes the one artifact.

    Every rank opens the same store (rank 0 builds it first; the others then find it in the cache)
    and trains on its own shards. Protocols: ``kuairec`` (train on the big matrix, test on the fully
    observed small one; the default for KuaiRec-shaped folders) and ``none`` (the default for a bare
    store). Holdout splits and cold users would need the store split first and are refused.

    Returns the keys of :func:`reelrec.pipeline.train_run` plus ``views``, ``pairs``, ``shards``,
    ``prepare_seconds``, ``rank`` and ``processes``.
    """
    from reelrec.eval import evaluate, kuairec_split

    protocol = config.data.protocol
    if protocol == "auto":
        protocol = "none" if is_store(data) else "kuairec"
    if protocol not in ("kuairec", "none"):
        raise ValueError(
            f"data.protocol={protocol!r} is not available out of core (--stream); use 'kuairec' (train on the "
            "big matrix, test on the small one) or 'none'"
        )
    if config.data.cold_user_fraction > 0:
        raise ValueError("data.cold_user_fraction > 0 is not available out of core (--stream); set it to 0")
    if config.data.duplicates != "keep" and "duplicates" in config.data.model_fields_set:
        raise ValueError(f"data.duplicates={config.data.duplicates!r}: out of core, repeat views are averaged ('keep')")
    model = config.build_model()
    if not isinstance(model, TwoTower):
        raise ValueError(
            f"model {model.name!r} trains in memory only; out-of-core training (--stream) supports two-tower"
        )
    info = current()
    started = time.perf_counter()
    clip = config.data.clip if "clip" in config.data.model_fields_set else 5.0
    dataset, store = rank0_first(lambda: load_sharded(data, clip=clip, fully_observed=protocol == "kuairec"))
    split = kuairec_split(dataset) if protocol == "kuairec" else None
    train_data = dataset if split is None else split.train
    prepare_seconds = time.perf_counter() - started
    started = time.perf_counter()
    fit_store(model, train_data, store)
    fit_seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "model": model.name,
        "artifact": str(out),
        "metrics": {},
        "fit_seconds": fit_seconds,
        "prepare_seconds": round(prepare_seconds, 3),
        "protocol": protocol,
        "views": store.n_views,
        "pairs": store.n_pairs,
        "shards": len(store.shards),
        "rank": info.rank,
        "processes": info.world_size,
    }
    if info.is_main:
        if split is not None:
            result["metrics"] = dict(evaluate(model, split).metrics)
        record = {
            "metrics": result["metrics"],
            "fit_seconds": fit_seconds,
            "protocol": protocol,
            "history": getattr(model, "history_", None) or [],
            "store": {"path": str(store.path), "views": store.n_views, "pairs": store.n_pairs},
            "processes": info.world_size,
        }
        saved_config = {**config.to_json(), "data_path": str(data), "stream": True}
        model.save(out, dataset=saved_view(train_data, store), config=saved_config, metrics=record)
    barrier()  # the artifact is complete before any rank returns
    return result


class _StoreView(Dataset):
    """What an artifact records about out-of-core training data: the store's counts, recent views as history.

    ``interactions`` holds only each user's latest stored pairs (for the artifact's history file);
    ``summary`` describes the whole store. Never train on it.
    """

    store: ShardStore

    def summary(self) -> dict[str, Any]:
        out = super().summary()
        store = self.store
        counts = np.diff(store.indptr)
        step = max(1, store.n_pairs // 1_000_000)
        sample = np.concatenate([c[::step] for _, c in store.iter_column("label", step << 16)] or [np.zeros(0)])
        sample = sample.astype(np.float64)
        out.update(
            interactions=store.n_views,
            pairs=store.n_pairs,
            density=store.n_pairs / max(1, store.n_users * store.n_items),
            rows_per_user_median=float(np.median(counts)) if len(counts) else 0.0,
            label_mean=float(sample.mean()) if len(sample) else None,
            store=str(store.path),
        )
        if len(sample):
            q = np.quantile(sample, [0.0, 0.25, 0.5, 0.75, 0.99, 1.0])
            out["label_quantiles"] = dict(zip(["min", "25%", "50%", "75%", "99%", "max"], q.tolist(), strict=True))
            out["label_quantiles_note"] = "over the mean label per (user, video) pair, sampled"
        return out


def saved_view(dataset: Dataset, store: ShardStore, limit: int = HISTORY_LIMIT) -> Dataset:
    """``dataset`` with each user's ``limit`` latest stored pairs as interactions, for the artifact's files."""
    users, items, labels, times = [], [], [], []
    for info in store.shards:
        block = store.read(info)
        if len(block) == 0:
            continue
        when = store.read_times(info)
        user = block.user
        order = np.lexsort((np.nan_to_num(when, nan=-np.inf), user))
        # ``order`` keeps each user's rows in the user's own row range (rows are grouped by user).
        ends = np.repeat(block.indptr[1:], block.counts)
        keep = order[(ends - 1 - np.arange(len(order))) < limit]
        users.append(user[keep])
        items.append(block.item[keep])
        labels.append(block.label[keep])
        times.append(when[keep])
    if users:
        recent = Interactions.from_arrays(
            np.concatenate(users), np.concatenate(items), np.concatenate(labels), np.concatenate(times)
        )
    else:
        recent = Interactions.empty()
    view = _StoreView(**{**_fields(dataset), "interactions": recent})
    view.store = store
    return view


def _fields(dataset: Dataset) -> dict[str, Any]:
    return {
        "users": dataset.users,
        "items": dataset.items,
        "interactions": dataset.interactions,
        "fully_observed": dataset.fully_observed,
        "truth": dataset.truth,
        "user_features": dataset.user_features,
        "item_features": dataset.item_features,
        "social": dataset.social,
        "label_name": dataset.label_name,
        "source": dataset.source,
        "meta": dict(dataset.meta),
    }
