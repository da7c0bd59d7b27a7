"""EncodedFeatures: row selection keeps every block aligned; malformed blocks are refused."""

from __future__ import annotations

import numpy as np
import pytest

from reelrec.features import EncodedFeatures


def _encoded(rng: np.random.Generator, n: int = 8) -> EncodedFeatures:
    lengths = rng.integers(0, 4, n)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    codes = rng.integers(0, 20, offsets[-1]).astype(np.int64)
    return EncodedFeatures(
        numeric=rng.normal(size=(n, 3)).astype(np.float32),
        numeric_missing=(rng.random((n, 1)) < 0.5).astype(np.float32),
        categorical=rng.integers(0, 5, (n, 2)).astype(np.int64),
        multi=[(offsets, codes), (np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int64))],
    )


def _rows_of(enc: EncodedFeatures, j: int) -> list[list[int]]:
    offsets, codes = enc.multi[j]
    return [codes[offsets[i] : offsets[i + 1]].tolist() for i in range(len(enc))]


def test_take_keeps_rows_aligned_with_repeats_and_negatives(rng):
    enc = _encoded(rng)
    rows = np.array([5, 0, 5, -1, 2])
    sub = enc.take(rows)
    positions = [5, 0, 5, 7, 2]
    np.testing.assert_array_equal(sub.numeric, enc.numeric[positions])
    np.testing.assert_array_equal(sub.numeric_missing, enc.numeric_missing[positions])
    np.testing.assert_array_equal(sub.categorical, enc.categorical[positions])
    full = _rows_of(enc, 0)
    assert _rows_of(sub, 0) == [full[p] for p in positions]
    assert sub.multi[1][0].tolist() == [0] * 6


def test_take_with_mask_and_empty_selection(rng):
    enc = _encoded(rng)
    mask = np.arange(8) % 3 == 0
    np.testing.assert_array_equal(enc.take(mask).categorical, enc.categorical[mask])
    empty = enc.take(np.zeros(0, dtype=np.int32))
    assert len(empty) == 0 and empty.multi[0][0].tolist() == [0]
    with pytest.raises(IndexError, match="out of range"):
        enc.take([8])
    with pytest.raises(ValueError, match="mask has shape"):
        enc.take(np.ones(3, dtype=bool))


def test_malformed_blocks_are_refused(rng):
    enc = _encoded(rng)
    with pytest.raises(TypeError, match="categorical must be a 2-d int64"):
        EncodedFeatures(enc.numeric, enc.numeric_missing, enc.categorical.astype(np.int32), enc.multi)
    with pytest.raises(ValueError, match="numeric_missing has 7 rows, expected 8"):
        EncodedFeatures(enc.numeric, enc.numeric_missing[:7], enc.categorical, enc.multi)
    offsets, codes = enc.multi[0]
    with pytest.raises(ValueError, match=r"multi\[0\] offsets"):
        EncodedFeatures(enc.numeric, enc.numeric_missing, enc.categorical, [(offsets, codes[:-1])])
