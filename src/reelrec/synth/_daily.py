"""``item_daily_features.csv``: one row per video and day shown, counters driven by popularity and quality."""

from __future__ import annotations

import numpy as np
import polars as pl
from numpy.typing import NDArray

from reelrec.synth._text import TagVocab
from reelrec.synth._timeline import DATE_LABELS
from reelrec.synth._videos import FRAME_SIZES, UPLOAD_TYPES, Videos
from reelrec.synth._world import duration_effect

# The four collect* counters are empty (NaN) before this day index and 0.0 from it on, as in KuaiRec.
COLLECT_FROM_DAY = 27  # 2020-08-01
_QUAD = 24  # quantile points used to average over a video-day's distribution of watched fractions
_SHAPE = 0.55  # log-logistic shape of the watched fraction of one play

COUNTER_COLUMNS = (
    "show_cnt", "show_user_num", "play_cnt", "play_user_num", "play_duration", "complete_play_cnt",
    "complete_play_user_num", "valid_play_cnt", "valid_play_user_num", "long_time_play_cnt",
    "long_time_play_user_num", "short_time_play_cnt", "short_time_play_user_num", "play_progress",
    "comment_stay_duration", "like_cnt", "like_user_num", "click_like_cnt", "double_click_cnt", "cancel_like_cnt",
    "cancel_like_user_num", "comment_cnt", "comment_user_num", "direct_comment_cnt", "reply_comment_cnt",
    "delete_comment_cnt", "delete_comment_user_num", "comment_like_cnt", "comment_like_user_num", "follow_cnt",
    "follow_user_num", "cancel_follow_cnt", "cancel_follow_user_num", "share_cnt", "share_user_num",
    "download_cnt", "download_user_num", "report_cnt", "report_user_num", "reduce_similar_cnt",
    "reduce_similar_user_num", "collect_cnt", "collect_user_num", "cancel_collect_cnt", "cancel_collect_user_num",
)


def _users_of(rng: np.random.Generator, cnt: NDArray[np.int64], repeat_share: float) -> NDArray[np.int64]:
    """Distinct users behind ``cnt`` events: a few users act twice, so the result is <= ``cnt``."""
    return cnt - rng.binomial(cnt, repeat_share)


def _tail_above(x: NDArray | float, m: NDArray) -> NDArray[np.float64]:
    """P(X >= x) for a log-logistic X with log-median ``m`` and shape :data:`_SHAPE`."""
    return 1.0 / (1.0 + np.exp((np.log(x) - m) / _SHAPE))


