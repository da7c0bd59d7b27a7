"""Drifting short-term interests: when a user watches which of their videos follows a changing topic.

Real feeds are bursty: a user binges one topic for a few dozen views, then moves on. Without that, the
order of a user's views carries nothing beyond their lifetime profile and no session model can beat
one that ignores the last views. Here each user's active days are cut, in time order, into phases of
about :data:`PHASE_VIEWS` expected views; each phase gets a short-term topic, a primary tag drawn from
the user's own views (so it is a sample of their lifetime taste). A share ``drift`` of the views is
then moved to a day of a phase whose topic is the video's primary tag (inside the video's release
window, on the user's active days); the rest keep the day drawn from the user's plain day weights.
Which videos a user views is unchanged: only the order (and so which rows the log duplicates), so
exposure and watch-ratio statistics hold.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from reelrec.synth._shape import N_DAYS
from reelrec.synth._timeline import DayTable
from reelrec.synth._videos import N_TAGS

#: Share of each user's views that follow the short-term topic in ``reelrec synth`` by default.
DEFAULT_DRIFT = 0.5
#: Expected views per short-term phase: the topic changes every few dozen views.
PHASE_VIEWS = 30.0
#: Spawn-key suffix of the drift stream, so ``drift=0`` leaves every other draw (and file) unchanged.
_STREAM = 0xD21F7


def check_drift(drift: float) -> float:
    """``drift`` as a float in [0, 1]; a clear ``ValueError`` otherwise."""
    if isinstance(drift, bool) or not isinstance(drift, int | float) or not 0.0 <= float(drift) <= 1.0:
        raise ValueError(f"drift={drift!r}, must be a number in [0, 1] (0 = no short-term interests)")
    return float(drift)


def drift_stream(seed: np.random.SeedSequence) -> np.random.Generator:
    """A stream of its own beside a chunk's main stream (which it leaves untouched)."""
    return np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, _STREAM)))


def phase_topics(
    rng: np.random.Generator, day_weight: NDArray[np.float64], row: NDArray[np.int64], tag: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Short-term topic of each (user, day), shape (b, 63).

    Parameters
    ----------
    day_weight : ndarray of float64, shape (b, 63)
        The users' day weights (0 on inactive days).
    row, tag : ndarray of int64, shape (n,)
        Each view's user row in ``0..b-1`` and its video's primary tag; every row has a view.
    """
    b = day_weight.shape[0]
    n_views = np.bincount(row, minlength=b).astype(np.float64)
    per_day = day_weight / np.maximum(day_weight.sum(axis=1, keepdims=True), 1e-12) * n_views[:, None]
    # A day belongs to the phase holding its midpoint in the user's expected view count.
    phase = np.floor((np.cumsum(per_day, axis=1) - per_day / 2) / PHASE_VIEWS).astype(np.int64)
    phase = np.clip(phase, 0, N_DAYS - 1)
    order = np.argsort(row, kind="stable")
    starts = np.zeros(b, np.int64)
    np.cumsum(np.bincount(row, minlength=b)[:-1], out=starts[1:])
    # Each phase's topic is the primary tag of one of the user's views, picked uniformly.
    pick = starts[:, None] + np.floor(rng.random((b, N_DAYS)) * n_views[:, None]).astype(np.int64)
    topics = tag[order][pick]
    return np.take_along_axis(topics, phase, axis=1)


def drift_days(
    rng: np.random.Generator,
    day_weight: NDArray[np.float64],
    row: NDArray[np.int64],
    tag: NDArray[np.int64],
    start: NDArray[np.int64],
    end: NDArray[np.int64],
    day: NDArray[np.int64],
    drift: float,
) -> NDArray[np.int64]:
    """Each view's day after the drift: a share ``drift`` move to a day whose topic is their tag.

    A view whose tag is no topic of the user's inside the video's release window keeps its day.

    Returns
    -------
    ndarray of int64, shape (n,)
    """
    if drift <= 0.0 or len(row) == 0:
        return day
    b = day_weight.shape[0]
    topic = phase_topics(rng, day_weight, row, tag)
    # Per (user, tag): the user's day weights on days whose topic is that tag.
    on_topic = np.zeros((b, N_TAGS, N_DAYS))
    users, days = np.nonzero(day_weight > 0)
    on_topic[users, topic[users, days], days] = day_weight[users, days]
    table = DayTable(on_topic.reshape(b * N_TAGS, N_DAYS))
    key = row * N_TAGS + tag
    mass = table.prefix[key, end + 1] - table.prefix[key, start]
    move = (rng.random(len(row)) < drift) & (mass > 0)
    out = day.copy()
    if move.any():
        out[move] = table.draw(rng, key[move], start[move], end[move])
    return out
