"""Fit the two-tower model from a shard store: a :class:`PairSource` whose rows are streamed shard by shard."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import NDArray

from reelrec.data._dataset import Dataset
from reelrec.models._nn_inputs import SideInputs
from reelrec.models._nn_task import StepOptions
from reelrec.models._nn_towers import TwoTowerNet
from reelrec.models._tt_scorer import TargetScale
from reelrec.models._tt_source import TUNE_USERS, HeldOut, LabelStats
from reelrec.models._two_tower import TwoTower
from reelrec.scale._plan import StorePlan, ValidationSplit, plan_store
from reelrec.scale._store import ShardStore
from reelrec.scale._stream_task import StreamingTwoTowerTask

#: Cells (users x videos) of each score matrix built while tuning ``watch_weight``.
_TUNE_CELLS = 25_000_000


def check_store_matches(dataset: Dataset, store: ShardStore) -> None:
    """Raise ``ValueError`` unless ``store`` indexes the same users and videos as ``dataset``."""
    for name, ours, theirs in (("users", dataset.users, store.users), ("videos", dataset.items, store.items)):
        if len(ours) != len(theirs) or not np.array_equal(ours.raw_ids, theirs.raw_ids):
            raise ValueError(
                f"store {store.path}: its {name} ({len(theirs)}) are not the data set's ({len(ours)}) in the same "
                "order; build the store with the data set's id maps (convert_log(..., users=, items=))"
            )


class StoreSource:
    """A shard store's pairs for the two-tower trainer, in bounded memory.

    What the in-memory fit keeps per pair (the pair arrays, histories, the dense seen mask) is
    replaced by one pass that plans statistics and a hashed validation split, then epochs streamed a
    group of shards at a time. The watch head's ALS residual needs every pair at once and is not
    fitted (``residual`` is ignored). What remains O(pairs) is the contract's seen-video matrix.
    """

    def __init__(self, store: ShardStore, fraction: float, seed: int, mix: int = 2) -> None:
        self.store, self.mix = store, mix
        self.split = ValidationSplit.plan(store, fraction, seed)
        self.facts: dict[str, Any] = {"out_of_core": True, "store_pairs": store.n_pairs}
        self._plan: StorePlan | None = None
        self._standardize: TargetScale | None = None

    @property
    def plan(self) -> StorePlan:
        if self._plan is None:
            raise RuntimeError("label_stats() plans the store; call it first")
        return self._plan

    def seen(self) -> sp.csr_matrix:
        return self.store.seen_csr()

    def label_stats(self, target: str) -> LabelStats:
        transform = TargetScale(target, 0.0, 1.0, -np.inf, np.inf).transform
        self._plan = plan_store(self.store, self.split, transform)
        p = self._plan
        return LabelStats(
            float(p.label_mean), float(p.label_std), float(p.label_min), float(p.label_max), float(p.raw_std)
        )

    def entity_rows(self) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
        p = self.plan
        return np.flatnonzero(p.user_has_pairs).astype(np.int32), np.flatnonzero(p.item_has_pairs).astype(np.int32)

    def n_train(self) -> int:
        return int(self.plan.n_train)

    def n_pairs(self) -> int:
        return int(self.store.n_pairs)

    def task(
        self,
        net: TwoTowerNet,
        users: SideInputs,
        items: SideInputs,
        step: StepOptions,
        device: torch.device,
        scale: TargetScale,
        validate: bool,
    ) -> StreamingTwoTowerTask:
        return StreamingTwoTowerTask(
            net, users, items, self.store, self.plan, self.split, scale.standardize, step, device,
            validate=validate, mix=self.mix,
        )  # fmt: skip

    def held_out(self, scale: TargetScale) -> HeldOut | None:
        """The plan's held-out pairs; on catalogues over ~8,000 videos fewer users are scored (memory)."""
        p = self.plan
        if p.n_val == 0:
            return None
        n_users, n_items = len(self.store.users), len(self.store.items)
        limit = min(TUNE_USERS, max(200, _TUNE_CELLS // max(n_items, 1)))
        seen = sp.csr_matrix(
            (np.ones(len(p.hist_item), np.float32), p.hist_item, p.hist_indptr), shape=(n_users, n_items)
        )
        # The training mean of the (clipped) label; stores of watch ratios are clipped when built.
        return HeldOut(p.val_user, p.val_item, p.val_label, float(p.raw_mean), seen, limit)

    def residual_pairs(self, scale: TargetScale) -> None:
        return None


def fit_store(model: TwoTower, dataset: Dataset, store: ShardStore, *, mix: int = 2) -> TwoTower:
    """Fit ``model`` on ``store``'s pairs with ``dataset``'s features and id maps, in bounded memory.

    Raises
    ------
    ValueError
        A bad hyperparameter, an empty store, or a store indexed differently from ``dataset``.
    """
    model.check_params()
    check_store_matches(dataset, store)
    if store.n_pairs == 0:
        raise ValueError(f"store {store.path} holds no pairs; cannot fit")
    cfg = model.config
    source = StoreSource(store, cfg.validation_fraction if cfg.patience > 0 else 0.0, cfg.seed, mix)
    return model.fit_pairs(dataset, source)