def daily_frame(rng: np.random.Generator, videos: Videos, vocab: TagVocab) -> pl.DataFrame:
    """All daily rows, sorted by video then date, with KuaiRec's 58 columns in order."""
    days_per = videos.end - videos.start + 1
    vid = np.repeat(np.arange(len(videos)), days_per)
    day = videos.start[vid] + (np.arange(len(vid)) - np.repeat(np.cumsum(days_per) - days_per, days_per))
    n = len(vid)
    q = videos.quality[vid].astype(np.float64)
    dur = videos.duration[vid].astype(np.float64)

    # Impressions: platform popularity, a launch burst that fades for new videos, day-to-day noise.
    base = np.exp(np.log(4_000.0) + 0.75 * videos.log_pop.astype(np.float64) + rng.normal(0.0, 0.3, len(videos)))
    age = day - np.maximum(videos.upload_day[vid], 0)
    new = videos.upload_day[vid] >= 0
    burst = np.where(new, 0.4 + 2.5 * np.exp(-age / 4.0), 1.0)
    weekend = 1.0 + 0.12 * (((day + 6) % 7) >= 5)  # 2020-07-05 was a Sunday
    show = np.maximum(1, np.round(base[vid] * burst * weekend * rng.lognormal(0.0, 0.25, n))).astype(np.int64)
    show_users = show - rng.binomial(show, rng.uniform(0.05, 0.4, len(videos))[vid])
    play_rate = 1.0 / (1.0 + np.exp(-(1.2 + 0.5 * q + rng.normal(0.0, 0.4, len(videos))[vid])))
    play = rng.binomial(show, play_rate)
    play_users = np.minimum(_users_of(rng, play, 0.15), show_users)

    # Watched fraction of one play: log-logistic, centred by quality and length (same direction as the
    # planted watch ratio). Completion, valid, long and short plays follow KuaiRec's definitions.
    m = np.log(0.75) + 0.5 * q + duration_effect(videos.duration[vid]) + rng.normal(0.0, 0.05, n)
    p_complete = _tail_above(1.0, m)
    p_valid = np.where(dur <= 7_000, p_complete, _tail_above(np.maximum(7_000.0 / dur, 1e-9), m))
    p_long = np.where(dur <= 18_000, p_complete, _tail_above(18_000.0 / dur, m))
    p_short = 1.0 - _tail_above(np.minimum(3_000.0 / dur, 1.0), m)
    levels = (np.arange(_QUAD) + 0.5) / _QUAD
    fractions = np.exp(m[:, None] + _SHAPE * np.log(levels / (1.0 - levels))[None, :])
    progress = np.minimum(fractions, 1.0).mean(axis=1)
    watched = np.minimum(fractions, 20.0).mean(axis=1)

    complete = np.round(play * p_complete).astype(np.int64)
    valid = np.round(play * p_valid).astype(np.int64)
    long = np.round(play * p_long).astype(np.int64)
    short = np.minimum(np.round(play * p_short).astype(np.int64), play - valid)

    def rate(log_mean: float, q_coef: float, video_sd: float) -> NDArray[np.float64]:
        per_video = rng.normal(0.0, video_sd, len(videos))[vid]
        return np.exp(log_mean + q_coef * q + per_video + rng.normal(0.0, 0.1, n))

    like = rng.poisson(play * np.minimum(rate(np.log(0.035), 0.5, 0.4), 0.5))
    click_like = rng.binomial(like, 0.85)
    cancel_like = rng.binomial(like, 0.02)
    comment = rng.poisson(play * rate(np.log(0.0018), 0.4, 0.5))
    direct = rng.binomial(comment, 0.75)
    delete_comment = rng.binomial(comment, 0.03)
    comment_like = rng.poisson(comment * 1.8)
    follow = rng.poisson(play * rate(np.log(0.008), 0.4, 0.6))
    cancel_follow = rng.binomial(follow, 0.05)
    share = rng.poisson(play * rate(np.log(2e-4), 0.5, 0.5))
    download = rng.poisson(play * rate(np.log(3e-4), 0.3, 0.5))
    report = rng.poisson(play * rate(np.log(3e-5), -0.5, 0.5))
    reduce_similar = rng.poisson(play * rate(np.log(8e-4), -0.5, 0.4))
    stay = np.round(play * 0.03 * 9_000.0 * rng.lognormal(0.0, 0.3, n)).astype(np.int64)
    collect = np.where(day >= COLLECT_FROM_DAY, 0.0, np.nan)

    counters: dict[str, NDArray] = {
        "show_cnt": show, "show_user_num": show_users, "play_cnt": play, "play_user_num": play_users,
        "play_duration": np.round(play * dur * watched).astype(np.int64),
        "complete_play_cnt": complete, "complete_play_user_num": _users_of(rng, complete, 0.1),
        "valid_play_cnt": valid, "valid_play_user_num": _users_of(rng, valid, 0.1),
        "long_time_play_cnt": long, "long_time_play_user_num": _users_of(rng, long, 0.1),
        "short_time_play_cnt": short, "short_time_play_user_num": _users_of(rng, short, 0.1),
        "play_progress": progress, "comment_stay_duration": stay,
        "like_cnt": like, "like_user_num": _users_of(rng, like, 0.01), "click_like_cnt": click_like,
        "double_click_cnt": like - click_like, "cancel_like_cnt": cancel_like,
        "cancel_like_user_num": _users_of(rng, cancel_like, 0.05),
        "comment_cnt": comment, "comment_user_num": _users_of(rng, comment, 0.15), "direct_comment_cnt": direct,
        "reply_comment_cnt": comment - direct, "delete_comment_cnt": delete_comment,
        "delete_comment_user_num": _users_of(rng, delete_comment, 0.1),
        "comment_like_cnt": comment_like, "comment_like_user_num": _users_of(rng, comment_like, 0.1),
        "follow_cnt": follow, "follow_user_num": _users_of(rng, follow, 0.02), "cancel_follow_cnt": cancel_follow,
        "cancel_follow_user_num": _users_of(rng, cancel_follow, 0.02),
        "share_cnt": share, "share_user_num": _users_of(rng, share, 0.05),
        "download_cnt": download, "download_user_num": _users_of(rng, download, 0.05),
        "report_cnt": report, "report_user_num": _users_of(rng, report, 0.05),
        "reduce_similar_cnt": reduce_similar, "reduce_similar_user_num": _users_of(rng, reduce_similar, 0.05),
        "collect_cnt": collect, "collect_user_num": collect, "cancel_collect_cnt": collect,
        "cancel_collect_user_num": collect,
    }
    width, height = np.array(FRAME_SIZES, dtype=np.int64)[videos.frame].T
    upload_dates = (np.datetime64("2020-07-05") + videos.upload_day).astype(str)
    static = {
        "video_id": vid.astype(np.int64),
        "date": DATE_LABELS[day],
        "author_id": videos.author_id[vid],
        "video_type": pl.Series(np.where(videos.is_ad, "AD", "NORMAL")[vid].tolist(), dtype=pl.String),
        "upload_dt": pl.Series(upload_dates[vid].tolist(), dtype=pl.String),
        "upload_type": pl.Series(np.asarray(UPLOAD_TYPES)[videos.upload_type][vid].tolist(), dtype=pl.String),
        "visible_status": pl.Series(["public"] * n, dtype=pl.String),
        "video_duration": dur,
        "video_width": width[vid],
        "video_height": height[vid],
        "music_id": videos.music_id[vid],
        "video_tag_id": vocab.sub_ids[videos.sub_tag][vid],
        "video_tag_name": pl.Series(vocab.sub_names[videos.sub_tag][vid].tolist(), dtype=pl.String),
    }
    frame = pl.DataFrame(static | {name: counters[name] for name in COUNTER_COLUMNS})
    collect_columns = [c for c in COUNTER_COLUMNS if "collect" in c]
    return frame.with_columns(pl.col(c).fill_nan(None) for c in collect_columns)
