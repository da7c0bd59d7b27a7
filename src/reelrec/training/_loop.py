"""The training loop shared by the neural models: epochs, early stopping, checkpoints, resume, progress."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import torch
from torch import nn

from reelrec._progress import TrainProgress, progress_enabled
from reelrec.training._checkpoint import (
    flatten_optimizer,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
    unflatten_optimizer,
)
from reelrec.training._device import autocast, deterministic
from reelrec.training._parallel import data_parallel
from reelrec.training.distributed import all_reduce_mean, all_reduce_sum, any_rank, barrier


class TrainTask(Protocol):
    """What a model hands the loop: its module, batches, a loss per batch and a validation pass."""

    @property
    def module(self) -> nn.Module:
        """The network trained (read-only here, so a task may hold any ``nn.Module`` subclass)."""
        ...

    def n_batches(self, epoch: int) -> int:
        """Batches in ``epoch`` (for the progress bar)."""
        ...

    def batches(self, epoch: int, rng: np.random.Generator) -> Iterator[Any]:
        """The epoch's batches; all randomness comes from ``rng`` so a resumed run repeats it."""
        ...

    def step(self, batch: Any) -> tuple[torch.Tensor, int]:
        """The scalar loss of one batch (graph attached) and its number of training rows."""
        ...

    def validate(self) -> dict[str, float]:
        """Validation metrics after an epoch (called under ``torch.no_grad``); empty when none."""
        ...


@dataclass
class LoopOptions:
    """How to run the loop (not what to learn).

    Attributes
    ----------
    epochs : int
        Upper bound on passes over the training data.
    patience : int or None
        Stop after this many epochs without a better ``monitor`` value (``None``: never stop early).
        The best epoch's weights are restored at the end whenever validation runs.
    monitor, mode : str
        Validation metric to watch and whether lower (``"min"``) or higher is better.
    checkpoint_dir : str or None
        Write ``epoch-NNNNNN/`` checkpoints here after every epoch.
    resume : bool
        Continue from the newest checkpoint in ``checkpoint_dir`` when there is one.
    time_budget_s : float or None
        Stop after this many seconds of training (checked after every batch).
    decay : float
        Multiply the learning rate by this after every epoch without a better ``monitor`` value
        ("reduce on plateau"; 1.0 keeps it constant).
    lr_schedule : list of float or None
        Learning rate of each epoch, replayed exactly (e.g. a refit on all data that repeats the
        schedule early stopping found); overrides ``decay``.
    """

    epochs: int
    seed: int = 0
    patience: int | None = None
    monitor: str = "loss"
    mode: Literal["min", "max"] = "min"
    min_delta: float = 1e-4
    progress: bool | str = "auto"
    checkpoint_dir: str | Path | None = None
    resume: bool = False
    keep_checkpoints: int = 2
    time_budget_s: float | None = None
    amp: bool = True
    description: str = "train"
    decay: float = 1.0
    lr_schedule: list[float] | None = None


@dataclass
class TrainResult:
    """What happened: per-epoch logs, the epoch whose weights were kept, why it stopped."""

    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    stopped: str = "epochs"
    resumed_from: int | None = None
    seconds: float = 0.0


def _epoch_seed(seed: int, epoch: int) -> int:
    # One torch seed per epoch, so a run resumed at epoch e draws what the uninterrupted run drew.
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1, np.uint32)[0])


def _better(value: float, best: float | None, mode: str, min_delta: float) -> bool:
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


