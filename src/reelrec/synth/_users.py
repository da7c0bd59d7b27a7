"""Synthetic users: the observable columns of ``user_features.csv`` plus hidden taste and activity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray

DEGREES = ("full_active", "high_active", "middle_active", "UNKNOWN")
DEGREE_SHARES = (0.849, 0.131, 0.004, 0.016)
# Chance that a user of each activity degree belongs to the light-usage group (fewer views).
_LIGHT_GIVEN_DEGREE = (0.12, 0.50, 0.60, 0.80)

# Number of levels of onehot_feat0..17 (KuaiRec's documented ranges).
ONEHOT_LEVELS = (2, 8, 30, 1076, 12, 10, 3, 47, 340, 7, 5, 3, 2, 2, 2, 2, 2, 2)
# Features that are partly missing, with the real file's missing share; feat12..17 are missing together.
_MISSING_FEAT4 = 201 / 7176
_MISSING_NESTED = {12: 77 / 7176, 13: 75 / 7176, 14: 75 / 7176, 15: 74 / 7176, 16: 74 / 7176, 17: 74 / 7176}
# The user-side codes that carry taste (content models can learn user-code x video-tag affinities).
TASTE_FEATURES = (1, 2, 4, 5, 7, 9)

FOLLOW_BINS = ((0, "0"), (10, "(0,10]"), (50, "(10,50]"), (100, "(50,100]"), (150, "(100,150]"),
               (250, "(150,250]"), (500, "(250,500]"))
FOLLOW_TOP = "500+"
FANS_BINS = ((0, "0"), (9, "[1,10)"), (99, "[10,100)"), (999, "[100,1k)"), (4999, "[1k,5k)"),
             (9999, "[5k,1w)"))
FANS_TOP = "[1w,10w)"
FRIEND_BINS = ((0, "0"), (4, "[1,5)"), (29, "[5,30)"), (59, "[30,60)"), (119, "[60,120)"), (249, "[120,250)"))
FRIEND_TOP = "250+"
REGISTER_BINS = ((30, "15-30"), (60, "31-60"), (90, "61-90"), (180, "91-180"), (365, "181-365"), (730, "366-730"))
REGISTER_TOP = "730+"


@dataclass
class Users:
    """All sampled user attributes (index = user_id).

    Attributes
    ----------
    degree : ndarray of int64, shape (n,)
        Index into :data:`DEGREES`.
    flags : ndarray of int64, shape (n, 3)
        ``is_lowactive_period``, ``is_live_streamer``, ``is_video_author``.
    counts : ndarray of int64, shape (n, 4)
        ``follow_user_num``, ``fans_user_num``, ``friend_user_num``, ``register_days``.
    onehot : ndarray of int64, shape (n, 18)
        Category codes; -1 where the real file has NaN.
    full_rows : ndarray of float64, shape (n,)
        Big-matrix views the user would have at scale 1.0 (hidden).
    bias : ndarray of float32, shape (n,)
        The user's additive effect on log expected watch ratio (features + hidden part).
    """

    degree: NDArray[np.int64]
    flags: NDArray[np.int64]
    counts: NDArray[np.int64]
    onehot: NDArray[np.int64]
    full_rows: NDArray[np.float64]
    bias: NDArray[np.float32]

    def __len__(self) -> int:
        return len(self.degree)


def _skewed_codes(rng: np.random.Generator, n: int, levels: int) -> NDArray[np.int64]:
    """Codes with uneven level frequencies, as categorical demographics have."""
    if levels == 2:
        p1 = rng.uniform(0.05, 0.45)
        return (rng.random(n) < p1).astype(np.int64)
    weights = rng.lognormal(0.0, 1.0, levels)
    return rng.choice(levels, size=n, p=weights / weights.sum()).astype(np.int64)


def _activity(rng: np.random.Generator, degree: NDArray[np.int64], lowactive: NDArray[np.bool_]) -> NDArray:
    """Views per user at full scale: a left-skewed bulk, a light-usage group, and a few very heavy users.

    Calibrated to KuaiRec's rows per user (min 100, quartiles 883 / 1,846 / 2,461, mean 1,746, max 16,015).
    """
    n = len(degree)
    rows = 100.0 + 2990.0 * rng.beta(1.95, 1.05, n)
    light = (rng.random(n) < np.asarray(_LIGHT_GIVEN_DEGREE)[degree]) | lowactive
    rows[light] = 100.0 + 820.0 * rng.random(light.sum()) ** 2
    heavy = rng.random(n) < 0.0065
    rows[heavy] *= np.exp(0.3 + 1.6 * rng.random(heavy.sum()))
    return np.minimum(rows, 16_015.0)


def sample_users(n: int, rng: np.random.Generator) -> Users:
    """Draw ``n`` users with KuaiRec's feature levels and shares."""
    degree = rng.choice(len(DEGREES), size=n, p=DEGREE_SHARES).astype(np.int64)
    lowactive = rng.random(n) < 0.004
    streamer = rng.random(n) < 0.007
    author = (rng.random(n) < 0.165) | streamer
    flags = np.stack([lowactive, streamer, author], axis=1).astype(np.int64)

    follow = np.where(rng.random(n) < 0.02, 0, np.round(rng.lognormal(np.log(80.0), 1.4, n)))
    fans_scale = np.where(streamer, 40.0, np.where(author, 4.0, 1.0))
    fans = np.where(rng.random(n) < 0.35, 0, np.round(rng.lognormal(np.log(5.0), 1.5, n) * fans_scale))
    friends = np.where(rng.random(n) < 0.25, 0, np.round(rng.lognormal(np.log(6.0), 1.2, n)))
    register = np.round(rng.lognormal(np.log(300.0), 0.9, n))
    counts = np.stack(
        [np.minimum(follow, 9_999), np.minimum(fans, 99_999), np.minimum(friends, 1_999), np.clip(register, 15, 2_900)],
        axis=1,
    ).astype(np.int64)

    onehot = np.stack([_skewed_codes(rng, n, levels) for levels in ONEHOT_LEVELS], axis=1)
    onehot[rng.random(n) < _MISSING_FEAT4, 4] = -1
    order = rng.permutation(n)  # feat12..17 go missing together, the rarest first
    for col, share in _MISSING_NESTED.items():
        onehot[order[: round(share * n)], col] = -1

    full_rows = _activity(rng, degree, lowactive)
    degree_effect = np.array([0.0, -0.05, -0.08, -0.12], dtype=np.float32)[degree]
    # A heavy-ish tail of very engaged and very picky users (KuaiRec per-user means span 0.13..2.36).
    spread = np.where(rng.random(n) < 0.1, 0.35, 0.14)
    bias = degree_effect + 0.05 * author + spread * rng.normal(size=n)
    return Users(degree, flags, counts, onehot, full_rows, bias.astype(np.float32))


