"""The two-tower model on tiny data: it learns the planted structure, cold start, persistence, resume."""

import json

import numpy as np
import polars as pl
import pytest
import torch
from tests.conftest import make_toy_dataset

from reelrec.data import Dataset, FeatureTable
from reelrec.models import create_model
from reelrec.models._two_tower import TwoTower
from reelrec.training import list_checkpoints

FAST = {"embedding_size": 16, "hidden": [32], "history_size": 16, "progress": False, "batch_size": 256}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # The tiny models here gain nothing from threads, and threads thrash on a shared machine.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def holdout(ds: Dataset, seed: int = 0) -> tuple[Dataset, np.ndarray, np.ndarray]:
    """Per user, a random 30% of distinct videos go to test (all repeat views with them)."""
    inter = ds.interactions
    key = inter.user.astype(np.int64) * ds.n_items + inter.item
    uniq, inverse = np.unique(key, return_inverse=True)
    test_key = np.random.default_rng(seed).random(len(uniq)) < 0.3
    test = test_key[inverse]
    return ds.with_interactions(inter.take(~test)), inter.user[test], inter.item[test]


def ndcg_at_10(model, ds_train: Dataset, users: np.ndarray, items: np.ndarray) -> float:
    rel: dict[int, set[int]] = {}
    for u, i in zip(users.tolist(), items.tolist(), strict=True):
        rel.setdefault(u, set()).add(i)
    scored = np.array(sorted(rel), np.int32)
    recs, _ = model.recommend_indices(scored, k=10)
    disc = 1 / np.log2(np.arange(2, 12))
    out = []
    for row, u in enumerate(scored):
        dcg = sum(disc[j] for j, it in enumerate(recs[row]) if it in rel[u])
        out.append(dcg / disc[: min(10, len(rel[u]))].sum())
    return float(np.mean(out))


@pytest.fixture(scope="module")
def split():
    ds = make_toy_dataset(n_users=90, n_items=80, per_user=30, seed=1, with_block=False)
    return holdout(ds)


@pytest.fixture(scope="module")
def fitted(split):
    train, _, _ = split
    return TwoTower(**FAST, epochs=30, seed=0).fit(train)


def test_learns_planted_structure_better_than_popularity(split, fitted):
    train, users, items = split
    pop = create_model("popularity").fit(train)
    ours = ndcg_at_10(fitted, train, users, items)
    base = ndcg_at_10(pop, train, users, items)
    assert ours > base + 0.03, (ours, base)
    assert fitted.loss_ == "multitask" and fitted.options_["negatives"] == "full"
    assert fitted.history_ and fitted.best_epoch_ is not None


def test_watch_head_tracks_the_truth_on_the_fully_observed_block():
    ds = make_toy_dataset(n_users=150, per_user=40, seed=2)
    model = TwoTower(**FAST, epochs=30).fit(ds)
    block = ds.fully_observed
    pred = model.predict_indices(block.user, block.item)
    assert pred.dtype == np.float32 and np.isfinite(pred).all()
    corr = np.corrcoef(np.log(pred), np.log(ds.truth))[0, 1]
    assert corr > 0.3, corr
    # A short candidate list is ranked by the same default rule as the whole catalogue (no silent
    # switch): the scores equal the catalogue-wide expected scores of those videos.
    cand = np.unique(block.item)
    items, scores = model.recommend_indices([0], k=5, candidates=cand)
    assert set(items[0]) <= set(cand.tolist())
    full = model.score_users([0])[0]
    np.testing.assert_allclose(scores[0], full[items[0]], rtol=1e-6)
    # Asked for the watch rule, the score is the predicted watch ratio, as predict returns it.
    items, scores = model.recommend_indices([0], k=5, candidates=cand, scoring="watch")
    np.testing.assert_allclose(scores[0], model.predict_indices(np.zeros(5, np.int32), items[0]), rtol=1e-5)


def test_cold_start_from_features_only(split):
    train, _, _ = split
    rng = np.random.default_rng(0)
    cold = rng.choice(train.n_users, size=20, replace=False)
    keep = ~np.isin(train.interactions.user, cold)
    model = TwoTower(**FAST, epochs=20).fit(train.with_interactions(train.interactions.take(keep)))
    table = train.user_features.take(cold)
    items, scores = model.recommend_cold(table, k=5)
    assert items.shape == (20, 5) and (items >= 0).all() and np.isfinite(scores).all()
    # Scores come from features: different users get different lists, and the same features the same list.
    assert len({tuple(r) for r in items.tolist()}) > 1
    again, _ = model.recommend_cold(table, k=5)
    np.testing.assert_array_equal(items, again)
    # A cold user known to the vocabulary is scored the same way through recommend_indices.
    known, _ = model.recommend_indices(cold, k=5, exclude_seen=False)
    np.testing.assert_array_equal(known, items)


