"""Search-space distributions: draws stay in range, follow the seed, and bad ranges are refused."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from reelrec.models import available_models, model_class
from reelrec.tune import Choice, IntRange, LogUniform, Uniform, sample_configs


def test_draws_stay_in_range_and_spread_over_it():
    rng = np.random.default_rng(0)
    logs = [LogUniform(1e-3, 10.0).sample(rng) for _ in range(2000)]
    assert min(logs) >= 1e-3 and max(logs) <= 10.0
    # Log-uniform: each decade gets about a quarter of the draws.
    decades = np.histogram(np.log10(logs), bins=[-3, -2, -1, 0, 1])[0]
    assert decades.min() > 400
    ints = [IntRange(5, 9).sample(rng) for _ in range(500)]
    assert set(ints) == {5, 6, 7, 8, 9} and all(isinstance(v, int) for v in ints)
    log_ints = [IntRange(16, 256, log=True).sample(rng) for _ in range(2000)]
    assert min(log_ints) >= 16 and max(log_ints) <= 256 and np.median(log_ints) < 100
    assert {Choice((1, "a", True)).sample(rng) for _ in range(200)} == {1, "a"}
    assert all(0.2 <= Uniform(0.2, 0.5).sample(rng) <= 0.5 for _ in range(200))


@pytest.mark.parametrize(
    "make", [lambda: LogUniform(0.0, 1.0), lambda: LogUniform(2.0, 1.0), lambda: IntRange(5, 1),
             lambda: Uniform(0.0, float("inf")), lambda: Choice(())]
)
def test_bad_ranges_are_refused(make):
    with pytest.raises(ValueError):
        make()


def test_configs_start_with_the_defaults_and_follow_the_seed():
    space = {"reg": LogUniform(1.0, 100.0), "k": IntRange(1, 50)}
    first = sample_configs(space, 6, seed=3)
    assert first[0] == {} and len(first) == 6 and all(set(c) == {"k", "reg"} for c in first[1:])
    assert sample_configs(space, 6, seed=3) == first
    assert sample_configs(space, 6, seed=4) != first
    # Declaration order does not change the draws.
    assert sample_configs(dict(reversed(space.items())), 6, seed=3) == first
    assert sample_configs({}, 6, seed=3) == [] and sample_configs(space, 0, seed=3) == []
    with pytest.raises(ValueError, match="n_trials=-1"):
        sample_configs(space, -1, seed=0)


@pytest.mark.parametrize("name", available_models())
def test_every_model_declares_a_space_of_its_own_parameters(name):
    cls = model_class(name)
    space = cls.search_space()
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    assert set(space) <= accepted, f"{name} searches parameters it does not take"
    if name != "popularity":
        assert space, f"{name} declares nothing to tune"
    for config in sample_configs(space, 5, seed=0):
        assert cls(**config).get_params().items() >= config.items()
