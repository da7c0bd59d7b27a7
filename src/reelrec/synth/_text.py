"""Fake Chinese names and captions: category names, fine-grained tag names, cover texts and captions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray

from reelrec.synth._videos import N_TAGS, Videos

# One top-level category per tag id 0..30 (the tag ids themselves are anonymous in KuaiRec).
CATEGORY_NAMES = (
    "美食", "旅行", "搞笑", "音乐", "舞蹈", "游戏", "宠物", "亲子", "体育", "健身", "时尚",
    "美妆", "汽车", "科技", "教育", "情感", "影视", "动漫", "三农", "生活", "颜值", "才艺",
    "家居", "摄影", "户外", "历史", "财经", "职场", "明星", "剧情", "新闻",
)
_SUB_SUFFIXES = ("日常", "教程", "分享", "挑战", "合集", "达人", "记录", "测评", "推荐", "现场")
_LEAF_SUFFIXES = ("入门", "进阶", "精选", "热门", "新手")
_WORDS = (
    "今天", "终于", "真的", "一起", "分享", "大家", "第一次", "这个", "好看", "太", "开心", "记录",
    "生活", "日常", "周末", "朋友", "喜欢", "推荐", "看看", "简单", "快乐", "宝藏", "治愈", "绝了",
    "学会", "再也", "不用", "家人们", "谁懂", "上头", "安排", "冲", "哈哈哈", "小技巧", "必看",
)
_PUNCT = ("，", "！", "。", "～", ",", " ", "？")
assert len(CATEGORY_NAMES) == N_TAGS


@dataclass
class TagVocab:
    """The fine-grained tags (``video_tag_id`` / second-level categories) and their leaves.

    Attributes
    ----------
    sub_ids, sub_names : ndarray, shape (n_sub,)
        ``video_tag_id`` values and names, in ``Videos.sub_tag`` order.
    sub_category_ids : ndarray of int64, shape (n_sub,)
        Second-level category id of each fine-grained tag.
    top_ids : ndarray of int64, shape (31,)
        First-level category id of each tag.
    """

    sub_ids: NDArray[np.int64]
    sub_names: NDArray[np.object_]
    sub_category_ids: NDArray[np.int64]
    top_ids: NDArray[np.int64]


def tag_vocab(rng: np.random.Generator, per_tag: NDArray[np.int64]) -> TagVocab:
    """Ids and names for ``per_tag[t]`` fine-grained tags under each tag ``t``."""
    n_sub = int(per_tag.sum())
    parent = np.repeat(np.arange(N_TAGS), per_tag)
    slot = np.arange(n_sub) - np.repeat(np.cumsum(per_tag) - per_tag, per_tag)
    suffix = rng.permutation(len(_SUB_SUFFIXES))
    names = np.array(
        [CATEGORY_NAMES[p] + _SUB_SUFFIXES[suffix[s % len(suffix)]] for p, s in zip(parent, slot, strict=True)],
        dtype=object,
    )
    ids = np.sort(rng.choice(np.arange(1, 4_000), n_sub, replace=False)).astype(np.int64)
    sub_category_ids = rng.choice(np.arange(100, 2_000), n_sub, replace=False).astype(np.int64)
    top_ids = rng.choice(np.arange(1, 100), N_TAGS, replace=False).astype(np.int64)
    return TagVocab(ids[rng.permutation(n_sub)], names, sub_category_ids, top_ids)


def _sentence(rng: np.random.Generator, topic: str) -> str:
    words = rng.choice(_WORDS, size=int(rng.integers(2, 7)))
    parts = []
    for i, w in enumerate(words):
        parts.append(str(w))
        if i == 1:
            parts.append(topic)
        if rng.random() < 0.3:
            parts.append(str(rng.choice(_PUNCT)))
    return "".join(parts)


def caption_frame(rng: np.random.Generator, videos: Videos, vocab: TagVocab) -> pl.DataFrame:
    """``kuairec_caption_category.csv``: short fake captions with KuaiRec's ten columns.

    Captions carry what makes the real file awkward to parse: commas, double quotes and the odd
    line break inside quoted fields.
    """
    n = len(videos)
    primary = videos.primary_tag
    leaf = rng.integers(0, len(_LEAF_SUFFIXES), n)
    covers, captions, topics = [], [], []
    for i in range(n):
        name = CATEGORY_NAMES[primary[i]]
        sub = vocab.sub_names[videos.sub_tag[i]]
        covers.append(_sentence(rng, name) if rng.random() < 0.55 else "")
        text = _sentence(rng, sub)
        roll = rng.random()
        if roll < 0.04:
            text += f'"{name}"'
        elif roll < 0.06:
            text += "\n" + _sentence(rng, name)
        tags = [name, sub][: int(rng.integers(0, 3))]
        captions.append(text + "".join(f" #{t}" for t in tags))
        topics.append("[" + ",".join(tags) + "]")
    sub_cat = vocab.sub_category_ids[videos.sub_tag]
    return pl.DataFrame(
        {
            "video_id": np.arange(n, dtype=np.int64),
            "manual_cover_text": pl.Series(covers, dtype=pl.String).replace("", None),
            "caption": pl.Series(captions, dtype=pl.String),
            "topic_tag": pl.Series(topics, dtype=pl.String),
            "first_level_category_id": vocab.top_ids[primary],
            "first_level_category_name": pl.Series([CATEGORY_NAMES[t] for t in primary], dtype=pl.String),
            "second_level_category_id": sub_cat,
            "second_level_category_name": pl.Series(vocab.sub_names[videos.sub_tag].tolist(), dtype=pl.String),
            "third_level_category_id": sub_cat * 10 + leaf,
            "third_level_category_name": pl.Series(
                [vocab.sub_names[s] + _LEAF_SUFFIXES[k] for s, k in zip(videos.sub_tag, leaf, strict=True)],
                dtype=pl.String,
            ),
        }
    )
