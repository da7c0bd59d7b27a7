"""Device choice in one place: ``"auto" | "cpu" | "cuda"`` to a torch device, autocast and copies."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """The torch device for a ``device`` option.

    ``"auto"`` picks CUDA when available, else the CPU. ``"cuda"`` without a GPU is a ``ValueError``
    (silently training on the CPU would hide a broken installation).
    """
    if isinstance(device, torch.device):
        return device
    name = str(device).strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} but this torch build sees no CUDA device; use 'cpu' or 'auto'")
        return torch.device(name)
    raise ValueError(f"device={device!r}, expected 'auto', 'cpu' or 'cuda' (optionally 'cuda:N')")


def autocast(device: torch.device, enabled: bool = True) -> contextlib.AbstractContextManager:
    """Mixed precision where it pays: bf16 autocast on CUDA, a no-op on the CPU.

    bf16 keeps float32's exponent range, so no loss scaling is needed (unlike fp16).
    """
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Copy a CPU tensor to ``device``; pinned and non-blocking for CUDA so the copy overlaps compute."""
    if device.type == "cpu":
        return tensor
    if tensor.device.type == "cpu":
        tensor = tensor.pin_memory()
    return tensor.to(device, non_blocking=True)


@contextlib.contextmanager
def deterministic(seed: int, device: torch.device | None = None) -> Iterator[None]:
    """Seed torch's global generator and, on CUDA, request deterministic kernels.

    On the CPU the flag stays off: it swaps the index_add behind embedding and gather gradients for a
    sort-based kernel (about 40 % of a small model's step), and the one CPU kernel reelrec's models
    could hit that accumulates in a varying order, the gradient of ``x[idx]``, is avoided instead: the
    models gather through :func:`reelrec.training.take_rows` (same seed and thread count, same bits).
    ``warn_only`` keeps CUDA ops without a deterministic implementation usable.
    ``device=None`` means "CUDA when one is present".
    """
    previous = torch.are_deterministic_algorithms_enabled()
    previous_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.manual_seed(seed)
    on_cuda = torch.cuda.is_available() if device is None else torch.device(device).type == "cuda"
    if on_cuda:
        torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous, warn_only=previous_warn)


def adam(
    params: list[torch.nn.Parameter], lr: float, weight_decay: float = 0.0, decoupled: bool = True
) -> torch.optim.Optimizer:
    """Adam(W) with the fused kernel (one op for all parameters: much less per-step overhead on small models)."""
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    try:
        return cls(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):  # a device or dtype without the fused kernel
        return cls(params, lr=lr, weight_decay=weight_decay)
