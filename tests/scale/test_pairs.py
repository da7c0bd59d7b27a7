"""PairBlock: row selection and concatenation keep every user's rows together and in order."""

from __future__ import annotations

import numpy as np
import pytest

from reelrec.scale import PairBlock


def _block(users: list[int], counts: list[int], start: int = 0) -> PairBlock:
    indptr = np.zeros(len(users) + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    n = int(indptr[-1])
    return PairBlock(
        np.asarray(users, np.int32),
        indptr,
        np.arange(start, start + n, dtype=np.int32),
        np.linspace(0, 1, n, dtype=np.float32),
        np.ones(n, np.int32),
    )


def test_user_rows_follow_counts() -> None:
    block = _block([3, 5, 9], [2, 0, 3])
    assert block.user.tolist() == [3, 3, 9, 9, 9]
    assert block.local(np.array([9, 3])).tolist() == [2, 0]


def test_take_recounts_users_including_empty_ones() -> None:
    block = _block([3, 5, 9], [2, 0, 3])
    mask = np.array([False, True, True, False, True])
    kept = block.take(mask)
    assert kept.counts.tolist() == [1, 0, 2]
    assert kept.item.tolist() == [1, 2, 4]
    assert kept.user.tolist() == [3, 9, 9]


def test_concat_orders_blocks_by_user_and_rejects_overlap() -> None:
    a = _block([10, 11], [1, 2], start=100)
    b = _block([2, 4], [2, 1], start=0)
    both = PairBlock.concat([a, b])
    assert both.users.tolist() == [2, 4, 10, 11]
    assert both.user.tolist() == [2, 2, 4, 10, 11, 11]
    assert both.item.tolist() == [0, 1, 2, 100, 101, 102]
    with pytest.raises(ValueError, match="disjoint"):
        PairBlock.concat([a, _block([11], [1])])
    assert len(PairBlock.concat([])) == 0
