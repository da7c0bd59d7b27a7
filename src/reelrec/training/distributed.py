"""Distributed runs in one place: read torchrun's environment, start the process group, rank-0 helpers.

``torchrun`` (and SLURM / Kubernetes jobs that call it) sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT`` for every process. reelrec reads them here and nowhere else, so the
rest of the code only asks :func:`current` who it is.

Stability: provisional.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as tdist

_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
T = TypeVar("T")


@dataclass(frozen=True)
class DistInfo:
    """Who this process is in a (possibly one-process) run.

    Attributes
    ----------
    rank : int
        Global rank, ``0 <= rank < world_size``.
    world_size : int
        Number of processes training together.
    local_rank : int
        Rank on this machine (picks the GPU).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Whether this process evaluates, writes artifacts and shows progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def launched_by_torchrun() -> bool:
    """Whether torchrun (or an equivalent launcher) started this process with more than one rank."""
    return env_info().distributed


def env_info() -> DistInfo:
    """Rank, world size and local rank from the launcher's environment (defaults: a single process).

    Raises
    ------
    ValueError
        When one of ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` is not a whole number or they disagree.
    """
    values: dict[str, int] = {}
    for name in _ENV:
        raw = os.environ.get(name)
        if raw is None or raw.strip() == "":
            continue
        try:
            values[name] = int(raw)
        except ValueError:
            raise ValueError(f"environment variable {name}={raw!r}, expected a whole number") from None
    world = values.get("WORLD_SIZE", 1)
    rank = values.get("RANK", 0)
    local = values.get("LOCAL_RANK", rank)
    if world < 1:
        raise ValueError(f"environment variable WORLD_SIZE={world}, must be >= 1")
    if not 0 <= rank < world:
        raise ValueError(f"environment variable RANK={rank}, must be in [0, WORLD_SIZE={world})")
    if local < 0:
        raise ValueError(f"environment variable LOCAL_RANK={local}, must be >= 0")
    return DistInfo(rank, world, local)


def current() -> DistInfo:
    """This process's place in the running process group (a single process when none is running)."""
    if tdist.is_available() and tdist.is_initialized():
        info = env_info()
        return DistInfo(tdist.get_rank(), tdist.get_world_size(), info.local_rank)
    return DistInfo()


def backend_for(device: torch.device) -> str:
    """NCCL for CUDA tensors, gloo for CPU tensors (the only pairing both libraries support fully)."""
    return "nccl" if device.type == "cuda" else "gloo"


def init_distributed(device: str | torch.device = "auto", timeout_s: float = 1800.0) -> DistInfo:
    """Start the process group described by torchrun's environment, once; a no-op for one process.

    On CUDA each process takes GPU ``LOCAL_RANK``; ``device="auto"`` picks CUDA when available.
    Returns the :class:`DistInfo` of this process.

    Raises
    ------
    ValueError
        When the environment is inconsistent, or CUDA is requested on a machine without enough GPUs.
    """
    info = env_info()
    if not info.distributed:
        return info
    if tdist.is_initialized():
        return current()
    if not tdist.is_available():
        raise ValueError("this torch build has no torch.distributed; install a build with distributed support")
    missing = [name for name in ("MASTER_ADDR", "MASTER_PORT") if not os.environ.get(name)]
    if missing:
        raise ValueError(f"WORLD_SIZE={info.world_size} but {', '.join(missing)} is not set; launch with torchrun")
    dev = rank_device(device, info)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    tdist.init_process_group(
        backend=backend_for(dev),
        rank=info.rank,
        world_size=info.world_size,
        timeout=dt.timedelta(seconds=timeout_s),
        device_id=dev if dev.type == "cuda" else None,
    )
    return current()


def rank_device(device: str | torch.device, info: DistInfo | None = None) -> torch.device:
    """The device this rank trains on: ``cuda``/``auto`` become ``cuda:LOCAL_RANK`` in a multi-process run."""
    info = info or env_info()
    if isinstance(device, torch.device):
        return device
    name = str(device).strip().lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and info.distributed:
        count = torch.cuda.device_count()
        if info.local_rank >= count:
            raise ValueError(f"LOCAL_RANK={info.local_rank} but this machine has {count} CUDA device(s)")
        return torch.device("cuda", info.local_rank)
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but this torch build sees no CUDA device; use 'cpu' or 'auto'")
    return torch.device(name)


def shutdown_distributed() -> None:
    """Destroy the process group if one is running (safe to call more than once)."""
    if tdist.is_available() and tdist.is_initialized():
        tdist.destroy_process_group()


@contextlib.contextmanager
def distributed_session(device: str | torch.device = "auto") -> Iterator[DistInfo]:
    """``init_distributed`` on entry and ``shutdown_distributed`` on exit (only if this call started it)."""
    started = not (tdist.is_available() and tdist.is_initialized())
    info = init_distributed(device)
    try:
        yield info
    finally:
        if started:
            shutdown_distributed()


def is_main_process() -> bool:
    """Rank 0 (or a single process): the one that evaluates and writes files."""
    return current().is_main


def barrier() -> None:
    """Wait until every rank arrives (a no-op for one process)."""
    if current().distributed:
        tdist.barrier()


def _reduce_device() -> torch.device:
    # NCCL reduces CUDA tensors only; gloo reduces CPU tensors.
    if tdist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce_mean(values: dict[str, float]) -> dict[str, float]:
    """Average each named number over the ranks (every rank must pass the same keys).

    Keys are sorted before the reduction so that dict order never pairs different metrics.
    """
    if not current().distributed or not values:
        return dict(values)
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=_reduce_device())
    tdist.all_reduce(t, op=tdist.ReduceOp.SUM)
    t /= tdist.get_world_size()
    return dict(zip(keys, t.cpu().tolist(), strict=True))


def all_reduce_sum(values: list[float]) -> list[float]:
    """Sum each number over the ranks (float64, in the given order)."""
    if not current().distributed:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=_reduce_device())
    tdist.all_reduce(t, op=tdist.ReduceOp.SUM)
    return t.cpu().tolist()


def any_rank(flag: bool) -> bool:
    """Whether ``flag`` is true on at least one rank (so every rank takes the same branch)."""
    if not current().distributed:
        return bool(flag)
    t = torch.tensor([1 if flag else 0], dtype=torch.int64, device=_reduce_device())
    tdist.all_reduce(t, op=tdist.ReduceOp.MAX)
    return bool(t.item())


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """``obj`` as rank ``src`` has it, on every rank (pickled by torch; use for small values only)."""
    if not current().distributed:
        return obj
    box = [obj]
    tdist.broadcast_object_list(box, src=src)
    return box[0]


def rank0_first(load: Callable[[], T]) -> T:
    """``load()`` on rank 0, then on the other ranks: caches and stores are built once, then reused.

    Every rank gets its own result; a load that raises on rank 0 still releases the others (they
    then fail on their own load or at the next collective, instead of waiting forever).
    """
    info = current()
    if not info.distributed:
        return load()
    if info.is_main:
        try:
            return load()
        finally:
            barrier()
    barrier()
    return load()
