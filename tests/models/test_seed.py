"""The seed preset: the notebook's architecture, features and label scaling, and the contract around it."""

import numpy as np
import polars as pl
import pytest
import torch
from tests.conftest import make_toy_dataset
from torch import nn

from reelrec.data import Dataset, FeatureTable
from reelrec.models import create_model
from reelrec.models._seed import (
    ITEM_CODE_COLUMNS,
    ITEM_COUNTER_COLUMNS,
    KERAS_ADAM_EPSILON,
    USER_COLUMNS,
    SeedNet,
    SeedTwoTower,
    keras_adam,
)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def kuairec_like(seed: int = 0) -> Dataset:
    """The toy data set with KuaiRec's column names: 18 one-hot codes, music/tag ids, 15 counter means."""
    ds = make_toy_dataset(seed=seed)
    rng = np.random.default_rng(seed)
    n_u, n_i = ds.n_users, ds.n_items
    users = {c: rng.integers(0, 5, n_u).astype(np.float64) for c in USER_COLUMNS}
    users["onehot_feat4"][:3] = np.nan
    items = {
        "music_id": rng.integers(0, 4_000_000_000, n_i),
        "video_tag_id": rng.integers(0, 30, n_i),
        "tags": ds.item_features.frame["tags"],
    }
    items.update({c: rng.lognormal(3, 1, n_i) for c in ITEM_COUNTER_COLUMNS})
    user_kinds = dict.fromkeys(USER_COLUMNS, "categorical")
    item_kinds = {"music_id": "categorical", "video_tag_id": "categorical", "tags": "multi"}
    item_kinds.update(dict.fromkeys(ITEM_COUNTER_COLUMNS, "numeric"))
    return ds.with_interactions(
        ds.interactions,
        user_features=FeatureTable(pl.DataFrame(users), user_kinds),
        item_features=FeatureTable(pl.DataFrame(items), item_kinds),
    )


