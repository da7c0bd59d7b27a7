"""The interaction logs: the biased big matrix and the fully observed small block, one user chunk at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from reelrec.synth._drift import drift_days, drift_stream
from reelrec.synth._noise import BIG_NOISE, SMALL_NOISE, NoiseModel
from reelrec.synth._shape import LOCAL_OFFSET_S, N_DAYS
from reelrec.synth._timeline import DayTable, date_labels, day_weights, event_times
from reelrec.synth._world import EXPOSURE_TASTE, World

CHUNK_USERS = 256
# KuaiRec big matrix: 968,004 of 12,530,806 rows repeat an earlier row exactly; 11.56 M distinct rows
# hold 10.30 M distinct (user, video) pairs, i.e. 0.1227 repeat views per pair.
DUPLICATE_SHARE = 968_004 / 12_530_806
REPEATS_PER_PAIR = 11_564_987 / 10_300_969 - 1.0
# Small block: 17,827 of 4,694,397 cells missing (videos the user blocked); 181,992 of 4,676,570 rows
# have no time, date or timestamp.
BLOCKED_SHARE = 17_827 / 4_694_397
UNTIMED_SHARE = 181_992 / 4_676_570
MAX_PLAY_MS = 999_999

MATRIX_COLUMNS = (
    "user_id", "video_id", "play_duration", "video_duration", "time", "date", "timestamp", "watch_ratio"
)


def _segments(sorted_ids: NDArray[np.int64], n: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Start offset and length of each id 0..n-1 in an array grouped by id."""
    counts = np.bincount(sorted_ids, minlength=n)
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return starts, counts


def _draw_in_segments(
    rng: np.random.Generator, starts: NDArray, counts: NDArray, draws: NDArray, weights: NDArray | None = None
) -> NDArray[np.int64]:
    """For each segment ``i``, ``draws[i]`` indices inside it, uniformly or proportional to ``weights``."""
    seg = np.repeat(np.arange(len(starts)), draws)
    u = rng.random(len(seg))
    if weights is None:
        return starts[seg] + np.floor(u * counts[seg]).astype(np.int64)
    inclusive = np.cumsum(weights, dtype=np.float64)
    exclusive = inclusive - weights
    lo = exclusive[starts[seg]]
    hi = inclusive[starts[seg] + counts[seg] - 1]
    idx = np.searchsorted(inclusive, lo + u * (hi - lo), side="right")
    return np.clip(idx, starts[seg], starts[seg] + counts[seg] - 1)


