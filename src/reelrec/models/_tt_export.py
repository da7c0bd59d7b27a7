"""Exported serving vectors of a trained two-tower, and the ALS residual folded into them."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from reelrec.models._nn_refine import residual_mf
from reelrec.models._nn_towers import TwoTowerNet
from reelrec.models._tt_scorer import insert_residual
from reelrec.models._tt_state import TwoTowerState


@torch.no_grad()
def export(state: TwoTowerState, task: Any, n_users: int, n_items: int) -> None:
    """Precompute every user's and video's head vectors (serving is then matrix products).

    Also keeps each user's first-layer pre-activation and taste bag, the state sessions shift.
    """
    net = state.net
    net.eval()
    net.export_inputs = True
    try:
        wide = task.full_user_vectors(torch.arange(n_users, device=task.device)).float()
    finally:
        net.export_inputs = False
    dim = net.layout.user_dim
    width = net.first_user_layer().out_features
    state.user_factors = user_heads(net, wide[:, :dim])
    state.user_pre = wide[:, dim : dim + width].cpu().numpy()
    state.user_taste = wide[:, dim + width :].cpu().numpy() if net.taste is not None else None
    state.item_factors = item_heads(net, task.all_item_vectors())
    state.watch_dim = net.layout.regression
    state.changed()


def user_heads(net: TwoTowerNet, u: torch.Tensor) -> NDArray[np.float32]:
    d = net.layout.retrieval
    r = net.retrieval_user(u) if d else u[:, :0]
    return torch.cat([r, u[:, d:]], 1).float().cpu().numpy()


def item_heads(net: TwoTowerNet, i: torch.Tensor) -> NDArray[np.float32]:
    d = net.layout.retrieval
    r = net.retrieval_item(i)[0] if d else i[:, :0]
    return torch.cat([r, i[:, d:]], 1).float().cpu().numpy()


def fit_residual(
    state: TwoTowerState, user: NDArray[np.int32], item: NDArray[np.int32], z: NDArray[np.floating], seed: int
) -> None:
    """Add the ALS factors of ``z - tower`` to the exported vectors."""
    assert state.residual_lambda is not None
    scorer = state.scorer()
    resid = z - scorer.pair_z(state.user_factors[user], state.item_factors[item])
    k = max(state.net.layout.regression, 1)
    n_users, n_items = len(state.user_factors), len(state.item_factors)
    users, items = residual_mf(user, item, resid, n_users, n_items, k, state.residual_lambda, seed=seed)
    add_residual(state, users, items)


def add_residual(state: TwoTowerState, users: NDArray[np.float32], items: NDArray[np.float32]) -> None:
    split = state.net.layout.retrieval + state.net.layout.regression
    state.user_factors = insert_residual(state.user_factors, users, split)
    state.item_factors = insert_residual(state.item_factors, items, split)
    state.watch_dim = state.net.layout.regression + users.shape[1] - 1
    state.changed()