def run_training(
    task: TrainTask,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    options: LoopOptions,
    fingerprint: dict[str, Any] | None = None,
) -> TrainResult:
    """Train ``task.module`` with ``optimizer`` on ``device``; returns the :class:`TrainResult`.

    Every epoch reseeds torch and the batch order from ``(seed, epoch)``; with checkpoints, stopping
    after any epoch and resuming reproduces the uninterrupted run exactly (on the CPU).

    Under ``torchrun`` (a process group started by :func:`reelrec.scale.init_distributed`) each rank
    trains on its share of every batch through ``DistributedDataParallel``; losses, row counts,
    validation metrics and the time-budget flag are reduced over the ranks so all take the same
    decisions; rank 0 alone writes checkpoints (``checkpoint_dir`` must be on storage every rank
    reads, so all of them resume from rank 0's checkpoint).

    Raises
    ------
    FloatingPointError
        When the training loss stops being finite (learning rate too high, bad labels).
    ValueError
        When resuming from a checkpoint written for another model or data (``fingerprint`` differs).
    """
    module = task.module
    result = TrainResult()
    best_value: float | None = None
    best_state: dict[str, torch.Tensor] | None = None
    bad_epochs = 0
    start_epoch = 1
    if options.resume and options.checkpoint_dir is not None:
        found = latest_checkpoint(options.checkpoint_dir)
        if found is not None:
            state = _restore(found, module, optimizer, fingerprint)
            result.history = state["history"]
            result.best_epoch = state.get("best_epoch")
            best_value = state.get("best_value")
            bad_epochs = int(state.get("bad_epochs", 0))
            best_state = state.get("best_state")
            result.resumed_from = int(state["epoch"])
            start_epoch = result.resumed_from + 1
            if state.get("stopped") == "early":
                # Early stopping is final; a time-budget stop is not (the next run gets a new budget).
                start_epoch = options.epochs + 1
                result.stopped = "early"
    started = time.perf_counter()
    # In a distributed run: a DDP step (rank 0's weights broadcast now, gradients averaged per step).
    step, joined, dist = data_parallel(task, device)
    enabled = progress_enabled(options.progress) and dist.is_main
    with deterministic(options.seed, device), TrainProgress(enabled, options.description) as bar:
        for epoch in range(start_epoch, options.epochs + 1):
            # Ranks draw different dropout / negatives / histories, and the same batch order.
            torch.manual_seed(_epoch_seed(options.seed, epoch) + dist.rank)
            if options.lr_schedule is not None:
                _set_lr(optimizer, options.lr_schedule[min(epoch, len(options.lr_schedule)) - 1])
            rng = np.random.default_rng([options.seed, epoch])
            module.train()
            bar.start_epoch(epoch, options.epochs, task.n_batches(epoch))
            loss_sum = torch.zeros((), device=device)
            n_batches = n_rows = 0
            t_epoch = time.perf_counter()
            out_of_time = False
            with joined():
                for batch in task.batches(epoch, rng):
                    optimizer.zero_grad(set_to_none=True)
                    with autocast(device, options.amp):
                        loss, rows = step(batch)
                    loss.backward()
                    optimizer.step()
                    loss_sum += loss.detach().float()
                    n_batches += 1
                    n_rows += rows
                    bar.advance(rows, float(loss_sum) / n_batches if bar.due() else None)
                    if options.time_budget_s is not None and time.perf_counter() - started >= options.time_budget_s:
                        out_of_time = True
                        break
            train_seconds = time.perf_counter() - t_epoch
            # Every rank logs and decides on the totals (one process: the same numbers).
            loss_total, total_batches, total_rows = all_reduce_sum([float(loss_sum), n_batches, n_rows])
            train_loss = loss_total / max(total_batches, 1)
            n_rows = int(total_rows)
            out_of_time = any_rank(out_of_time)
            if not math.isfinite(train_loss):
                raise FloatingPointError(
                    f"training loss became {train_loss} in epoch {epoch}; lower learning_rate or check the labels"
                )
            module.eval()
            with torch.no_grad():
                val = all_reduce_mean(task.validate())
            seconds = time.perf_counter() - t_epoch
            log: dict[str, Any] = {
                "epoch": epoch,
                "train_loss": train_loss,
                "rows": n_rows,
                "seconds": seconds,
                "train_seconds": train_seconds,
                "lr": float(optimizer.param_groups[0]["lr"]),
            }
            if dist.distributed:
                log["processes"] = dist.world_size
            log.update({f"val_{k}": float(v) for k, v in val.items()})
            result.history.append(log)
            stop = None
            if options.monitor in val:
                value = float(val[options.monitor])
                if _better(value, best_value, options.mode, options.min_delta):
                    best_value, result.best_epoch, bad_epochs = value, epoch, 0
                    best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
                else:
                    bad_epochs += 1
                    if options.patience is not None and bad_epochs >= options.patience:
                        stop = "early"
                    elif options.lr_schedule is None and options.decay != 1.0:
                        _set_lr(optimizer, float(optimizer.param_groups[0]["lr"]) * options.decay)
            if out_of_time:
                stop = stop or "time"
            bar.end_epoch(_summary(log, options, best_value, result.best_epoch))
            if options.checkpoint_dir is not None:
                if dist.is_main:
                    progress = (best_value, bad_epochs, best_state, stop)
                    _save(options, epoch, module, optimizer, result, *progress, fingerprint)
                barrier()  # rank 0's checkpoint is complete before any rank moves on (or stops)
            if stop is not None:
                result.stopped = stop
                break
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    result.seconds = time.perf_counter() - started
    return result


