"""Writes tiny KuaiRec-2.0-shaped CSV files with every documented quirk, and remembers what it wrote."""

from __future__ import annotations

import datetime as dt
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

BEIJING = dt.timezone(dt.timedelta(hours=8))
DAY0 = dt.datetime(2020, 7, 5, tzinfo=BEIJING)
MATRIX_HEADER = "user_id,video_id,play_duration,video_duration,time,date,timestamp,watch_ratio"
ONEHOT_FLOAT = {4, 12, 13, 14, 15, 16, 17}
COUNTERS = ("show_cnt", "play_cnt", "play_progress", "like_cnt", "collect_cnt")
CAPTION_HEADER = (
    "video_id,manual_cover_text,caption,topic_tag,first_level_category_id,first_level_category_name,"
    "second_level_category_id,second_level_category_name,third_level_category_id,third_level_category_name"
)


@dataclass
class Row:
    """One matrix row as written (timestamp None = empty time/date/timestamp cells)."""

    user: int
    video: int
    play: int
    duration: int
    timestamp: float | None
    date: int | None

    @property
    def ratio(self) -> float:
        return self.play / self.duration

    def line(self, float_date: bool = False) -> str:
        if self.timestamp is None:
            return f"{self.user},{self.video},{self.play},{self.duration},,,,{self.ratio!r}"
        local = dt.datetime.fromtimestamp(self.timestamp, BEIJING)
        time = local.strftime("%Y-%m-%d %H:%M:%S.") + f"{local.microsecond // 1000:03d}"
        date = f"{self.date}.0" if float_date else str(self.date)
        return f"{self.user},{self.video},{self.play},{self.duration},{time},{date},{self.timestamp:.3f},{self.ratio!r}"


@dataclass
class KuaiRecFiles:
    """What :func:`write_kuairec_tiny` wrote: the path to hand to the loader and the raw content."""

    path: Path
    folder: Path
    big: list[Row] = field(default_factory=list)
    small: list[Row] = field(default_factory=list)
    users_with_features: list[int] = field(default_factory=list)
    onehot4: dict[int, float] = field(default_factory=dict)
    tags: dict[int, list[int]] = field(default_factory=dict)
    daily: list[dict] = field(default_factory=list)
    social: dict[int, list[int]] = field(default_factory=dict)
    truth: dict[tuple[int, int], float] = field(default_factory=dict)
    duration: dict[int, int] = field(default_factory=dict)

    def write(self, name: str, text: str) -> Path:
        """Overwrite one file (to plant a defect)."""
        path = self.folder / name
        path.write_text(text, encoding="utf-8")
        return path

    def read(self, name: str) -> str:
        return (self.folder / name).read_text(encoding="utf-8")


