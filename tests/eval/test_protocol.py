"""The evaluation protocol: no statistic or label from after a temporal cutoff reaches a model (issue 10)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from reelrec.data import load_dataset
from reelrec.eval import EvalProtocol, dataset_fingerprint
from reelrec.models import create_model
from tests.conftest import make_toy_dataset

BEIJING = dt.timezone(dt.timedelta(hours=8))
NO_CACHE = {"cache": False}
# Small and quick, with the default early stopping on (its validation pairs are part of the property).
MODELS = {
    "two-tower": {
        "embedding_size": 8, "hidden": [16], "epochs": 2, "history_size": 8, "n_negatives": 64,
        "refit": False, "residual": "none", "progress": False,
    },
    "seed": {"epochs": 1, "batch_size": 2048, "progress": False},
    "mf": {"embedding_size": 8, "reg": 1.0},
}  # fmt: skip


def day_of(timestamp: float) -> int:
    return int(dt.datetime.fromtimestamp(timestamp, BEIJING).strftime("%Y%m%d"))


@pytest.fixture(scope="module")
def folder(kuairec_tiny) -> Path:
    return kuairec_tiny


@pytest.fixture(scope="module")
def cutoff(folder) -> float:
    return float(EvalProtocol(folder, "temporal", load_options=NO_CACHE).split().params["cutoff"])


def edited_copy(folder: Path, dest: Path, *, daily_from: int | None = None, big_after: float | None = None) -> Path:
    """A copy of ``folder`` whose daily statistics dated ``daily_from`` or later, or whose big-matrix
    labels after ``big_after``, are changed (and, for the daily file, extended by a later day)."""
    shutil.copytree(folder, dest)
    if daily_from is not None:
        lines = (dest / "item_daily_features.csv").read_text(encoding="utf-8").splitlines()
        header = lines[0].split(",")
        date_col, first_counter = header.index("date"), header.index("show_cnt")
        out, extra = [lines[0]], []
        for line in lines[1:]:
            fields = line.split(",")
            if int(fields[date_col]) >= daily_from:
                fields[first_counter:] = [str(float(v) * 7 + 1) if v else v for v in fields[first_counter:]]
                later = list(fields)
                later[date_col] = "20200906"
                extra.append(",".join(later))
            out.append(",".join(fields))
        (dest / "item_daily_features.csv").write_text("\n".join(out + extra) + "\n", encoding="utf-8")
    if big_after is not None:
        lines = (dest / "big_matrix.csv").read_text().splitlines()
        out = [lines[0]]
        for line in lines[1:]:
            fields = line.split(",")
            if float(fields[6]) > big_after:
                fields[7] = repr(float(fields[7]) * 3 + 0.25)  # watch_ratio, the label
            out.append(",".join(fields))
        (dest / "big_matrix.csv").write_text("\n".join(out) + "\n")
    return dest


def trained(folder: Path, name: str) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """State, test-pair predictions and top-20 scores of a model fitted under the temporal protocol."""
    split = EvalProtocol(folder, "temporal", load_options=NO_CACHE).split()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # same thread count on both sides: reductions then add up alike
    try:
        model = create_model(name, seed=0, **MODELS[name]).fit(split.train)
    finally:
        torch.set_num_threads(threads)
    tensors, _ = model._get_state()
    _, scores = model.recommend_indices(np.arange(split.train.n_users, dtype=np.int32), k=20)
    return tensors, model.predict_indices(split.test.user, split.test.item), scores


@pytest.fixture(scope="module")
def originals(folder) -> dict[str, tuple]:
    return {name: trained(folder, name) for name in MODELS}


def assert_same_model(a: tuple, b: tuple) -> None:
    tensors_a, preds_a, scores_a = a
    tensors_b, preds_b, scores_b = b
    assert tensors_a.keys() == tensors_b.keys()
    for key in tensors_a:
        np.testing.assert_array_equal(tensors_a[key], tensors_b[key], err_msg=key)
    np.testing.assert_array_equal(preds_a, preds_b)
    np.testing.assert_array_equal(scores_a, scores_b)


# ------------------------------------------------------------------------------- the required property
@pytest.mark.parametrize("name", list(MODELS))
def test_daily_statistics_after_the_cutoff_change_nothing(tmp_path, folder, cutoff, originals, name):
    copy = edited_copy(folder, tmp_path / "copy", daily_from=day_of(cutoff))
    # The edit is real: loaded whole, the copies' video features differ ...
    whole_a, whole_b = (load_dataset(p, cache=False) for p in (folder, copy))
    assert not whole_a.item_features.frame.equals(whole_b.item_features.frame)
    # ... yet under the temporal protocol the model and its predictions are the same.
    assert_same_model(originals[name], trained(copy, name))


@pytest.mark.parametrize("name", list(MODELS))
def test_big_matrix_rows_after_the_cutoff_change_nothing(tmp_path, folder, cutoff, originals, name):
    copy = edited_copy(folder, tmp_path / "copy", big_after=cutoff)
    whole_a, whole_b = (load_dataset(p, cache=False) for p in (folder, copy))
    assert not np.array_equal(whole_a.interactions.label, whole_b.interactions.label)
    assert_same_model(originals[name], trained(copy, name))


def test_daily_statistics_before_the_cutoff_do_change_the_model(tmp_path, folder, cutoff, originals):
    """The check above can fail: the same edit one day earlier reaches the seed preset's features."""
    until = EvalProtocol(folder, "temporal", load_options=NO_CACHE).split().params["features_until"]
    copy = edited_copy(folder, tmp_path / "copy", daily_from=until)
    tensors, preds, _ = trained(copy, "seed")
    assert not np.array_equal(preds, originals["seed"][1])