def _bucket(values: NDArray[np.int64], bins: tuple[tuple[int, str], ...], top: str) -> list[str]:
    """Bin label per value: the first bin whose upper edge (inclusive) holds it, else ``top``."""
    edges = np.array([edge for edge, _ in bins])
    labels = np.array([label for _, label in bins] + [top], dtype=object)
    return labels[np.searchsorted(edges, values, side="left")].tolist()


def user_features_frame(users: Users) -> pl.DataFrame:
    """``user_features.csv`` as a frame, columns in the real file's order."""
    n = len(users)
    follow, fans, friends, register = (users.counts[:, i] for i in range(4))
    columns: dict[str, pl.Series] = {
        "user_id": pl.Series(np.arange(n, dtype=np.int64)),
        "user_active_degree": pl.Series(np.asarray(DEGREES, dtype=object)[users.degree].tolist(), dtype=pl.String),
        "is_lowactive_period": pl.Series(users.flags[:, 0]),
        "is_live_streamer": pl.Series(users.flags[:, 1]),
        "is_video_author": pl.Series(users.flags[:, 2]),
        "follow_user_num": pl.Series(follow),
        "follow_user_num_range": pl.Series(_bucket(follow, FOLLOW_BINS, FOLLOW_TOP), dtype=pl.String),
        "fans_user_num": pl.Series(fans),
        "fans_user_num_range": pl.Series(_bucket(fans, FANS_BINS, FANS_TOP), dtype=pl.String),
        "friend_user_num": pl.Series(friends),
        "friend_user_num_range": pl.Series(_bucket(friends, FRIEND_BINS, FRIEND_TOP), dtype=pl.String),
        "register_days": pl.Series(register),
        "register_days_range": pl.Series(_bucket(register, REGISTER_BINS, REGISTER_TOP), dtype=pl.String),
    }
    for j in range(len(ONEHOT_LEVELS)):
        codes = users.onehot[:, j]
        if (codes < 0).any() or j == 4 or j >= 12:
            # Columns with NaN in the real file are floats there ("2.0", empty for NaN).
            columns[f"onehot_feat{j}"] = pl.Series(np.where(codes < 0, np.nan, codes.astype(np.float64))).fill_nan(None)
        else:
            columns[f"onehot_feat{j}"] = pl.Series(codes)
    return pl.DataFrame(columns)