def write_kuairec_tiny(
    root: Path,
    *,
    layout: str = "flat",
    truth: bool = True,
    caption: str | None = None,
    seed: int = 0,
) -> KuaiRecFiles:
    """Write a small KuaiRec data set under ``root``.

    ``layout``: ``flat`` (CSVs in root), ``data`` (root/data), ``release`` (root/KuaiRec 2.0/data) or
    ``zip`` (root/KuaiRec.zip holding ``KuaiRec 2.0/data/*.csv``). ``caption``: None, ``good`` or ``bad``.

    Planted: users 0..5 log views of videos 10..15; the small block is users 0..2 x videos 13..15
    minus one blocked pair, two of its rows without a time; the big matrix holds exact duplicate rows,
    repeat views and one extreme watch ratio; user 9 and video 20 exist only in feature files;
    user 7 only in a friend list; daily statistics run one day past the big matrix's last date.
    """
    rng = np.random.default_rng(seed)
    folder = {"flat": root, "data": root / "data", "release": root / "KuaiRec 2.0" / "data", "zip": root / "staging"}[
        layout
    ]
    folder.mkdir(parents=True, exist_ok=True)
    files = KuaiRecFiles(path=root, folder=folder)
    videos = list(range(10, 16))
    files.duration = {v: int(rng.integers(3_000, 20_000)) for v in [*videos, 20]}

    # Big matrix: users 0..5, grouped by user, ordered by time; never the small block's pairs.
    base = DAY0.timestamp()
    for user in range(6):
        stamps = np.sort(rng.uniform(0, 3 * 86_400, 7)).round(3)  # days 0705..0707
        for k, offset in enumerate(stamps):
            candidates = [v for v in videos if not (user < 3 and v >= 13)]
            video = int(candidates[k % len(candidates)])
            ts = round(base + float(offset), 3)
            play = int(rng.integers(0, 2 * files.duration[video]))
            files.big.append(Row(user, video, play, files.duration[video], ts, _date_of(ts)))
    # Repeat view: user 3 watches video 10 again later (distinct row).
    first = next(r for r in files.big if r.user == 3 and r.video == 10)
    files.big.append(Row(3, 10, first.play + 17, first.duration, first.timestamp + 600.0, first.date))
    # Extreme watch ratio (well above the default clip of 5).
    files.big.append(Row(4, 11, 57 * files.duration[11], files.duration[11], base + 2 * 86_400 + 5.0, 20200707))
    files.big.sort(key=lambda r: (r.user, r.timestamp))
    # Exact duplicates, adjacent like the real logs: two copies of one row, three copies of another.
    for index, copies in ((3, 1), (20, 2)):
        row = files.big[index]
        for _ in range(copies):
            files.big.insert(index, Row(row.user, row.video, row.play, row.duration, row.timestamp, row.date))
    _write_matrix(folder / "big_matrix.csv", files.big, float_date=False)

    # Small matrix: users 0..2 x videos 13..15, minus (2, 15); two rows with empty time fields.
    for user in range(3):
        stamps = np.sort(rng.uniform(0, 3 * 86_400, 3)).round(3)
        for k, video in enumerate((13, 14, 15)):
            if (user, video) == (2, 15):
                continue
            ts = round(base + float(stamps[k]), 3)
            play = int(rng.integers(0, 3 * files.duration[video]))
            row = Row(user, video, play, files.duration[video], ts, _date_of(ts))
            if (user, video) in ((0, 14), (1, 13)):
                row.timestamp = None
                row.date = None
            files.small.append(row)
    _write_matrix(folder / "small_matrix.csv", files.small, float_date=True)
    if truth:
        files.truth = {(r.user, r.video): round(float(rng.uniform(0.2, 2.0)), 6) for r in files.small}
        pairs = list(files.truth.items())
        rng.shuffle(pairs)
        lines = ["user_id,video_id,expected_watch_ratio"] + [f"{u},{v},{t}" for (u, v), t in pairs]
        (folder / "small_matrix_truth.csv").write_text("\n".join(lines) + "\n")

    # User features: users 0..5 plus 9 (no interactions); onehot_feat4 has NaN for user 1.
    files.users_with_features = [0, 1, 2, 3, 4, 5, 9]
    header = [
        "user_id", "user_active_degree", "is_lowactive_period", "is_live_streamer", "is_video_author",
        "follow_user_num", "follow_user_num_range", "fans_user_num", "fans_user_num_range", "friend_user_num",
        "friend_user_num_range", "register_days", "register_days_range",
    ] + [f"onehot_feat{k}" for k in range(18)]  # fmt: skip
    lines = [",".join(header)]
    for user in files.users_with_features:
        degree = ["full_active", "high_active", "UNKNOWN"][user % 3]
        onehot = []
        for k in range(18):
            value = int(rng.integers(0, 3))
            if k in ONEHOT_FLOAT:
                text = "" if (k == 4 and user == 1) else f"{float(value)}"
                if k == 4:
                    files.onehot4[user] = math.nan if user == 1 else float(value)
            else:
                text = str(value)
            onehot.append(text)
        follow = int(rng.integers(0, 600))
        lines.append(
            ",".join(
                [
                    str(user),
                    degree,
                    "0",
                    "0",
                    str(user % 2),
                    str(follow),
                    '"(0,10]"',
                    "3",
                    '"[1,10)"',
                    "1",
                    '"[1,5)"',
                    str(100 + user),
                    "91-180",
                    *onehot,
                ]
            )
        )
    (folder / "user_features.csv").write_text("\n".join(lines) + "\n")

    files.tags = {10: [8], 11: [27, 9], 12: [1], 13: [28], 14: [3, 4, 5], 15: [0], 20: [30]}
    lines = ["video_id,feat"] + [f'{v},"{t}"' if len(t) > 1 else f"{v},{t}" for v, t in files.tags.items()]
    (folder / "item_categories.csv").write_text("\n".join(lines) + "\n")

    files.social = {2: [4], 4: [2, 7]}
    lines = ["user_id,friend_list"] + [f'{u},"{f}"' if len(f) > 1 else f"{u},{f}" for u, f in files.social.items()]
    (folder / "social_network.csv").write_text("\n".join(lines) + "\n")

    _write_daily(files, folder, rng)
    if caption:
        _write_caption(folder / "kuairec_caption_category.csv", caption)
    if layout == "zip":
        with zipfile.ZipFile(root / "KuaiRec.zip", "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(folder.iterdir()):
                zf.write(path, f"KuaiRec 2.0/data/{path.name}")
            zf.writestr("KuaiRec 2.0/LICENSE", "CC BY-SA 4.0\n")
        files.path = root / "KuaiRec.zip"
    return files


def _date_of(ts: float) -> int:
    return int(dt.datetime.fromtimestamp(ts, BEIJING).strftime("%Y%m%d"))


def _write_matrix(path: Path, rows: list[Row], float_date: bool) -> None:
    path.write_text("\n".join([MATRIX_HEADER] + [r.line(float_date) for r in rows]) + "\n")


def _write_daily(files: KuaiRecFiles, folder: Path, rng: np.random.Generator) -> None:
    """Four days (0705..0708) per video; collect_cnt is empty on the first day; video 12 starts on 0708."""
    header = [
        "video_id", "date", "author_id", "video_type", "upload_dt", "upload_type", "visible_status",
        "video_duration", "video_width", "video_height", "music_id", "video_tag_id", "video_tag_name", *COUNTERS,
    ]  # fmt: skip
    lines = [",".join(header)]
    for video in sorted(files.tags):
        for day in range(4):
            if video == 12 and day < 3:
                continue
            date = 20200705 + day
            row = {
                "video_id": video,
                "date": date,
                "author_id": 500 + video,
                "video_type": "AD" if video == 15 else "NORMAL",
                "upload_dt": "2020-06-30",
                "upload_type": "ShortImport",
                "visible_status": "public",
                "video_duration": float(files.duration[video]),
                "video_width": 720,
                "video_height": 1280 + day,  # changes daily: the static value must be the latest kept
                "music_id": 4_000_000_000 + video,
                "video_tag_id": video % 4,
                "video_tag_name": "标签",
                "show_cnt": int(rng.integers(100, 1000)),
                "play_cnt": int(rng.integers(50, 900)),
                "play_progress": round(float(rng.uniform(0.1, 0.9)), 6),
                "like_cnt": int(rng.integers(0, 50)),
                "collect_cnt": None if day == 0 else float(rng.integers(0, 5)),
            }
            files.daily.append(row)
            lines.append(",".join("" if row[c] is None else str(row[c]) for c in header))
    (folder / "item_daily_features.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_caption(path: Path, kind: str) -> None:
    lines = [CAPTION_HEADER]
    for video in (10, 11, 12, 13, 14, 15):
        lines.append(f'{video},"封面,文字","标题 ""引号""",[话题],{video % 3},美食,{video % 5},家常菜,-124,UNKNOWN')
    if kind == "bad":
        lines.append('16,"unterminated quote,oops')
        lines.append("17,only,three")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
