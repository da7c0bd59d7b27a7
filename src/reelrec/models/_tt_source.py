"""Where the two-tower's training pairs come from: one interface for the in-memory and streamed fits.

The trainer asks a :class:`PairSource` for the few things it needs (label statistics, which users
and videos have pairs, training tasks with or without the validation split, the held-out pairs
for choosing the watch weight, and, in memory only, every pair for the ALS residual). The in-memory
source lives here; ``reelrec.scale`` implements the same interface over a shard store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import NDArray

from reelrec.data._dataset import Dataset
from reelrec.models._nn_data import Pairs, distinct_pairs, temporal_validation_mask, validation_mask
from reelrec.models._nn_inputs import SideInputs
from reelrec.models._nn_task import StepOptions, TwoTowerTask
from reelrec.models._nn_towers import TwoTowerNet
from reelrec.models._tt_scorer import TargetScale

#: Validation users scored to choose ``watch_weight="auto"`` (a sample bounds the cost on big logs).
TUNE_USERS = 3000


@dataclass(frozen=True)
class LabelStats:
    """The transformed label's mean, std and range over the pairs, and the raw label's spread."""

    mean: float
    std: float
    low: float
    high: float
    raw_std: float

    def scale(self, target: str) -> TargetScale:
        std = self.std or 1.0
        return TargetScale(target, self.mean, std, (self.low - self.mean) / std, (self.high - self.mean) / std)


@dataclass(frozen=True)
class HeldOut:
    """Held-out pairs for choosing the watch weight, with the training pairs that mask them."""

    user: NDArray[np.int32]
    item: NDArray[np.int32]
    label: NDArray[np.float32]
    label_mean: float  # training mean of the (clipped) label: only outcomes above it count as gains
    seen: sp.csr_matrix
    max_users: int = TUNE_USERS


@dataclass(frozen=True)
class ResidualPairs:
    """Training and held-out pairs with standardised labels, and every pair (in-memory fits only)."""

    train: Pairs
    train_z: NDArray[np.float32]
    val: Pairs | None
    val_z: NDArray[np.float32] | None
    all: Pairs
    all_z: NDArray[np.float32]


class PairSource(Protocol):
    """What the trainer reads; implemented in memory (:class:`MemorySource`) and over a shard store."""

    #: Facts recorded in the model's ``options_`` (e.g. ``{"out_of_core": True}``).
    facts: dict[str, Any]

    def seen(self) -> sp.csr_matrix:
        """Every training pair as a users x videos matrix of ones (the contract's ``seen_``)."""
        ...

    def label_stats(self, target: str) -> LabelStats: ...

    def entity_rows(self) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
        """Users and videos with at least one pair (feature pipelines and id embeddings are fitted on them)."""
        ...

    def n_train(self) -> int:
        """Training pairs per epoch (sizes the batch)."""
        ...

    def n_pairs(self) -> int:
        """Every pair, held-out ones included (``refit="auto"`` refits small logs)."""
        ...

    def task(
        self,
        net: TwoTowerNet,
        users: SideInputs,
        items: SideInputs,
        step: StepOptions,
        device: torch.device,
        scale: TargetScale,
        validate: bool,
    ) -> Any:
        """A training task: with the validation split held out (``validate``) or over every pair."""
        ...

    def held_out(self, scale: TargetScale) -> HeldOut | None: ...

    def residual_pairs(self, scale: TargetScale) -> ResidualPairs | None:
        """Pairs for the ALS residual, or ``None`` when the source cannot hold them all at once."""
        ...


class MemorySource:
    """Pairs of an in-memory data set: repeat views merged, a per-user (or temporal) validation split."""

    def __init__(self, dataset: Dataset, fraction: float, validation: str, seed: int) -> None:
        inter = dataset.interactions
        if not np.isfinite(inter.label).all():
            raise ValueError("interactions.label holds NaN or inf; clean the labels before fitting")
        self.facts: dict[str, Any] = {}
        self.n_users, self.n_items = dataset.n_users, dataset.n_items
        self.pairs = distinct_pairs(inter, dataset.n_users, dataset.n_items)
        how = dataset.meta.get("validation", "random") if validation == "auto" else validation
        if how == "temporal":
            self.val_mask = temporal_validation_mask(self.pairs, inter, fraction)
        else:
            self.val_mask = validation_mask(self.pairs, fraction, np.random.default_rng([seed, 7]))
        self.train = self.pairs.take(~self.val_mask)
        self.val = self.pairs.take(self.val_mask) if self.val_mask.any() else None

    def seen(self) -> sp.csr_matrix:
        p = self.pairs
        return sp.csr_matrix((np.ones(len(p), np.float32), p.item, p.indptr), shape=(self.n_users, self.n_items))

    def label_stats(self, target: str) -> LabelStats:
        z = TargetScale(target, 0.0, 1.0, -np.inf, np.inf).transform(self.pairs.label)
        raw = float(self.pairs.label.std()) if len(self.pairs) else 0.0
        return LabelStats(float(z.mean()), float(z.std()), float(z.min()), float(z.max()), raw)

    def entity_rows(self) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
        users = np.flatnonzero(np.diff(self.pairs.indptr) > 0).astype(np.int32)
        return users, np.unique(self.pairs.item).astype(np.int32)

    def n_train(self) -> int:
        return len(self.train)

    def n_pairs(self) -> int:
        return len(self.pairs)

    def task(
        self,
        net: TwoTowerNet,
        users: SideInputs,
        items: SideInputs,
        step: StepOptions,
        device: torch.device,
        scale: TargetScale,
        validate: bool,
    ) -> TwoTowerTask:
        if validate:
            z, val_z = scale.standardize(self.train.label), None
            if self.val is not None:
                val_z = scale.standardize(self.val.label)
            return TwoTowerTask(net, users, items, self.train, z, self.train, z, step, device, self.val, val_z)
        z = scale.standardize(self.pairs.label)
        return TwoTowerTask(net, users, items, self.pairs, z, self.pairs, z, step, device)

    def held_out(self, scale: TargetScale) -> HeldOut | None:
        if self.val is None:
            return None
        label = np.clip(self.train.label, 0.0, 5.0) if scale.target == "log1p" else self.train.label
        t = self.train
        seen = sp.csr_matrix((np.ones(len(t), np.float32), t.item, t.indptr), shape=(self.n_users, self.n_items))
        return HeldOut(self.val.user, self.val.item, self.val.label, float(label.mean()), seen)

    def residual_pairs(self, scale: TargetScale) -> ResidualPairs:
        val_z = None if self.val is None else scale.standardize(self.val.label)
        return ResidualPairs(
            self.train,
            scale.standardize(self.train.label),
            self.val,
            val_z,
            self.pairs,
            scale.standardize(self.pairs.label),
        )
