"""Two-tower user vectors from features and recent views, and video vectors for videos added after fit.

A session enters the user tower where the lifetime history does: as the mean embedding of watched
videos (and the label-weighted "taste" bag). The session's bag is recency-weighted
(:meth:`History.recency_weights`) and mixed with the lifetime bag with weight
``alpha = W / (W + session_prior)``, ``W`` the session's total recency weight: ``session_prior``
views weigh as much as the whole lifetime history, however long it is, so five new views move a
user with thousands of lifetime views. For a known user the first layer's stored pre-activation is
shifted by the bags' change (the layer is linear in them), the rest of the tower runs as trained,
and the change of the head vectors is added to the user's exported vector (ALS residual kept).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import NDArray

from reelrec.data._dataset import FeatureTable
from reelrec.models._history import History
from reelrec.models._nn_inputs import SideInputs, SideShape, side_inputs
from reelrec.models._tt_export import item_heads, user_heads
from reelrec.models._tt_scorer import insert_residual
from reelrec.models._tt_state import TwoTowerState


@torch.no_grad()
def cold_factors(state: TwoTowerState, table: FeatureTable | None, n: int) -> NDArray[np.float32]:
    """User vectors from features only (``table=None``: no features), residual factors zero."""
    return _with_zero_residual(state, user_heads(state.net.eval(), _tower(state, table, n, None)))


def _tower(state: TwoTowerState, table: FeatureTable | None, n: int, bags: tuple | None) -> torch.Tensor:
    ids = np.zeros(n, np.int64) if state.user_shape.n_ids else None
    if state.user_pipe is None:
        x = side_inputs(None, n, ids)
    elif table is None:
        x = blank_inputs(state.user_shape, n, ids)  # a new user nobody described: every feature unknown
    else:
        x = side_inputs(state.user_pipe.transform(table), n, ids)
    device = next(state.net.parameters()).device
    x = x.to(device)
    if bags is None:
        return state.net.eval().user_vectors(x, None)
    bag, has, taste = (None if t is None else torch.from_numpy(t).to(device) for t in bags)
    return state.net.eval().user_vectors_from_bags(x, bag, has, taste, n)


def blank_inputs(shape: SideShape, n: int, ids: NDArray[np.int64] | None) -> SideInputs:
    """Inputs of ``n`` users whose every feature is unknown (category code 0, the numeric mean)."""
    return SideInputs(
        torch.zeros((n, shape.n_dense)),
        torch.zeros((n, len(shape.categorical)), dtype=torch.int64),
        [torch.zeros((n, 1), dtype=torch.int64) for _ in shape.multi],
        None if ids is None else torch.from_numpy(ids),
    )


def _with_zero_residual(state: TwoTowerState, heads: NDArray[np.float32]) -> NDArray[np.float32]:
    extra = state.watch_dim - state.net.layout.regression
    if extra:  # no logged views: the residual factors of a new user are zero
        split = state.net.layout.retrieval + state.net.layout.regression
        heads = insert_residual(heads, np.zeros((len(heads), extra + 1), np.float32), split)
    return heads


def _session_bags(
    state: TwoTowerState, histories: list[History], half_life: float
) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]:
    """Recency-weighted bag and taste bag of each history, and their total weights (views, all)."""
    net = state.net
    emb = net.history.weight.detach().cpu().numpy() if net.history is not None else None
    temb = net.taste.weight.detach().cpu().numpy() if net.taste is not None else None
    dim = 0 if emb is None else emb.shape[1]
    n = len(histories)
    bag, taste = np.zeros((n, dim), np.float32), np.zeros((n, dim if temb is not None else 0), np.float32)
    w_views, w_all = np.zeros(n, np.float32), np.zeros(n, np.float32)
    for r, h in enumerate(histories):
        w = h.recency_weights(half_life)
        codes = h.items.astype(np.int64) + 1
        known = codes < state.n_history  # videos added after fit have no history embedding
        if emb is None or not known.any():
            continue
        views = known & ~h.skipped
        if views.any():
            w_views[r] = w[views].sum()
            bag[r] = (w[views, None] * emb[codes[views]]).sum(0) / w_views[r]
        if temb is not None:
            # Unknown watch ratios read as a plain view (0: the user's usual); skips as a ratio of 0.
            ratio = np.where(h.skipped & np.isnan(h.watch_ratio), 0.0, h.watch_ratio)
            z = np.where(np.isnan(ratio), 0.0, state.scale.standardize(np.nan_to_num(ratio)))[known]
            w_all[r] = w[known].sum()
            taste[r] = (w[known, None] * z[:, None] * temb[codes[known]]).sum(0) / w_all[r]
    return bag, taste, w_views, w_all


@torch.no_grad()
def session_factors(
    state: TwoTowerState,
    seen: sp.csr_matrix,
    users: NDArray[np.int32],
    histories: list[History],
    user_features: FeatureTable | None,
    session_prior: float,
    half_life: float,
) -> NDArray[np.float32]:
    """User vectors (exported layout) for ``users`` (``-1``: new) after their recent ``histories``."""
    n = len(users)
    bag, taste, w_views, w_all = _session_bags(state, histories, half_life)
    out = np.empty((n, state.user_factors.shape[1]), np.float32)
    known = users >= 0
    new = np.flatnonzero(~known)
    if len(new):
        table = None if user_features is None else user_features.take(new)
        has = (w_views[new] > 0).astype(np.float32)[:, None]
        bags = (bag[new], has, taste[new] if state.net.taste is not None else None)
        out[new] = _with_zero_residual(state, user_heads(state.net, _tower(state, table, len(new), bags)))
    rows = np.flatnonzero(known)
    if len(rows):
        out[rows] = _shift_known(
            state, seen, users[rows], bag[rows], taste[rows], w_views[rows], w_all[rows], session_prior
        )
    return out


def _shift_known(
    state: TwoTowerState,
    seen: sp.csr_matrix,
    users: NDArray[np.int32],
    bag: NDArray[np.float32],
    taste: NDArray[np.float32],
    w_views: NDArray[np.float32],
    w_all: NDArray[np.float32],
    prior: float,
) -> NDArray[np.float32]:
    """Known users' vectors with the session folded into their lifetime bags (see the module doc)."""
    base = state.user_factors[users].copy()
    net = state.net
    if state.user_pre is None or net.history is None or len(state.user_pre) <= int(users.max()):
        return base  # an artifact without session state: the lifetime vector
    emb = net.history.weight.detach().cpu().numpy()
    codes = seen[users].tolil().rows
    old_bag = np.zeros_like(bag)
    for r, items in enumerate(codes):
        items = np.asarray(items, np.int64)
        items = items[items + 1 < state.n_history]
        if len(items):
            old_bag[r] = emb[items + 1].mean(0)
    old_has = (np.abs(old_bag).sum(1) > 0).astype(np.float32)
    alpha = (w_views / (w_views + prior + 1e-12))[:, None]
    alpha = np.where(old_has[:, None] > 0, alpha, (w_views > 0)[:, None].astype(np.float32))
    new_bag = (1 - alpha) * old_bag + alpha * bag
    new_has = np.maximum(old_has, (w_views > 0).astype(np.float32))
    start, width = net.history_columns()
    weight = net.first_user_layer().weight.detach().cpu().numpy()
    pre_old = state.user_pre[users]
    delta = (new_bag - old_bag) @ weight[:, start : start + width].T
    delta += (new_has - old_has)[:, None] * weight[:, start + width][None, :]
    if net.taste is not None and state.user_taste is not None:
        old_taste = state.user_taste[users]
        beta = (w_all / (w_all + prior + 1e-12))[:, None]
        lo = start + width + 1
        delta += beta * (taste - old_taste) @ weight[:, lo : lo + taste.shape[1]].T
    rest, device = net.user_mlp[1:], next(net.parameters()).device
    before = rest(torch.from_numpy(np.ascontiguousarray(pre_old, np.float32)).to(device))
    after = rest(torch.from_numpy((pre_old + delta).astype(np.float32)).to(device))
    change = user_heads(net, after) - user_heads(net, before)
    d, g = net.layout.retrieval, net.layout.regression
    base[:, : d + g] += change[:, : d + g]
    base[:, d + state.watch_dim] += change[:, d + g]
    return base


@torch.no_grad()
def new_item_factors(state: TwoTowerState, table: FeatureTable) -> NDArray[np.float32]:
    """Video vectors (exported layout) from side features alone: the id embedding's unknown row."""
    n = len(table)
    enc = None if state.item_pipe is None else state.item_pipe.transform(table)
    ids = np.zeros(n, np.int64) if state.item_shape.n_ids else None
    device = next(state.net.parameters()).device
    heads = item_heads(state.net, state.net.eval().item_vectors(side_inputs(enc, n, ids).to(device)))
    extra = state.watch_dim - state.net.layout.regression
    if extra:
        split = state.net.layout.retrieval + state.net.layout.regression
        heads = insert_residual(heads, np.zeros((n, extra + 1), np.float32), split)
    return heads
