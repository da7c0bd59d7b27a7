"""The planted ground truth: who exists, what they like, and the expected watch ratio of any view."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from reelrec.synth._shape import N_DAYS, SynthShape
from reelrec.synth._timeline import DayTable, day_weights
from reelrec.synth._users import ONEHOT_LEVELS, TASTE_FEATURES, Users, sample_users
from reelrec.synth._videos import N_TAGS, Videos, sample_videos, tag_shares

LATENT_DIM = 16
# log E[watch_ratio | user, video] =
#   BASE_LOG + user bias + video hidden bias + QUALITY * quality + AD * is_ad
#   + duration_effect(duration)                              (people leave after a few seconds)
#   + taste(user codes) . tag weights(video)                (content signal, std ~ TASTE_STD)
#   + LATENT_STD * <user factors, video factors> / sqrt(d)  (collaborative signal, hidden)
BASE_LOG = -0.253
QUALITY = 0.20
AD = -0.35
DURATION = 0.35
TASTE_STD = 0.22
LATENT_STD = 0.22
# Exposure: log weight = log popularity + EXPOSURE_TASTE * (taste + latent parts) + log(days overlap).
EXPOSURE_TASTE = 0.7
_SMALL_MIN_DURATION_MS = 3_000


@dataclass
class World:
    """Everything sampled once per (scale, seed); the matrices and side files are views of it.

    Attributes
    ----------
    user_vec, video_vec : ndarray of float32, shapes (n_users, 31 + 16), (n_videos, 31 + 16)
        Their row-wise dot product is the personal part of the log expected watch ratio.
    user_base, video_base : ndarray of float32
        The additive user and video parts of the log expected watch ratio.
    small_users, small_videos : ndarray of int64
        Ids in the fully observed block (ascending).
    big_rows : ndarray of int64, shape (n_users,)
        Target number of big-matrix rows per user (duplicates and repeat views included).
    """

    shape: SynthShape
    users: Users
    videos: Videos
    tag_share: NDArray[np.float64]
    sub_tags_per_tag: NDArray[np.int64]
    user_vec: NDArray[np.float32]
    video_vec: NDArray[np.float32]
    user_base: NDArray[np.float32]
    video_base: NDArray[np.float32]
    small_users: NDArray[np.int64]
    small_videos: NDArray[np.int64]
    big_rows: NDArray[np.int64]
    big_days: DayTable

    @property
    def is_small_user(self) -> NDArray[np.bool_]:
        mask = np.zeros(len(self.users), dtype=bool)
        mask[self.small_users] = True
        return mask

    @property
    def is_small_video(self) -> NDArray[np.bool_]:
        mask = np.zeros(len(self.videos), dtype=bool)
        mask[self.small_videos] = True
        return mask

    def personal(self, users: NDArray[np.int64]) -> NDArray[np.float32]:
        """Personal part of log E for ``users`` x every video, shape (len(users), n_videos)."""
        return self.user_vec[users] @ self.video_vec.T

    def log_expected(self, users: NDArray[np.int64], videos: NDArray[np.int64]) -> NDArray[np.float32]:
        """Log expected watch ratio of parallel (user, video) arrays."""
        dot = np.einsum("ij,ij->i", self.user_vec[users], self.video_vec[videos])
        return (self.user_base[users] + self.video_base[videos] + dot).astype(np.float32)


def duration_effect(duration_ms: NDArray[np.int64]) -> NDArray[np.float64]:
    """Log watch-ratio shift of a video's length: ``-DURATION * log(d / 9.6 s)`` down to 3 s.

    Below 3 s people still stay a few seconds, so play time stops shrinking and the ratio grows as 1 / d,
    down to 1 s (KuaiRec's watch ratios in the hundreds come from such clips).
    """
    d = duration_ms.astype(np.float64)
    floor = 3_000.0
    return -DURATION * np.log(np.maximum(d, floor) / 9_600.0) + np.log(floor / np.clip(d, 1_000.0, floor))


def _taste(rng: np.random.Generator, users: Users) -> NDArray[np.float32]:
    """User x tag affinity from the users' categorical codes (what a content model can learn)."""
    taste = np.zeros((len(users), N_TAGS), dtype=np.float32)
    per_feature = TASTE_STD / np.sqrt(len(TASTE_FEATURES))
    for col in TASTE_FEATURES:
        table = rng.normal(0.0, per_feature, (ONEHOT_LEVELS[col], N_TAGS)).astype(np.float32)
        codes = users.onehot[:, col]
        known = codes >= 0
        taste[known] += table[codes[known]]
    # Centre each tag's taste over users: a world-level offset would shift every seed's mean watch ratio.
    return taste - taste.mean(axis=0, keepdims=True)


def _pick_small_videos(rng: np.random.Generator, videos: Videos, n_small: int) -> NDArray[np.int64]:
    """The fully observed block's videos: at least 3 s long, shown all period long, leaning popular and good.

    Leaning good offsets the big matrix's exposure bias, so the two matrices' mean watch ratios differ as
    little as KuaiRec's (0.944 and 0.907). Should too few videos be on show all period (tiny scales),
    the picked ones are made so.
    """
    full_period = (videos.start == 0) & (videos.end == N_DAYS - 1)
    keys = 0.5 * videos.log_pop + 2.0 * videos.quality + rng.gumbel(size=len(videos)) + 1e6 * full_period
    keys[videos.duration < _SMALL_MIN_DURATION_MS] = -np.inf
    picked = np.sort(np.argsort(-keys)[:n_small]).astype(np.int64)
    late = picked[~full_period[picked]]
    videos.start[late], videos.end[late], videos.upload_day[late] = 0, N_DAYS - 1, -1
    return picked


def make_world(shape: SynthShape, seed: int) -> World:
    """Sample a world. Each component draws from its own stream, so all are reproducible from ``seed``."""
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, 0x5EED]).spawn(8)]
    users = sample_users(shape.n_users, streams[0])
    shares = tag_shares(streams[1])
    sub_per_tag = streams[1].integers(2, 9, N_TAGS).astype(np.int64)
    videos = sample_videos(shape.n_videos, streams[2], shares, sub_per_tag)

    rng = streams[3]
    u_lat = rng.normal(size=(len(users), LATENT_DIM)).astype(np.float32)
    v_lat = rng.normal(size=(len(videos), LATENT_DIM)).astype(np.float32)
    scale = np.float32(LATENT_STD / np.sqrt(LATENT_DIM))
    user_vec = np.concatenate([_taste(rng, users), scale * u_lat], axis=1)
    video_vec = np.concatenate([videos.tag_weights, v_lat], axis=1)
    user_base = (BASE_LOG + users.bias).astype(np.float32)
    video_base = (videos.hidden + QUALITY * videos.quality + AD * videos.is_ad + duration_effect(videos.duration))
    video_base = video_base.astype(np.float32)

    rng = streams[4]
    # Small-block users lean towards engaged ones (weight exp(2 bias)), its videos towards popular, good ones.
    user_keys = 2.0 * users.bias + rng.gumbel(size=len(users))
    small_users = np.sort(np.argsort(-user_keys)[: shape.n_small_users]).astype(np.int64)
    small_videos = _pick_small_videos(rng, videos, shape.n_small_videos)
    big_rows = np.maximum(1, np.round(users.full_rows * shape.factor)).astype(np.int64)
    # Active days: heavier users are active on more days (KuaiRec: 26 days and 66 views per user-day on average).
    per_day = rng.lognormal(np.log(68.0), 0.5, len(users))
    n_active = np.clip(np.round(users.full_rows / per_day), 1, N_DAYS).astype(np.int64)
    big_days = DayTable(day_weights(rng, n_active, shape=0.9))
    return World(
        shape=shape,
        users=users,
        videos=videos,
        tag_share=shares,
        sub_tags_per_tag=sub_per_tag,
        user_vec=user_vec.astype(np.float32),
        video_vec=video_vec.astype(np.float32),
        user_base=user_base,
        video_base=video_base,
        small_users=small_users,
        small_videos=small_videos,
        big_rows=big_rows,
        big_days=big_days,
    )