# ------------------------------------------------------------------------------------ the test split
def test_temporal_features_stop_the_day_before_the_cutoff(folder, cutoff):
    protocol = EvalProtocol(folder, "temporal", load_options=NO_CACHE)
    split = protocol.split()
    until = int(split.params["features_until"])
    assert until < day_of(cutoff) and split.train.meta["daily_until"] == until
    expected = load_dataset(folder, cache=False, daily_until=until).item_features.frame
    assert split.train.item_features.frame.equals(expected)
    assert not protocol.dataset.item_features.frame.equals(expected)  # the whole period differs
    assert split.train.interactions.timestamp.max() <= cutoff < split.test.timestamp.min()


def test_a_loaded_dataset_with_later_statistics_is_refused(folder):
    whole = load_dataset(folder, cache=False)
    with pytest.raises(ValueError, match="daily statistics up to 20200905"):
        EvalProtocol(whole, "temporal").split()
    # Loaded with statistics that stop early enough, the same data set is accepted as is.
    early = load_dataset(folder, cache=False, daily_until=20200710)
    assert EvalProtocol(early, "temporal").split().params["features_until"] == 20200710


# ------------------------------------------------------------------------------ the validation split
def test_temporal_validation_is_temporal_with_its_own_feature_cutoff(folder):
    protocol = EvalProtocol(folder, "temporal", load_options=NO_CACHE)
    split = protocol.split()
    val = protocol.validation_split(split)
    val_cutoff = float(val.params["cutoff"])
    assert val.params["mode"] == "temporal" and val.params["validation_of"] == "temporal"
    assert val.train.interactions.timestamp.max() <= val_cutoff < val.test.timestamp.min()
    assert val.test.timestamp.max() <= float(split.params["cutoff"])  # carved from the training part only
    until = int(val.params["features_until"])
    assert until < day_of(val_cutoff) and until < int(split.params["features_until"])
    expected = load_dataset(folder, cache=False, daily_until=until).item_features.frame
    assert val.train.item_features.frame.equals(expected)
    assert val.train.meta["validation"] == "temporal"  # models fitted on it stop early on later pairs


def test_holdout_validation_is_a_random_holdout_of_the_training_part(toy_dataset):
    protocol = EvalProtocol(toy_dataset.with_interactions(toy_dataset.interactions, fully_observed=None, truth=None))
    split = protocol.split()
    val = protocol.validation_split(split.train)
    assert protocol.name == "holdout" and val.params["mode"] == "random"
    train_pairs = set(zip(split.train.interactions.user.tolist(), split.train.interactions.item.tolist(), strict=True))
    val_pairs = set(zip(val.test.user.tolist(), val.test.item.tolist(), strict=True))
    assert val_pairs and val_pairs <= train_pairs
    test_pairs = set(zip(split.test.user.tolist(), split.test.item.tolist(), strict=True))
    assert not val_pairs & test_pairs
    assert protocol.validation_split(split).test.item.tolist() == val.test.item.tolist()  # same seed, same split
    assert protocol.validation_split(split, seed=5).test.item.tolist() != val.test.item.tolist()


