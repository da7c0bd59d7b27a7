"""Tuning: validation carved from training only, the test split never read, the best trial chosen."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from reelrec.eval import EvalProtocol, Split, evaluate, holdout_split
from reelrec.models import create_model
from reelrec.tune import tune
from tests.conftest import make_toy_dataset


def _rows(inter) -> list[tuple]:
    return sorted(zip(inter.user.tolist(), inter.item.tolist(), inter.label.tolist(), inter.timestamp.tolist(),
                      strict=True))


@pytest.mark.parametrize("mode", ["random", "temporal"])
def test_validation_partitions_the_training_rows_the_same_way(toy_dataset, mode):
    protocol = EvalProtocol(toy_dataset, "temporal" if mode == "temporal" else "holdout", test_fraction=0.25)
    split = protocol.split(1)
    val = protocol.validation_split(split, seed=1)
    carved = Counter(_rows(val.train.interactions) + _rows(val.test))
    source = Counter(_rows(split.train.interactions))
    # Nothing from outside the training part; only the temporal split's re-views of a pair it trains on,
    # and the rows of users below ``min_interactions``, are left out, as for the test split.
    assert not carved - source
    left_out = val.params.get("repeat_rows_dropped", 0) + val.params.get("dropped_rows", 0)
    assert (source - carved).total() == left_out
    assert val.params["mode"] == mode and val.params["test_fraction"] == 0.25
    if mode == "temporal":
        assert val.test.timestamp.min() > val.train.interactions.timestamp.max()
        assert val.params["cutoff"] < split.params["cutoff"]
    else:
        # Per user, about the same share of distinct training items is held out.
        pairs = {(u, i) for u, i, *_ in _rows(val.test)}
        assert 0.2 < len(pairs) / len({(u, i) for u, i, *_ in _rows(split.train.interactions)}) < 0.35


def test_kuairec_validation_comes_from_the_big_matrix_only(toy_dataset):
    protocol = EvalProtocol(toy_dataset, "kuairec")
    split = protocol.split()
    val = protocol.validation_split(split, seed=0)
    assert val.train.fully_observed is None
    assert _rows(split.train.interactions) == sorted(_rows(val.train.interactions) + _rows(val.test))
    assert val.protocol == "holdout" and val.candidates is None


def _validation(dataset) -> Split:
    protocol = EvalProtocol(dataset, "holdout")
    return protocol.validation_split(protocol.split(0), seed=0)


def _scrambled(split: Split, seed: int) -> Split:
    """The same split with every test row's user, item and label replaced by noise."""
    rng = np.random.default_rng(seed)
    test = split.test
    noisy = type(test).from_arrays(
        rng.integers(0, split.train.n_users, len(test)), rng.integers(0, split.train.n_items, len(test)),
        rng.uniform(0, 5, len(test)).astype(np.float32), test.timestamp,
    )
    return Split(train=split.train, test=noisy, protocol=split.protocol, params=dict(split.params))


def test_the_test_split_cannot_change_what_tuning_chooses():
    split = holdout_split(make_toy_dataset(seed=3), seed=0)
    results = []
    for s in (split, _scrambled(split, 1), _scrambled(split, 2)):
        res = tune("itemknn", EvalProtocol(split.train, "holdout").validation_split(s, seed=0), 5, seed=0)
        results.append(([t.score for t in res.trials], res.chosen))
    assert results[0] == results[1] == results[2]
    # ...while the test figure itself does change: the scrambling was real.
    model = create_model("itemknn").fit(split.train)
    assert evaluate(model, split).metrics["ndcg@10"] != evaluate(model, _scrambled(split, 1)).metrics["ndcg@10"]


def test_the_best_trial_is_chosen_and_defaults_come_first(toy_dataset):
    val = _validation(toy_dataset)
    res = tune("ease", val, 6, seed=2)
    assert len(res.trials) == 6 and res.trials[0].params == {}
    best = max(res.trials, key=lambda t: t.score)
    assert res.chosen == best.params and res.best_score == best.score
    # Every trial's score is what evaluate reports for that configuration, refitted from scratch.
    again = create_model("ease", **res.trials[3].params).fit(val.train)
    assert evaluate(again, val, ks=(10,)).metrics["ndcg@10"] == pytest.approx(res.trials[3].score)
    assert res.seconds >= sum(t.seconds for t in res.trials) * 0.99
    record = res.to_dict()
    assert record["chosen"] == res.chosen and record["n_trials"] == 6 and record["space"] == {
        "reg": "log-uniform [1, 10000]"
    }


def test_lower_is_better_metrics_are_minimised(toy_dataset):
    val = _validation(toy_dataset)
    res = tune("item-mean", val, 5, metric="mae")
    assert res.best_score == min(t.score for t in res.trials)


def test_nothing_to_tune_gives_no_trial_and_failures_are_recorded(toy_dataset):
    val = _validation(toy_dataset)
    res = tune("popularity", val, 10)
    assert res.trials == [] and res.chosen == {} and math.isnan(res.best_score)
    # A fixed parameter that breaks every trial: one clear error naming the model and the parameter.
    with pytest.raises(Exception, match=r"every tuning trial of ease failed.*max_memory_gb"):
        tune("ease", val, 3, params={"max_memory_gb": 1e-9})
    with pytest.raises(ValueError, match="metric="):
        tune("ease", val, 3, metric="ndcg@ten")


def test_the_trial_budget_reaches_models_that_take_one(toy_dataset):
    val = _validation(toy_dataset)
    seen = []
    res = tune("seed", val, 2, params={"epochs": 1, "batch_size": 256}, trial_budget_s=30.0,
               on_trial=seen.append)
    assert len(seen) == 2 and all(math.isfinite(t.score) for t in res.trials)
    with pytest.raises(ValueError, match="trial_budget_s"):
        tune("seed", val, 2, trial_budget_s=0.0)
