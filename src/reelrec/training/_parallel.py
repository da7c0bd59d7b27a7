"""Data-parallel steps: a task's step run through ``DistributedDataParallel`` when a process group is running."""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from reelrec.training._device import to_device
from reelrec.training.distributed import DistInfo, current

Step = Callable[[Any], tuple[torch.Tensor, int]]
Joined = Callable[[], contextlib.AbstractContextManager]


class _StepModule(nn.Module):
    """The task's ``step`` as the ``forward`` of a module holding the task's network.

    DDP averages the gradients of the parameters a ``forward`` used; the tasks compute their loss from
    several of the network's methods, so the whole step is the forward pass here.
    """

    def __init__(self, task: Any) -> None:
        super().__init__()
        self.net = task.module
        self._step: Step = task.step  # a bound method, not a submodule

    def forward(self, batch: Any) -> tuple[torch.Tensor, int]:
        return self._step(batch)


def data_parallel(task: Any, device: torch.device) -> tuple[Step, Joined, DistInfo]:
    """``(step, joined, info)``: the step to call per batch and a context to wrap each epoch's batch loop.

    One process: the task's own ``step`` and a no-op context. Several: a DDP-wrapped step (gradients
    averaged over the ranks during ``backward``; rank 0's weights broadcast on entry) and DDP's ``join``
    context, which lets a rank that runs out of batches first keep answering the others' gradient
    reductions instead of hanging.
    """
    info = current()
    if not info.distributed:
        return task.step, contextlib.nullcontext, info
    device_ids = None
    if device.type == "cuda":
        device_ids = [device.index if device.index is not None else torch.cuda.current_device()]
    # Buffers are constants here (category offsets), identical on every rank: no per-step broadcast.
    no_buffer_sync: dict[str, Any] = (
        {"forward_sync_buffers": False}
        if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
        else {"broadcast_buffers": False}
    )
    wrapped = DistributedDataParallel(
        _StepModule(task),
        device_ids=device_ids,
        # Heads a loss mode does not use (e.g. the watch head in retrieval-only training) get no gradient.
        find_unused_parameters=True,
        **no_buffer_sync,
    )
    return wrapped, wrapped.join, info


def rank_share(n_rows: int, batch_size: int) -> tuple[int, int]:
    """Rows and batch size of this rank when ``n_rows`` rows are dealt over the ranks (one process: unchanged).

    Each rank takes ``ceil(batch_size / world)`` rows per step, so one synchronised step still sees
    about ``batch_size`` rows and the learning rate means the same as in a one-process run.
    """
    info = current()
    if not info.distributed:
        return n_rows, batch_size
    rows = len(range(info.rank, n_rows, info.world_size))
    return rows, max(1, -(-batch_size // info.world_size))


def rank_slice(order: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, int]:
    """This rank's rows of an epoch's order (every world-th) and its share of the batch size."""
    info = current()
    if not info.distributed:
        return order, batch_size
    return order[info.rank :: info.world_size], max(1, -(-batch_size // info.world_size))


def batch_count(n_rows: int, batch_size: int) -> int:
    """Batches per epoch of :func:`shuffled_batches` on this rank (for progress bars)."""
    rows, batch = rank_share(n_rows, batch_size)
    return math.ceil(rows / batch)


def shuffled_batches(
    n_rows: int, batch_size: int, rng: np.random.Generator, device: torch.device
) -> Iterator[torch.Tensor]:
    """An epoch's row indices in ``rng``'s random order, in batches on ``device``.

    In a distributed run each rank takes every world-th row of the same order, and a share of the batch.
    """
    perm = torch.from_numpy(rng.permutation(n_rows).astype(np.int64))
    perm, batch = rank_slice(perm, batch_size)
    for lo in range(0, len(perm), batch):
        yield to_device(perm[lo : lo + batch], device)
