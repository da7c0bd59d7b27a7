"""Fit the two-tower model from a shard store: the in-memory fit's set-up, with rows streamed shard by shard."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import NDArray

from reelrec.data._dataset import Dataset
from reelrec.scale._plan import StorePlan, ValidationSplit, plan_store
from reelrec.scale._store import ShardStore
from reelrec.scale._stream_task import StreamingTwoTowerTask
from reelrec.training import resolve_device

if TYPE_CHECKING:
    from reelrec.models._two_tower import TwoTower

#: Validation users used to choose ``watch_weight="auto"`` (as the in-memory fit).
_TUNE_USERS = 3000
#: Cells (users x videos) of each score matrix built while tuning ``watch_weight``.
_TUNE_CELLS = 25_000_000
#: ``refit="auto"`` retrains on every pair below this many pairs (as the in-memory fit).
_REFIT_PAIRS = 2_000_000


def check_store_matches(dataset: Dataset, store: ShardStore) -> None:
    """Raise ``ValueError`` unless ``store`` indexes the same users and videos as ``dataset``."""
    for name, ours, theirs in (("users", dataset.users, store.users), ("videos", dataset.items, store.items)):
        if len(ours) != len(theirs) or not np.array_equal(ours.raw_ids, theirs.raw_ids):
            raise ValueError(
                f"store {store.path}: its {name} ({len(theirs)}) are not the data set's ({len(ours)}) in the same "
                "order; build the store with the data set's id maps (convert_log(..., users=, items=))"
            )


def fit_store(model: TwoTower, dataset: Dataset, store: ShardStore, *, mix: int = 2) -> TwoTower:
    """Fit ``model`` on ``store``'s pairs with ``dataset``'s features and id maps, in bounded memory.

    What the in-memory fit keeps per pair (the pair arrays, histories, the dense seen mask) is
    replaced by one pass that plans statistics and a hashed validation split, then epochs streamed a
    group of shards at a time. The watch head's ALS residual needs every pair at once and is not
    fitted here (``residual`` is ignored). What remains O(pairs) is the recommender contract's
    seen-video matrix (8 bytes per pair) used to mask watched videos when recommending.

    Raises
    ------
    ValueError
        A bad hyperparameter, an empty store, or a store indexed differently from ``dataset``.
    """

    model.check_params()
    check_store_matches(dataset, store)
    if store.n_pairs == 0:
        raise ValueError(f"store {store.path} holds no pairs; cannot fit")
    model._cache = {}
    device = resolve_device(model.device)
    model.users_, model.items_ = dataset.users, dataset.items
    model.seen_ = store.seen_csr()
    model.item_popularity_ = np.asarray(model.seen_.sum(axis=0), dtype=np.float32).ravel()

    model.target_ = model._resolve_target(dataset)
    split = ValidationSplit.plan(store, model.validation_fraction if model.patience > 0 else 0.0, model.seed)
    plan = plan_store(store, split, model._transform)
    mode = model.loss if model.loss != "auto" else ("multitask" if plan.raw_std > 1e-6 else "retrieval")
    model.loss_ = mode
    mean, std = plan.label_mean, plan.label_std
    model.target_mean_, model.target_std_ = float(mean), float(std)
    model.target_range_ = [float((plan.label_min - mean) / std), float((plan.label_max - mean) / std)]

    def standardize(label: NDArray[np.float32]) -> NDArray[np.float32]:
        return ((model._transform(label) - mean) / std).astype(np.float32)

    user_rows = np.flatnonzero(plan.user_has_pairs).astype(np.int32)
    item_rows = np.flatnonzero(plan.item_has_pairs).astype(np.int32)
    users, items, step = model._setup_inputs(dataset, user_rows, item_rows, mode, plan.n_train)
    model.options_.update({"out_of_core": True, "store_pairs": store.n_pairs})

    def task(validate: bool) -> StreamingTwoTowerTask:
        return StreamingTwoTowerTask(
            model.net_, users, items, store, plan, split, standardize, step, device, validate=validate, mix=mix
        )

    torch.manual_seed(model.seed)
    model.net_ = model._build_net().to(device)
    first = task(validate=True)
    result = model._train(first, device, model.epochs, dataset)
    model.history_ = result.history
    model.best_epoch_ = result.best_epoch
    model.refit_history_ = []
    model.residual_lambda_, model.residual_scores_ = None, {}
    # Held-out choices, made with vectors whose histories hold the training pairs only.
    model._export(first, dataset.n_users)
    _choose_watch_weight(model, plan, dataset.n_users, dataset.n_items)
    refit = model.refit if model.refit != "auto" else store.n_pairs < _REFIT_PAIRS
    if refit and first.val is not None and result.best_epoch is not None:
        final = model._refit(lambda: task(validate=False), result, device, dataset)
    else:
        first.export_all = True  # serve with every stored pair in the history, the held-out ones included
        final = first
    model._export(final, dataset.n_users)
    return model


def _choose_watch_weight(model: TwoTower, plan: StorePlan, n_users: int, n_items: int) -> None:
    """``watch_weight="auto"`` as the in-memory fit chooses it, from the plan's held-out pairs.

    On catalogues over about 8,000 videos fewer than the in-memory fit's 3,000 users are scored, so
    the score matrices stay near 100 MB each.
    """
    model.watch_tuning_ = {}
    if model.watch_weight != "auto":
        model.watch_weight_ = float(model.watch_weight)
        return
    model.watch_weight_ = 1.0
    if model.loss_ != "multitask" or plan.n_val == 0:
        return
    # Users x videos score matrices are the tuning's memory: keep each under about 100 MB on big catalogues.
    limit = min(_TUNE_USERS, max(200, _TUNE_CELLS // max(n_items, 1)))
    seen = sp.csr_matrix(
        (np.ones(len(plan.hist_item), np.float32), plan.hist_item, plan.hist_indptr), shape=(n_users, n_items)
    )
    # The training mean of the (clipped) label; stores of watch ratios are clipped when built.
    model._tune_watch_weight(plan.val_user, plan.val_item, plan.val_label, float(plan.raw_mean), seen, limit)
