"""Row and cell gathers whose gradients are bit-reproducible on the CPU.

``x[idx]`` with an index tensor back-propagates through ``index_put_(accumulate=True)``, which torch's
CPU kernel runs in parallel with an unordered accumulation once the gradient has more than a few
thousand cells (``torch.use_deterministic_algorithms`` lists it): two runs with the same seed then
drift apart in the last bits from the first epoch on. ``index_select`` back-propagates through
``index_add_``, which accumulates in index order on the CPU, and is as fast. Training code gathers
through these helpers, never through ``x[idx]``.
"""

from __future__ import annotations

import torch


def take_rows(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``x[idx]`` along the first dimension, with a deterministic backward."""
    return x.index_select(0, idx)


def take_cells(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """``x[rows, cols]`` of a 2-D tensor (one cell per pair), with a deterministic backward."""
    return x.reshape(-1).index_select(0, rows * x.shape[1] + cols)