def test_architecture_matches_the_notebook():
    ds = kuairec_like()
    model = SeedTwoTower(progress=False, epochs=1).fit(ds)
    for tower, n_in in ((model.net_.user_mlp, 18), (model.net_.item_mlp, 17)):
        linears = [m for m in tower if isinstance(m, nn.Linear)]
        assert [(m.in_features, m.out_features) for m in linears] == [(n_in, 256), (256, 128), (128, 96), (96, 48)]
        # ReLU between layers, none after the last: the cosine must be able to go negative.
        kinds = [type(m).__name__ for m in tower]
        assert kinds == ["Linear", "ReLU", "Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert np.allclose(np.linalg.norm(model.user_vectors_, axis=1), 1.0, atol=1e-5)
    assert np.allclose(np.linalg.norm(model.item_vectors_, axis=1), 1.0, atol=1e-5)
    assert (model.user_vectors_ @ model.item_vectors_.T).min() < 0


def test_features_are_the_notebooks_read_as_numbers():
    ds = kuairec_like()
    model = SeedTwoTower(progress=False, epochs=1).fit(ds)
    assert model.user_pipe_.spec_.numeric_columns == USER_COLUMNS
    assert model.item_pipe_.spec_.numeric_columns == ITEM_CODE_COLUMNS + ITEM_COUNTER_COLUMNS
    assert model.item_pipe_.spec_.categorical_columns == [] and model.item_pipe_.spec_.multi_columns == []
    # Standardised on the training entities: mean ~0, std ~1 per input column.
    x = model._inputs(model.item_pipe_, ds.item_features, model.item_stats_, ds.n_items).numpy()
    seen = np.unique(ds.interactions.item)
    assert np.allclose(x[seen].mean(0), 0, atol=1e-4) and np.allclose(x[seen].std(0), 1, atol=1e-3)


def test_label_scaling_round_trips_and_predictions_stay_in_range():
    ds = kuairec_like()
    inter = ds.interactions.take(np.arange(len(ds.interactions)))
    inter.label[:3] = [0.0, 7.5, 5.0]  # 7.5 is clipped to 5
    ds = ds.with_interactions(inter)
    model = SeedTwoTower(progress=False, epochs=1).fit(ds)
    assert model.label_min_ == 0.0 and model.label_max_ == 5.0
    np.testing.assert_allclose(model._scale(np.array([0.0, 2.5, 5.0], np.float32)), [-1.0, 0.0, 1.0])
    np.testing.assert_allclose(model._unscale(np.array([-1.0, 0.0, 1.0], np.float32)), [0.0, 2.5, 5.0])
    pred = model.predict_indices(inter.user, inter.item)
    assert pred.dtype == np.float32 and pred.min() >= 0.0 and pred.max() <= 5.0


def test_learns_more_than_the_global_mean():
    ds = kuairec_like()
    model = SeedTwoTower(progress=False, epochs=15, batch_size=128).fit(ds)
    inter = ds.interactions
    label = np.clip(inter.label, 0, 5)
    rmse = np.sqrt(np.mean((model.predict_indices(inter.user, inter.item) - label) ** 2))
    assert rmse < 0.95 * label.std(), (rmse, label.std())


def test_falls_back_to_any_features_and_scores_cold_users(tmp_path, toy_dataset):
    model = create_model("seed", progress=False).fit(toy_dataset)
    assert sorted(model.user_pipe_.spec_.numeric_columns) == ["age", "follows"]
    assert model.user_pipe_.spec_.categorical_columns == ["activity", "code"]
    assert model.net_.user_mlp[0].in_features == 4 and model.net_.item_mlp[0].in_features == 3
    items, scores = model.recommend_cold(toy_dataset.user_features.take([0, 1, 2]), k=5)
    assert (items >= 0).all() and np.isfinite(scores).all()
    # Known users are scored from the same features: the cold path gives the same ranking.
    np.testing.assert_array_equal(items, model.recommend_indices([0, 1, 2], k=5, exclude_seen=False)[0])
    model.save(tmp_path / "seed")
    loaded = SeedTwoTower.load(tmp_path / "seed")
    users = np.arange(toy_dataset.n_users)
    np.testing.assert_array_equal(loaded.score_users(users), model.score_users(users))
    np.testing.assert_array_equal(
        loaded.recommend_cold(toy_dataset.user_features.take([0, 1]), k=5)[0], items[:2]
    )


def test_deterministic_and_validated(toy_dataset):
    a = SeedTwoTower(progress=False, seed=3).fit(toy_dataset)
    b = SeedTwoTower(progress=False, seed=3).fit(toy_dataset)
    np.testing.assert_array_equal(a.item_vectors_, b.item_vectors_)
    with pytest.raises(ValueError, match="batch_size"):
        SeedTwoTower(batch_size=0).fit(toy_dataset)
    with pytest.raises(ValueError, match="clip"):
        SeedTwoTower(clip=-1).fit(toy_dataset)


def test_layers_start_like_keras_dense():
    # Keras Dense: Glorot-uniform weights, U(-limit, limit) with limit = sqrt(6 / (fan_in + fan_out)), zero bias.
    torch.manual_seed(0)
    net = SeedNet(18, 17, [256, 128, 96, 48])
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == 8
    for layer in linears:
        fan_out, fan_in = layer.weight.shape
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        w = layer.weight.detach().numpy()
        assert np.abs(w).max() <= limit and np.abs(w).max() > 0.95 * limit
        # Uniform on [-limit, limit] has std limit / sqrt(3); torch's default (Kaiming) would be ~sqrt(2) off.
        assert abs(w.std() / (limit / np.sqrt(3.0)) - 1.0) < 0.05, (layer, w.std(), limit)
        assert not layer.bias.detach().any()


def test_optimiser_is_adam_with_keras_epsilon():
    net = SeedNet(3, 2, [4, 2])
    opt = keras_adam(list(net.parameters()), 0.01, 0.0)
    assert isinstance(opt, torch.optim.Adam) and not isinstance(opt, torch.optim.AdamW)
    assert [g["eps"] for g in opt.param_groups] == [KERAS_ADAM_EPSILON] == [1e-7]
    assert opt.param_groups[0]["lr"] == 0.01 and opt.param_groups[0]["betas"] == (0.9, 0.999)
    # The epsilon is the one used: a first step on gradient g moves each weight by lr * g / (|g| + eps)
    # (the bias corrections cancel at step 1); with torch's 1e-8 it would move 0.0099, not 0.0091.
    w = next(net.parameters())
    before = w.detach().clone()
    w.grad = torch.full_like(w, 1e-6)
    opt.step()
    expected = before - 0.01 * 1e-6 / (1e-6 + 1e-7)
    torch.testing.assert_close(w.detach(), expected, rtol=0, atol=1e-6)
