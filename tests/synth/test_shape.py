"""Sizes of the synthetic world per scale, and scale validation."""

from __future__ import annotations

import math

import pytest

from reelrec.synth import synth_shape


def test_full_scale_is_kuairec_size() -> None:
    shape = synth_shape(1.0)
    assert (shape.n_users, shape.n_videos) == (7176, 10728)
    assert (shape.n_small_users, shape.n_small_videos, shape.n_social_users) == (1411, 3327, 472)


@pytest.mark.parametrize("scale", [0.01, 0.05, 0.25, 4.0])
def test_each_axis_grows_with_sqrt_scale(scale: float) -> None:
    shape = synth_shape(scale)
    f = math.sqrt(scale)
    assert shape.factor == pytest.approx(f)
    assert shape.n_users == round(7176 * f)
    assert shape.n_videos == round(10728 * f)
    # the small block stays a block inside the catalogue, with a linear cell count
    assert shape.n_small_users < shape.n_users and shape.n_small_videos < shape.n_videos
    assert shape.n_small_users * shape.n_small_videos == pytest.approx(1411 * 3327 * scale, rel=0.02)


@pytest.mark.parametrize("bad", [0, 0.0, -1.0, float("nan"), float("inf"), 1e-5, 11.0])
def test_bad_scale_is_a_value_error_naming_it(bad: float) -> None:
    with pytest.raises(ValueError, match="scale="):
        synth_shape(bad)


@pytest.mark.parametrize("bad", ["1.0", None, True])
def test_non_numeric_scale_is_a_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="scale must be a number"):
        synth_shape(bad)  # type: ignore[arg-type]
