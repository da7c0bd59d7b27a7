"""The streamed two-tower task: every training pair once per epoch, held-out pairs never, group-local histories."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from reelrec.data import Dataset, IdMap, Interactions
from reelrec.models import create_model
from reelrec.models._nn_inputs import side_inputs
from reelrec.scale import PairBlock, ShardStore, fit_store, store_from_arrays
from reelrec.scale._plan import ValidationSplit, plan_store
from reelrec.scale._stream_task import StreamingTwoTowerTask


@pytest.fixture
def store(tmp_path: Path, rng: np.random.Generator) -> ShardStore:
    n = 6_000
    user, item = rng.integers(0, 120, n), rng.integers(0, 80, n)
    label = rng.gamma(1.0, 1.0, n)
    return store_from_arrays(tmp_path / "s", IdMap(np.arange(120)), IdMap(np.arange(80)), user, item, label,
                             shard_pairs=900)


def _task(store: ShardStore, validate: bool = True) -> tuple[StreamingTwoTowerTask, ValidationSplit]:
    model = create_model("two-tower", embedding_size=8, hidden=[8], epochs=1, history_size=8, progress=False,
                         refit=False, residual="none")
    dataset = Dataset(users=store.users, items=store.items, interactions=Interactions.empty())
    fit_store(model, dataset, store)
    split = ValidationSplit.plan(store, 0.2, seed=0, max_pairs=600)
    plan = plan_store(store, split, np.log1p)
    items = side_inputs(None, store.n_items, np.arange(1, store.n_items + 1))
    task = StreamingTwoTowerTask(
        model.net_, side_inputs(None, store.n_users), items, store, plan, split,
        lambda label: np.log1p(label).astype(np.float32), _step_options(model), torch.device("cpu"),
        validate=validate,
    )
    return task, split


def _step_options(model):
    from reelrec.models._nn_task import StepOptions

    return StepOptions(batch_size=256, retrieval_weight=1.0, regression_weight=1.0, negatives="full",
                       n_negatives=16, logq=True, history_size=8, history_dropout=0.0, cold_fraction=0.0)


def test_an_epoch_visits_every_training_pair_once_and_no_held_out_pair(store: ShardStore) -> None:
    assert len(store.shards) > 3
    task, split = _task(store)
    everything = PairBlock.concat([store.read(s) for s in store.shards])
    held = split.mask(everything)
    assert held.any()
    seen_pairs, n = [], 0
    for batch in task.batches(1, np.random.default_rng(0)):
        user, item, _, rows = batch
        u, i = user[rows].numpy(), item[rows].numpy()
        # Histories are the current group's training pairs: every batch user's history is complete.
        counts = (task.hist_indptr[1:] - task.hist_indptr[:-1]).numpy()
        train_counts = np.bincount(everything.user[~held], minlength=store.n_users)
        np.testing.assert_array_equal(counts[np.unique(u)], train_counts[np.unique(u)])
        seen_pairs.append(u.astype(np.int64) * store.n_items + i)
        n += 1
    keys = np.concatenate(seen_pairs)
    expected = everything.user[~held].astype(np.int64) * store.n_items + everything.item[~held]
    np.testing.assert_array_equal(np.sort(keys), np.sort(expected))
    # The progress estimate; each group of shards may end with one short batch.
    assert task.n_batches(1) <= n <= task.n_batches(1) + len(store.shards)
    assert task.n_train == len(expected)


def test_validation_uses_held_out_pairs_and_the_refit_task_uses_all(store: ShardStore) -> None:
    task, split = _task(store)
    assert task.val is not None and len(task.val) == task.plan.n_val
    with torch.no_grad():
        metrics = task.validate()
    assert set(metrics) == {"retrieval", "mse", "loss"} and all(np.isfinite(v) for v in metrics.values())
    refit, _ = _task(store, validate=False)
    assert refit.val is None and refit.validate() == {}
    assert refit.n_train == store.n_pairs
    rows = sum(len(b[3]) for b in refit.batches(1, np.random.default_rng(1)))
    assert rows == store.n_pairs


def test_exported_vectors_cover_every_user_with_the_chosen_history(store: ShardStore) -> None:
    task, _ = _task(store)
    users = torch.arange(store.n_users)
    with torch.no_grad():
        train_only = task.full_user_vectors(users)
        task.export_all = True
        everything = task.full_user_vectors(users)
    assert train_only.shape == (store.n_users, task.net.layout.user_dim)
    assert torch.isfinite(everything).all()
    # Held-out pairs change the histories of the validation users only.
    changed = np.flatnonzero((train_only - everything).abs().sum(1).numpy() > 1e-6)
    assert len(changed) and set(changed) <= set(np.unique(task.plan.val_user))
