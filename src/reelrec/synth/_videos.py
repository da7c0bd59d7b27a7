"""Synthetic videos: tags, duration, release window, popularity, quality and static upload fields."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from reelrec.synth._shape import N_DAYS

N_TAGS = 31
DOMINANT_TAG = 28
# Tags per video: KuaiRec has mean 1.183, std 0.436, at most 4.
_TAG_COUNT_P = (0.835, 0.150, 0.012, 0.003)
UPLOAD_TYPES = ("ShortImport", "ShortCamera", "LongImport")
# (width, height) pairs and their shares; portrait phone formats dominate.
FRAME_SIZES = ((720, 1280), (576, 1024), (528, 960), (720, 1556), (540, 960), (1280, 720), (720, 720))
_FRAME_P = (0.55, 0.14, 0.10, 0.08, 0.05, 0.05, 0.03)
_OLD_SHARE = 0.42  # videos released before the log starts; they have a daily row on all 63 days
_NEW_LIFETIME_DAYS = 11.0  # mean days a newly released video keeps being shown


@dataclass
class Videos:
    """All sampled video attributes (index = video_id).

    Attributes
    ----------
    duration : ndarray of int64, shape (n,)
        Length in ms.
    tag_offsets, tag_values : ndarray of int64
        CSR lists of tag ids (primary tag first).
    tag_weights : ndarray of float32, shape (n, 31)
        Each row sums to 1 over the video's tags (primary tag weighted most).
    quality : ndarray of float32, shape (n,)
        Standard-normal quality: raises watch ratio, exposure and the daily engagement counters.
    hidden : ndarray of float32, shape (n,)
        A video effect on log watch ratio seen only through interactions.
    log_pop : ndarray of float32, shape (n,)
        Log exposure weight (platform popularity) before personal taste.
    start, end : ndarray of int64, shape (n,)
        First and last day index (0 = 2020-07-05) on which the video is shown.
    upload_day : ndarray of int64, shape (n,)
        Upload day index; negative for videos released before the log starts.
    is_ad, upload_type, frame, author_id, music_id : ndarray, shape (n,)
        Static upload fields (``frame`` indexes :data:`FRAME_SIZES`, ``upload_type`` :data:`UPLOAD_TYPES`).
    sub_tag : ndarray of int64, shape (n,)
        Index into the fine-grained tag vocabulary (``video_tag_id``).
    """

    duration: NDArray[np.int64]
    tag_offsets: NDArray[np.int64]
    tag_values: NDArray[np.int64]
    tag_weights: NDArray[np.float32]
    quality: NDArray[np.float32]
    hidden: NDArray[np.float32]
    log_pop: NDArray[np.float32]
    start: NDArray[np.int64]
    end: NDArray[np.int64]
    upload_day: NDArray[np.int64]
    is_ad: NDArray[np.bool_]
    upload_type: NDArray[np.int64]
    frame: NDArray[np.int64]
    author_id: NDArray[np.int64]
    music_id: NDArray[np.int64]
    sub_tag: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.duration)

    @property
    def primary_tag(self) -> NDArray[np.int64]:
        return self.tag_values[self.tag_offsets[:-1]]


def tag_shares(rng: np.random.Generator) -> NDArray[np.float64]:
    """Probability of each tag being a video's primary tag; tag 28 dominates, as in KuaiRec."""
    w = rng.lognormal(0.0, 0.9, N_TAGS)
    w[DOMINANT_TAG] = 0.0
    w = 0.78 * w / w.sum()
    w[DOMINANT_TAG] = 0.22
    return w


def _durations(rng: np.random.Generator, n: int) -> NDArray[np.int64]:
    """Video length in ms: a 9 s body, a 15 % long-form tail up to 315 s, and a few clips under 3 s.

    Calibrated to KuaiRec's quartiles 7.4 / 9.6 / 12.2 s, mean 14.6 s, std 19.8 s, range 0.14..315 s.
    """
    dur = np.exp(np.log(8_906.0) + 0.30 * rng.normal(size=n))
    long = rng.random(n) < 0.148
    dur[long] = np.exp(np.log(33_560.0) + 0.77 * rng.normal(size=long.sum()))
    tiny = rng.random(n) < 0.006
    dur[tiny] = rng.uniform(140.0, 3_040.0, tiny.sum())
    return np.clip(np.round(dur), 140, 315_072).astype(np.int64)


