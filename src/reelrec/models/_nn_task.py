"""One training step of the two-tower model: batch sampling, cold-start simulation, the mixed loss."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from reelrec.models._nn_data import Pairs, gather_ragged, sample_history
from reelrec.models._nn_inputs import SideInputs
from reelrec.models._nn_losses import regression_loss, softmax_retrieval_loss
from reelrec.models._nn_towers import TwoTowerNet
from reelrec.training._gather import take_rows
from reelrec.training._parallel import batch_count, shuffled_batches

#: Largest users x videos seen-mask kept as a dense boolean matrix (256 MB).
_DENSE_MASK_CELLS = 256 * 2**20


@dataclass
class StepOptions:
    """What each step optimises and how it samples (resolved from the model's hyperparameters)."""

    batch_size: int
    retrieval_weight: float
    regression_weight: float
    negatives: str  # "full" | "in-batch" | "sampled"
    n_negatives: int
    logq: bool
    history_size: int
    history_dropout: float
    cold_fraction: float
    mask_seen: bool = True


def log_sampling_probability(counts: np.ndarray, device: torch.device) -> torch.Tensor:
    """log Q of each video for the logQ correction: its share of training pairs (add-one smoothed)."""
    freq = np.asarray(counts, np.float64) + 1.0
    return torch.from_numpy(np.log(freq / freq.sum()).astype(np.float32)).to(device)


class TwoTowerTask:
    """Feeds :func:`reelrec.training.run_training`: batches of pair indices, the loss of each batch.

    All per-entity tensors live on the training device; a batch moves only its index array there.
    Towers run once per unique user and video of a batch (the user's logits are shared by all its rows).
    """

    def __init__(
        self,
        net: TwoTowerNet,
        users: SideInputs,
        items: SideInputs,
        train: Pairs,
        target: np.ndarray,
        history_items: Pairs,
        history_target: np.ndarray,
        options: StepOptions,
        device: torch.device,
        val: Pairs | None = None,
        val_target: np.ndarray | None = None,
    ) -> None:
        self._bind(net, users, items, options, device)
        self.train_user = torch.from_numpy(train.user.astype(np.int64)).to(device)
        self.train_item = torch.from_numpy(train.item.astype(np.int64)).to(device)
        self.train_target = torch.from_numpy(np.asarray(target, np.float32)).to(device)
        self.n_train = len(train)
        # History codes are video index + 1 (0 pads); the history is the training pairs only.
        self.hist_indptr = torch.from_numpy(history_items.indptr).to(device)
        self.hist_codes = torch.from_numpy(history_items.item.astype(np.int64) + 1).to(device)
        self.hist_z = None
        if net.taste is not None:
            self.hist_z = torch.from_numpy(np.asarray(history_target, np.float32)).to(device)
        # The seen mask as a dense bit matrix when it fits: one gather per step instead of scattering
        # every training pair of the batch's users (on dense logs that is the whole log each step).
        self.seen_dense = None
        if options.mask_seen and history_items.n_users * self.n_items <= _DENSE_MASK_CELLS:
            dense = torch.zeros((history_items.n_users, self.n_items), dtype=torch.bool)
            dense[torch.from_numpy(history_items.user.astype(np.int64)), self.hist_codes.cpu() - 1] = True
            self.seen_dense = dense.to(device)
        self.log_q = log_sampling_probability(np.bincount(train.item, minlength=self.n_items), device)
        self.val = val
        self.val_target = None if val_target is None else torch.from_numpy(np.asarray(val_target, np.float32))

    def _bind(
        self, net: TwoTowerNet, users: SideInputs, items: SideInputs, options: StepOptions, device: torch.device
    ) -> None:
        """The network, both sides' inputs on ``device`` and the step options (any way the rows arrive)."""
        self.module = net
        self.net = net
        self.opt = options
        self.device = device
        self.users = users.to(device)
        self.items = items.to(device)
        self.n_items = len(items)

    # ---------------------------------------------------------------- batches
    def n_batches(self, epoch: int) -> int:
        return batch_count(self.n_train, self.opt.batch_size)

    def batches(self, epoch: int, rng: np.random.Generator) -> Iterator[Any]:
        return shuffled_batches(self.n_train, self.opt.batch_size, rng, self.device)

    # ------------------------------------------------------------------ step
    def _user_batch(self, uu: torch.Tensor, row_user: torch.Tensor, row_item: torch.Tensor) -> torch.Tensor:
        """User vectors for unique users ``uu``, their rows' target videos left out of the history."""
        x = self.users.take(uu)
        hist = hist_z = None
        cold = None
        if self.opt.cold_fraction > 0:
            # Simulated cold users lose id and history together, as a new user would.
            cold = torch.rand(len(uu), device=uu.device) < self.opt.cold_fraction
            if x.ids is not None:
                x = x.with_ids(x.ids.masked_fill(cold, 0))
        if self.net.history is not None:
            hist, hist_z = sample_history(
                self.hist_indptr, self.hist_codes, uu, self.opt.history_size, self.opt.history_dropout, self.hist_z
            )
            # Leave-one-out: a row's own video must not sit in its user's bag (it would teach identity).
            n_codes = self.n_items + 1
            keys = torch.arange(len(uu), device=uu.device)[:, None] * n_codes + hist
            targets = row_user * n_codes + row_item + 1
            drop = torch.isin(keys, targets)
            if cold is not None:
                drop |= cold[:, None]
            hist = hist.masked_fill(drop, 0)
            hist_z = None if hist_z is None else hist_z.masked_fill(drop, 0.0)
        return self.net.user_vectors(x, hist, None, hist_z)

    def _item_inputs(self, rows: torch.Tensor | None) -> SideInputs:
        x = self.items if rows is None else self.items.take(rows)
        if self.opt.cold_fraction > 0 and x.ids is not None:
            cold = torch.rand(len(x), device=x.ids.device) < self.opt.cold_fraction
            x = x.with_ids(x.ids.masked_fill(cold, 0))
        return x

    def step(self, idx: torch.Tensor) -> tuple[torch.Tensor, int]:
        return self.step_rows(self.train_user[idx], self.train_item[idx], self.train_target[idx])

    def step_rows(self, u: torch.Tensor, i: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, int]:
        """The loss of rows given as (user, video, standardised target) tensors (streamed tasks call this)."""
        uu, row_user = torch.unique(u, return_inverse=True)
        user_vec = self._user_batch(uu, row_user, i)
        log_q = None
        if self.opt.negatives == "full":
            item_vec = self.net.item_vectors(self._item_inputs(None))
            row_pos = i
        elif self.opt.negatives == "in-batch":
            cand, row_pos = torch.unique(i, return_inverse=True)
            item_vec = self.net.item_vectors(self._item_inputs(cand))
            log_q = self.log_q[cand] if self.opt.logq else None
        else:
            extra = torch.randint(0, self.n_items, (self.opt.n_negatives,), device=i.device)
            cand, inverse = torch.unique(torch.cat([i, extra]), return_inverse=True)
            row_pos = inverse[: len(i)]
            item_vec = self.net.item_vectors(self._item_inputs(cand))
            if self.opt.logq:
                # Expected times a video enters the candidate set: as a batch positive, plus uniformly.
                q = len(i) * self.log_q[cand].exp() + self.opt.n_negatives / self.n_items
                log_q = q.log()
        loss = user_vec.new_zeros(())
        if self.opt.retrieval_weight > 0:
            r_user = self.net.retrieval_user(user_vec)
            r_item, bias = self.net.retrieval_item(item_vec)
            seen: tuple[torch.Tensor, torch.Tensor] | torch.Tensor | None = None
            if self.opt.mask_seen:
                if self.opt.negatives != "full":
                    seen = (row_user, row_pos)
                elif self.seen_dense is not None:
                    seen = self.seen_dense.index_select(0, uu)
                else:
                    seen = self._seen_cells(uu)
            loss = loss + self.opt.retrieval_weight * softmax_retrieval_loss(
                r_user, row_user, r_item, bias, row_pos, log_q, seen
            )
        if self.opt.regression_weight > 0:
            pred = self.net.regression(take_rows(user_vec, row_user), take_rows(item_vec, row_pos))
            loss = loss + self.opt.regression_weight * regression_loss(pred, y)
        return loss, len(u)

    def _seen_cells(self, uu: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(user position, video) cells of every training pair of the users ``uu``."""
        codes, offsets = gather_ragged(self.hist_indptr, self.hist_codes, uu)
        counts = torch.diff(offsets, append=offsets.new_tensor([len(codes)]))
        rows = torch.repeat_interleave(torch.arange(len(uu), device=uu.device), counts)
        return rows, codes - 1

    # ------------------------------------------------------------ validation
    def full_user_vectors(self, users: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
        """User vectors with each user's whole training history (inference mode)."""
        out = []
        for lo in range(0, len(users), chunk):
            uu = users[lo : lo + chunk]
            hist = offsets = hist_z = None
            if self.net.history is not None:
                hist, offsets = gather_ragged(self.hist_indptr, self.hist_codes, uu)
                if self.hist_z is not None:
                    hist_z, _ = gather_ragged(self.hist_indptr, self.hist_z, uu)
            out.append(self.net.user_vectors(self.users.take(uu), hist, offsets, hist_z))
        return torch.cat(out) if out else torch.zeros((0, self.net.layout.user_dim), device=self.device)

    def all_item_vectors(self, chunk: int = 65536) -> torch.Tensor:
        idx = torch.arange(self.n_items, device=self.device)
        parts = [self.net.item_vectors(self.items.take(idx[lo : lo + chunk])) for lo in range(0, self.n_items, chunk)]
        return torch.cat(parts)

    def validate(self) -> dict[str, float]:
        if self.val is None or len(self.val) == 0 or self.val_target is None:
            return {}
        users = torch.from_numpy(np.unique(self.val.user).astype(np.int64)).to(self.device)
        user_vec = self.full_user_vectors(users)
        item_vec = self.all_item_vectors()
        row_user = torch.searchsorted(users, torch.from_numpy(self.val.user.astype(np.int64)).to(self.device))
        row_item = torch.from_numpy(self.val.item.astype(np.int64)).to(self.device)
        out: dict[str, float] = {}
        loss = 0.0
        if self.opt.retrieval_weight > 0:
            r_item, bias = self.net.retrieval_item(item_vec)
            ce_sum = 0.0
            for lo in range(0, len(users), 1024):
                sel = (row_user >= lo) & (row_user < lo + 1024)
                r_user = self.net.retrieval_user(user_vec[lo : lo + 1024])
                logits = r_user @ r_item.T + bias
                ru = row_user[sel] - lo
                pos = logits[ru, row_item[sel]]
                if self.opt.mask_seen:
                    uu = users[lo : lo + 1024]
                    if self.seen_dense is not None:
                        logits = logits.masked_fill(self.seen_dense.index_select(0, uu), float("-inf"))
                    else:
                        logits = logits.index_put(self._seen_cells(uu), logits.new_tensor(float("-inf")))
                    lse = torch.logaddexp(torch.logsumexp(logits, 1)[ru], pos)
                else:
                    lse = torch.logsumexp(logits, 1)[ru]
                ce_sum += float((lse - pos).sum())
            out["retrieval"] = ce_sum / len(self.val)
            loss += self.opt.retrieval_weight * out["retrieval"]
        if self.opt.regression_weight > 0:
            pred = self.net.regression(user_vec[row_user], item_vec[row_item]).float().cpu()
            out["mse"] = float(((pred - self.val_target) ** 2).mean())
            loss += self.opt.regression_weight * out["mse"]
        out["loss"] = loss
        return out