def _observe(
    rng: np.random.Generator, expected: NDArray, duration: NDArray[np.int64], noise: NoiseModel
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Observed play time (ms) and watch ratio, ``play / duration`` exactly as KuaiRec computes it."""
    play = np.minimum(np.round(expected * noise.sample(rng, len(expected)) * duration), MAX_PLAY_MS).astype(np.int64)
    return play, play / duration


def _frame(
    user: NDArray, video: NDArray, play: NDArray, duration: NDArray, ts_ms: NDArray, date: NDArray, ratio: NDArray,
    timed: NDArray[np.bool_] | None = None,
) -> pl.DataFrame:
    """Rows in KuaiRec's column order; ``time`` is local (UTC+8) wall-clock time, formatted on write."""
    local = pl.Series("time", ts_ms + LOCAL_OFFSET_S * 1000).cast(pl.Datetime("ms"))
    stamp = pl.Series("timestamp", ts_ms / 1000.0)
    day = pl.Series("date", date)
    if timed is not None:  # the small matrix: untimed rows are empty, which makes `date` a float column
        local = pl.select(pl.when(pl.lit(pl.Series(timed))).then(local)).to_series().alias("time")
        stamp = pl.Series("timestamp", np.where(timed, stamp.to_numpy(), np.nan)).fill_nan(None)
        day = pl.Series("date", np.where(timed, date.astype(np.float64), np.nan)).fill_nan(None)
    return pl.DataFrame(
        [
            pl.Series("user_id", user, dtype=pl.Int64),
            pl.Series("video_id", video, dtype=pl.Int64),
            pl.Series("play_duration", play, dtype=pl.Int64),
            pl.Series("video_duration", duration, dtype=pl.Int64),
            local,
            day,
            stamp,
            pl.Series("watch_ratio", ratio, dtype=pl.Float64),
        ]
    )


def coverage_users(world: World, rng: np.random.Generator) -> NDArray[np.int64]:
    """One viewer per video, so that every video has at least one big-matrix row (as in KuaiRec).

    Small-block videos get a viewer outside the small block, keeping the two matrices' pairs disjoint.
    """
    n_users = len(world.users)
    outside = np.flatnonzero(~world.is_small_user)
    viewer = rng.integers(0, n_users, len(world.videos))
    small_v = world.small_videos
    viewer[small_v] = outside[rng.integers(0, len(outside), len(small_v))]
    return viewer.astype(np.int64)


def big_chunk(
    world: World,
    users: NDArray[np.int64],
    forced: NDArray[np.int64],
    seed: np.random.SeedSequence,
    drift: float = 0.0,
) -> pl.DataFrame:
    """Big-matrix rows of a run of consecutive users, grouped by user and ordered by time.

    Exposure is biased: each user's distinct videos are a weighted sample without replacement
    (Gumbel top-k) with weight popularity x exp(EXPOSURE_TASTE x personal affinity) x share of the
    user's active days inside the video's release window. Repeat views favour liked videos, and a
    share of rows is then logged twice (exact duplicates). With ``drift`` > 0, that share of the
    views is moved to days when the user's short-term topic is the video's tag (see ``_drift``).

    Parameters
    ----------
    users : ndarray of int64, shape (b,)
        Consecutive user ids.
    forced : ndarray of int64, shape (n_videos,)
        The coverage viewer of every video (see :func:`coverage_users`).
    drift : float
        Share of views that follow the user's drifting short-term topic (0: none).
    """
    rng = np.random.default_rng(seed)
    v = world.videos
    b = len(users)
    personal = world.personal(users)
    with np.errstate(divide="ignore"):
        logits = v.log_pop + EXPOSURE_TASTE * personal + np.log(world.big_days.overlap(users, v.start, v.end))
    logits = logits.astype(np.float32)
    logits += rng.gumbel(size=logits.shape).astype(np.float32)
    small_rows = np.flatnonzero(world.is_small_user[users])
    logits[np.ix_(small_rows, world.small_videos)] = -np.inf
    forced_v = np.flatnonzero((forced >= users[0]) & (forced <= users[-1]))
    logits[forced[forced_v] - users[0], forced_v] = np.inf

    n_rows = world.big_rows[users]
    n_dups = rng.binomial(n_rows, DUPLICATE_SHARE)
    distinct_rows = n_rows - n_dups
    available = (logits > -np.inf).sum(axis=1)
    n_forced = np.isposinf(logits).sum(axis=1)
    n_pairs = np.round(distinct_rows / (1.0 + REPEATS_PER_PAIR)).astype(np.int64)
    n_pairs = np.clip(n_pairs, np.maximum(n_forced, 1), np.maximum((0.9 * available).astype(np.int64), 1))
    threshold = np.sort(logits, axis=1)[np.arange(b), logits.shape[1] - n_pairs]
    row, video = np.nonzero(logits >= threshold[:, None])
    expected = np.exp(world.user_base[users[row]] + world.video_base[video] + personal[row, video])

    # Repeat views: of the videos a user likes, and of the ones the platform pushes (weight sqrt(pop) x E^2).
    starts, counts = _segments(row, b)
    n_repeats = np.maximum(distinct_rows - counts, 0)
    weight = np.exp(0.5 * v.log_pop[video].astype(np.float64)) * expected.astype(np.float64) ** 2
    again = _draw_in_segments(rng, starts, counts, n_repeats, weight)
    take = np.concatenate([np.arange(len(row)), again])
    row, video, expected = row[take], video[take], expected[take]

    duration = v.duration[video]
    play, ratio = _observe(rng, expected, duration, BIG_NOISE)
    day = world.big_days.draw(rng, users[row], v.start[video], v.end[video])
    if drift > 0:
        weights = np.diff(world.big_days.prefix[users], axis=1)
        tag = v.primary_tag[video]
        day = drift_days(drift_stream(seed), weights, row, tag, v.start[video], v.end[video], day, drift)
    ts_ms, date = event_times(rng, day)
    order = np.lexsort((ts_ms, row))
    cols: list[Any] = [a[order] for a in (row, video, duration, play, ratio, ts_ms, date)]
    row, video, duration, play, ratio, ts_ms, date = cols

    # Exact duplicates: the same event logged twice (its `date` label re-derived, so a few differ).
    starts, counts = _segments(row, b)
    src = _draw_in_segments(rng, starts, counts, np.minimum(n_dups, counts))
    position = np.concatenate([np.arange(len(row)), src])
    merge = np.argsort(position, kind="stable")  # each duplicate right after its original
    final = position[merge]
    date = np.concatenate([date, date_labels(rng, ts_ms[src])])[merge]
    user_ids = users[row[final]]
    return _frame(user_ids, video[final], play[final], duration[final], ts_ms[final], date, ratio[final])


def small_chunk(
    world: World, users: NDArray[np.int64], seed: np.random.SeedSequence
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Small-matrix rows of some small-block users, and the aligned noise-free truth.

    Every (user, small video) cell is observed except a few the user blocked (the least liked, by
    Gumbel top-k on negative log E). Rows are grouped by user, timed rows first in time order.
    """
    rng = np.random.default_rng(seed)
    vids = world.small_videos
    b, n = len(users), len(vids)
    personal = world.user_vec[users] @ world.video_vec[vids].T
    log_e = world.user_base[users][:, None] + world.video_base[vids][None, :] + personal
    # Blocked cells per user: KuaiRec has 0..32 (mean 12.6, std 7.0) of 3,327; a gamma-Poisson mixture.
    mean_blocked = BLOCKED_SHARE * n
    n_blocked = np.minimum(rng.poisson(rng.gamma(4.4, mean_blocked / 4.4, b)), n - 1)
    keys = -log_e + np.asarray(rng.gumbel(size=log_e.shape), dtype=np.float32)
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
    row, col = np.nonzero(rank >= n_blocked[:, None])
    expected = np.exp(log_e[row, col])
    video = vids[col]
    duration = world.videos.duration[video]
    play, ratio = _observe(rng, expected, duration, SMALL_NOISE)

    # Small-block users watch the block's videos almost every day (KuaiRec: 61 of 63 days, 52 views a day).
    days = DayTable(day_weights(rng, N_DAYS - rng.binomial(N_DAYS, 0.025, b), shape=2.6))
    day = days.draw(rng, row.astype(np.int64), np.zeros(len(row), np.int64), np.full(len(row), N_DAYS - 1))
    ts_ms, date = event_times(rng, day)
    timed = rng.random(len(row)) >= UNTIMED_SHARE
    order = np.lexsort((ts_ms, ~timed, row))
    cols: list[Any] = [a[order] for a in (row, video, expected, duration, play, ratio, ts_ms, date, timed)]
    row, video, expected, duration, play, ratio, ts_ms, date, timed = cols
    user_ids = users[row]
    matrix = _frame(user_ids, video, play, duration, ts_ms, date, ratio, timed=timed)
    truth = pl.DataFrame(
        [
            pl.Series("user_id", user_ids, dtype=pl.Int64),
            pl.Series("video_id", video, dtype=pl.Int64),
            pl.Series("expected_watch_ratio", expected, dtype=pl.Float32),
        ]
    )
    return matrix, truth


def chunks(ids: NDArray[np.int64], size: int = CHUNK_USERS) -> Iterator[NDArray[np.int64]]:
    """Consecutive slices of ``ids`` of at most ``size``."""
    for lo in range(0, len(ids), size):
        yield ids[lo : lo + size]
