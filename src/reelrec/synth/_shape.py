"""How big a synthetic KuaiRec world is at a given scale, and the calendar it lives in."""

from __future__ import annotations

import math
from dataclasses import dataclass

# Full-scale (scale = 1.0) sizes of KuaiRec 2.0.
FULL_USERS = 7176
FULL_VIDEOS = 10728
FULL_SMALL_USERS = 1411
FULL_SMALL_VIDEOS = 3327
FULL_SOCIAL_USERS = 472

# The log covers 2020-07-05 .. 2020-09-05 (63 local days); times are Beijing time (UTC+8).
N_DAYS = 63
FIRST_DAY_EPOCH = 1_593_878_400  # 2020-07-05 00:00:00 at UTC+8, in Unix seconds
LOCAL_OFFSET_S = 8 * 3600

MIN_SCALE = 1e-4
MAX_SCALE = 10.0


@dataclass(frozen=True)
class SynthShape:
    """Entity counts of one synthetic world.

    Users and videos both grow with ``sqrt(scale)`` and so does each user's number of views, so the
    big matrix keeps KuaiRec's density (16 %) and its row count grows linearly with ``scale``. The
    small block (``sqrt(scale)`` users x ``sqrt(scale)`` videos) stays fully observed, so its cell
    count is linear in ``scale`` too.
    """

    scale: float
    n_users: int
    n_videos: int
    n_small_users: int
    n_small_videos: int
    n_social_users: int

    @property
    def factor(self) -> float:
        """Per-axis growth factor, ``sqrt(scale)``."""
        return math.sqrt(self.scale)


def synth_shape(scale: float = 1.0) -> SynthShape:
    """Sizes of the synthetic world at ``scale`` (1.0 = KuaiRec 2.0's 7,176 users x 10,728 videos).

    Raises
    ------
    ValueError
        If ``scale`` is not a finite number in [1e-4, 10].
    """
    if isinstance(scale, bool) or not isinstance(scale, int | float):
        raise TypeError(f"scale must be a number, got {type(scale).__name__}")
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale={scale!r}, must be a positive number (1.0 = full KuaiRec size)")
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise ValueError(f"scale={scale!r}, must be between {MIN_SCALE:g} and {MAX_SCALE:g}")
    f = math.sqrt(scale)
    return SynthShape(
        scale=float(scale),
        n_users=round(FULL_USERS * f),
        n_videos=round(FULL_VIDEOS * f),
        n_small_users=max(2, round(FULL_SMALL_USERS * f)),
        n_small_videos=max(2, round(FULL_SMALL_VIDEOS * f)),
        n_social_users=max(4, round(FULL_SOCIAL_USERS * f)),
    )
