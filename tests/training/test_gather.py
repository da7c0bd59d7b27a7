"""Gathers with a reproducible gradient: the values and gradients of ``x[idx]``, the same bits every run."""

from __future__ import annotations

import torch

from reelrec.training import take_cells, take_rows


def _grad(fn, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    x = x.clone().requires_grad_()
    (fn(x) * weight).sum().backward()
    return x.grad


def test_values_and_gradients_match_plain_indexing():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(50, 6, generator=gen, dtype=torch.float64)
    rows = torch.randint(0, 50, (400,), generator=gen)
    cols = torch.randint(0, 6, (400,), generator=gen)
    w_rows, w_cells = torch.randn(400, 6, generator=gen, dtype=torch.float64), torch.randn(400, dtype=torch.float64)
    assert torch.equal(take_rows(x, rows), x[rows])
    assert torch.equal(take_cells(x, rows, cols), x[rows, cols])
    # float64 and small sums: any accumulation order gives the same gradient to 1e-12.
    torch.testing.assert_close(_grad(lambda t: take_rows(t, rows), x, w_rows), _grad(lambda t: t[rows], x, w_rows))
    torch.testing.assert_close(
        _grad(lambda t: take_cells(t, rows, cols), x, w_cells), _grad(lambda t: t[rows, cols], x, w_cells)
    )


def test_gradients_are_bit_identical_across_runs_with_several_threads():
    """300,000 rows x 64 columns: far past the size at which torch parallelises the backward pass."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        gen = torch.Generator().manual_seed(1)
        x = torch.randn(2000, 64, generator=gen)
        rows = torch.randint(0, 2000, (300_000,), generator=gen)
        cols = torch.randint(0, 64, (300_000,), generator=gen)
        weight = torch.randn(300_000, 64, generator=gen)
        row_grads = [_grad(lambda t: take_rows(t, rows), x, weight) for _ in range(4)]
        cell_grads = [_grad(lambda t: take_cells(t, rows, cols), x, weight[:, 0]) for _ in range(4)]
    finally:
        torch.set_num_threads(previous)
    for grads in (row_grads, cell_grads):
        assert all(torch.equal(grads[0], g) for g in grads[1:])