def test_kuairec_validation_never_holds_the_block(toy_dataset):
    protocol = EvalProtocol(toy_dataset)
    split = protocol.split()
    val = protocol.validation_split(split)
    assert protocol.name == "kuairec" and val.train.fully_observed is None
    assert len(val.train.interactions) + len(val.test) <= len(toy_dataset.interactions)
    block = set(zip(toy_dataset.fully_observed.user.tolist(), toy_dataset.fully_observed.item.tolist(), strict=True))
    assert not block & set(zip(val.test.user.tolist(), val.test.item.tolist(), strict=True))


def test_validation_needs_this_protocols_data(toy_dataset):
    other = make_toy_dataset(n_users=20, n_items=30, per_user=10, seed=3)
    with pytest.raises(ValueError, match="other vocabularies"):
        EvalProtocol(toy_dataset).validation_split(other)


# ----------------------------------------------------------------------------------- refit and record
def test_kuairec_refit_data_is_the_big_matrix_only(toy_dataset):
    protocol = EvalProtocol(toy_dataset, "kuairec")
    data = protocol.refit_data()
    assert data.fully_observed is None and data.truth is None
    assert len(data.interactions) == len(toy_dataset.interactions)
    assert not protocol.refit_changes_data(protocol.split())  # no cold users: the split's train is all of it
    cold = EvalProtocol(toy_dataset, "kuairec", cold_user_fraction=0.2)
    assert cold.refit_changes_data(cold.split())  # the cold users' big-matrix rows join the refit


def test_fingerprint_follows_content_not_location(tmp_path, folder):
    copy = shutil.copytree(folder, tmp_path / "copy")
    same = dataset_fingerprint(load_dataset(copy, cache=False))
    assert same == dataset_fingerprint(load_dataset(folder, cache=False))
    lines = (copy / "big_matrix.csv").read_text().splitlines()
    fields = lines[5].split(",")
    fields[7] = repr(float(fields[7]) + 0.5)
    lines[5] = ",".join(fields)
    (copy / "big_matrix.csv").write_text("\n".join(lines) + "\n")
    assert dataset_fingerprint(load_dataset(copy, cache=False)) != same


@pytest.mark.parametrize("protocol", ["nonsense", "holdout "])
def test_unknown_protocol_is_named(toy_dataset, protocol):
    with pytest.raises(ValueError, match="protocol="):
        EvalProtocol(toy_dataset, protocol)


def test_kuairec_without_a_block_is_one_clear_error():
    data = make_toy_dataset(with_block=False)
    with pytest.raises(ValueError, match="fully observed block"):
        EvalProtocol(data, "kuairec").split()


def test_two_tower_early_stopping_holds_out_the_latest_pairs_under_temporal(toy_dataset):
    from reelrec.models._nn_data import distinct_pairs, temporal_validation_mask, validation_mask

    inter = toy_dataset.interactions
    pairs = distinct_pairs(inter, toy_dataset.n_users, toy_dataset.n_items)
    mask = temporal_validation_mask(pairs, inter, 0.2)
    first = {}
    for u, i, t in zip(inter.user.tolist(), inter.item.tolist(), inter.timestamp.tolist(), strict=True):
        first[(u, i)] = min(t, first.get((u, i), np.inf))
    first_ts = np.array([first[(u, i)] for u, i in zip(pairs.user.tolist(), pairs.item.tolist(), strict=True)])
    assert 0.15 < mask.mean() <= 0.2
    kept_per_user = np.bincount(pairs.user[~mask], minlength=pairs.n_users)
    assert np.all(kept_per_user[np.diff(pairs.indptr) > 0] > 0)  # nobody loses their whole history
    # Every held-out pair is later than every kept one, but for the one pair kept by a user who has
    # nothing earlier (their earliest pair).
    late_kept = ~mask & (first_ts > first_ts[mask].min())
    assert late_kept.sum() < mask.sum() / 2
    assert np.all(kept_per_user[pairs.user[late_kept]] == 1)
    random = validation_mask(pairs, 0.2, np.random.default_rng(0))
    assert first_ts[random].min() < first_ts[~random].max()  # the random choice is not ordered in time
