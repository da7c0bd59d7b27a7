"""Quick full-size KuaiRec-shaped CSV writer for the load benchmark (used only when reelrec.synth is missing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

BIG_USERS, BIG_ITEMS, BIG_ROWS = 7176, 10728, 12_530_806
SMALL_USERS, SMALL_ITEMS, SMALL_ROWS = 1411, 3327, 4_676_570
DAILY_DAYS = 64  # 20200705 .. 20200906 (close to the real 343,341 rows for 10,728 videos)
START = 1_593_878_400  # 2020-07-04 16:00:00 UTC = 2020-07-05 00:00 Beijing time
COUNTERS = [
    "show_cnt",
    "show_user_num",
    "play_cnt",
    "play_user_num",
    "play_duration",
    "complete_play_cnt",
    "complete_play_user_num",
    "valid_play_cnt",
    "valid_play_user_num",
    "long_time_play_cnt",
    "long_time_play_user_num",
    "short_time_play_cnt",
    "short_time_play_user_num",
    "play_progress",
    "comment_stay_duration",
    "like_cnt",
    "like_user_num",
    "click_like_cnt",
    "double_click_cnt",
    "cancel_like_cnt",
    "cancel_like_user_num",
    "comment_cnt",
    "comment_user_num",
    "direct_comment_cnt",
    "reply_comment_cnt",
    "delete_comment_cnt",
    "delete_comment_user_num",
    "comment_like_cnt",
    "comment_like_user_num",
    "follow_cnt",
    "follow_user_num",
    "cancel_follow_cnt",
    "cancel_follow_user_num",
    "share_cnt",
    "share_user_num",
    "download_cnt",
    "download_user_num",
    "report_cnt",
    "report_user_num",
    "reduce_similar_cnt",
    "reduce_similar_user_num",
    "collect_cnt",
    "collect_user_num",
    "cancel_collect_cnt",
    "cancel_collect_user_num",
]


def _time_columns(ts_ms: np.ndarray) -> dict[str, pl.Expr | pl.Series]:
    """``time`` (Beijing local string), ``date`` (yyyymmdd) and ``timestamp`` (seconds, 3 decimals)."""
    s = pl.Series("ms", ts_ms, dtype=pl.Int64)
    local = pl.from_epoch(s + 8 * 3_600_000, time_unit="ms")
    frame = pl.DataFrame({"ms": s, "local": local})
    return frame.select(
        time=pl.col("local").dt.strftime("%Y-%m-%d %H:%M:%S%.3f"),
        date=pl.col("local").dt.strftime("%Y%m%d").cast(pl.Int64),
        timestamp=(pl.col("ms") // 1000).cast(pl.String) + "." + (pl.col("ms") % 1000).cast(pl.String).str.zfill(3),
    )


def _matrix(user: np.ndarray, item: np.ndarray, ts_ms: np.ndarray, dur: np.ndarray, rng) -> pl.DataFrame:
    play = np.minimum(rng.lognormal(8.9, 0.8, len(user)), 5 * dur[item]).astype(np.int64)
    play[rng.random(len(user)) < 0.01] *= 40
    times = _time_columns(ts_ms)
    return pl.DataFrame(
        {
            "user_id": user,
            "video_id": item,
            "play_duration": play,
            "video_duration": dur[item],
            "time": times["time"],
            "date": times["date"],
            "timestamp": times["timestamp"],
            "watch_ratio": play / dur[item],
        }
    )


def write_fake_kuairec(out_dir: Path, scale: float = 1.0, seed: int = 0) -> Path:
    """Write the six KuaiRec CSV files at ``scale`` x the real row counts into ``out_dir``."""
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_users = max(20, int(BIG_USERS * min(1.0, scale)))
    n_items = max(30, int(BIG_ITEMS * min(1.0, scale)))
    n_big = max(200, int(BIG_ROWS * scale))
    dur = np.clip(rng.lognormal(9.2, 0.6, n_items), 140, 315_072).astype(np.int64)

    # Big matrix: users ascending, time ascending within a user, popular items favoured, 7.7 % exact duplicates.
    n_unique = int(n_big / 1.083)
    per_user = rng.multinomial(n_unique, rng.dirichlet(np.full(n_users, 4.0)))
    user = np.repeat(np.arange(n_users), per_user)
    pop = rng.lognormal(0.0, 1.8, n_items)
    item = rng.choice(n_items, size=n_unique, p=pop / pop.sum())
    ts = START * 1000 + rng.integers(0, 62 * 86_400_000, n_unique)
    order = np.lexsort((ts, user))
    user, item, ts = user[order], item[order], ts[order]
    dup = np.sort(rng.choice(n_unique, size=n_big - n_unique, replace=True))
    take = np.sort(np.concatenate([np.arange(n_unique), dup]))
    big = _matrix(user, item, ts, dur, rng)[take]
    big.write_csv(out_dir / "big_matrix.csv")
    del big

    # Small matrix: a dense block of users x items, 0.38 % cells missing, 3.9 % rows without a time.
    su = max(5, int(SMALL_USERS * min(1.0, scale)))
    si = max(8, int(SMALL_ITEMS * min(1.0, scale)))
    cells = np.arange(su * si)
    cells = cells[rng.random(len(cells)) > 0.0038]
    s_user = rng.choice(n_users, su, replace=False)[cells // si]
    s_item = rng.choice(n_items, si, replace=False)[cells % si]
    s_ts = START * 1000 + rng.integers(0, 62 * 86_400_000, len(cells))
    order = np.lexsort((s_ts, s_user))
    small = _matrix(s_user[order], s_item[order], s_ts[order], dur, rng)
    blank = pl.Series(rng.random(small.height) < 0.039)
    small = small.with_columns(
        [pl.when(blank).then(None).otherwise(pl.col(c)).alias(c) for c in ("time", "date", "timestamp")]
    )
    small.write_csv(out_dir / "small_matrix.csv")
    del small

    ranges = ["0", "(0,10]", "(10,50]", "(50,100]", "(100,150]", "(150,250]", "(250,500]", "500+"]
    users = {
        "user_id": np.arange(n_users),
        "user_active_degree": rng.choice(["full_active", "high_active", "UNKNOWN", "middle_active"], n_users),
        "is_lowactive_period": (rng.random(n_users) < 0.005).astype(int),
        "is_live_streamer": (rng.random(n_users) < 0.007).astype(int),
        "is_video_author": (rng.random(n_users) < 0.17).astype(int),
        "follow_user_num": rng.integers(0, 1000, n_users),
        "follow_user_num_range": rng.choice(ranges, n_users),
        "fans_user_num": rng.integers(0, 100, n_users),
        "fans_user_num_range": rng.choice(["0", "[1,10)", "[10,100)"], n_users),
        "friend_user_num": rng.integers(0, 40, n_users),
        "friend_user_num_range": rng.choice(["0", "[1,5)", "[5,30)", "[30,60)"], n_users),
        "register_days": rng.integers(10, 2000, n_users),
        "register_days_range": rng.choice(["15-30", "31-60", "61-90", "91-180", "181-365", "366-730"], n_users),
    }
    levels = [2, 8, 30, 1076, 12, 10, 3, 47, 340, 7, 5, 3, 2, 2, 2, 2, 2, 2]
    for k, n in enumerate(levels):
        col = rng.integers(0, n, n_users).astype(float)
        if k == 4 or k >= 12:
            col[rng.random(n_users) < 0.02] = np.nan
            users[f"onehot_feat{k}"] = col
        else:
            users[f"onehot_feat{k}"] = col.astype(int)
    pl.DataFrame(users).write_csv(out_dir / "user_features.csv")

    n_tags = rng.choice([1, 2, 3, 4], n_items, p=[0.83, 0.14, 0.02, 0.01])
    tags = ["[" + ", ".join(str(t) for t in rng.choice(31, k, replace=False)) + "]" for k in n_tags]
    pl.DataFrame({"video_id": np.arange(n_items), "feat": tags}).write_csv(out_dir / "item_categories.csv")

    n_social = max(4, int(472 * min(1.0, scale)))
    social_users = rng.choice(n_users, n_social, replace=False)
    friends = [
        "[" + ", ".join(str(f) for f in rng.choice(social_users, rng.integers(1, 4), replace=False)) + "]"
        for _ in range(n_social)
    ]
    pl.DataFrame({"user_id": np.sort(social_users), "friend_list": friends}).write_csv(out_dir / "social_network.csv")

    days = np.arange(DAILY_DAYS)
    first_day = rng.integers(0, DAILY_DAYS - 1, n_items)
    d_item = np.repeat(np.arange(n_items), DAILY_DAYS - first_day)
    d_day = np.concatenate([days[f:] for f in first_day])
    n_daily = len(d_item)
    dates = pl.Series(START * 1000 + 8 * 3_600_000 + d_day * 86_400_000).cast(pl.Datetime("ms"))
    daily = {
        "video_id": d_item,
        "date": dates.dt.strftime("%Y%m%d").cast(pl.Int64),
        "author_id": (d_item * 7919) % 7000,
        "video_type": np.where(d_item % 50 == 0, "AD", "NORMAL"),
        "upload_dt": "2020-06-30",
        "upload_type": np.array(["ShortImport", "LongImport", "ShortCamera"])[d_item % 3],
        "visible_status": "public",
        "video_duration": dur[d_item].astype(float),
        "video_width": 720,
        "video_height": 1280,
        "music_id": (d_item * 104729) % 4_000_000_000,
        "video_tag_id": d_item % 300,
        "video_tag_name": "tag",
    }
    for name in COUNTERS:
        if name == "play_progress":
            daily[name] = rng.random(n_daily).round(6)
        elif name.startswith(("collect", "cancel_collect")):
            val = rng.poisson(2.0, n_daily).astype(float)
            val[d_day < 20] = np.nan
            daily[name] = val
        else:
            daily[name] = rng.poisson(300.0, n_daily)
    pl.DataFrame(daily).write_csv(out_dir / "item_daily_features.csv")
    return out_dir


if __name__ == "__main__":
    import sys

    write_fake_kuairec(Path(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 1.0)