def _tags(rng: np.random.Generator, n: int, shares: NDArray[np.float64]) -> tuple[NDArray, NDArray, NDArray]:
    """Tag lists (CSR offsets and values, primary first) and the per-video tag weight matrix."""
    counts = rng.choice(4, size=n, p=_TAG_COUNT_P) + 1
    # Gumbel top-k per video gives distinct tags drawn by share; the primary tag is forced first.
    primary = rng.choice(N_TAGS, size=n, p=shares)
    keys = np.log(shares)[None, :] + rng.gumbel(size=(n, N_TAGS))
    keys[np.arange(n), primary] = np.inf
    order = np.argsort(-keys, axis=1)[:, :4]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    keep = np.arange(4)[None, :] < counts[:, None]
    values = order[keep].astype(np.int64)
    weights = np.zeros((n, N_TAGS), dtype=np.float32)
    rows = np.repeat(np.arange(n), counts)
    slot = np.arange(len(values)) - offsets[rows]
    # Primary tag counts for 0.6 when a video has several tags.
    w = np.where(slot == 0, np.where(counts[rows] == 1, 1.0, 0.6), 0.4 / np.maximum(counts[rows] - 1, 1))
    weights[rows, values] = w
    return offsets, values, weights


def _windows(rng: np.random.Generator, n: int) -> tuple[NDArray, NDArray, NDArray]:
    """Days on which each video is shown: old videos all 63 days, new ones from upload for a while.

    Gives about 32 daily rows per video, as KuaiRec's 343,341 rows for 10,728 videos.
    """
    old = rng.random(n) < _OLD_SHARE
    start = np.where(old, 0, rng.integers(1, N_DAYS, n))
    life = 1 + np.floor(rng.exponential(_NEW_LIFETIME_DAYS, n)).astype(np.int64)
    end = np.where(old, N_DAYS - 1, np.minimum(start + life - 1, N_DAYS - 1))
    upload = np.where(old, -1 - np.floor(rng.exponential(120.0, n)).astype(np.int64), start)
    return start.astype(np.int64), end.astype(np.int64), upload.astype(np.int64)


def sample_videos(n: int, rng: np.random.Generator, shares: NDArray[np.float64], n_sub: NDArray[np.int64]) -> Videos:
    """Draw ``n`` videos.

    Parameters
    ----------
    shares : ndarray of float64, shape (31,)
        Primary-tag probabilities (see :func:`tag_shares`).
    n_sub : ndarray of int64, shape (31,)
        Number of fine-grained tags under each tag; ``sub_tag`` indexes their concatenation.
    """
    duration = _durations(rng, n)
    offsets, values, weights = _tags(rng, n, shares)
    primary = values[offsets[:-1]]
    quality = rng.normal(size=n).astype(np.float32)
    hidden = rng.normal(0.0, 0.15, n).astype(np.float32)
    # Popularity: heavy-tailed platform exposure, higher for good videos and for the dominant tag. Clips under
    # 3 s are never hits: one popular clip with watch ratios in the tens would dominate a small world's tail.
    log_pop = 1.9 * rng.normal(size=n) + 0.8 * quality + 0.25 * (primary == DOMINANT_TAG)
    log_pop = np.where(duration < 3_000, np.minimum(log_pop - 1.0, -0.5), log_pop)
    start, end, upload = _windows(rng, n)
    is_ad = rng.random(n) < 0.02
    upload_type = np.where(duration > 57_000, 2, rng.choice(2, size=n, p=(0.6, 0.4)))
    upload_type[(upload_type < 2) & (rng.random(n) < 0.08)] = 2
    frame = rng.choice(len(FRAME_SIZES), size=n, p=_FRAME_P)
    # Authors and soundtracks are reused with a skew: a few prolific authors, a few hit songs.
    n_authors = max(2, int(0.7 * n))
    author_id = rng.permutation(n_authors)[np.floor(n_authors * rng.random(n) ** 1.6).astype(np.int64)]
    n_music = max(2, n // 2)
    pool = rng.choice(np.arange(1_000_000, 4_300_000_000, 7_919, dtype=np.int64), n_music, replace=False)
    music_id = pool[np.floor(n_music * rng.random(n) ** 3).astype(np.int64)]
    sub_start = np.concatenate([[0], np.cumsum(n_sub)[:-1]])
    sub_tag = sub_start[primary] + np.floor(rng.random(n) ** 2 * n_sub[primary]).astype(np.int64)
    return Videos(
        duration=duration,
        tag_offsets=offsets,
        tag_values=values,
        tag_weights=weights,
        quality=quality,
        hidden=hidden,
        log_pop=log_pop.astype(np.float32),
        start=start,
        end=end,
        upload_day=upload,
        is_ad=is_ad,
        upload_type=upload_type.astype(np.int64),
        frame=frame.astype(np.int64),
        author_id=author_id.astype(np.int64),
        music_id=music_id,
        sub_tag=sub_tag.astype(np.int64),
    )
