"""The watch-ratio noise has mean 1, so the planted expectation is the true mean of observed ratios."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from reelrec.synth._noise import BIG_NOISE, SMALL_NOISE, NoiseModel


@pytest.mark.parametrize("model", [BIG_NOISE, SMALL_NOISE], ids=["big", "small"])
def test_mean_is_one_without_the_tail(model: NoiseModel) -> None:
    # The Pareto tail makes the sample mean slow to settle; without it the check is tight.
    light = dataclasses.replace(model, tail=0.0)
    x = light.sample(np.random.default_rng(0), 2_000_000)
    assert x.mean() == pytest.approx(1.0, abs=0.004)


@pytest.mark.parametrize("model", [BIG_NOISE, SMALL_NOISE], ids=["big", "small"])
def test_mean_is_one_with_the_tail(model: NoiseModel) -> None:
    rng = np.random.default_rng(1)
    means = [model.sample(rng, 1_000_000).mean() for _ in range(4)]
    assert np.mean(means) == pytest.approx(1.0, abs=0.015)


def test_components_have_their_shares_and_bounds() -> None:
    x = BIG_NOISE.sample(np.random.default_rng(2), 1_000_000)
    assert (x == 0).mean() == pytest.approx(BIG_NOISE.zero, abs=3e-4)
    assert x.max() <= BIG_NOISE.tail_max
    assert (x >= BIG_NOISE.tail_min).mean() > BIG_NOISE.tail - 5e-4  # the tail, plus a little body above it
    assert (x < 0).sum() == 0


def test_same_generator_state_gives_same_draws() -> None:
    a = SMALL_NOISE.sample(np.random.default_rng(5), 1000)
    b = SMALL_NOISE.sample(np.random.default_rng(5), 1000)
    np.testing.assert_array_equal(a, b)