def _set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def _summary(log: dict[str, Any], options: LoopOptions, best: float | None, best_epoch: int | None) -> str:
    parts = [f"epoch {log['epoch']}/{options.epochs}", f"loss {log['train_loss']:.4f}"]
    parts += [f"{k} {v:.4f}" for k, v in log.items() if k.startswith("val_")]
    parts.append(f"{log['rows'] / max(log['seconds'], 1e-9):,.0f} rows/s")
    if best is not None:
        parts.append(f"best epoch {best_epoch}")
    return "  ".join(parts)


def _save(
    options: LoopOptions,
    epoch: int,
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    result: TrainResult,
    best_value: float | None,
    bad_epochs: int,
    best_state: dict[str, torch.Tensor] | None,
    stop: str | None,
    fingerprint: dict[str, Any] | None,
) -> None:
    tensors = {f"model.{k}": v for k, v in module.state_dict().items()}
    opt_tensors, opt_meta = flatten_optimizer(optimizer.state_dict())
    tensors.update(opt_tensors)
    if best_state is not None and result.best_epoch != epoch:
        tensors.update({f"best.{k}": v for k, v in best_state.items()})
    meta = {
        "history": result.history,
        "best_epoch": result.best_epoch,
        "best_value": best_value,
        "bad_epochs": bad_epochs,
        "stopped": stop or "epochs",
        "optimizer": opt_meta,
        "fingerprint": fingerprint or {},
    }
    assert options.checkpoint_dir is not None
    save_checkpoint(options.checkpoint_dir, epoch, tensors, meta, keep=options.keep_checkpoints)


def _restore(
    path: Path, module: nn.Module, optimizer: torch.optim.Optimizer, fingerprint: dict[str, Any] | None
) -> dict[str, Any]:
    tensors, meta = load_checkpoint(path)
    saved = meta.get("fingerprint", {})
    if fingerprint is not None and saved != _jsonable(fingerprint):
        keys = sorted(k for k in set(saved) | set(fingerprint) if saved.get(k) != _jsonable(fingerprint).get(k))
        raise ValueError(
            f"checkpoint {path} was written for another model or data set (differs in: {', '.join(keys)}); "
            "use a fresh checkpoint_dir or resume=False"
        )
    model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    module.load_state_dict(model_state)
    optimizer.load_state_dict(unflatten_optimizer(tensors, meta["optimizer"]))
    best = {k[len("best.") :]: v for k, v in tensors.items() if k.startswith("best.")}
    if meta.get("best_epoch") == meta["epoch"]:
        best = {k: v.clone() for k, v in model_state.items()}
    return {**meta, "best_state": best or None}


def _jsonable(obj: dict[str, Any]) -> dict[str, Any]:
    import json

    return json.loads(json.dumps(obj, default=str))
