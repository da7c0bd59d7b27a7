"""Active days, windowed day draws, local times and the late-partition ``date`` quirk."""

from __future__ import annotations

import numpy as np

from reelrec.synth._shape import FIRST_DAY_EPOCH, N_DAYS
from reelrec.synth._timeline import DATE_LABELS, DayTable, date_labels, day_weights, event_times


def test_date_labels_cover_the_log_period() -> None:
    assert len(DATE_LABELS) == N_DAYS
    assert DATE_LABELS[0] == 20200705 and DATE_LABELS[26] == 20200731 and DATE_LABELS[27] == 20200801
    assert DATE_LABELS[-1] == 20200905


def test_day_weights_activate_the_requested_number_of_days() -> None:
    w = day_weights(np.random.default_rng(0), np.array([1, 10, 63, 100]), shape=1.0)
    assert ((w > 0).sum(axis=1) == [1, 10, 63, 63]).all()


def test_draws_stay_inside_windows_and_on_active_days() -> None:
    rng = np.random.default_rng(1)
    weights = day_weights(rng, np.array([20, 40, 5]), shape=0.9)
    table = DayTable(weights)
    users = rng.integers(0, 3, 20_000)
    start = rng.integers(0, N_DAYS, 20_000)
    end = np.minimum(start + rng.integers(0, 30, 20_000), N_DAYS - 1)
    day = table.draw(rng, users, start, end)
    assert ((day >= start) & (day <= end)).all()
    active_inside = table.overlap(np.arange(3), start, end)[users, np.arange(len(users))] > 0
    # where the user is active inside the window, the day is one of the user's active days
    assert (weights[users[active_inside], day[active_inside]] > 0).all()


def test_overlap_is_the_share_of_activity_in_the_window() -> None:
    weights = np.zeros((1, N_DAYS))
    weights[0, [3, 10]] = [1.0, 3.0]
    share = DayTable(weights).overlap(np.array([0]), np.array([0, 4, 11]), np.array([5, 62, 62]))
    np.testing.assert_allclose(share, [[0.25, 0.75, 0.0]])


def test_event_times_fall_on_their_local_day() -> None:
    day = np.repeat(np.arange(N_DAYS), 200)
    ts_ms, date = event_times(np.random.default_rng(2), day)
    local_day = (ts_ms // 1000 - FIRST_DAY_EPOCH) // 86_400
    np.testing.assert_array_equal(local_day, day)
    moved = date != DATE_LABELS[day]
    assert moved.mean() < 0.01
    assert (DATE_LABELS[day - 1][moved] == date[moved]).all()


def test_late_partition_only_after_midnight_and_never_before_the_first_day() -> None:
    rng = np.random.default_rng(3)
    minute = 60_000
    first = np.full(50_000, FIRST_DAY_EPOCH * 1000 + 5 * minute)  # 00:05 on day 0
    later = first + 86_400_000  # 00:05 on day 1
    noon = later + 12 * 60 * minute
    assert (date_labels(rng, first) == 20200705).all()
    shifted = (date_labels(rng, later) == 20200705).mean()
    assert 0.01 < shifted < 0.05
    assert (date_labels(rng, noon) == 20200706).all()
