"""The two-tower training task fed from a shard store: batches, histories and exports one shard group at a time."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
import torch
from numpy.typing import NDArray

from reelrec.models._nn_data import Pairs
from reelrec.models._nn_inputs import SideInputs
from reelrec.models._nn_task import StepOptions, TwoTowerTask, log_sampling_probability
from reelrec.models._nn_towers import TwoTowerNet
from reelrec.scale._batches import rank_stream, shards_for_ranks
from reelrec.scale._pairs import PairBlock
from reelrec.scale._plan import StorePlan, ValidationSplit
from reelrec.scale._store import ShardStore
from reelrec.training import to_device
from reelrec.training.distributed import current

Standardize = Callable[[NDArray[np.float32]], NDArray[np.float32]]


class StreamingTwoTowerTask(TwoTowerTask):
    """:class:`~reelrec.models._nn_task.TwoTowerTask` whose rows come from a store, a group of shards at a time.

    Memory holds the side inputs, the validation pairs with their users' histories, and one group of
    shards (plus the next one, read ahead). While a group is trained on, the towers' histories are that
    group's training pairs: every user's pairs live in one shard, so they are complete. The seen-video
    mask of the softmax is built per batch from the same histories. In a distributed run each rank
    reads its own shards (:func:`~reelrec.scale.assign_shards`) and takes ``ceil(batch / world)`` rows
    per step.

    Parameters
    ----------
    validate : bool
        Hold the plan's validation pairs out of training and report validation metrics; ``False``
        trains on every pair (the refit).
    """

    def __init__(
        self,
        net: TwoTowerNet,
        users: SideInputs,
        items: SideInputs,
        store: ShardStore,
        plan: StorePlan,
        split: ValidationSplit,
        standardize: Standardize,
        options: StepOptions,
        device: torch.device,
        *,
        validate: bool = True,
        mix: int = 2,
    ) -> None:
        self._bind(net, users, items, options, device)
        self.n_users = len(users)
        self.store = store
        self.plan = plan
        self.split = split if validate else ValidationSplit(0.0, 0.0, store.n_items, split.seed)
        self.standardize = standardize
        #: Export user vectors from every stored pair (``True``) or from the training pairs only.
        self.export_all = not self.split.active
        info = current()
        self.stream = rank_stream(store, info.rank, info.world_size, mix=mix, transform=self._train_rows)
        self.rank_shards = self.stream.shards
        # The plan counts training pairs per stored shard (not per finer rank shard).
        self._own_shards = len(shards_for_ranks(store, info.world_size)) == len(store.shards)
        # Each rank takes a share of the global batch, so one synchronised step still sees batch_size rows.
        self.batch_size = max(1, math.ceil(options.batch_size / info.world_size))
        counts = plan.train_item_counts
        if not validate:
            counts = counts + np.bincount(plan.val_item, minlength=len(counts))
        self.log_q = log_sampling_probability(counts, device)
        self.seen_dense = None  # the seen mask comes from the current group's histories
        self.hist_z: torch.Tensor | None = None
        self._validating = False
        self.val: Pairs | None = None
        self.val_target: torch.Tensor | None = None
        self._val_hist: tuple[torch.Tensor, torch.Tensor, torch.Tensor | None] | None = None
        if validate and plan.n_val:
            counts_u = np.bincount(plan.val_user, minlength=self.n_users)
            indptr = np.zeros(self.n_users + 1, np.int64)
            np.cumsum(counts_u, out=indptr[1:])
            self.val = Pairs(indptr, plan.val_user, plan.val_item, plan.val_label)
            self.val_target = torch.from_numpy(standardize(plan.val_label))
            hist_z = None
            if net.taste is not None:
                hist_z = torch.from_numpy(standardize(plan.hist_label)).to(device)
            self._val_hist = (
                torch.from_numpy(plan.hist_indptr).to(device),
                torch.from_numpy(plan.hist_item.astype(np.int64) + 1).to(device),
                hist_z,
            )
        self.hist_indptr = torch.zeros(self.n_users + 1, dtype=torch.int64, device=device)
        self.hist_codes = torch.zeros(0, dtype=torch.int64, device=device)

    # ---------------------------------------------------------------- rows
    def _train_rows(self, block: PairBlock) -> PairBlock:
        held = self.split.mask(block)
        return block.take(~held) if held.any() else block

    def _use_history(self, block: PairBlock) -> None:
        """Point the towers' histories at ``block``'s pairs (global user indexing, other users empty)."""
        counts = np.zeros(self.n_users, np.int64)
        counts[block.users] = block.counts
        indptr = np.zeros(self.n_users + 1, np.int64)
        np.cumsum(counts, out=indptr[1:])
        self.hist_indptr = to_device(torch.from_numpy(indptr), self.device)
        self.hist_codes = to_device(torch.from_numpy(block.item.astype(np.int64) + 1), self.device)
        if self.net.taste is not None:
            self.hist_z = to_device(torch.from_numpy(self.standardize(block.label)), self.device)

    # ------------------------------------------------------------- batches
    @property
    def n_train(self) -> int:  # type: ignore[override]
        """Training pairs of this rank's shards (estimated from the held-out share for finer rank shards)."""
        pairs = sum(s.n_pairs for s in self.rank_shards)
        if not self.split.active:
            return pairs
        if self._own_shards:
            return sum(self.plan.shard_train_pairs.get(s.index, 0) for s in self.rank_shards)
        return round(pairs * self.plan.n_train / max(self.store.n_pairs, 1))

    def n_batches(self, epoch: int) -> int:
        return math.ceil(self.n_train / self.batch_size)

    def batches(self, epoch: int, rng: np.random.Generator) -> Iterator[tuple[torch.Tensor, ...]]:
        for block in self.stream.chunks(rng):
            if len(block) == 0:
                continue
            self._use_history(block)
            user = to_device(torch.from_numpy(block.user.astype(np.int64)), self.device)
            item = to_device(torch.from_numpy(block.item.astype(np.int64)), self.device)
            target = to_device(torch.from_numpy(self.standardize(block.label)), self.device)
            perm = to_device(torch.from_numpy(rng.permutation(len(block)).astype(np.int64)), self.device)
            for lo in range(0, len(block), self.batch_size):
                yield user, item, target, perm[lo : lo + self.batch_size]

    def step(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, int]:  # type: ignore[override]
        user, item, target, rows = batch
        return self.step_rows(user[rows], item[rows], target[rows])

    # ---------------------------------------------------------- validation
    def validate(self) -> dict[str, float]:
        if self.val is None or self._val_hist is None:
            return {}
        saved = self.hist_indptr, self.hist_codes, self.hist_z
        self.hist_indptr, self.hist_codes, self.hist_z = self._val_hist
        self._validating = True
        try:
            return super().validate()
        finally:
            self._validating = False
            self.hist_indptr, self.hist_codes, self.hist_z = saved

    def full_user_vectors(self, users: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
        """User vectors with each user's whole history, streaming every shard once (outside validation).

        The history is every stored pair when :attr:`export_all`, else the training pairs only (the
        vectors used to tune scoring on the held-out pairs must not have seen them).
        """
        if self._validating:
            return super().full_user_vectors(users, chunk)
        wanted = users.cpu().numpy()
        # Users outside every shard (no stored pairs) keep the history-free vector.
        self.hist_indptr = torch.zeros(self.n_users + 1, dtype=torch.int64, device=self.device)
        self.hist_codes = torch.zeros(0, dtype=torch.int64, device=self.device)
        self.hist_z = None if self.net.taste is None else torch.zeros(0, device=self.device)
        out = super().full_user_vectors(users, chunk).float()
        for info in self.store.shards:
            sel = np.flatnonzero((wanted >= info.user_lo) & (wanted < info.user_hi))
            if len(sel) == 0:
                continue
            block = self.store.read(info)
            self._use_history(block if self.export_all else self._train_rows(block))
            rows = torch.from_numpy(sel).to(self.device)
            out[rows] = super().full_user_vectors(users[rows], chunk).to(out.dtype)
        return out
