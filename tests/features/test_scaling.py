"""Numeric scaling: the 'auto' log1p rule, overflow-safe statistics, finite output for any input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from reelrec.errors import DataWarning
from reelrec.features._scaling import Z_CLIP, fit_column, is_heavy_tailed, scale_matrix


def test_heavy_tail_rule(rng):
    assert is_heavy_tailed(rng.pareto(1.5, 1000))
    assert is_heavy_tailed(np.array([1.0, 1.0, 2.0, 1.0, 1.0, 80.0]))  # max/median > 50
    assert not is_heavy_tailed(rng.uniform(0, 10, 1000))
    assert not is_heavy_tailed(np.array([0.0, 0.0, 0.0, 1.0]))  # flag, not a counter
    assert not is_heavy_tailed(np.append(rng.pareto(1.5, 100), -1.0))
    assert not is_heavy_tailed(np.array([]))


def test_statistics_of_huge_values_do_not_overflow():
    values = np.array([1.7e308, 1.6e308, -1.7e308, np.nan])
    scaling = fit_column(values, log1p=False, column="x")
    assert np.isfinite(scaling.mean) and np.isfinite(scaling.std) and scaling.std > 0
    assert scaling.n_missing == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # nothing here is beyond the clip
        z, missing = scale_matrix(values[:, None], [scaling], ["x"])
    assert missing[:, 0].tolist() == [False, False, False, True]
    expected = (values[:3] / 1e308 - scaling.mean / 1e308) / (scaling.std / 1e308)
    np.testing.assert_allclose(z[:3, 0], expected, rtol=1e-6)
    assert z[3, 0] == 0.0


def test_near_constant_columns_get_unit_std():
    scaling = fit_column(np.full(7, 0.1) * np.array([1, 1, 1, 1, 1, 1, 1 + 1e-15]), log1p=False, column="x")
    assert scaling.std == 1.0
    assert fit_column(np.array([5e-324, 1e-323]), log1p=False, column="x").std > 0


def test_clipping_bounds_unseen_extremes():
    scaling = fit_column(np.array([0.0, 1.0]), log1p=False, column="x")
    with pytest.warns(DataWarning, match="beyond"):
        z, _ = scale_matrix(np.array([[1e30], [-1e30], [0.5]]), [scaling], ["x"])
    assert z[:, 0].tolist() == [Z_CLIP, -Z_CLIP, 0.0]