def test_save_load_round_trip_gives_identical_scores(tmp_path, split, fitted):
    train, _, _ = split
    fitted.save(tmp_path / "art")
    loaded = create_model("popularity").load(tmp_path / "art")
    assert isinstance(loaded, TwoTower)
    users = np.arange(train.n_users, dtype=np.int32)
    np.testing.assert_array_equal(loaded.score_users(users), fitted.score_users(users))
    np.testing.assert_array_equal(loaded.recommend_indices(users, k=7)[0], fitted.recommend_indices(users, k=7)[0])
    pairs = (train.interactions.user[:50], train.interactions.item[:50])
    np.testing.assert_array_equal(loaded.predict_indices(*pairs), fitted.predict_indices(*pairs))
    table = train.user_features.take(np.arange(5))
    np.testing.assert_allclose(loaded.recommend_cold(table, k=5)[1], fitted.recommend_cold(table, k=5)[1], rtol=1e-6)
    np.testing.assert_array_equal(loaded.item_embeddings(), fitted.item_embeddings())
    # Run options say how a fit ran, not what it learned: the artifact keeps hyperparameters only.
    saved = json.loads((tmp_path / "art" / "model.json").read_text())["params"]
    assert not set(saved) & {"device", "progress", "checkpoint_dir", "resume", "time_budget_s"}
    assert saved["scoring"] == "expected" and saved["embedding_size"] == 16


def test_deterministic_given_the_seed(split):
    train, _, _ = split
    a = TwoTower(**FAST, epochs=3, seed=5).fit(train)
    b = TwoTower(**FAST, epochs=3, seed=5).fit(train)
    c = TwoTower(**FAST, epochs=3, seed=6).fit(train)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    assert not np.array_equal(a.item_factors_, c.item_factors_)


def test_resume_from_checkpoint_continues_where_it_stopped(tmp_path, split):
    train, _, _ = split
    params = {**FAST, "epochs": 4, "patience": 0, "seed": 1}
    full = TwoTower(**params, checkpoint_dir=str(tmp_path / "a")).fit(train)
    TwoTower(**params, checkpoint_dir=str(tmp_path / "b")).fit(train)
    newest = list_checkpoints(tmp_path / "b")[-1]  # epoch 4; epoch 3 is kept too
    for f in newest.iterdir():
        f.unlink()
    newest.rmdir()
    resumed = TwoTower(**params, checkpoint_dir=str(tmp_path / "b"), resume=True).fit(train)
    assert [h["epoch"] for h in resumed.history_] == [1, 2, 3, 4]
    np.testing.assert_array_equal(resumed.user_factors_, full.user_factors_)
    np.testing.assert_array_equal(resumed.item_factors_, full.item_factors_)


def test_implicit_data_without_features_uses_retrieval_only():
    ds = make_toy_dataset(n_users=40, n_items=50, per_user=15, with_block=False)
    inter = ds.interactions
    ones = inter.take(np.arange(len(inter)))
    ones.label[:] = 1.0
    ds = ds.with_interactions(ones, user_features=None, item_features=None, label_name="plays")
    model = TwoTower(**FAST, epochs=2, negatives="in-batch", id_buckets=64).fit(ds)
    assert model.loss_ == "retrieval" and model.user_pipe_ is None
    items, _ = model.recommend_indices([0, 1], k=5)
    assert (items >= 0).all()
    with pytest.raises(NotImplementedError, match="retrieval"):
        model.predict_indices([0], [0])
    # The default rule falls back to the one head there is; naming a rule it has no head for is an error.
    np.testing.assert_array_equal(model.recommend_indices([0], k=5, scoring="retrieval")[0], items[:1])
    with pytest.raises(ValueError, match="watch head"):
        model.recommend_indices([0], k=5, scoring="expected")
    sampled = TwoTower(**FAST, epochs=1, negatives="sampled", n_negatives=8).fit(ds)
    assert sampled.options_["negatives"] == "sampled"


def test_unknown_feature_values_and_unseen_videos_still_score(split, fitted):
    train, _, _ = split
    frame = train.user_features.frame.head(2).with_columns(
        pl.Series("activity", ["never-seen", None]), pl.Series("follows", [1e9, None])
    )
    table = FeatureTable(frame, train.user_features.kinds)
    items, scores = fitted.recommend_cold(table, k=3)
    assert (items >= 0).all() and np.isfinite(scores).all()


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("embedding_size", 0),
        ("learning_rate", -1.0),
        ("loss", "ranking"),
        ("negatives", "all"),
        ("scoring", "best"),
        ("cold_fraction", 1.0),
        ("id_buckets", 1),
        ("device", "tpu"),
        ("hidden", [0]),
    ],
)
def test_bad_hyperparameters_are_named(toy_dataset, param, value):
    with pytest.raises(ValueError, match=param):
        TwoTower(**{**FAST, param: value}).fit(toy_dataset)


def test_resume_after_early_stopping_and_refit_repeats_the_run(tmp_path, split):
    train, _, _ = split
    params = {**FAST, "epochs": 4, "refit": True, "seed": 2}
    first = TwoTower(**params, checkpoint_dir=str(tmp_path)).fit(train)
    assert (tmp_path / "refit").is_dir() and len(first.refit_history_) == first.best_epoch_
    again = TwoTower(**params, checkpoint_dir=str(tmp_path), resume=True).fit(train)
    np.testing.assert_array_equal(again.item_factors_, first.item_factors_)
    plain = TwoTower(**params).fit(train)
    np.testing.assert_array_equal(plain.item_factors_, first.item_factors_)
